"""Generate the synthetic 1,000,000-basket benchmark file (FIMI format) with a fixed seed.

Items ``1..n_items`` get Zipf popularity (``p ∝ 1 / rank**exponent``, ranks assigned to item
ids by a seeded permutation); basket sizes are ``1 + Poisson(lam)`` (mean ≈ 8), capped at
``n_items``; items are unique within a basket (successive weighted draws without
replacement, done in vectorised rounds). Each line lists a basket's item ids in ascending
order, separated by spaces. The file is cached under ``benchmarks/data/`` together with a
JSON sidecar of the parameters and the md5 of the uncompressed content; it is rebuilt only
when the parameters change.

Example::

    python benchmarks/make_synthetic.py            # -> benchmarks/data/synthetic_1m.dat.gz
    python benchmarks/make_synthetic.py --n-baskets 10000 --out /tmp/small.dat
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("basketlens.bench.synthetic")

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_PATH = DATA_DIR / "synthetic_1m.dat.gz"


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of the synthetic basket file (all of them determine its content)."""

    n_baskets: int = 1_000_000
    n_items: int = 5_000
    exponent: float = 1.1
    lam: float = 7.0
    seed: int = 42


def generate(spec: SyntheticSpec) -> tuple[np.ndarray, np.ndarray]:
    """Return CSR arrays ``(indptr, item_ids)``; ids are ``1..n_items``, sorted within a basket.

    >>> indptr, items = generate(SyntheticSpec(n_baskets=3, n_items=10))
    >>> len(indptr), bool((np.diff(indptr) >= 1).all())
    (4, True)
    """
    rng = np.random.default_rng(spec.seed)
    ranks = np.arange(1, spec.n_items + 1, dtype=np.float64)
    weights = ranks**-spec.exponent
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    item_of_rank = rng.permutation(spec.n_items).astype(np.int64) + 1  # rank -> item id

    sizes = np.minimum(1 + rng.poisson(spec.lam, spec.n_baskets), spec.n_items)
    basket = np.empty(0, dtype=np.int64)
    rank = np.empty(0, dtype=np.int64)
    need = sizes.copy()  # items still missing per basket
    rounds = 0
    while need.any():
        rounds += 1
        todo = np.flatnonzero(need)
        new_basket = np.repeat(todo, need[todo])
        new_rank = np.searchsorted(cdf, rng.random(new_basket.size), side="right")
        basket = np.concatenate([basket, new_basket])
        rank = np.concatenate([rank, new_rank])
        # Drop repeated items within a basket; keeping the first occurrence of a (basket,
        # item) pair makes each accepted draw a weighted draw among the items not yet chosen.
        key = basket * spec.n_items + rank
        _, first = np.unique(key, return_index=True)
        first.sort()
        basket, rank = basket[first], rank[first]
        need = sizes - np.bincount(basket, minlength=spec.n_baskets)
    log.info("sampled %d item occurrences in %d rounds", basket.size, rounds)

    items = item_of_rank[rank]
    order = np.lexsort((items, basket))
    indptr = np.zeros(spec.n_baskets + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    return indptr, items[order]


def to_fimi_text(indptr: np.ndarray, items: np.ndarray) -> bytes:
    """Render CSR baskets as FIMI lines (``b"1 5 9\\n…"``) without a Python loop per basket."""
    import polars as pl

    basket = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    lines = (
        pl.DataFrame({"basket": basket, "item": items})
        .group_by("basket", maintain_order=True)
        .agg(pl.col("item").cast(pl.String).str.join(" "))
        .get_column("item")
    )
    return ("\n".join(lines.to_list()) + "\n").encode("ascii")


def ensure(
    path: Path = DEFAULT_PATH, spec: SyntheticSpec | None = None, force: bool = False
) -> Path:
    """Write the file unless a cached copy with the same parameters exists; return its path."""
    spec = spec or SyntheticSpec()
    sidecar = path.with_name(path.name + ".json")
    if not force and path.exists() and sidecar.exists():
        meta = json.loads(sidecar.read_text())
        if meta.get("spec") == asdict(spec):
            log.info("using cached %s", path)
            return path
    start = time.perf_counter()
    indptr, items = generate(spec)
    text = to_fimi_text(indptr, items)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".gz":
        with gzip.open(tmp, "wb", compresslevel=6) as fh:
            fh.write(text)
    else:
        tmp.write_bytes(text)
    tmp.replace(path)
    meta = {
        "spec": asdict(spec),
        "baskets": int(indptr.size - 1),
        "occurrences": int(items.size),
        "mean_basket": round(float(items.size) / (indptr.size - 1), 4),
        "distinct_items": int(np.unique(items).size),
        "md5_uncompressed": hashlib.md5(text).hexdigest(),
        "numpy": np.__version__,
    }
    sidecar.write_text(json.dumps(meta, indent=2) + "\n")
    log.info("wrote %s in %.1f s: %s", path, time.perf_counter() - start, meta)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: build (or reuse) the synthetic file and print its path."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = SyntheticSpec()
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="output (.dat or .dat.gz)")
    parser.add_argument("--n-baskets", type=int, default=defaults.n_baskets)
    parser.add_argument("--n-items", type=int, default=defaults.n_items)
    parser.add_argument("--exponent", type=float, default=defaults.exponent)
    parser.add_argument("--lam", type=float, default=defaults.lam, help="Poisson mean of size - 1")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    spec = SyntheticSpec(args.n_baskets, args.n_items, args.exponent, args.lam, args.seed)
    print(ensure(args.out, spec, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())

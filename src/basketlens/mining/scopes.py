"""Per-scope mining: item support and rules for all baskets and for each segment.

A *scope* is a named set of basket rows ("all", or a segment id as text). Every scope is
cut from the same :class:`~basketlens.mining.encode.BasketMatrix` with ``subset``, so all
scopes share one item coding and their results are comparable (the arules lesson). Scopes
are mined in threads when ``n_jobs`` allows (the compiled kernel releases the GIL), each by
:func:`~basketlens.mining.mine.mine_rules` with the same :class:`MiningOptions`. A scope with
fewer than ``min_scope_baskets`` baskets gets no rules and a note in its info, not an error.

Example:
    >>> import numpy as np
    >>> from basketlens.mining import to_basket_matrix
    >>> m = to_basket_matrix([["a", "b"], ["a"], ["b"], ["a", "b"]])
    >>> t = item_support(m, {"1": np.array([0, 1])})
    >>> t.select("scope", "item", "baskets", "rank").rows()
    [('all', 'a', 3, 1), ('all', 'b', 3, 2), ('1', 'a', 2, 1), ('1', 'b', 1, 2)]
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl

from basketlens._validation import check_interval
from basketlens.errors import ParameterError
from basketlens.items import add_item_names, item_names
from basketlens.mining._budget import interruptible_map
from basketlens.mining.counts import BasketCounts, MatrixCounts
from basketlens.mining.encode import BasketMatrix
from basketlens.mining.measures import resolve_measures
from basketlens.mining.mine import mine_rules
from basketlens.mining.options import MiningOptions
from basketlens.mining.rules import Rules, empty_rules_table
from basketlens.schema import ITEM_SUPPORT_SCHEMA, RULES_BASE_SCHEMA

logger = logging.getLogger(__name__)

__all__ = [
    "ALL_SCOPE",
    "ScopeResult",
    "ScopedRules",
    "item_support",
    "mine_scope",
    "mine_scopes",
    "scoped_rules",
    "support_table",
]

#: Name of the scope holding every basket.
ALL_SCOPE = "all"


def _resolve_scopes(
    matrix: BasketMatrix, scopes: Mapping[Any, Any], include_all: bool
) -> dict[str, np.ndarray]:
    """Scope name (text) -> validated int64 row indices, "all" first when included."""
    out: dict[str, np.ndarray] = {}
    if include_all:
        out[ALL_SCOPE] = np.arange(matrix.n_baskets, dtype=np.int64)
    n = matrix.n_baskets
    for key, rows in scopes.items():
        name = str(key)
        if name in out:
            what = "is reserved for every basket" if name == ALL_SCOPE else "is given twice"
            raise ParameterError(f"scope name {name!r} {what}; rename the scope")
        arr = np.asarray(rows)
        if arr.dtype == bool:
            if arr.shape != (n,):
                raise ParameterError(
                    f"scope {name!r}: a row mask must have length n_baskets={n}; got {arr.shape}"
                )
            arr = np.flatnonzero(arr)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise ParameterError(f"scope {name!r}: rows must be integer indices; got {arr.dtype}")
        arr = arr.astype(np.int64).ravel()
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            bad = int(arr[(arr < 0) | (arr >= n)][0])
            raise ParameterError(f"scope {name!r}: rows must be in [0, {n}); got row {bad}")
        if arr.size != np.unique(arr).size:
            raise ParameterError(f"scope {name!r}: rows must be unique basket indices")
        out[name] = arr
    return out


def item_support(
    matrix: BasketMatrix,
    scopes: Mapping[Any, Any] | None = None,
    *,
    item_names: Mapping[str, str] | None = None,
    include_all: bool = True,
) -> pl.DataFrame:
    """Basket count, support and rank of every item present in each scope.

    Returns ``ITEM_SUPPORT_SCHEMA`` rows: scope "all" (when ``include_all``) then each scope
    in the given order; within a scope rank 1 is the most frequent item, ties broken by item
    id. ``item_name`` is null for items missing from ``item_names``.

    Example:
        >>> from basketlens.mining import to_basket_matrix
        >>> m = to_basket_matrix([["x"], ["x", "y"]])
        >>> item_support(m, item_names={"x": "Milk"})["item_name"].to_list()
        ['Milk', None]
    """
    resolved = _resolve_scopes(matrix, scopes or {}, include_all)
    counts = {
        scope: (
            matrix.subset(rows).item_counts() if len(rows) else np.zeros(0, np.int64),
            len(rows),
        )
        for scope, rows in resolved.items()
    }
    return support_table(counts, matrix.items, item_names=item_names)


def support_table(
    counts: Mapping[str, tuple[np.ndarray, int]],
    vocabulary: tuple[str, ...],
    *,
    item_names: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """:func:`item_support` from each scope's ``(item counts, baskets)``, in that order.

    The counts are per item code of ``vocabulary`` (an empty array for an empty scope); how
    they were counted is the caller's business (a matrix here, a Spark aggregation there).

    Example:
        >>> support_table({"all": (np.array([2, 1]), 2)}, ("x", "y")).rows()
        [('all', 'x', None, 2, 1.0, 1), ('all', 'y', None, 1, 0.5, 2)]
    """
    items = pl.Series("item", vocabulary, dtype=pl.String)
    names = dict(item_names or {})
    frames = []
    for scope, (per_item, n_baskets) in counts.items():
        present = np.flatnonzero(per_item)
        df = pl.DataFrame(
            {
                "item": items.gather(present),
                "baskets": per_item[present],
                "support": per_item[present] / max(n_baskets, 1),  # numpy: correctly rounded
            }
        )
        df = df.sort(["baskets", "item"], descending=[True, False]).with_columns(
            scope=pl.lit(scope),
            item_name=pl.col("item").replace_strict(names, default=None, return_dtype=pl.String),
            rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
        )
        frames.append(df.select(list(ITEM_SUPPORT_SCHEMA)).cast(dict(ITEM_SUPPORT_SCHEMA)))
    if not frames:
        return pl.DataFrame(schema=ITEM_SUPPORT_SCHEMA)
    return pl.concat(frames, how="vertical")


class ScopedRules:
    """Rules of every scope in one ``table`` (rule_id "<scope>-r000001", then ``scope``),
    the per-scope :class:`Rules` in ``rules`` (None for skipped scopes) and ``info``
    (parameters and one record per scope, with a note when the scope was skipped).

    Example:
        >>> from basketlens.mining import to_basket_matrix
        >>> m = to_basket_matrix([["a", "b"]] * 12)
        >>> s = mine_scopes(m, min_count=5)
        >>> items = pl.DataFrame({"item": ["a", "b"], "item_name": ["Apple", "Bread"]})
        >>> s.with_item_names(items).table["antecedent_names"].to_list()
        [['Apple'], ['Bread']]
    """

    def __init__(
        self, table: pl.DataFrame, rules: dict[str, Rules | None], info: dict[str, Any]
    ) -> None:
        self.table = table
        self.rules = rules
        self.info = info

    def __len__(self) -> int:
        return self.table.height

    def __repr__(self) -> str:
        return f"ScopedRules(n={len(self)}, scopes={list(self.rules)})"

    def with_item_names(self, items: pl.DataFrame) -> ScopedRules:
        """A new :class:`ScopedRules` whose tables (the combined one and each scope's) carry
        ``antecedent_names`` / ``consequent_names`` from the item table (``item``,
        ``item_name``), in ``RULES_BASE_SCHEMA`` order; items it does not name keep their id.
        """
        names = item_names(items)
        rules = {s: None if r is None else r.with_item_names(names) for s, r in self.rules.items()}
        return ScopedRules(add_item_names(self.table, names), rules, dict(self.info))


def _scope_table(scope: str, table: pl.DataFrame) -> pl.DataFrame:
    return table.with_columns(
        rule_id=pl.lit(f"{scope}-") + pl.col("rule_id"), scope=pl.lit(scope, pl.String)
    ).select("rule_id", "scope", pl.all().exclude("rule_id", "scope"))


def _workers(n_jobs: int | None, n_scopes: int) -> int:
    if n_jobs is not None and n_jobs != -1:
        check_interval("n_jobs", n_jobs, low=1, integer=True)
    workers = 1 if n_jobs is None else (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    return max(1, min(workers, n_scopes))


ScopeResult = tuple[Rules | None, dict[str, Any]]


def mine_scope(counts: BasketCounts, options: MiningOptions) -> ScopeResult:
    """One scope's rules (:func:`~basketlens.mining.mine.mine_rules`) and its record; a scope
    with fewer than ``min_scope_baskets`` baskets gets no rules and a note.

    ``options`` must be validated. Whatever holds the baskets (a matrix here, Spark there)
    answers through ``counts``, so every scope of every engine is mined by this one function.

    Example:
        >>> from basketlens.mining.counts import as_counts
        >>> rules, record = mine_scope(as_counts([["a", "b"]] * 12), MiningOptions(min_count=5))
        >>> len(rules), record["n_baskets"], record["note"]
        (2, 12, None)
    """
    t0 = time.perf_counter()
    n = counts.n_baskets
    base: dict[str, Any] = {"n_baskets": n}
    min_scope = options.min_scope_baskets
    if n < min_scope:
        base.update(
            n_rules=0,
            note=f"scope has {n} baskets; at least "
            f"min_scope_baskets={min_scope} are needed to mine rules",
        )
        return None, base
    rules = mine_rules(counts, options)
    base.update(
        n_rules=len(rules),
        seconds=round(time.perf_counter() - t0, 6),
        note=None,
        rules=rules.info,
    )
    return rules, base


def scoped_rules(
    results: Mapping[str, ScopeResult],
    options: MiningOptions,
    *,
    vocabulary_size: int,
    n_jobs: int = 1,
) -> ScopedRules:
    """The :class:`ScopedRules` of each scope's :func:`mine_scope` result, in the given order
    (rule ids prefixed by the scope), with the run's parameter record.

    Example:
        >>> from basketlens.mining.counts import as_counts
        >>> opts = MiningOptions(min_count=5)
        >>> found = {"all": mine_scope(as_counts([["a", "b"]] * 12), opts)}
        >>> scoped_rules(found, opts, vocabulary_size=2).table["rule_id"].to_list()
        ['all-r000001', 'all-r000002']
    """
    names = resolve_measures(options.measures)
    per_rules = {s: r for s, (r, _) in results.items()}
    per_info = {s: i for s, (_, i) in results.items()}
    empty = _scope_table("", empty_rules_table(names))
    frames = [_scope_table(s, r.table) for s, r in per_rules.items() if r is not None]
    table = pl.concat([empty, *frames], how="vertical") if frames else empty
    info = {
        "min_support": options.min_support,
        "min_count": options.min_count,
        "target_rules": options.target_rules if options.searches_threshold else None,
        "max_rules": options.max_rules if options.searches_threshold else None,
        "min_confidence": float(options.min_confidence),
        "min_lift": options.min_lift,
        "min_len": options.min_len,
        "max_len": options.max_len,
        "consequent_max_len": options.consequent_max_len,
        "measures": list(names),
        "prune_redundant": options.prune_redundant,
        "significant": options.significant,
        "significance_test": options.significance_test,
        "adjust": options.adjust,
        "min_customers": options.min_customers,
        "top": options.top,
        "sort_by": options.sort_by,
        "max_itemsets": options.max_itemsets,
        "min_scope_baskets": options.min_scope_baskets,
        "n_jobs": n_jobs,
        "vocabulary_size": vocabulary_size,
        "n_rules": table.height,
        "scopes": per_info,
    }
    assert table.columns[:4] == [*list(RULES_BASE_SCHEMA)[:2], "antecedent", "consequent"]
    return ScopedRules(table, per_rules, info)


def mine_scopes(
    matrix: BasketMatrix,
    scopes: Mapping[Any, Any] | None = None,
    options: MiningOptions | None = None,
    *,
    n_jobs: int | None = None,
    include_all: bool = True,
    progress: Callable[[int, int], None] | None = None,
    units: np.ndarray | None = None,
    **changes: Any,
) -> ScopedRules:
    """Mine rules in "all" and in each scope, on the shared vocabulary of ``matrix``.

    ``options`` (default ``MiningOptions()``, updated by ``changes``: its field names) apply
    to every scope through :func:`mine_scope`: ``min_support`` is relative to each scope's
    baskets, ``min_count`` is absolute, and without either the threshold search finds a count
    per scope (``target_rules``, or the guard ``max_rules``). Scopes with fewer than
    ``min_scope_baskets`` baskets are skipped with a note. ``scopes`` maps a name to basket
    rows (indices or a boolean mask); ``n_jobs`` threads (None = 1, -1 = all cores);
    ``units``: the customer code of each basket row (for ``min_customers``);
    ``progress(done, total)`` is told as each scope is finished.

    Example:
        >>> from basketlens.mining import to_basket_matrix
        >>> m = to_basket_matrix([["a", "b"]] * 12 + [["a"]] * 8)
        >>> s = mine_scopes(m, {"1": range(12)}, min_count=5, min_scope_baskets=5)
        >>> s.table.select("rule_id", "scope").rows()[:3]
        [('all-r000001', 'all'), ('all-r000002', 'all'), ('1-r000001', '1')]
    """
    opts = (options or MiningOptions()).updated(changes, source="mine_scopes").validate()
    resolved = _resolve_scopes(matrix, scopes or {}, include_all)
    workers = _workers(n_jobs, len(resolved))
    resolve_measures(opts.measures)  # an unknown measure fails before any mining
    finished, lock = [0], threading.Lock()
    all_units = None if units is None else np.asarray(units)

    def mine_one(scope: str) -> ScopeResult:
        try:
            rows = resolved[scope]
            part = None if all_units is None else all_units[rows]
            return mine_scope(MatrixCounts(matrix.subset(rows), part), opts)
        finally:
            if progress is not None:
                with lock:
                    finished[0] += 1
                    progress(finished[0], len(resolved))

    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="basketlens-scope") as ex:
            results = interruptible_map(ex, mine_one, resolved)  # Ctrl-C stops the workers too
    else:
        results = [mine_one(s) for s in resolved]
    found = scoped_rules(
        dict(zip(resolved, results, strict=True)),
        opts,
        vocabulary_size=matrix.n_items,
        n_jobs=workers,
    )
    logger.info("mined %d rules over %d scopes", found.table.height, len(resolved))
    return found

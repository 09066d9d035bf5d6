"""Compare every Parquet table of two basketlens run folders; exit 1 on any difference.

Used to show that a speed change leaves every output table as it was::

    python benchmarks/tools/compare_runs.py OLD_RUN NEW_RUN

Floats are compared with a relative tolerance of 1e-9 (absolute 1e-12); everything else,
row order included, must be equal.
"""

import sys
from pathlib import Path

import numpy as np
import polars as pl

old, new = Path(sys.argv[1]), Path(sys.argv[2])
bad = 0
names = sorted(
    {p.relative_to(old) for p in old.rglob("*.parquet")}
    | {p.relative_to(new) for p in new.rglob("*.parquet")}
)
for name in names:
    a, b = old / name, new / name
    if not a.exists() or not b.exists():
        print(f"MISSING {name}")
        bad += 1
        continue
    x, y = pl.read_parquet(a), pl.read_parquet(b)
    if x.schema != y.schema or x.shape != y.shape:
        print(f"DIFF {name}: schema/shape {x.shape} vs {y.shape}")
        bad += 1
        continue
    for col in x.columns:
        s, t = x[col], y[col]
        if s.dtype.is_float():
            u, v = s.to_numpy(), t.to_numpy()
            if not np.allclose(u, v, rtol=1e-9, atol=1e-12, equal_nan=True):
                print(f"DIFF {name}.{col} (float)")
                bad += 1
        elif not s.equals(t, null_equal=True):
            print(f"DIFF {name}.{col}")
            bad += 1
print(f"{len(names)} tables compared, {bad} differences")
sys.exit(1 if bad else 0)

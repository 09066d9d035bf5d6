"""Vectorised sampling helpers of the synthetic ledger generator (guts of
:mod:`basketlens.synth.generator`): counts by share, Walker's alias tables, row sampling.

Example:
    >>> _counts_by_share(10, np.array([0.5, 0.3, 0.2])).tolist()
    [5, 3, 2]
"""

from __future__ import annotations

import numpy as np


def _counts_by_share(n: int, shares: np.ndarray) -> np.ndarray:
    """Largest-remainder split of ``n`` by ``shares``, every part >= 1."""
    raw = shares / shares.sum() * (n - len(shares))
    counts = np.floor(raw).astype(np.int64)
    rest = np.argsort(-(raw - counts), kind="stable")[: n - len(shares) - counts.sum()]
    counts[rest] += 1
    return counts + 1


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique values (sort + diff: much faster than hash-based ``np.unique`` here)."""
    out = np.sort(values)
    if out.size:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker alias table of the distribution ``p``: (acceptance probability, alias)."""
    k = p.size
    prob = p * k / p.sum()
    alias = np.arange(k)
    small = [i for i in range(k) if prob[i] < 1.0]
    large = [i for i in range(k) if prob[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        alias[s] = g
        prob[g] -= 1.0 - prob[s]
        (small if prob[g] < 1.0 else large).append(g)
    prob[small + large] = 1.0
    return prob, alias


def _sample_rows(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column index per entry of ``rows`` from the row-wise distributions ``weights``
    (P x K) with the alias method: O(1) per draw, exact."""
    k = weights.shape[1]
    tables = [_alias_table(w) for w in weights]
    prob = np.concatenate([t[0] for t in tables])
    alias = np.concatenate([t[1] for t in tables])
    slot = rows * k + (rng.random(rows.size) * k).astype(np.int64)
    return np.where(rng.random(rows.size) < prob[slot], slot - rows * k, alias[slot])

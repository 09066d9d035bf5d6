"""Agreement and separation of labelings, exact and cheap: the measurements behind the criteria.

* :func:`silhouettes` and :func:`silhouettes_each` — mean silhouette coefficient of several
  labelings of the same rows, sharing one pass over the pairwise distances (each distance
  computed once, not twice).
* :func:`adjusted_rand` and :func:`mean_pairwise_ari` — the adjusted Rand index from the
  contingency counts (``np.bincount``), in exact integer arithmetic: the same number as
  ``sklearn.metrics.adjusted_rand_score`` without its per-call input checking, which cost
  more than the index itself on label vectors of a few thousand rows.
* :func:`segment_jaccards` — clusterwise stability (Hennig 2007).

Example:
    >>> a, b = np.array([0, 0, 1, 1, 2]), np.array([1, 1, 0, 0, 0])
    >>> round(adjusted_rand(a, b), 4)
    0.5455
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> round(silhouettes(X, [np.array([0, 0, 1, 1])])[0], 4)  # (9.5/10.5 + 8.5/9.5) / 2
    0.8997
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform

__all__ = [
    "adjusted_rand",
    "mean_pairwise_ari",
    "segment_jaccards",
    "silhouettes",
    "silhouettes_each",
]

#: Entries of the distance matrix multiplied at a time (8M float64 = 64 MB).
_CHUNK_ENTRIES = 8_000_000

#: Up to this many entries the whole distance matrix is built from the condensed one
#: (``pdist``: each distance computed once instead of twice; the same values as ``cdist``).
#: Larger inputs are computed in row chunks of :data:`_CHUNK_ENTRIES` by ``cdist``.
_FULL_ENTRIES = 2 * _CHUNK_ENTRIES


# ----------------------------------------------------------------------------- silhouette
def silhouettes(X: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """Mean silhouette coefficient (Euclidean) of each labeling of the same rows of ``X``.

    Matches ``sklearn.metrics.silhouette_score``: a point alone in its cluster scores 0; a
    labeling with fewer than 2 clusters, or as many clusters as points, gives NaN. The
    distances are computed once and shared by the labelings, whose per-cluster sums are taken
    together (one product with every labeling's indicator columns).

    Example:
        >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
        >>> [round(s, 4) for s in silhouettes(X, [np.array([0, 0, 1, 1]), np.zeros(4, int)])]
        [0.8997, nan]
    """
    X = np.asarray(X, dtype=np.float64)
    codes = [_codes(labels) for labels in labelings]
    onehot, offsets = _indicators(X.shape[0], codes)
    (sums,) = _distance_sums(X, [onehot])
    return [_silhouette(sums, inv, k, off) for (inv, k), off in zip(codes, offsets, strict=True)]


def silhouettes_each(X: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """``[silhouettes(X, [labels])[0] for labels in labelings]`` to the last bit, computing
    the distances once: each labeling's sums are the product of a single-labeling call.

    Example:
        >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
        >>> [round(s, 4) for s in silhouettes_each(X, [np.array([0, 0, 1, 1]), np.arange(4)])]
        [0.8997, nan]
    """
    X = np.asarray(X, dtype=np.float64)
    codes = [_codes(labels) for labels in labelings]
    onehots = [_indicators(X.shape[0], [code])[0] for code in codes]
    every = _distance_sums(X, onehots)
    return [_silhouette(sums, inv, k, 0) for sums, (inv, k) in zip(every, codes, strict=True)]


def _indicators(n: int, codes: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, list[int]]:
    """The 0/1 cluster-membership columns of the coded labelings, side by side, and where
    each labeling's columns start."""
    offsets = np.cumsum([0] + [k for _, k in codes]).tolist()
    onehot = np.zeros((n, offsets[-1]))
    for (inv, _), off in zip(codes, offsets, strict=False):
        onehot[np.arange(n), off + inv] = 1.0
    return onehot, offsets[:-1]


def _silhouette(sums: np.ndarray, inv: np.ndarray, k: int, off: int) -> float:
    """Mean silhouette of the labeling coded ``inv`` (``k`` clusters) from its distance sums,
    columns ``off .. off + k`` of ``sums``."""
    n = inv.size
    if k < 2 or k >= n:
        return float("nan")
    counts = np.bincount(inv, minlength=k).astype(np.float64)
    block = sums[:, off : off + k]
    own = block[np.arange(n), inv]
    own_size = counts[inv]
    a = np.divide(own, own_size - 1, out=np.zeros(n), where=own_size > 1)
    mean_other = block / counts
    mean_other[np.arange(n), inv] = np.inf
    b = mean_other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.divide(b - a, denom, out=np.zeros(n), where=denom > 0)
    s[own_size <= 1] = 0.0
    return float(s.mean())


def _distance_sums(X: np.ndarray, onehots: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``D @ onehot`` for each of ``onehots``, ``D`` the Euclidean distance matrix of the rows
    of ``X``, computed once; the products are taken in row chunks of at most
    :data:`_CHUNK_ENTRIES` entries (whatever builds ``D``), so a result does not depend on
    the other ``onehots``."""
    n = X.shape[0]
    out = [np.empty((n, onehot.shape[1])) for onehot in onehots]
    step = max(1, _CHUNK_ENTRIES // max(n, 1))
    full = None
    if n * n <= _FULL_ENTRIES:
        full = squareform(pdist(X, "euclidean"), checks=False) if n > 1 else np.zeros((n, n))
    else:
        buffer = np.empty((min(step, n), n))
    for start in range(0, n, step):
        stop = min(n, start + step)
        if full is not None:
            d = full[start:stop]
        else:
            d = buffer[: stop - start]
            cdist(X[start:stop], X, "euclidean", out=d)  # exact, one pass, no temporaries
        for sums, onehot in zip(out, onehots, strict=True):
            sums[start:stop] = d @ onehot
    return out


# ----------------------------------------------------------------------------- adjusted Rand
def _codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels as codes ``0..m-1`` (``np.unique`` order) and ``m``."""
    _, inv = np.unique(np.asarray(labels), return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64, copy=False)
    return inv, int(inv.max()) + 1 if inv.size else 0


def _ari_of_codes(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> float:
    """Adjusted Rand index of two coded labelings, as ``sklearn.metrics.adjusted_rand_score``
    computes it: the pair confusion counts in integers, then one float division."""
    if a.shape != b.shape:
        raise ValueError(f"labelings differ in length: {a.shape[0]} and {b.shape[0]}")
    n = int(a.size)
    joint = np.bincount(a * kb + b, minlength=ka * kb)
    rows = np.bincount(a, minlength=ka)
    cols = np.bincount(b, minlength=kb)
    sum_squares = int(joint @ joint)
    tp = sum_squares - n
    fp = int(cols @ cols) - sum_squares  # pairs together in b only
    fn = int(rows @ rows) - sum_squares  # pairs together in a only
    tn = n * n - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index between two labelings of the same rows (Hubert & Arabie 1985):
    exactly ``sklearn.metrics.adjusted_rand_score(a, b)``; 1.0 for two empty labelings.

    Example:
        >>> adjusted_rand(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
        -0.5
        >>> adjusted_rand(np.array([0, 0, 1]), np.array([5, 5, 2]))
        1.0
    """
    return _ari_of_codes(*_codes(a), *_codes(b))


def mean_pairwise_ari(labelings: Sequence[np.ndarray]) -> float:
    """Mean adjusted Rand index over every pair of labelings; NaN with fewer than 2.

    Example:
        >>> mean_pairwise_ari([np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([0, 1, 1])])
        0.0
    """
    if len(labelings) < 2:
        return float("nan")
    coded = [_codes(labels) for labels in labelings]
    return float(np.mean([_ari_of_codes(*a, *b) for a, b in combinations(coded, 2)]))


# ----------------------------------------------------------------------------- clusterwise
def segment_jaccards(labels: np.ndarray, refits: Sequence[np.ndarray]) -> np.ndarray:
    """Per segment of ``labels`` (ids ``0..k-1``): the mean over ``refits`` (non-negative
    ids) of its Jaccard similarity with the most similar refitted segment (Hennig 2007,
    clusterwise stability). A segment that a refit cuts differently each time (half of a
    compact group) scores far below 1 even when the other segments keep the overall
    agreement high.

    Example:
        >>> segment_jaccards(np.array([0, 0, 1, 1]), [np.array([1, 1, 0, 0]),
        ...                                            np.array([0, 0, 0, 1])]).round(3).tolist()
        [0.833, 0.75]
    """
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1 if labels.size else 0
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    out = np.zeros(k)
    for other in refits:
        other = np.asarray(other, dtype=np.int64)
        m = int(other.max()) + 1
        joint = np.bincount(labels * m + other, minlength=k * m).reshape(k, m).astype(np.float64)
        union = sizes[:, None] + np.bincount(other, minlength=m)[None, :] - joint
        out += np.divide(joint, union, out=np.zeros_like(joint), where=union > 0).max(axis=1)
    return out / max(len(refits), 1)

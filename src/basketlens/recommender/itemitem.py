"""Item–item models on the customer × item purchase matrix: EASE, item-kNN and co-purchase shares.

All three work on the *model items*: the items bought by at least ``min_buyers`` customers,
at most ``max_items`` of the most-bought ones (ties by item id). That bound is what keeps
them cheap on any catalogue: EASE inverts a dense ``n × n`` matrix (``n = max_items``,
1,500 by default: 18 MB and well under a second), and the scores of a chunk of customers
are a sparse × dense product. Items outside the model items get no item–item score; they can
still be recommended from rules and popularity.

* :class:`Ease` — Steck (2019), "Embarrassingly Shallow Autoencoders for Sparse Data":
  ``B = I − P · diag(1 / diag(P))`` with ``P = (XᵀX + λI)⁻¹`` (the diagonal of ``B`` is 0);
  a customer's scores are ``x · B`` for their binary purchase row ``x``.
* :class:`ItemKnn` — cosine similarity between item columns, ``XᵀX / √(dᵢ dⱼ)`` with ``d`` the
  item's buyers, keeping the ``neighbours`` most similar items of each item; scores ``x · S``.
* :class:`CoPurchase` — customer-level co-purchase shares ``P(j | i)`` = customers who bought
  both / customers who bought ``i``, overall and within each segment: the numbers a reason
  quotes ("Of the 40 customers who buy Brie, 62% also buy Baguette"); for each item the 30
  items with the highest share are kept.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 0, 0]], dtype=np.float32))
    >>> ease = Ease.fit(X, lam=1.0)
    >>> np.round(np.diag(ease.weights), 3).tolist()
    [0.0, 0.0, 0.0]
    >>> knn = ItemKnn.fit(X, neighbours=1)
    >>> (knn.weights != 0).sum(axis=0).tolist()   # one neighbour kept per item
    [1, 1, 1]
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from basketlens.errors import ParameterError

logger = logging.getLogger(__name__)

__all__ = [
    "LAMBDA_FACTORS",
    "CoPurchase",
    "Ease",
    "ItemKnn",
    "chunks",
    "gram",
    "model_items",
    "segment_grams",
    "top_k",
]

#: EASE's λ is tried at these multiples of the mean buyers of a model item (the mean of the
#: diagonal of ``XᵀX``) and chosen on a validation split inside the training period.
LAMBDA_FACTORS: tuple[float, ...] = (1.0, 3.0, 9.0)


def model_items(buyers: np.ndarray, *, min_buyers: int, max_items: int) -> np.ndarray:
    """Sorted column codes of the items in the item–item models (see the module docstring).

    Example:
        >>> model_items(np.array([5, 1, 9, 5, 3]), min_buyers=3, max_items=3).tolist()
        [0, 2, 3]
    """
    eligible = np.flatnonzero(buyers >= min_buyers)
    order = eligible[np.argsort(-buyers[eligible], kind="stable")]
    return np.sort(order[:max_items])


#: Dense cells of ``X`` per block of rows in :func:`gram` (64 MB of float32).
GRAM_CELLS = 1 << 24


def gram(X: sp.csr_matrix) -> np.ndarray:
    """``XᵀX`` as a dense float64 matrix (co-purchase counts; the diagonal holds buyers).

    Computed as sparse ``Xᵀ`` × dense ``X`` a block of rows at a time: about twice as fast as
    the sparse product, whose result is nearly dense; the counts are exact (integers summed
    in float32, below 2²⁴ per block, the blocks in float64).

    Example:
        >>> X = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0]], dtype=np.float32))
        >>> gram(X).tolist()
        [[3.0, 2.0, 1.0], [2.0, 2.0, 0.0], [1.0, 0.0, 1.0]]
    """
    n_rows, n = X.shape
    step = max(1, GRAM_CELLS // max(n, 1))
    if n_rows <= step:
        return np.asarray(X.T @ X.toarray(), dtype=np.float64)
    G = np.zeros((n, n))
    for start in range(0, n_rows, step):
        part = X[start : start + step]
        G += part.T @ part.toarray()
    return G


def segment_grams(
    X: sp.csr_matrix, segment: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """``XᵀX`` and the Gram matrix of each segment's rows (segments ≥ 0, ascending), each
    row's Gram computed once: the whole is the sum of the segments' and the unsegmented rows'.

    Example:
        >>> X = sp.csr_matrix(np.array([[1, 1], [0, 1], [1, 0]], dtype=np.float32))
        >>> G, (g0, g1) = segment_grams(X, np.array([0, 1, -1]))
        >>> G.tolist(), g0.tolist(), g1.tolist()
        ([[2.0, 1.0], [1.0, 2.0]], [[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]])
    """
    segment = np.asarray(segment)
    segments = [s for s in np.unique(segment) if s >= 0]
    if not segments:
        return gram(X), ()
    parts = tuple(gram(X[np.flatnonzero(segment == s)]) for s in segments)
    G = parts[0].copy()
    for part in parts[1:]:
        G += part
    rest = np.flatnonzero(segment < 0)
    if rest.size:
        G += gram(X[rest])
    return G, parts


_BLOCK = 128  # rows of EASE's weights converted at a time (stays in the cache)


def _spd_inverse(G: np.ndarray, lam: float) -> np.ndarray:
    """``(G + λI)⁻¹`` by Cholesky in single precision (LAPACK potrf/potri), about ten times
    faster than ``inv`` in double; double precision if single is not accurate enough (the
    result is in the precision that was used)."""
    for dtype, potrf, potri in (
        (np.float32, sla.lapack.spotrf, sla.lapack.spotri),
        (np.float64, sla.lapack.dpotrf, sla.lapack.dpotri),
    ):
        A = G.astype(dtype, copy=True)
        A[np.diag_indices_from(A)] += lam
        low, info = potrf(A, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            continue
        inv, info = potri(low, lower=1, overwrite_c=1)
        if info != 0:
            continue
        inv = np.tril(inv)
        inv += np.tril(inv, -1).T
        if np.all(np.isfinite(inv)) and np.all(np.diag(inv) > 0):
            return inv
    raise ParameterError(f"XᵀX + {lam}·I is not positive definite; raise lam")


@dataclass(frozen=True, eq=False)
class Ease:
    """EASE item–item weights (``n × n`` float32, zero diagonal) and its ``lam``."""

    weights: np.ndarray
    lam: float

    @classmethod
    def fit(cls, X: sp.csr_matrix, *, lam: float, G: np.ndarray | None = None) -> Ease:
        """Closed-form fit on the binary customer × model-item matrix ``X`` (or its Gram ``G``)."""
        if lam <= 0:
            raise ParameterError(f"lam must be > 0; got {lam!r}")
        G = gram(X) if G is None else G
        P = _spd_inverse(G, lam)
        # B = −P / diag(P) in double precision, stored in single, a block of rows at a time
        diag = np.diag(P).astype(np.float64)
        B = np.empty(P.shape, dtype=np.float32)
        for start in range(0, P.shape[0], _BLOCK):
            block = P[start : start + _BLOCK].astype(np.float64)
            np.negative(block, out=block)
            block /= diag
            B[start : start + _BLOCK] = block
        np.fill_diagonal(B, 0.0)
        return cls(B, float(lam))

    def scores(self, X: sp.csr_matrix) -> np.ndarray:
        """Dense scores of the rows of ``X`` (customers × model items)."""
        return np.asarray(X @ self.weights, dtype=np.float32)


@dataclass(frozen=True, eq=False)
class ItemKnn:
    """Cosine item-kNN weights (``n × n`` float32, column ``j`` holds ``j``'s neighbours)."""

    weights: np.ndarray
    neighbours: int

    @classmethod
    def fit(cls, X: sp.csr_matrix, *, neighbours: int, G: np.ndarray | None = None) -> ItemKnn:
        """Cosine similarity of the item columns of ``X``, pruned to ``neighbours`` per item."""
        G = gram(X) if G is None else G
        norm = np.sqrt(np.maximum(np.diag(G), 1e-12))
        S = (G / norm[:, None] / norm[None, :]).astype(np.float32)
        np.fill_diagonal(S, 0.0)
        n = S.shape[0]
        if neighbours < n - 1:
            # keep, in each column, the `neighbours` largest similarities
            keep = np.argpartition(-S, neighbours - 1, axis=0)[:neighbours]
            mask = np.zeros_like(S, dtype=bool)
            np.put_along_axis(mask, keep, True, axis=0)
            S = np.where(mask, S, 0.0).astype(np.float32)
        return cls(S, int(neighbours))

    def scores(self, X: sp.csr_matrix) -> np.ndarray:
        """Dense scores of the rows of ``X`` (customers × model items)."""
        return np.asarray(X @ self.weights, dtype=np.float32)


#: Items remembered per target item by :class:`CoPurchase` (those whose buyers most often
#: buy the target).
COPURCHASE_SOURCES = 30


@dataclass(frozen=True, eq=False)
class CoPurchase:
    """Customer-level co-purchase shares of the model items, overall and per segment.

    For every group (0 = every customer, ``k + 1`` = segment ``segments[k]``) and target item
    ``j`` it keeps the :data:`COPURCHASE_SOURCES` items ``i`` with the highest share
    ``P(j | i)`` = customers of the group who bought both / who bought ``i``, with that share
    and the buyers of ``i``. A customer's best share for ``j`` is that of the first of them the
    customer bought (0 when none: a share below the 30th is not worth quoting).
    """

    sources: np.ndarray  # int32 (groups, n, m): model positions of i, best share first
    shares: np.ndarray  # float32 (groups, n, m)
    bases: np.ndarray  # float32 (groups, n, m): customers of the group who bought i
    segments: tuple[int, ...]

    @classmethod
    def fit(
        cls,
        X: sp.csr_matrix,
        segment: np.ndarray,
        *,
        G: np.ndarray | None = None,
        keep: int = COPURCHASE_SOURCES,
        grams: Sequence[np.ndarray] | None = None,
    ) -> CoPurchase:
        """From the binary customer × model-item matrix and each row's segment (-1: none);
        ``G`` and ``grams`` (each segment's, :func:`segment_grams`) when already computed."""
        segments = tuple(int(s) for s in np.unique(segment) if s >= 0)
        if grams is None and G is None:
            G, grams = segment_grams(X, segment)
        elif grams is None:
            grams = tuple(gram(X[np.flatnonzero(segment == s)]) for s in segments)
        elif G is None:
            G = gram(X)
        grams = [G, *grams]
        n = X.shape[1]
        m = max(1, min(keep, n - 1)) if n > 1 else 1
        sources = np.zeros((len(grams), n, m), dtype=np.int32)
        shares = np.zeros((len(grams), n, m), dtype=np.float32)
        bases = np.zeros((len(grams), n, m), dtype=np.float32)
        for g, C in enumerate(grams):
            base = np.diag(C).copy()
            # row j: P(j | i) = C[i, j] / C[i, i] over the sources i (C is symmetric)
            QT = C / np.maximum(base, 1.0)[None, :]
            np.fill_diagonal(QT, 0.0)
            QT[:, base <= 0] = 0.0
            best = top_k(QT, m)  # (n targets, m sources), best first
            best = np.where(best >= 0, best, 0)
            sources[g] = best
            shares[g] = np.take_along_axis(QT, best, axis=1)
            bases[g] = base[best]
        return cls(sources, shares, bases, segments)

    def best(
        self,
        groups: np.ndarray,
        targets: np.ndarray,
        owned: np.ndarray,
        rows: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per pair: the best share ``P(target | i)`` over the items ``i`` its customer owns,
        that item (model position, -1 none) and its buyers in the group.

        ``groups``, ``targets`` (model positions) and ``rows`` are per pair; ``owned`` (bool,
        customers × model items) says what each customer bought, ``rows`` the pair's customer
        in it.
        """
        n = self.sources.shape[1]
        masked = self.__dict__.get("_masked")
        if masked is None:  # the sources, or the never-owned column n where the share is 0
            masked = np.where(self.shares > 0, self.sources, n).astype(np.int32)
            object.__setattr__(self, "_masked", masked)
        padded = np.zeros((owned.shape[0], n + 1), dtype=bool)
        padded[:, :n] = owned
        wide = padded.size >= 2**31
        m = masked.shape[2]
        lists = np.asarray(groups, dtype=np.int64) * n + targets  # (group, target) list
        cell = np.take(masked.reshape(-1, m), lists, axis=0)
        cell = cell.astype(np.int64 if wide else np.int32, copy=False)
        cell += (np.asarray(rows).astype(cell.dtype) * (n + 1))[:, None]
        hit = padded.ravel()[cell]  # (pairs, m): the customer owns the source
        first = np.argmax(hit, axis=1)
        found = hit[np.arange(targets.size), first]
        at = lists * m + first  # the chosen source in the flattened lists
        return (
            np.where(found, self.shares.ravel()[at], 0.0).astype(np.float64),
            np.where(found, self.sources.ravel()[at], -1).astype(np.int64),
            np.where(found, self.bases.ravel()[at], 0.0).astype(np.float64),
        )


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row (unordered; ``-inf`` = excluded).

    Rows with fewer than ``k`` finite scores get their finite ones and ``-1`` padding. Rows
    are selected a block at a time (each row's selection is its own), so the temporaries stay
    in the cache.

    Example:
        >>> top_k(np.array([[0.1, 0.9, -np.inf], [0.5, 0.2, 0.3]]), 2).tolist()
        [[1, 0], [0, 2]]
    """
    n = scores.shape[1]
    if n == 0:
        return np.full((scores.shape[0], 0), -1)
    k = min(k, n)
    step = max(1, _TOP_K_CELLS // n)
    if scores.shape[0] <= step:
        return _top_k(scores, k)
    return np.concatenate(
        [_top_k(scores[start : start + step], k) for start in range(0, scores.shape[0], step)]
    )


_TOP_K_CELLS = 1 << 18  # scores selected from at a time by top_k


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    n = scores.shape[1]
    idx = (
        np.argpartition(-scores, k - 1, axis=1)[:, :k]
        if k < n
        else np.tile(np.arange(n), (scores.shape[0], 1))
    )
    picked = np.take_along_axis(scores, idx, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    return np.where(np.isfinite(picked), idx, -1)


def chunks(n: int, size: int) -> Iterator[np.ndarray]:
    """Row index ranges ``[0, size), [size, 2·size), …`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield np.arange(start, min(n, start + size))

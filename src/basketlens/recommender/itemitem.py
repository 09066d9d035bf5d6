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
  quotes ("62% of the customers who buy Brie also buy Baguette").

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
from collections.abc import Iterator
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


def gram(X: sp.csr_matrix) -> np.ndarray:
    """``XᵀX`` as a dense float64 matrix (co-purchase counts; the diagonal holds buyers)."""
    return np.asarray((X.T @ X).toarray(), dtype=np.float64)


def _spd_inverse(G: np.ndarray, lam: float) -> np.ndarray:
    """``(G + λI)⁻¹`` by Cholesky in single precision (LAPACK potrf/potri), about ten times
    faster than ``inv`` in double; double precision if single is not accurate enough."""
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
        inv = inv + np.tril(inv, -1).T
        if np.all(np.isfinite(inv)) and np.all(np.diag(inv) > 0):
            return inv.astype(np.float64)
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
        B = -P / np.diag(P)
        B[np.diag_indices_from(B)] = 0.0
        return cls(B.astype(np.float32), float(lam))

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
            # keep, in each column, the `neighbours` largest similarities (ties: lower code)
            keep = np.argsort(-S, axis=0, kind="stable")[:neighbours]
            mask = np.zeros_like(S, dtype=bool)
            np.put_along_axis(mask, keep, True, axis=0)
            S = np.where(mask, S, 0.0).astype(np.float32)
        return cls(S, int(neighbours))

    def scores(self, X: sp.csr_matrix) -> np.ndarray:
        """Dense scores of the rows of ``X`` (customers × model items)."""
        return np.asarray(X @ self.weights, dtype=np.float32)


@dataclass(frozen=True, eq=False)
class CoPurchase:
    """Customer-level co-purchase counts of the model items, overall and per segment.

    ``counts[g]`` is the ``n × n`` float32 count matrix of group ``g`` (group 0 = every
    customer, group ``k + 1`` = segment ``segments[k]``); ``counts[g][i, j]`` customers of the
    group bought both ``i`` and ``j``, ``counts[g][i, i]`` bought ``i``.
    """

    counts: tuple[np.ndarray, ...]
    segments: tuple[int, ...]

    @classmethod
    def fit(
        cls, X: sp.csr_matrix, segment: np.ndarray, *, G: np.ndarray | None = None
    ) -> CoPurchase:
        """Counts from the binary customer × model-item matrix and each row's segment (-1: none)."""
        counts = [(gram(X) if G is None else G).astype(np.float32)]
        segments = tuple(int(s) for s in np.unique(segment) if s >= 0)
        for s in segments:
            counts.append(gram(X[np.flatnonzero(segment == s)]).astype(np.float32))
        return cls(tuple(counts), segments)

    def group(self, segment: int) -> int:
        """The group index of a segment id (0 when the segment is unknown)."""
        try:
            return self.segments.index(int(segment)) + 1
        except ValueError:
            return 0

    def best(
        self, group: int, owned: np.ndarray, targets: np.ndarray, *, min_base: int = 1
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each target item: the highest share ``P(target | i)`` over the ``owned`` items
        bought by at least ``min_base`` customers of the group, that item, and its buyers.

        Returns ``(share, item, base)`` arrays (item -1 and share 0 when nothing qualifies).
        """
        C = self.counts[group]
        if owned.size == 0 or targets.size == 0:
            zero = np.zeros(targets.size)
            return zero, np.full(targets.size, -1), zero
        base = np.diag(C)[owned]
        ok = base >= min_base
        shares = C[np.ix_(owned, targets)] / np.maximum(base, 1.0)[:, None]
        shares[~ok] = 0.0
        arg = np.argmax(shares, axis=0)
        share = shares[arg, np.arange(targets.size)]
        item = np.where(share > 0, owned[arg], -1)
        return share.astype(np.float64), item, np.where(share > 0, base[arg], 0.0)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row (unordered; ``-inf`` = excluded).

    Rows with fewer than ``k`` finite scores get their finite ones and ``-1`` padding.

    Example:
        >>> top_k(np.array([[0.1, 0.9, -np.inf], [0.5, 0.2, 0.3]]), 2).tolist()
        [[1, 0], [0, 2]]
    """
    n = scores.shape[1]
    if n == 0:
        return np.full((scores.shape[0], 0), -1)
    k = min(k, n)
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

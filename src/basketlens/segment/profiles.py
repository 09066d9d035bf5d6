"""Segment profiles, PCA projection, plain-language persona names and descriptions.

**Profiles.** One row per segment: size and revenue shares, a two-line ``description`` and
three ``examples`` (the customers nearest the segment's centre), then for each model feature
the raw ``mean__<f>`` and ``median__<f>`` and ``z__<f>``, the segment centroid in standardised
units (mean of the scaled feature, after capping/transform), i.e. how many standard
deviations the segment sits above (+) or below (−) all customers.

Names and descriptions come from :mod:`basketlens.segment.personas`.

Example:
    >>> centroids(np.array([[1.0], [3.0], [-2.0]]), np.array([0, 0, 1]), 2).tolist()
    [[2.0], [-2.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from sklearn.decomposition import PCA


def fit_pca(scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Project scaled features on 2 principal components with a fixed sign convention.

    Each component is flipped so that its largest-|loading| entry is positive, so reruns give
    identical coordinates. Returns ``(scores (n, 2), loadings (n_features, 2), explained)``;
    missing components (a single feature or sample) are zeros.

    Example:
        >>> X = np.array([[-1.0, -2.0], [0.0, 0.0], [1.0, 2.0]])
        >>> scores, loadings, explained = fit_pca(X)
        >>> loadings[:, 0].round(3).tolist(), round(explained[0], 3)
        ([0.447, 0.894], 1.0)
    """
    n, p = scaled.shape
    scores = np.zeros((n, 2))
    loadings = np.zeros((p, 2))
    explained = [0.0, 0.0]
    m = min(2, p, n)
    if m >= 1 and n >= 2:
        pca = PCA(n_components=m, svd_solver="full").fit(scaled)
        comps = pca.components_.copy()
        for j in range(m):
            if comps[j, int(np.argmax(np.abs(comps[j])))] < 0:
                comps[j] = -comps[j]
        scores[:, :m] = (scaled - pca.mean_) @ comps.T
        loadings[:, :m] = comps.T
        ratio = np.nan_to_num(pca.explained_variance_ratio_, nan=0.0)
        explained[:m] = [float(r) for r in ratio]
    return scores, loadings, (explained[0], explained[1])


def centroids(scaled: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``scaled`` per segment ``0..k-1`` (zeros for an empty segment), shape (k, p).

    Example:
        >>> centroids(np.array([[1.0], [3.0], [-2.0]]), np.array([0, 0, 1]), 2).tolist()
        [[2.0], [-2.0]]
    """
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.column_stack(
        [np.bincount(labels, weights=col, minlength=k) for col in scaled.T]
    ).reshape(k, scaled.shape[1])
    return np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)


def example_customers(
    space: np.ndarray, labels: np.ndarray, k: int, names: pl.Series, *, n: int = 3
) -> list[list[str]]:
    """The ``n`` customers nearest each segment's centre (in the space that defined the
    segments), nearest first: the most typical members, by name.

    Example:
        >>> space = np.array([[0.0], [0.1], [5.0], [0.3]])
        >>> example_customers(space, np.array([0, 0, 1, 0]), 2, pl.Series(["a", "b", "c", "d"]))
        [['b', 'a', 'd'], ['c']]
    """
    centres = centroids(space, labels, k)
    distance = ((space - centres[labels]) ** 2).sum(axis=1)
    out = []
    for s in range(k):
        members = np.flatnonzero(labels == s)
        nearest = members[np.argsort(distance[members], kind="stable")[:n]]
        out.append(names.gather(nearest).to_list())
    return out


def build_profiles(
    raw: np.ndarray,
    scaled: np.ndarray,
    labels: np.ndarray,
    features: Sequence[str],
    net_sales: np.ndarray,
    names: Sequence[str],
    descriptions: Sequence[str] | None = None,
    examples: Sequence[Sequence[str]] | None = None,
) -> pl.DataFrame:
    """The ``segments_`` table: one row per segment ``0..k-1``.

    Example:
        >>> raw = np.array([[1.0], [3.0], [10.0]])
        >>> t = build_profiles(raw, np.array([[-1.0], [-0.5], [1.5]]), np.array([1, 1, 0]),
        ...                    ["total_quantity"], np.array([1.0, 3.0, 10.0]), ["A", "B"])
        >>> t.select("segment", "customers", "mean__total_quantity", "z__total_quantity").rows()
        [(0, 1, 10.0, 1.5), (1, 2, 2.0, -0.75)]
    """
    k = len(names)
    counts = np.bincount(labels, minlength=k)
    sales = np.bincount(labels, weights=net_sales, minlength=k)
    total_sales = float(net_sales.sum())
    n = max(len(labels), 1)
    cols: dict[str, pl.Series] = {
        "segment": pl.Series(np.arange(k), dtype=pl.Int32),
        "segment_name": pl.Series(list(names), dtype=pl.String),
        "customers": pl.Series(counts, dtype=pl.Int64),
        "customer_share": pl.Series(counts / n, dtype=pl.Float64),
        "net_sales": pl.Series(sales, dtype=pl.Float64),
        "revenue_share": pl.Series(
            sales / total_sales if total_sales != 0 else np.zeros(k), dtype=pl.Float64
        ),
        "description": pl.Series(
            list(descriptions) if descriptions is not None else [""] * k, dtype=pl.String
        ),
        "examples": pl.Series(
            [list(e) for e in examples] if examples is not None else [[] for _ in range(k)],
            dtype=pl.List(pl.String),
        ),
    }
    means = centroids(raw, labels, k)
    zs = centroids(scaled, labels, k)
    medians = np.zeros((k, len(features)))
    for s in range(k):
        mask = labels == s
        if mask.any():
            medians[s] = np.median(raw[mask], axis=0)
    for j, f in enumerate(features):
        cols[f"mean__{f}"] = pl.Series(means[:, j], dtype=pl.Float64)
        cols[f"median__{f}"] = pl.Series(medians[:, j], dtype=pl.Float64)
        cols[f"z__{f}"] = pl.Series(zs[:, j], dtype=pl.Float64)
    return pl.DataFrame(cols)

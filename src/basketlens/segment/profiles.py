"""Segment profiles, PCA projection and plain-language persona names.

**Profiles.** One row per segment: size and revenue shares, then for each model feature the
raw ``mean__<f>`` and ``median__<f>`` and ``z__<f>``, the segment centroid in standardised
units (mean of the scaled feature, after capping/log), i.e. how many standard deviations the
segment sits above (+) or below (−) all customers.

**Persona rules.** A trait is *high* when ``z >= 0.5`` and *low* when ``z <= -0.5``:

* ``recency_days`` high → "Lapsed" (first word); not used when low.
* ``tenure_days`` (only if not lapsed) high → "Long-standing", low → "New".
* ``net_sales_per_unit`` high → "premium", low → suffix "low price per unit".
* frequency = mean z of ``invoice_count``, ``avg_monthly_orders`` and
  −``avg_days_between_orders`` (those present): high → "frequent", low → "occasional".
* size: ``total_quantity`` high → "high-volume", else ``total_net_sales`` high → "high-spend";
  both low → "small", only quantity low → "low-volume", only spend low → "low-spend".
* ``avg_basket_value`` (else ``avg_basket_size``) → suffix "large baskets" / "small baskets".
* ``distinct_items`` → suffix "wide range" / "narrow range".
* ``brand_share__x`` / ``category_share__x`` high → suffix "favour x".

Words are assembled as ``[status] [premium] [frequency] [size] buyers[, up to two suffixes by
|z|]``; a lapsed segment with no other trait is "Lapsed customers", a segment with no trait at
all "Typical buyers". Names are made distinct: segments sharing a name get ", higher <x>" /
", lower <x>" for the feature whose z differs most between them, and any remaining duplicates
a " (2)", " (3)" suffix in segment order.

Example:
    >>> describe_segment({"total_quantity": 1.8, "invoice_count": 1.1, "net_sales_per_unit": -0.9})
    'Frequent high-volume buyers, low price per unit'
    >>> describe_segment({"recency_days": 1.5, "total_quantity": -0.2})
    'Lapsed customers'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from sklearn.decomposition import PCA

#: z thresholds of a "high" and a "low" trait.
HIGH = 0.5
LOW = -0.5

#: Nouns used when two segments must be told apart ("higher <noun>").
FEATURE_NOUNS: dict[str, str] = {
    "total_quantity": "volume",
    "total_net_sales": "spend",
    "net_sales_per_unit": "price per unit",
    "invoice_count": "order count",
    "avg_days_between_orders": "gaps between orders",
    "avg_monthly_orders": "monthly orders",
    "recency_days": "days since last order",
    "tenure_days": "tenure",
    "avg_basket_size": "basket size",
    "avg_basket_value": "basket value",
    "distinct_items": "item range",
}

_FREQUENCY = {"invoice_count": 1.0, "avg_monthly_orders": 1.0, "avg_days_between_orders": -1.0}


def _noun(feature: str) -> str:
    if feature in FEATURE_NOUNS:
        return FEATURE_NOUNS[feature]
    for prefix, word in (("brand_share__", "share of brand "), ("category_share__", "share of ")):
        if feature.startswith(prefix):
            return word + feature[len(prefix) :].replace("_", " ")
    return feature.replace("_", " ")


def describe_segment(z: Mapping[str, float]) -> str:
    """Plain-language persona of one segment from its z-profile (feature -> z).

    Features absent from ``z`` are simply not used.

    Example:
        >>> describe_segment({"total_quantity": -1.0, "total_net_sales": -0.8,
        ...                   "invoice_count": -0.7})
        'Occasional small buyers'
    """

    def high(f: str) -> bool:
        return f in z and z[f] >= HIGH

    def low(f: str) -> bool:
        return f in z and z[f] <= LOW

    words: list[str] = []
    suffixes: list[tuple[float, str]] = []
    lapsed = high("recency_days")
    if lapsed:
        words.append("lapsed")
    elif high("tenure_days"):
        words.append("long-standing")
    elif low("tenure_days"):
        words.append("new")
    if high("net_sales_per_unit"):
        words.append("premium")
    elif low("net_sales_per_unit"):
        suffixes.append((abs(z["net_sales_per_unit"]), "low price per unit"))
    freq = [sign * z[f] for f, sign in _FREQUENCY.items() if f in z]
    if freq:
        f_mean = float(np.mean(freq))
        if f_mean >= HIGH:
            words.append("frequent")
        elif f_mean <= LOW:
            words.append("occasional")
    if high("total_quantity"):
        words.append("high-volume")
    elif high("total_net_sales"):
        words.append("high-spend")
    elif low("total_quantity") and low("total_net_sales"):
        words.append("small")
    elif low("total_quantity"):
        words.append("low-volume")
    elif low("total_net_sales"):
        words.append("low-spend")
    basket = "avg_basket_value" if "avg_basket_value" in z else "avg_basket_size"
    if high(basket):
        suffixes.append((abs(z[basket]), "large baskets"))
    elif low(basket):
        suffixes.append((abs(z[basket]), "small baskets"))
    if high("distinct_items"):
        suffixes.append((abs(z["distinct_items"]), "wide range"))
    elif low("distinct_items"):
        suffixes.append((abs(z["distinct_items"]), "narrow range"))
    for f in sorted(z):
        if f.startswith(("brand_share__", "category_share__")) and high(f):
            label = f.split("__", 1)[1].replace("_", " ")
            suffixes.append((abs(z[f]), f"favour {label}"))
    suffixes.sort(key=lambda s: -s[0])  # stable: equal |z| keep rule order
    if words == ["lapsed"] and not suffixes:
        return "Lapsed customers"
    name = " ".join([*words, "buyers"]) if words else "typical buyers"
    if suffixes:
        name += ", " + ", ".join(text for _, text in suffixes[:2])
    return name[0].upper() + name[1:]


def persona_names(z: np.ndarray, features: Sequence[str]) -> list[str]:
    """Distinct persona names for segments ``0..k-1`` from their z-profiles ``(k, n_features)``.

    Example:
        >>> persona_names(np.array([[1.0, 0.0], [1.0, 2.0]]), ["total_quantity", "tenure_days"])
        ['High-volume buyers', 'Long-standing high-volume buyers']
    """
    z = np.asarray(z, dtype=np.float64)
    names = [describe_segment(dict(zip(features, row, strict=True))) for row in z]
    for name in sorted(set(names)):
        group = [i for i, n in enumerate(names) if n == name]
        if len(group) < 2 or not features:
            continue
        spread = z[group].max(axis=0) - z[group].min(axis=0)
        j = int(np.argmax(spread))  # first feature on ties: deterministic
        if spread[j] <= 0:
            continue
        centre = z[group, j].mean()
        for i in group:
            word = "higher" if z[i, j] > centre else "lower"
            names[i] = f"{name}, {word} {_noun(features[j])}"
    used: set[str] = set()
    for i, name in enumerate(names):
        number = 1
        while names[i] in used:
            number += 1
            names[i] = f"{name} ({number})"
        used.add(names[i])
    return names


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


def build_profiles(
    raw: np.ndarray,
    scaled: np.ndarray,
    labels: np.ndarray,
    features: Sequence[str],
    net_sales: np.ndarray,
    names: Sequence[str],
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

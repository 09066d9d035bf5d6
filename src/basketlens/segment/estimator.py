"""``CustomerSegmenter``: k-means segmentation of the customer feature table.

Pipeline: select features (names or ``*`` patterns) → cap, transform each feature as its
distribution asks, scale (:mod:`.preprocess`) → weigh each customer by the reliability of its
averages (its orders, ``invoice_count``) → fit every candidate ``k`` with feature weights
learnt from the segments (:mod:`.clustering`) and choose ``k`` by ``k_method``
(:mod:`.k_selection`, :mod:`.criteria`) → refit on everyone → bootstrap stability and the
verdict (:mod:`.verdict`) → stable segment ids → PCA, profiles, persona names and descriptions
(:mod:`.profiles`).

The default features and ``k_method`` were chosen on the generated family of ledgers with
known personas (``benchmarks/bench_segmentation.py``; the table is in
``docs/segmentation.md``).

Example:
    >>> import numpy as np, polars as pl
    >>> rng = np.random.default_rng(0)
    >>> big = rng.normal(1000, 10, 20)
    >>> small = rng.normal(10, 1, 20)
    >>> table = pl.DataFrame({
    ...     "customer_id": [str(i) for i in range(40)],
    ...     "total_quantity": np.r_[big, small], "total_net_sales": np.r_[big, small] * 2,
    ... })
    >>> seg = CustomerSegmenter(features=["total_quantity", "total_net_sales"], k_max=4,
    ...                         cap_quantile=None).fit(table)
    >>> seg.k_, seg.labels_[:3].tolist(), seg.labels_[-3:].tolist(), seg.verdict_
    (2, [0, 0, 0], [1, 1, 1], 'clear')
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from basketlens._params import keyword_init
from basketlens.errors import (
    EmptyInputError,
    InputError,
    NotFittedError,
    ParameterError,
    SchemaError,
)
from basketlens.segment.clustering import (
    Candidate,
    fit_candidate,
    reliability_weights,
    single_threaded_blas,
    trusted_inputs,
)
from basketlens.segment.criteria import bootstrap_stability, null_silhouette, silhouettes
from basketlens.segment.k_selection import (
    deterministic_sample,
    refit_in_space,
    select_k,
    single_k_table,
)
from basketlens.segment.options import SegmentOptions
from basketlens.segment.personas import describe_segments, persona_names
from basketlens.segment.preprocess import FeaturePreprocessor
from basketlens.segment.profiles import build_profiles, centroids, example_customers, fit_pca
from basketlens.segment.verdict import verdict

logger = logging.getLogger(__name__)

#: Features used when ``features=None``: how often, how much per order and per line, at what
#: price, how recently and how much in all, then what (category, brand, price tier, basket
#: type). Patterns match the share and mix columns present. Chosen on the generated family
#: (``docs/segmentation.md``).
DEFAULT_FEATURES: tuple[str, ...] = (
    "avg_monthly_orders",
    "avg_basket_size",
    "avg_line_value",
    "net_sales_per_unit",
    "recency_days",
    "total_net_sales",
    "category_share__*",
    "brand_share__*",
    "price_tier_share__*",
    "mix__*",
)

ID_COLUMN = "customer_id"
NAME_COLUMN = "customer_name"
SALES_COLUMN = "total_net_sales"
#: Orders per customer, for the customer weights (``reliability_orders``); without the column
#: every customer counts the same.
ORDERS_COLUMN = "invoice_count"


def resolve_features(table: pl.DataFrame, features: Sequence[str] | None) -> list[str]:
    """The numeric columns of ``table`` that ``features`` names, in order: exact names (each
    must exist) and ``*``/``?`` patterns (matching columns in table order; a pattern may match
    none). ``None`` resolves ``DEFAULT_FEATURES``, skipping names the table lacks.

    Example:
        >>> t = pl.DataFrame({"customer_id": ["a"], "x": [1.0], "share__a": [0.5],
        ...                   "share__b": [0.5]})
        >>> resolve_features(t, ["share__*", "x"])
        ['share__a', 'share__b', 'x']
    """
    if features is None:
        wanted, defaults = list(DEFAULT_FEATURES), True
    else:
        wanted, defaults = [] if isinstance(features, str) else list(features), False
        if isinstance(features, str) or not all(isinstance(f, str) for f in wanted):
            raise ParameterError(
                f"features must be a list of column names or None; got {features!r}"
            )
    if not wanted:
        raise ParameterError("features must name at least one column; got []")
    duplicated = sorted({f for f in wanted if wanted.count(f) > 1})
    if duplicated:
        raise ParameterError(f"features must not repeat a column; got {duplicated} twice")
    available = [c for c, t in table.schema.items() if t.is_numeric()]
    resolved: list[str] = []
    unknown: list[str] = []
    for name in wanted:
        if any(ch in name for ch in "*?["):
            resolved += [c for c in fnmatch.filter(available, name) if c not in resolved]
        elif name in available:
            if name not in resolved:
                resolved.append(name)
        elif not defaults:
            unknown.append(name)
    if unknown:
        raise ParameterError(
            f"features {unknown} are not numeric columns of the feature table; "
            f"available: {', '.join(available) or '(none)'}"
        )
    if not resolved:
        raise ParameterError(
            f"features {wanted} match no numeric column of the feature table; "
            f"available: {', '.join(available) or '(none)'}"
        )
    return resolved


class CustomerSegmenter(ClusterMixin, BaseEstimator):
    """Segment customers with k-means on capped, transformed, scaled and weighted features.

    Parameters (declared by :class:`SegmentOptions`):
        features: feature columns (or ``*`` patterns) to cluster on; None uses
            ``DEFAULT_FEATURES``.
        k: number of segments; None chooses it in ``k_min..k_max`` by ``k_method``.
        k_min, k_max: candidate range (``k_max`` is clipped to ``n_customers - 1``).
        k_method: criterion choosing ``k`` (``basketlens.segment.criteria.K_METHODS``).
        cap_quantile: winsorise each feature at this upper quantile and ``1 - cap_quantile``;
            None disables capping.
        transform: "auto" (log where it makes a feature less skewed), "log" or "none".
        weighting: learn feature weights from the segments (:mod:`.clustering`).
        reliability_orders: weigh customers by ``n / (n + reliability_orders)``, ``n`` their
            orders (``invoice_count``; :func:`.clustering.reliability_weights`); None: equal.
        n_init, random_state: k-means++ restarts and seed.
        sample_size: k selection and stability use a deterministic sample of at most this many
            customers; the chosen ``k`` is refitted on everyone.
        stability_resamples: bootstrap refits behind the stability.
        order_by: segment ids ``0..k-1`` by total net sales ("revenue") or customer count
            ("size"), descending.

    Fitted attributes: ``features_``, ``k_``, ``labels_``, ``assignments_``, ``segments_``,
    ``k_selection_``, ``loadings_``, ``pca_explained_``, ``silhouette_``, ``null_silhouette_``
    (the silhouette of ``k`` segments in customers without segments), ``stability_``,
    ``verdict_`` ("clear" or "weak") and ``verdict_reason_``, ``feature_weights_``,
    ``transforms_`` (per feature: transform and skewness), ``cluster_centers_`` (weighted
    scaled units, in segment-id order), ``preprocessor_``; :meth:`summary` is the run record.
    """

    # the parameters are declared once, by SegmentOptions (defaults, constraints, help)
    __init__ = keyword_init(SegmentOptions)

    @classmethod
    def from_options(cls, options: SegmentOptions) -> CustomerSegmenter:
        """A segmenter with the parameters of ``options``.

        Example:
            >>> CustomerSegmenter.from_options(SegmentOptions(k=3)).k
            3
        """
        return cls(**options.as_dict())

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> SegmentOptions:
        return SegmentOptions(**self.get_params()).validate()

    def _resolve_features(self, table: pl.DataFrame) -> list[str]:
        return resolve_features(table, self.features)

    @staticmethod
    def _matrix(table: pl.DataFrame, features: Sequence[str], what: str) -> np.ndarray:
        if not isinstance(table, pl.DataFrame):
            raise InputError(f"{what} expects a polars DataFrame; got {type(table).__name__}")
        missing = [c for c in features if c not in table.columns]
        if missing:
            raise SchemaError(
                f"feature table is missing column(s) {missing}; columns: {table.columns}"
            )
        X = table.select(pl.col(features).cast(pl.Float64)).to_numpy()
        bad = ~np.isfinite(X)
        if bad.any():
            cols = [f"{f} ({int(n)} rows)" for f, n in zip(features, bad.sum(0), strict=True) if n]
            raise InputError(
                f"feature table has null, NaN or infinite values in {', '.join(cols)}; "
                "fill or drop those customers first"
            )
        return np.ascontiguousarray(X, dtype=np.float64)

    # ------------------------------------------------------------------ fit / predict
    def fit(
        self, table: pl.DataFrame, y: object = None, *, labels: Mapping[str, str] | None = None
    ) -> CustomerSegmenter:
        """Fit the segmentation on a customer feature table (one row per customer).

        ``labels`` names what share and mix columns are about
        (``CustomerFeatures.labels``), for the persona names and descriptions.
        """
        start = time.perf_counter()
        self._check_params()
        if not isinstance(table, pl.DataFrame):
            raise InputError(f"fit expects a polars DataFrame; got {type(table).__name__}")
        features = self._resolve_features(table)
        for column, use in ((ID_COLUMN, "customer ids"), (SALES_COLUMN, "segment revenue")):
            if column not in table.columns:
                raise SchemaError(
                    f"feature table needs column {column!r} for {use}; columns: {table.columns}"
                )
        X_raw = self._matrix(table, features, "fit")
        sales = self._matrix(table, [SALES_COLUMN], "fit")[:, 0]
        n = X_raw.shape[0]
        if n == 0:
            raise EmptyInputError("feature table has no customers to segment")
        if self.k is not None and n <= self.k:
            smaller = f"choose k of at most {n - 1} (--k {n - 1}) or " if n > 2 else ""
            raise ParameterError(
                f"n_customers={n} should be > k={self.k}: {_customers(n)} cannot form "
                f"{self.k} segments; {smaller}use a ledger with more customers"
            )
        if self.k is None and n <= self.k_min:
            raise ParameterError(
                f"n_customers={n} should be > k_min={self.k_min}: with {_customers(n)} there "
                f"is no k of {self.k_min} or more to choose; use a ledger with more customers "
                "(the cleaning account shows the lines dropped)"
            )

        prep = FeaturePreprocessor(cap_quantile=self.cap_quantile, transform=self.transform)
        X = prep.fit_transform(X_raw)
        orders = (
            self._matrix(table, [ORDERS_COLUMN], "fit")[:, 0]
            if ORDERS_COLUMN in table.columns
            else None
        )
        weight = None if orders is None else reliability_weights(orders, self.reliability_orders)
        with single_threaded_blas(), trusted_inputs():  # X was checked finite above
            candidate, k_table, sil, stability, null_sil = self._cluster(X, weight)
        k = candidate.k
        raw_labels = candidate.labels
        found = np.unique(raw_labels).size
        if found < k:
            raise InputError(
                f"only {found} distinct customer profile(s) in features {features}; cannot form "
                f"k={k} segments: lower k, or add features that tell customers apart"
            )
        centers = candidate.model.cluster_centers_
        remap = self._stable_order(raw_labels, sales, centers, k)
        seg_labels = remap[raw_labels].astype(np.int32)

        words = dict(labels or {})
        z = centroids(X, seg_labels, k)
        names = persona_names(z, features, words)
        Xw = candidate.space(X)
        scores, loadings, explained = fit_pca(Xw)
        name_arr = np.asarray(names, dtype=object)
        judged = verdict(silhouette=sil, null_silhouette=null_sil, stability=stability)

        self.features_ = features
        self.preprocessor_ = prep
        self.k_ = k
        self.labels_ = seg_labels
        self.silhouette_ = float(sil)
        self.stability_ = float(stability)
        self.null_silhouette_ = float(null_sil)
        self.verdict_ = judged.label
        self.verdict_reason_ = judged.reason
        self.feature_weights_ = dict(zip(features, candidate.weights.tolist(), strict=True))
        self.transforms_ = [
            {"feature": f, **d} for f, d in zip(features, prep.describe(), strict=True)
        ]
        self.cluster_centers_ = centers[np.argsort(remap)]
        self.k_selection_ = k_table
        ids = table.get_column(ID_COLUMN).cast(pl.String)
        shown = table.get_column(NAME_COLUMN) if NAME_COLUMN in table.columns else ids
        examples = example_customers(Xw, seg_labels, k, shown.cast(pl.String).fill_null(ids))
        descriptions = describe_segments(X_raw, z, seg_labels, features, words)
        self.segments_ = build_profiles(
            X_raw, X, seg_labels, features, sales, names, descriptions, examples
        )
        self.assignments_ = pl.DataFrame(
            {
                "customer_id": ids,
                "segment": pl.Series(seg_labels, dtype=pl.Int32),
                "segment_name": pl.Series(name_arr[seg_labels].tolist(), dtype=pl.String),
                "pca_1": pl.Series(scores[:, 0], dtype=pl.Float64),
                "pca_2": pl.Series(scores[:, 1], dtype=pl.Float64),
            }
        )
        self.loadings_ = pl.DataFrame(
            {
                "feature": pl.Series(features, dtype=pl.String),
                "pc_1": pl.Series(loadings[:, 0], dtype=pl.Float64),
                "pc_2": pl.Series(loadings[:, 1], dtype=pl.Float64),
                "weight": pl.Series(candidate.weights, dtype=pl.Float64),
                "transform": pl.Series([t["transform"] for t in self.transforms_]),
            }
        )
        self.pca_explained_ = explained
        self._candidate = candidate
        self._remap = remap
        logger.info(
            "segmented %d customers into k=%d segments (silhouette %.3f, stability %.3f, %s) "
            "in %.1fs",
            n,
            k,
            sil,
            stability,
            judged.label,
            time.perf_counter() - start,
        )
        return self

    def _cluster(
        self, X: np.ndarray, weight: np.ndarray | None
    ) -> tuple[Candidate, pl.DataFrame, float, float, float]:
        """Fit the given ``k`` or choose one (customers weighted by ``weight``); return the
        candidate fitted on all rows, the ``k_selection_`` table, and the silhouette,
        stability and null silhouette of the result."""
        n = X.shape[0]
        sample = deterministic_sample(n, self.sample_size, self.random_state)
        rows = X if sample is None else X[sample]
        sw = weight if weight is None or sample is None else weight[sample]
        if self.k is not None:
            k = int(self.k)
            cand = fit_candidate(
                X,
                k,
                n_init=self.n_init,
                random_state=self.random_state,
                weighting=self.weighting,
                sample_weight=weight,
            )
            labels = cand.labels if sample is None else cand.labels[sample]
            space = cand.space(rows)
            sil = silhouettes(space, [labels])[0]
            refit = refit_in_space(self.n_init, self.random_state)
            stability = bootstrap_stability(
                space,
                k,
                refit,
                resamples=self.stability_resamples,
                seed=self.random_state,
                sample_weight=sw,
            )
            null_sil = null_silhouette(space, k, refit, seed=self.random_state, sample_weight=sw)
            distinct = np.unique(labels).size > 1
            scores = {
                "silhouette": sil,
                "calinski_harabasz": float(calinski_harabasz_score(space, labels))
                if distinct
                else float("nan"),
                "davies_bouldin": float(davies_bouldin_score(space, labels))
                if distinct
                else float("nan"),
                "stability": stability,
                "null_silhouette": null_sil,
            }
            return cand, single_k_table(k, cand.inertia, scores), sil, stability, null_sil
        k_max = min(self.k_max, n - 1)
        if k_max < self.k_max:
            logger.info("k_max clipped from %d to %d (n_customers=%d)", self.k_max, k_max, n)
        selection = select_k(
            X,
            ks=list(range(self.k_min, k_max + 1)),
            method=self.k_method,
            n_init=self.n_init,
            random_state=self.random_state,
            sample_size=self.sample_size,
            weighting=self.weighting,
            resamples=self.stability_resamples,
            sample_weight=weight,
        )
        cand = selection.candidate
        sil = selection.silhouette
        if selection.sampled:  # refit once on everyone, from the sample's weights and centroids
            cand = fit_candidate(
                X,
                selection.k,
                n_init=1,
                init=cand,
                random_state=self.random_state,
                weighting=False,
                sample_weight=weight,
            )
        return cand, selection.table, sil, selection.stability, selection.null_silhouette

    def _stable_order(
        self, raw_labels: np.ndarray, sales: np.ndarray, centers: np.ndarray, k: int
    ) -> np.ndarray:
        """Map raw KMeans labels to ids ordered by ``order_by`` (ties: size/revenue, centroid)."""
        size = np.bincount(raw_labels, minlength=k)
        revenue = np.bincount(raw_labels, weights=sales, minlength=k)

        def key(c: int) -> tuple[float, ...]:
            first, second = (
                (-revenue[c], -size[c]) if self.order_by == "revenue" else (-size[c], -revenue[c])
            )
            return (float(first), float(second), *(float(v) for v in centers[c]))

        order = sorted(range(k), key=key)
        remap = np.empty(k, dtype=np.int64)
        remap[order] = np.arange(k)
        return remap

    def predict(self, table: pl.DataFrame) -> np.ndarray:
        """Segment ids (int32) of the customers in ``table`` using the fitted caps, transforms,
        weights and centroids.

        Example:
            >>> CustomerSegmenter().predict(pl.DataFrame())  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            basketlens.errors.NotFittedError: This CustomerSegmenter is not fitted yet; ...
        """
        if not hasattr(self, "labels_"):
            raise NotFittedError(
                "This CustomerSegmenter is not fitted yet; call fit(table) before predict."
            )
        X_raw = self._matrix(table, self.features_, "predict")
        if X_raw.shape[0] == 0:
            return np.empty(0, dtype=np.int32)
        X = self.preprocessor_.transform(X_raw)
        return self._remap[self._candidate.predict(X)].astype(np.int32)

    def summary(self) -> dict[str, Any]:
        """The run record of the segmentation (``run.json`` → ``segmentation``).

        Example:
            >>> CustomerSegmenter().summary()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            basketlens.errors.NotFittedError: This CustomerSegmenter is not fitted yet; ...
        """
        if not hasattr(self, "labels_"):
            raise NotFittedError(
                "This CustomerSegmenter is not fitted yet; call fit(table) before summary."
            )
        return {
            "k": self.k_,
            "k_method": "given" if self.k is not None else self.k_method,
            "silhouette": _json_float(self.silhouette_),
            "null_silhouette": _json_float(self.null_silhouette_),
            "stability": _json_float(self.stability_),
            "verdict": self.verdict_,
            "verdict_reason": self.verdict_reason_,
            "features": list(self.features_),
            "feature_weights": {f: round(w, 4) for f, w in self.feature_weights_.items()},
            "transforms": self.transforms_,
            "pca_explained": list(self.pca_explained_),
            "k_selection": [
                {key: _json_value(v) for key, v in row.items()}
                for row in self.k_selection_.to_dicts()
            ],
        }


def _json_float(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _json_value(value: Any) -> Any:
    return _json_float(value) if isinstance(value, float) else value


def _customers(n: int) -> str:
    return f"only {n} customer" + ("" if n == 1 else "s")

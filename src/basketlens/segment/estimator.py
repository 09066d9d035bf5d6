"""``CustomerSegmenter``: k-means segmentation of the customer feature table.

Pipeline: select features → cap/log/scale (:mod:`.preprocess`) → choose ``k`` by silhouette,
elbow reported (:mod:`.k_selection`) → KMeans → stable segment ids → PCA, profiles and persona
names (:mod:`.profiles`).

Default features (measured, see ``DEFAULT_FEATURES``): the original analysis's four —
``total_quantity``, ``total_net_sales``, ``net_sales_per_unit``, ``invoice_count`` — plus
``recency_days`` and ``avg_basket_value``. Measurement: planted data with 4 personas
(wholesale, occasional, premium, lapsed; features derived from lognormal order rate, basket
size and unit price), 2,000 customers × 5 seeds, ``k`` chosen in 2..8, ``n_init=4``, default
capping; adjusted Rand index against the planted groups (chosen k in brackets):

====================================  =====================  =====================
features                              log_transform=False    log_transform=True
====================================  =====================  =====================
the four                              0.66 (k=3)             0.71 (k=3)
four + recency_days                   0.94 (k=4, once 5)     1.00 (k=4)
four + avg_basket_value               0.68 (k=3)             0.71 (k=3)
four + recency + avg_basket_value     0.97 (k=4)             1.00 (k=4)
four + recency + tenure_days          0.31 (k=2)             1.00 (k=4)
all 11 core features                  0.33 (k=2)             0.33 (k=2)
====================================  =====================  =====================

``recency_days`` is what separates lapsed from occasional customers (same volume, price and
order count); ``avg_basket_value`` alone adds nothing to the four but, with recency, sharpens
premium vs occasional and makes the silhouette pick the right k every time. Adding every
feature dilutes the signal until the silhouette prefers k=2 (with k=4 forced, ARI is 0.99+).
Caveat: the planted personas are our own generator (``tests/test_segment.py``), and the lapsed
persona differs from the occasional one by construction only in recency.

Cross-check on the demo ledger (``basketlens.synth``, 4 personas that differ in volume, price
and mix, churn random within each; 1,200 customers × 3 seeds, ingest → clean → features):

====================================  =====================  =====================
features                              log_transform=False    log_transform=True
====================================  =====================  =====================
the four                              0.10 (k=2)             0.89 (k=4)
four + recency_days                   0.11 (k=2)             0.62 (k=3)
four + avg_basket_value               0.13 (k=2)             0.91 (k=4)
four + recency + avg_basket_value     0.13 (k=2)             0.87 (k=4)
all 11 core features                  0.17 (k=2)             0.33 (k=2)
====================================  =====================  =====================

So ``log_transform=True`` matters far more than the subset on skewed sales data (the pipeline
config turns it on). ``avg_basket_value`` helps on both data sets; ``recency_days`` costs 0.02
here (churners are scattered over the personas) but is the only default feature that can
reveal a lapsed segment, so it stays.

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
    >>> seg.k_, seg.labels_[:3].tolist(), seg.labels_[-3:].tolist()
    (2, [0, 0, 0], [1, 1, 1])
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans

from basketlens._params import keyword_init
from basketlens.errors import (
    EmptyInputError,
    InputError,
    NotFittedError,
    ParameterError,
    SchemaError,
)
from basketlens.segment.k_selection import (
    deterministic_sample,
    fit_kmeans,
    select_k,
    silhouettes,
    single_k_table,
)
from basketlens.segment.options import SegmentOptions
from basketlens.segment.preprocess import FeaturePreprocessor
from basketlens.segment.profiles import build_profiles, centroids, fit_pca, persona_names

logger = logging.getLogger(__name__)

#: Features used when ``features=None`` (see the module docstring for the measurement).
DEFAULT_FEATURES: tuple[str, ...] = (
    "total_quantity",
    "total_net_sales",
    "net_sales_per_unit",
    "invoice_count",
    "recency_days",
    "avg_basket_value",
)

ID_COLUMN = "customer_id"
SALES_COLUMN = "total_net_sales"


class CustomerSegmenter(ClusterMixin, BaseEstimator):
    """Segment customers with k-means on capped, optionally logged, standardised features.

    Parameters:
        features: feature columns to cluster on; None uses ``DEFAULT_FEATURES``.
        k: number of segments; None chooses it in ``k_min..k_max`` by silhouette.
        k_min, k_max: candidate range (``k_max`` is clipped to ``n_customers - 1``).
        cap_quantile: winsorise each feature at this upper quantile and ``1 - cap_quantile``;
            None disables capping.
        log_transform: apply ``log1p`` to non-negative features after capping.
        n_init, random_state: passed to k-means++ KMeans.
        silhouette_sample: silhouette (and, for larger data, candidate fits) use a
            deterministic sample of at most this many customers.
        order_by: segment ids ``0..k-1`` by total net sales ("revenue") or customer count
            ("size"), descending.

    Fitted attributes: ``features_``, ``k_``, ``labels_``, ``assignments_``, ``segments_``,
    ``k_selection_``, ``loadings_``, ``pca_explained_``, ``silhouette_``,
    ``cluster_centers_`` (scaled units, in segment-id order), ``preprocessor_``.
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
        if self.features is None:
            wanted = list(DEFAULT_FEATURES)
        else:
            wanted = [] if isinstance(self.features, str) else list(self.features)
            if isinstance(self.features, str) or not all(isinstance(f, str) for f in wanted):
                raise ParameterError(
                    f"features must be a list of column names or None; got {self.features!r}"
                )
        if not wanted:
            raise ParameterError("features must name at least one column; got []")
        duplicated = sorted({f for f in wanted if wanted.count(f) > 1})
        if duplicated:
            raise ParameterError(f"features must not repeat a column; got {duplicated} twice")
        available = [c for c, t in table.schema.items() if t.is_numeric()]
        unknown = [f for f in wanted if f not in available]
        if unknown:
            raise ParameterError(
                f"features {unknown} are not numeric columns of the feature table; "
                f"available: {', '.join(available) or '(none)'}"
            )
        return wanted

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
    def fit(self, table: pl.DataFrame, y: object = None) -> CustomerSegmenter:
        """Fit the segmentation on a customer feature table (one row per customer)."""
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

        prep = FeaturePreprocessor(cap_quantile=self.cap_quantile, log_transform=self.log_transform)
        X = prep.fit_transform(X_raw)
        model, k_table, sil = self._cluster(X)
        k = int(model.n_clusters)
        raw_labels = model.labels_
        found = np.unique(raw_labels).size
        if found < k:
            raise InputError(
                f"only {found} distinct customer profile(s) in features {features}; cannot form "
                f"k={k} segments: lower k, or add features that tell customers apart"
            )
        remap = self._stable_order(raw_labels, sales, model.cluster_centers_, k)
        labels = remap[raw_labels].astype(np.int32)

        z = centroids(X, labels, k)
        names = persona_names(z, features)
        scores, loadings, explained = fit_pca(X)
        name_arr = np.asarray(names, dtype=object)

        self.features_ = features
        self.preprocessor_ = prep
        self.k_ = k
        self.labels_ = labels
        self.silhouette_ = float(sil)
        self.cluster_centers_ = model.cluster_centers_[np.argsort(remap)]
        self.k_selection_ = k_table
        self.segments_ = build_profiles(X_raw, X, labels, features, sales, names)
        self.assignments_ = pl.DataFrame(
            {
                "customer_id": table.get_column(ID_COLUMN).cast(pl.String),
                "segment": pl.Series(labels, dtype=pl.Int32),
                "segment_name": pl.Series(name_arr[labels].tolist(), dtype=pl.String),
                "pca_1": pl.Series(scores[:, 0], dtype=pl.Float64),
                "pca_2": pl.Series(scores[:, 1], dtype=pl.Float64),
            }
        )
        self.loadings_ = pl.DataFrame(
            {
                "feature": pl.Series(features, dtype=pl.String),
                "pc_1": pl.Series(loadings[:, 0], dtype=pl.Float64),
                "pc_2": pl.Series(loadings[:, 1], dtype=pl.Float64),
            }
        )
        self.pca_explained_ = explained
        self._model = model
        self._remap = remap
        logger.info(
            "segmented %d customers into k=%d segments (silhouette %.3f) in %.1fs",
            n,
            k,
            sil,
            time.perf_counter() - start,
        )
        return self

    def _cluster(self, X: np.ndarray) -> tuple[KMeans, pl.DataFrame, float]:
        """Fit KMeans with the given ``k`` or the one chosen by silhouette.

        Returns the model fitted on all rows, the ``k_selection_`` table and the silhouette.
        """
        n = X.shape[0]
        sample = deterministic_sample(n, self.silhouette_sample, self.random_state)
        rows = slice(None) if sample is None else sample
        if self.k is not None:
            k = int(self.k)
            model = fit_kmeans(X, k, n_init=self.n_init, random_state=self.random_state)
            sil = silhouettes(X[rows], [model.labels_[rows]])[0]
            return model, single_k_table(k, float(model.inertia_), sil), sil
        k_max = min(self.k_max, n - 1)
        if k_max < self.k_max:
            logger.info("k_max clipped from %d to %d (n_customers=%d)", self.k_max, k_max, n)
        selection = select_k(
            X,
            ks=list(range(self.k_min, k_max + 1)),
            n_init=self.n_init,
            random_state=self.random_state,
            sample_size=self.silhouette_sample,
        )
        model, sil = selection.model, selection.silhouette
        if selection.sampled:  # refit once on everyone, starting from the sample's centroids
            model = fit_kmeans(
                X,
                selection.k,
                n_init=1,
                random_state=self.random_state,
                init=model.cluster_centers_,
            )
            sil = silhouettes(X[rows], [model.labels_[rows]])[0]
        return model, selection.table, sil

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
        """Segment ids (int32) of the customers in ``table`` using the fitted caps and centroids.

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
        model: KMeans = self._model
        return self._remap[model.predict(X)].astype(np.int32)


def _customers(n: int) -> str:
    return f"only {n} customer" + ("" if n == 1 else "s")

"""Tests of the SEGMENT stage: CustomerSegmenter, preprocessing and k selection."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import adjusted_rand_score, silhouette_score

from basketlens.errors import (
    EmptyInputError,
    InputError,
    NotFittedError,
    ParameterError,
    SchemaError,
)
from basketlens.schema import K_SELECTION_SCHEMA
from basketlens.segment import DEFAULT_FEATURES, CustomerSegmenter
from basketlens.segment.criteria import elbow_index, silhouettes
from basketlens.segment.k_selection import deterministic_sample
from basketlens.segment.preprocess import FeaturePreprocessor

#: Planted personas: orders per month, units per order, price per unit, lapsed?
PERSONAS: dict[str, tuple[float, float, float, bool]] = {
    "wholesale": (8.0, 200.0, 1.5, False),
    "occasional": (0.6, 20.0, 3.0, False),
    "premium": (1.5, 15.0, 12.0, False),
    "lapsed": (0.6, 20.0, 3.0, True),
}


def make_planted_table(
    n_per_group: int = 100, *, seed: int = 0, personas: tuple[str, ...] = tuple(PERSONAS)
) -> tuple[pl.DataFrame, np.ndarray]:
    """A feature table (features-stage columns) of planted personas and the true group ids.

    Features are derived consistently from lognormal latent order rate, basket size and unit
    price, so they are correlated the way real ones are (spend = quantity × price, ...).
    """
    rng = np.random.default_rng(seed)
    cols: dict[str, list[float]] = {}
    truth: list[int] = []
    for g, persona in enumerate(personas):
        rate, basket, price, lapsed = PERSONAS[persona]
        n = n_per_group
        tenure = rng.uniform(250, 365, n)
        recency = rng.lognormal(np.log(200 if lapsed else 12), 0.25, n)
        recency = np.minimum(recency, tenure - 30)
        active_months = (tenure - recency) / 30.4
        invoices = np.maximum(1.0, np.round(rng.lognormal(np.log(rate), 0.3, n) * active_months))
        qty = invoices * rng.lognormal(np.log(basket), 0.3, n)
        unit_price = rng.lognormal(np.log(price), 0.15, n)
        sales = qty * unit_price
        feats = {
            "total_quantity": qty,
            "total_net_sales": sales,
            "net_sales_per_unit": unit_price,
            "invoice_count": invoices,
            "avg_days_between_orders": (tenure - recency) / np.maximum(invoices - 1, 1),
            "avg_monthly_orders": invoices / (tenure / 30.4),
            "recency_days": recency,
            "tenure_days": tenure,
            "avg_basket_size": qty / invoices,
            "avg_basket_value": sales / invoices,
            "distinct_items": np.minimum(rng.poisson(3 * np.sqrt(invoices)) + 1.0, 500.0),
        }
        for name, values in feats.items():
            cols.setdefault(name, []).extend(np.asarray(values, dtype=np.float64).tolist())
        truth.extend([g] * n)
    n_total = len(truth)
    table = pl.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n_total)],
            "customer_name": [f"Customer {i}" for i in range(n_total)],
            **{name: pl.Series(v, dtype=pl.Float64) for name, v in cols.items()},
        }
    )
    return table, np.asarray(truth)


def two_blobs() -> pl.DataFrame:
    """6 big customers and 4 small ones, obvious to any clustering."""
    qty = [100.0, 101.0, 102.0, 100.5, 101.5, 99.5, 1.0, 2.0, 1.5, 2.5]
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(10)],
            "customer_name": [f"n{i}" for i in range(10)],
            "total_quantity": qty,
            # the 4 small customers pay 10x per unit, but spend less in total
            "total_net_sales": [q * (1.0 if q > 50 else 10.0) for q in qty],
        }
    )


FEATS_2 = ["total_quantity", "total_net_sales"]


# --------------------------------------------------------------------------- exact cases
def test_two_obvious_clusters_k2_ids_by_revenue() -> None:
    seg = CustomerSegmenter(features=FEATS_2, k_max=5, cap_quantile=None, n_init=3).fit(two_blobs())
    assert seg.k_ == 2
    assert seg.labels_.tolist() == [0] * 6 + [1] * 4
    assert seg.labels_.dtype == np.int32
    seg_tab = seg.segments_
    assert seg_tab["customers"].to_list() == [6, 4]
    assert seg_tab["net_sales"].to_list() == pytest.approx([604.5, 70.0])
    assert seg_tab["revenue_share"].to_list() == pytest.approx([604.5 / 674.5, 70.0 / 674.5])
    assert seg_tab["customer_share"].to_list() == pytest.approx([0.6, 0.4])
    assert seg_tab["mean__total_quantity"].to_list() == pytest.approx([100.75, 1.75])
    assert seg_tab["median__total_quantity"].to_list() == pytest.approx([100.75, 1.75])
    names = seg_tab["segment_name"].to_list()
    assert len(set(names)) == 2
    assert names[0] == "High-volume buyers"
    assert seg.assignments_["segment_name"].to_list() == [names[0]] * 6 + [names[1]] * 4


def test_order_by_size_versus_revenue() -> None:
    # 3 customers with huge spend vs 7 small ones: revenue puts the 3 first, size the 7
    values = [1000.0, 1001.0, 999.0, 5.0, 6.0, 5.5, 6.5, 5.2, 6.2, 5.8]
    table = pl.DataFrame(
        {
            "customer_id": [str(i) for i in range(10)],
            "total_quantity": values,
            "total_net_sales": values,
        }
    )
    kw = {"features": FEATS_2, "k": 2, "cap_quantile": None, "n_init": 3}
    by_rev = CustomerSegmenter(**kw).fit(table)
    by_size = CustomerSegmenter(**kw, order_by="size").fit(table)
    assert by_rev.labels_.tolist() == [0, 0, 0] + [1] * 7
    assert by_size.labels_.tolist() == [1, 1, 1] + [0] * 7
    assert by_size.segments_["customers"].to_list() == [7, 3]


def test_profile_and_assignment_schema() -> None:
    seg = CustomerSegmenter(features=FEATS_2, k=2, n_init=2).fit(two_blobs())
    assert seg.segments_.columns == [
        "segment", "segment_name", "customers", "customer_share", "net_sales", "revenue_share",
        "description", "examples",
        "mean__total_quantity", "median__total_quantity", "z__total_quantity",
        "mean__total_net_sales", "median__total_net_sales", "z__total_net_sales",
    ]  # fmt: skip
    assert seg.segments_["segment"].dtype == pl.Int32
    assert seg.assignments_.schema == pl.Schema(
        {
            "customer_id": pl.String,
            "segment": pl.Int32,
            "segment_name": pl.String,
            "pca_1": pl.Float64,
            "pca_2": pl.Float64,
        }
    )
    assert seg.loadings_["feature"].to_list() == FEATS_2
    # z = centroid in standardised units: the customer-weighted mean of z is 0
    z = seg.segments_["z__total_quantity"].to_numpy()
    assert float((z * np.array([0.6, 0.4])).sum()) == pytest.approx(0.0, abs=1e-12)
    assert z[0] > 0 > z[1]


# --------------------------------------------------------------------------- planted groups
@pytest.mark.parametrize("seed", [0, 1])
def test_planted_groups_recovered_with_default_features(seed: int) -> None:
    table, truth = make_planted_table(150, seed=seed)
    seg = CustomerSegmenter(k_max=6, n_init=4).fit(table)
    assert seg.features_ == [f for f in DEFAULT_FEATURES if f in table.columns]
    assert seg.verdict_ == "clear"
    # seed 0 gave k=5 (one planted group in two stable halves) before the customer and rank
    # weights of basketlens.segment.clustering
    assert seg.k_ == 4
    assert adjusted_rand_score(truth, seg.labels_) >= 0.9
    names = seg.segments_["segment_name"].to_list()
    assert len(set(names)) == seg.k_
    # wholesale customers carry most revenue: segment 0, a high-spend, large-basket name
    assert np.bincount(seg.labels_[truth == 0]).argmax() == 0
    assert "high-spend" in names[0].lower() and "large baskets" in names[0].lower()
    lapsed_segment = np.bincount(seg.labels_[truth == 3]).argmax()
    assert names[lapsed_segment].startswith("Lapsed")


def test_three_planted_groups_with_log_transform() -> None:
    table, truth = make_planted_table(60, seed=3, personas=("wholesale", "occasional", "premium"))
    seg = CustomerSegmenter(k_max=5, n_init=4, transform="log").fit(table)
    assert seg.k_ == 3
    assert adjusted_rand_score(truth, seg.labels_) >= 0.9


def test_determinism_and_predict_on_training_data() -> None:
    table, _ = make_planted_table(50, seed=5)
    a = CustomerSegmenter(k_max=5, n_init=3).fit(table)
    b = CustomerSegmenter(k_max=5, n_init=3).fit(table)
    assert a.labels_.tolist() == b.labels_.tolist()
    assert a.assignments_.equals(b.assignments_)
    assert a.segments_.equals(b.segments_)
    assert a.k_selection_.equals(b.k_selection_)
    assert a.loadings_.equals(b.loadings_)
    assert a.predict(table).tolist() == a.labels_.tolist()
    # a shuffled table gets the same ids per customer
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=1)
    assert a.predict(shuffled).tolist() == [
        dict(zip(table["customer_id"], a.labels_.tolist(), strict=True))[c]
        for c in shuffled["customer_id"]
    ]


def test_pca_sign_convention() -> None:
    table, _ = make_planted_table(40, seed=2)
    seg = CustomerSegmenter(k=3, n_init=2).fit(table)
    loadings = seg.loadings_.select("pc_1", "pc_2").to_numpy()
    for j in range(2):
        assert loadings[np.abs(loadings[:, j]).argmax(), j] > 0
    assert np.linalg.norm(loadings, axis=0) == pytest.approx([1.0, 1.0])
    assert 0 < seg.pca_explained_[1] <= seg.pca_explained_[0] < 1
    scores = seg.assignments_.select("pca_1", "pca_2").to_numpy()
    assert scores.mean(axis=0) == pytest.approx([0.0, 0.0], abs=1e-9)


# --------------------------------------------------------------------------- preprocessing
def test_capping_clips_planted_outlier() -> None:
    X = np.array([[float(v)] for v in range(1, 100)] + [[1e6]])
    prep = FeaturePreprocessor(cap_quantile=0.95).fit(X)
    upper = float(np.quantile(X[:, 0], 0.95))
    lower = float(np.quantile(X[:, 0], 0.05))
    assert prep.upper_[0] == pytest.approx(upper) and upper < 100
    assert prep.cap(X)[-1, 0] == pytest.approx(upper)
    assert prep.cap(X)[0, 0] == pytest.approx(lower)
    # the estimator keeps the outlier in the table but it no longer dominates scaling
    table = pl.DataFrame({"customer_id": [str(i) for i in range(100)], "total_net_sales": X[:, 0]})
    seg = CustomerSegmenter(features=["total_net_sales"], k=2, n_init=2, cap_quantile=0.95)
    seg.fit(table)
    assert seg.segments_["customers"].min() > 10  # not "the outlier vs everyone else"


def test_constant_feature_gives_zeros_not_nan() -> None:
    table = two_blobs().with_columns(pl.lit(7.0).alias("tenure_days"))
    seg = CustomerSegmenter(features=[*FEATS_2, "tenure_days"], k=2, n_init=2).fit(table)
    assert seg.segments_["z__tenure_days"].to_list() == [0.0, 0.0]
    assert not seg.segments_.select(pl.selectors.float().is_nan().any()).row(0).count(True)
    assert seg.preprocessor_.transform(np.array([[1.0, 1.0, 7.0]]))[0, 2] == 0.0
    assert np.isfinite(seg.assignments_.select("pca_1", "pca_2").to_numpy()).all()


def test_log_transform_only_on_nonnegative_features() -> None:
    X = np.array([[0.0, -5.0], [9.0, 5.0], [99.0, 0.0], [3.0, 1.0]])
    prep = FeaturePreprocessor(cap_quantile=None, transform="log").fit(X)
    assert prep.log_mask_.tolist() == [True, False]
    offset = np.percentile([9.0, 99.0, 3.0], 5)  # zeros present: the 5th pct of the positives
    expected = np.log(X[:, 0] + offset)
    z = (expected - expected.mean()) / expected.std()
    assert prep.transform(X)[:, 0] == pytest.approx(z)
    assert prep.describe()[0]["transform"] == f"log(x + {offset:.4g})"
    assert prep.describe()[1]["transform"] == "none"


# --------------------------------------------------------------------------- k selection
def test_k_selection_schema_and_one_chosen_row() -> None:
    table, _ = make_planted_table(40, seed=4)
    seg = CustomerSegmenter(k_min=2, k_max=6, n_init=3, k_method="silhouette").fit(table)
    ks = seg.k_selection_
    assert ks.schema == K_SELECTION_SCHEMA
    assert ks["k"].to_list() == [2, 3, 4, 5, 6]
    assert ks["chosen"].sum() == 1
    assert ks["is_elbow"].sum() <= 1
    chosen = ks.filter(pl.col("chosen")).row(0, named=True)
    assert chosen["k"] == seg.k_
    assert chosen["silhouette"] == ks["silhouette"].max()
    assert chosen["reason"].startswith(f"highest silhouette {chosen['silhouette']:.2f}")
    assert "elbow at k=" in chosen["reason"]
    inertia = ks["inertia"].to_list()
    assert inertia == sorted(inertia, reverse=True)


def test_given_k_table_and_silhouette() -> None:
    seg = CustomerSegmenter(features=FEATS_2, k=3, n_init=2).fit(two_blobs())
    row = seg.k_selection_.row(0, named=True)
    assert seg.k_selection_.height == 1
    assert (row["k"], row["chosen"], row["is_elbow"]) == (3, True, False)
    assert row["reason"] == "k=3 given"
    assert row["silhouette"] == pytest.approx(seg.silhouette_)


def test_k_max_clipped_to_n_minus_one() -> None:
    seg = CustomerSegmenter(features=FEATS_2, k_max=10, n_init=2).fit(two_blobs())
    assert seg.k_selection_["k"].to_list() == list(range(2, 10))
    assert seg.k_ == 2


def test_elbow_index() -> None:
    assert elbow_index([2, 3, 4, 5, 6], [100.0, 40.0, 12.0, 10.0, 9.0]) == 2
    assert elbow_index([2, 3, 4], [30.0, 20.0, 10.0]) is None  # straight line
    assert elbow_index([2, 3], [30.0, 10.0]) is None


def test_silhouettes_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    labelings = [rng.integers(0, k, 300) for k in (2, 3, 7)]
    labelings.append(np.r_[np.zeros(299, dtype=int), 1])  # a singleton cluster
    ours = silhouettes(X, labelings)
    assert ours == pytest.approx([silhouette_score(X, lab) for lab in labelings], abs=1e-9)
    assert np.isnan(silhouettes(X, [np.zeros(300, dtype=int)])[0])


@settings(max_examples=40, deadline=None)
@given(
    X=arrays(np.float64, (12, 2), elements=st.floats(-50, 50, allow_subnormal=False)),
    labels=arrays(np.int64, 12, elements=st.integers(0, 3)),
)
def test_silhouettes_property_matches_sklearn(X: np.ndarray, labels: np.ndarray) -> None:
    n_labels = np.unique(labels).size
    ours = silhouettes(X, [labels])[0]
    if n_labels < 2:
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(silhouette_score(X, labels), abs=1e-7)


def test_deterministic_sample() -> None:
    assert deterministic_sample(10, 10, 0) is None
    a = deterministic_sample(1000, 100, 3)
    assert a is not None and len(a) == 100 and (np.diff(a) > 0).all()
    assert a.tolist() == deterministic_sample(1000, 100, 3).tolist()


def test_sampled_selection_refits_on_everyone() -> None:
    table, truth = make_planted_table(60, seed=6)  # 240 customers > sample_size=100
    seg = CustomerSegmenter(k_max=5, n_init=3, sample_size=100).fit(table)
    assert "on a sample of 100 customers" in seg.k_selection_.filter("chosen")["reason"][0]
    assert seg.labels_.shape == (240,)
    assert seg.predict(table).tolist() == seg.labels_.tolist()
    assert adjusted_rand_score(truth, seg.labels_) >= 0.9


# --------------------------------------------------------------------------- errors
def test_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        CustomerSegmenter().predict(two_blobs())


def test_too_few_customers_for_k() -> None:
    small = two_blobs().head(3)
    with pytest.raises(ParameterError, match=r"^n_customers=3 should be > k=4: only 3 cust"):
        CustomerSegmenter(features=FEATS_2, k=4).fit(small)
    with pytest.raises(ParameterError, match=r"^n_customers=3 should be > k_min=3: with only 3 "):
        CustomerSegmenter(features=FEATS_2, k_min=3).fit(small)


def test_unknown_feature_lists_available_columns() -> None:
    with pytest.raises(ParameterError) as err:
        CustomerSegmenter(features=["total_quantity", "spend"]).fit(two_blobs())
    msg = str(err.value)
    assert "['spend']" in msg
    assert "available: total_quantity, total_net_sales" in msg


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 1}, "k must be in [2, inf); got 1"),
        ({"k_min": 5, "k_max": 3}, "k_max must be >= k_min; got k_min=5, k_max=3"),
        ({"cap_quantile": 0.3}, "cap_quantile must be in (0.5, 1]; got 0.3"),
        ({"n_init": 0}, "n_init must be in [1, inf); got 0"),
        ({"order_by": "profit"}, "order_by must be one of 'revenue', 'size'; got 'profit'"),
        ({"features": "total_quantity"}, "features must be a list of strings"),
    ],
)
def test_parameter_errors(params: dict[str, object], message: str) -> None:
    seg = CustomerSegmenter(**params)  # type: ignore[arg-type]
    assert seg.get_params()[next(iter(params))] == params[next(iter(params))]  # stored unchanged
    with pytest.raises(ParameterError) as err:
        seg.fit(two_blobs())
    assert message in str(err.value)


def test_bad_input_errors() -> None:
    table = two_blobs().with_columns(
        pl.when(pl.col("total_quantity") < 1.2)
        .then(None)
        .otherwise(pl.col("total_quantity"))
        .alias("total_quantity")
    )
    with pytest.raises(InputError, match=r"total_quantity \(1 rows\)"):
        CustomerSegmenter(features=FEATS_2, k=2).fit(table)
    with pytest.raises(SchemaError, match="total_net_sales"):
        CustomerSegmenter(features=["total_quantity"], k=2).fit(two_blobs().drop("total_net_sales"))
    with pytest.raises(EmptyInputError, match="no customers"):
        CustomerSegmenter(features=FEATS_2).fit(two_blobs().head(0))
    with pytest.raises(InputError, match="polars DataFrame; got dict"):
        CustomerSegmenter(features=FEATS_2).fit({"total_quantity": [1.0]})  # type: ignore[arg-type]
    seg = CustomerSegmenter(features=FEATS_2, k=2, n_init=1).fit(two_blobs())
    with pytest.raises(SchemaError, match="total_net_sales"):
        seg.predict(two_blobs().drop("total_net_sales"))


def test_identical_customers_cannot_be_segmented() -> None:
    table = pl.DataFrame(
        {"customer_id": [str(i) for i in range(6)], "total_quantity": [1.0] * 6,
         "total_net_sales": [2.0] * 6}
    )  # fmt: skip
    with pytest.raises(InputError, match=r"only 1 distinct customer profile.*k=2"):
        CustomerSegmenter(features=FEATS_2).fit(table)
    with pytest.raises(InputError, match=r"only 1 distinct customer profile.*k=2"):
        CustomerSegmenter(features=FEATS_2, k_method="silhouette").fit(table)


def test_missing_customer_id_column() -> None:
    with pytest.raises(SchemaError, match="'customer_id' for customer ids"):
        CustomerSegmenter(features=FEATS_2, k=2).fit(two_blobs().drop("customer_id"))


# --------------------------------------------------------------------------- estimator API
def test_sklearn_conventions_clone_and_params() -> None:
    from sklearn.base import clone

    seg = CustomerSegmenter(features=("total_quantity", "total_net_sales"), k=2, n_init=1)
    assert not hasattr(seg, "k_")
    seg.fit(two_blobs())
    assert seg.features == ("total_quantity", "total_net_sales")  # stored unchanged
    assert seg.features_ == FEATS_2
    fresh = clone(seg)
    assert fresh.get_params() == seg.get_params() and not hasattr(fresh, "labels_")
    assert fresh.set_params(k=3).k == 3
    assert seg.fit_predict(two_blobs()).tolist() == seg.labels_.tolist()


def test_predict_places_new_customers_and_centers_follow_ids() -> None:
    table, truth = make_planted_table(60, seed=7)
    seg = CustomerSegmenter(k=4, n_init=3).fit(table)
    wholesale_id = np.bincount(seg.labels_[truth == 0]).argmax()
    lapsed_id = np.bincount(seg.labels_[truth == 3]).argmax()
    new = (
        table.filter(pl.Series(truth == 0))
        .head(1)
        .with_columns(
            pl.col("total_quantity") * 1000  # far beyond the training caps: capped, still wholesale
        )
    )
    lapsed = table.filter(pl.Series(truth == 3)).head(1)
    assert seg.predict(pl.concat([new, lapsed])).tolist() == [wholesale_id, lapsed_id]
    X = seg.preprocessor_.transform(table.select(seg.features_).to_numpy())
    X = X * np.sqrt([seg.feature_weights_[f] for f in seg.features_])  # the weighted space
    nearest = ((X[:, None, :] - seg.cluster_centers_[None]) ** 2).sum(-1).argmin(1)
    assert nearest.tolist() == seg.labels_.tolist()
    assert seg.predict(table.head(0)).shape == (0,)

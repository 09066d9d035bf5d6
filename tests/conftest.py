"""Shared pytest fixtures: the real datasets beside the checkout, and small run folders.

Fixtures only; test modules never import each other or this file.

* ``shared_path("online_retail", "online_retail.parquet")`` — a file under ``../shared/data``;
  the test skips (with the path) when the folder is absent.
* ``make_output_folder(path, hostile=..., opportunities=..., mining=...)`` — writes what
  ``basketlens run`` writes, tiny and consistent, so report tests do not run the pipeline.
* ``hostile_names`` — the formula, markup and script names the output folders can carry.
* ``pg_uri`` / ``s3_server`` / ``s3_env`` — the PostgreSQL and S3-compatible test servers that
  ``.ci/services`` starts (tests skip without them, and fail in CI, which requires them);
  ``assert_same_run`` compares every table of two analyses.

Markers: ``slow`` (real datasets, end-to-end runs), ``browser`` (headless Chromium) and
``services`` (the test servers);
``python -m pytest -q`` runs everything, ``-m "not slow and not browser"`` the fast loop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from basketlens.api import analyse
from basketlens.mining.families import FAMILIES_SCHEMA
from basketlens.opportunities.calls import CALL_LIST_SCHEMA
from basketlens.runfolder.analysis import Analysis
from basketlens.runfolder.layout import TABLES
from basketlens.schema import (
    CLEANING_SCHEMA,
    ITEM_SUPPORT_SCHEMA,
    ITEMS_SCHEMA,
    K_SELECTION_SCHEMA,
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _shared_path(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset not available: {path} (see README: shared data)")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark real-data tests ``slow`` and browser tests ``browser`` (from what they use)."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & {"shared_path", "shared_data", "online_retail_run"}:
            item.add_marker(pytest.mark.slow)
        if item.path.name == "test_browser_report.py":
            item.add_marker(pytest.mark.browser)
        if used & {"pg_uri", "s3_server", "s3_env"}:
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def shared_path() -> Callable[..., Path]:
    """A function returning a path under ``../shared/data``; it skips the test when absent."""
    return _shared_path


@pytest.fixture
def shared_data() -> Path:
    """The ``../shared/data`` folder; skips the test when it is absent."""
    return _shared_path()


@pytest.fixture(scope="session")
def hostile_names() -> tuple[str, ...]:
    """Names that are formulas, markup or script in the tools that show them."""
    return HOSTILE


@pytest.fixture(scope="session")
def make_output_folder() -> Callable[..., Path]:
    """A function writing a tiny, consistent run folder (see :func:`write_output_folder`)."""
    return write_output_folder


HOSTILE = (
    '=HYPERLINK("http://x","y")',
    "<script>alert(1)</script>",
    "+1",
    "@SUM(A1)",
    "-2",
    "</script><!-- x",
)
FEATURES = ("total_net_sales", "invoice_count", "recency_days", "avg_basket_value")


def write_output_folder(
    path: Path,
    *,
    hostile: bool = False,
    opportunities: bool = True,
    mining: bool = True,
    n_customers: int = 60,
    k: int = 3,
) -> Path:
    """Write a consistent, tiny basketlens output folder to ``path`` and return it."""
    path.mkdir(parents=True, exist_ok=True)
    seg_names = ["Premium boutique", "Frequent buyers", "Lapsed small buyers", "Caterers"][:k]
    if hostile:
        seg_names[0] = HOSTILE[0]
        seg_names[1] = HOSTILE[1]
    items = [f"I{i:03d}" for i in range(12)]
    item_names = [f"Product number {i} with a rather long descriptive name" for i in range(12)]
    if hostile:
        item_names[: len(HOSTILE)] = list(HOSTILE)
    ids = [f"C{i:04d}" for i in range(n_customers)]
    names = [f"Customer {i}" for i in range(n_customers)]
    if hostile:
        names[: len(HOSTILE)] = list(HOSTILE)
    seg = [i % k for i in range(n_customers)]
    feats = {
        "total_net_sales": [1000.0 + 150 * i * (s + 1) for i, s in enumerate(seg)],
        "invoice_count": [float(3 + (i * 7) % 20) for i in range(n_customers)],
        "recency_days": [float((i * 13) % 90) for i in range(n_customers)],
        "avg_basket_value": [50.0 + (i % 9) * 10 + s * 40 for i, s in enumerate(seg)],
    }
    customers = pl.DataFrame(
        {
            "customer_id": ids,
            "customer_name": names,
            **feats,
            "segment": pl.Series(seg, dtype=pl.Int32),
            "segment_name": [seg_names[s] for s in seg],
            "pca_1": [float(s * 3 + (i % 5) * 0.3) for i, s in enumerate(seg)],
            "pca_2": [float(-s + (i % 7) * 0.2) for i, s in enumerate(seg)],
        }
    )
    customers.write_parquet(path / "customers.parquet")
    segments = pl.DataFrame(
        {
            "segment": pl.Series(range(k), dtype=pl.Int32),
            "segment_name": seg_names,
            "customers": [seg.count(s) for s in range(k)],
            "customer_share": [seg.count(s) / n_customers for s in range(k)],
            "net_sales": [50_000.0 / (s + 1) for s in range(k)],
            "revenue_share": [0.6, 0.3, 0.1, 0.0][:k],
            **{
                f"{stat}__{f}": [float(s) - 1 + j * 0.3 for s in range(k)]
                for f in FEATURES
                for j, stat in enumerate(("mean", "median", "z"))
            },
        }
    )
    segments.write_parquet(path / "segments.parquet")
    k_selection = {
        "k": list(range(2, 7)),
        "inertia": [900.0, 600.0, 450.0, 400.0, 370.0],
        "silhouette": [0.31, 0.42, 0.38, 0.33, 0.3],
        "chosen": [False, True, False, False, False],
        "is_elbow": [False, True, False, False, False],
        "reason": ["lower", "highest silhouette", "lower", "lower", "lower"],
    }
    pl.DataFrame(
        {name: k_selection.get(name, [None] * 5) for name in K_SELECTION_SCHEMA},
        schema=K_SELECTION_SCHEMA,
    ).write_parquet(path / "k_selection.parquet")
    pl.DataFrame(
        {"feature": list(FEATURES), "pc_1": [0.6, 0.5, -0.3, 0.5], "pc_2": [0.1, -0.4, 0.8, 0.2]}
    ).write_parquet(path / "pca_loadings.parquet")
    pl.DataFrame(
        {
            "step": [1, 2, 3],
            "rule": ["missing_ids", "returns", "duplicates"],
            "description": ["lines without ids", "returns and cancellations", "exact duplicates"],
            "rows_in": [1000, 990, 900],
            "rows_dropped": [10, 90, 0],
            "rows_out": [990, 900, 900],
        },
        schema=CLEANING_SCHEMA,
    ).write_parquet(path / "cleaning.parquet")
    pl.DataFrame(
        {
            "item": items,
            "item_name": item_names,
            "brand": [None] * len(items),
            "category": [f"Category {i % 3}" for i in range(len(items))],
            "lines": [10 + i for i in range(len(items))],
            "net_sales": [100.0 * (i + 1) for i in range(len(items))],
        },
        schema=ITEMS_SCHEMA,
    ).write_parquet(path / "items.parquet")
    scopes = ["all", *[str(s) for s in range(k)]]
    if mining:
        rows = []
        for scope in scopes:
            for r in range(6):
                a, c = items[r], items[(r + 3) % 12]
                b = items[(r + 1) % 12]
                ante = [a, b] if r % 2 else [a]
                rows.append(
                    {
                        "rule_id": f"{scope}-r{r + 1:06d}",
                        "scope": scope,
                        "antecedent": sorted(ante),
                        "consequent": [c],
                        "antecedent_count": 40 - r,
                        "consequent_count": 30,
                        "both_count": 20 - r,
                        "baskets": 200,
                        "support": (20 - r) / 200,
                        "confidence": (20 - r) / (40 - r),
                        "lift": 2.5 - r * 0.2,
                    }
                )
        rules = pl.DataFrame(rows).cast({"antecedent_count": pl.Int64, "consequent_count": pl.Int64,
                                         "both_count": pl.Int64, "baskets": pl.Int64})  # fmt: skip
        lookup = dict(zip(items, item_names, strict=True))
        rules = rules.with_columns(
            antecedent_names=pl.col("antecedent").list.eval(pl.element().replace_strict(lookup)),
            consequent_names=pl.col("consequent").list.eval(pl.element().replace_strict(lookup)),
            level=pl.lit("item"),
            # every sixth rule (r = 5) is a variant rule, offered to nobody by default
            kind=pl.when(pl.col("rule_id").str.ends_with("6"))
            .then(pl.lit("variant"))
            .otherwise(pl.lit("cross_sell")),
            mirror_rule_id=pl.lit(None, pl.String),
            parent_rule_id=pl.lit(None, pl.String),
        )
        family_rule = rules.head(1).with_columns(  # one rule between two item families
            rule_id=pl.lit("all-f000001"),
            scope=pl.lit("all"),
            antecedent=pl.lit(["family:I000"]),
            consequent=pl.lit(["family:I002"]),
            antecedent_names=pl.lit([item_names[0]]),
            consequent_names=pl.lit([item_names[2]]),
            level=pl.lit("family"),
            kind=pl.lit("cross_sell"),
        )
        rules = pl.concat([rules, family_rule])
        if opportunities:
            rules = rules.with_columns(
                opportunity_customers=pl.Series([(i * 3) % 11 + 1 for i in range(rules.height)])
            )
        rules.write_parquet(path / "rules.parquet")
        sup_rows = [
            {"scope": scope, "item": it, "item_name": item_names[i], "baskets": 100 - 5 * i,
             "support": (100 - 5 * i) / 200, "rank": i + 1}
            for scope in scopes for i, it in enumerate(items)
        ]  # fmt: skip
        pl.DataFrame(sup_rows, schema=ITEM_SUPPORT_SCHEMA).write_parquet(
            path / "item_support.parquet"
        )
        family = [f"family:{items[i - i % 2]}" for i in range(len(items))]  # pairs of variants
        pl.DataFrame(
            {
                "item": items,
                "item_name": item_names,
                "family": family,
                "family_name": [item_names[i - i % 2] for i in range(len(items))],
                "family_size": [2] * len(items),
                "category": [f"Category {i % 3}" for i in range(len(items))],
                "variants": [[items[i + 1 - 2 * (i % 2)]] for i in range(len(items))],
                "variant_basis": [["name"]] * len(items),
            },
            schema=FAMILIES_SCHEMA,
        ).write_parquet(path / "families.parquet")
    if mining and opportunities:
        opp = []  # the call list: customer × item, led by a cross-sell rule
        offered = rules.filter(pl.col("kind") == "cross_sell").head(12)
        for r in offered.iter_rows(named=True):
            for j in range(3):
                ci = (j * 5 + len(opp)) % n_customers
                value = 100.0 * (j + 1) + len(opp)
                opp.append(
                    {
                        "rank": 0, "customer_id": ids[ci], "customer_name": names[ci],
                        "segment": seg[ci], "segment_name": seg_names[seg[ci]],
                        "item": r["consequent"][0], "item_name": r["consequent_names"][0],
                        "kind": "cross_sell", "expected_value": value,
                        "expected_quantity": 2.0 * (j + 1), "priority": value / (j + 1),
                        "confidence": r["confidence"], "lift": r["lift"],
                        "rule_id": r["rule_id"],
                        "rule": " + ".join(r["antecedent_names"]) + " → "
                        + r["consequent_names"][0],
                        "scope": r["scope"], "level": "item",
                        "antecedent": r["antecedent"], "consequent": r["consequent"],
                        "antecedent_names": r["antecedent_names"],
                        "consequent_names": r["consequent_names"],
                        "n_rules": 1, "rule_ids": [r["rule_id"]],
                        "antecedent_orders": 3 + j, "antecedent_last_date": None,
                        "antecedent_recency_days": 10.0 * j,
                    }
                )  # fmt: skip
        calls = pl.DataFrame(opp, schema=CALL_LIST_SCHEMA).sort("priority", descending=True)
        calls = calls.with_columns(rank=pl.int_range(1, calls.height + 1, dtype=pl.Int64))
        calls.write_parquet(path / "opportunities.parquet")
        rec = [
            {"customer_id": ids[i], "customer_name": names[i], "segment": seg[i],
             "segment_name": seg_names[seg[i]], "rank": 1, "item": items[i % 12],
             "item_name": item_names[i % 12], "probability": 0.25, "expected_spend": 480.0,
             "expected_value": 120.0, "currency": "£", "period_months": 3.0,
             "value_text": "≈ £120 over the next 3 months (25% chance of buying; £480 if bought)",
             "evidence": "rule", "rule_ids": [f"all-r{1:06d}"], "reason": "bought A and B"}
            for i in range(n_customers)
        ]  # fmt: skip
        pl.DataFrame(rec).cast({"segment": pl.Int32}).write_parquet(
            path / "recommendations.parquet"
        )
        pl.DataFrame(
            {
                "method": ["recommender", "ease", "segment_then_global", "popularity", "random"],
                "default": [True, False, False, False, False],
                "top_n": [5, 5, 5, 5, 5],
                "split": [datetime(2025, 10, 1)] * 5,
                "hit_rate": [0.33, 0.31, 0.27, 0.2, 0.03],
                "hit_rate_low": [0.3, 0.28, 0.24, 0.17, 0.02],
                "hit_rate_high": [0.36, 0.34, 0.3, 0.23, 0.04],
                "precision": [0.09, 0.08, 0.07, 0.05, 0.01],
                "recall": [0.13, 0.12, 0.1, 0.08, 0.01],
                "ndcg": [0.2, 0.19, 0.15, 0.1, 0.02],
                "coverage": [1.0, 1.0, 0.6, 1.0, 1.0],
                "hit_revenue": [13000.0, 12000.0, 9000.0, 7000.0, 500.0],
                "brier": [0.07, None, None, None, None],
            }
        ).write_parquet(path / "backtest.parquet")
        deciles = list(range(1, 11))
        pl.DataFrame(
            {
                "split": [datetime(2025, 10, 1)] * 20,
                "by": ["probability"] * 10 + ["expected_value"] * 10,
                "decile": deciles * 2,
                "recommendations": [30] * 20,
                "mean_probability": [d / 25 for d in deciles] * 2,
                "hit_share": [d / 30 for d in deciles] * 2,
                "expected_revenue": [100.0 * d for d in deciles] * 2,
                "realised_revenue": [90.0 * d for d in deciles] * 2,
            },
            schema_overrides={"decile": pl.Int32},
        ).write_parquet(path / "backtest_calibration.parquet")
    run = {
        "basketlens_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "parameters": {"mine": {"min_confidence": 0.5}, "segment": {"k": None}},
        "rows": {
            "lines_read": 1000,
            "lines_kept": 900,
            "customers": n_customers,
            "baskets": 200,
            "items": 12,
            "first_date": "2025-01-01 00:00:00",
            "last_date": "2025-12-31 00:00:00",
        },
        "features": {f: f"definition of {f}" for f in FEATURES},
        "segmentation": {
            "k": k,
            "silhouette": 0.42,
            "features": list(FEATURES),
            "pca_explained": [0.55, 0.25],
        },
        "mining": {"enabled": mining},
        "timings_s": {"total": 1.0},
        "versions": {"python": "3.11"},
    }
    (path / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return path


# ------------------------------------------------------------ test servers (.ci/services)
def _service(variable: str, what: str) -> str:
    """A server setting from the environment; skip without it (fail where it is required)."""
    value = os.environ.get(variable)
    if not value:
        message = (
            f"{what} test server not available ({variable} is not set): start the servers with "
            "`.ci/services start /tmp/bl-services && . /tmp/bl-services/env`"
        )
        if os.environ.get("BASKETLENS_REQUIRE_SERVICES") == "1" or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return value


@dataclass(frozen=True)
class S3Server:
    """The S3-compatible test server: its endpoint and the keys of its three users —
    ``rw`` (everything), ``ro`` (read, but nothing in bucket ``bl-private``) and
    ``nopointer`` (everything but writing a ``latest.json``)."""

    endpoint: str
    keys: dict[str, tuple[str, str]]


@pytest.fixture(scope="session")
def pg_uri() -> str:
    """``postgresql://user:password@127.0.0.1:port/db`` of the test server (a superuser)."""
    return _service("BASKETLENS_TEST_PG", "PostgreSQL")


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    """The S3-compatible test server (moto with IAM authentication)."""
    endpoint = _service("BASKETLENS_TEST_S3_ENDPOINT", "S3")
    keys = {
        user: (
            _service(f"BASKETLENS_TEST_S3_{user.upper()}_KEY_ID", "S3"),
            _service(f"BASKETLENS_TEST_S3_{user.upper()}_SECRET", "S3"),
        )
        for user in ("rw", "ro", "nopointer")
    }
    return S3Server(endpoint, keys)


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Server:
    """The standard AWS variables set for the ``rw`` user of the test server (no ~/.aws)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3",
                 "AWS_DEFAULT_REGION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    key_id, secret = s3_server.keys["rw"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    return s3_server


@pytest.fixture(scope="session")
def online_retail_run(shared_path: Callable[..., Path]) -> Analysis:
    """``basketlens.analyse`` of the Online Retail CSV: what the remote sources must equal."""
    return analyse(shared_path("online_retail", "online_retail.csv.gz"))


@pytest.fixture(scope="session")
def assert_same_run() -> Callable[..., None]:
    """A function asserting that two analyses hold the same tables and row counts."""
    return _assert_same_run


def _assert_same_run(got: Analysis, expected: Analysis) -> None:
    for key in TABLES:
        a, b = getattr(got, key), getattr(expected, key)
        assert (a is None) == (b is None), f"{key}: present in one run only"
        if a is not None:
            try:
                # floats to 1e-9: sums over differently chunked scans differ in the last bit
                assert_frame_equal(a, b, rel_tol=1e-9, abs_tol=1e-9)
            except AssertionError as exc:
                raise AssertionError(f"table {key} differs: {exc}") from None
    for part in ("rows", "cleaning", "layout", "column_map"):
        assert got.info[part] == expected.info[part], part
    for part in ("k", "features"):  # the float parts are in the tables compared above
        assert got.info["segmentation"][part] == expected.info["segmentation"][part], part
    rows = [(s["role"], s["rows"]) for s in got.info["inputs"]]
    assert rows == [(s["role"], s["rows"]) for s in expected.info["inputs"]]

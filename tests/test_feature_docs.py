"""docs/features.md is generated from the feature definitions and must not go stale."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from basketlens.features import CORE_FEATURES, build_customer_features
from basketlens.features.definitions import (
    FEATURES,
    MIX_KINDS,
    NON_FINITE_RULE,
    SHARE_KINDS,
    SHARE_RULE,
    features_markdown,
)
from basketlens.schema import CLEAN_SCHEMA

DOC = Path(__file__).resolve().parents[1] / "docs" / "features.md"


def test_docs_features_md_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == features_markdown(), (
        "docs/features.md is stale: regenerate with "
        "python -c 'from basketlens.features.definitions import features_markdown as m; "
        'open("docs/features.md", "w", encoding="utf-8").write(m())\''
    )


def test_every_core_feature_has_a_row_with_its_definition_and_rule() -> None:
    doc = features_markdown()
    assert tuple(FEATURES) == CORE_FEATURES
    for name, feature in FEATURES.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{name}` |"))
        assert feature.definition in row, row
        assert (feature.degenerate or "always defined") in row, row
    assert NON_FINITE_RULE in doc


def test_share_column_patterns_are_documented() -> None:
    doc = features_markdown()
    assert list(SHARE_KINDS) == ["brand", "category"]
    for kind, top in SHARE_KINDS.items():
        assert f"{top}`" in doc
        for suffix in ("<slug>", "other"):
            row = next(line for line in doc.splitlines() if f"`{kind}_share__{suffix}`" in line)
            assert row.startswith("|") and SHARE_RULE in row, row


def test_doc_covers_every_column_a_real_feature_table_has() -> None:
    """The definitions a run carries are the documented ones (text, then the rule)."""
    rows = [
        ("A", "2024-01-02", "X", "Bolt-Co", "Dairy", 2.0, 10.0),
        ("A", "2024-01-09", "Y", None, "Bakery", 1.0, 4.0),
        ("B", "2024-01-05", "X", "Bolt-Co", "Dairy", 3.0, 15.0),
    ]
    lines = pl.DataFrame(
        {
            "unit": [r[0] for r in rows],
            "unit_name": [r[0] for r in rows],
            "customer": [r[0] for r in rows],
            "basket": [f"{r[0]}{r[1]}" for r in rows],
            "invoice": [f"{r[0]}{r[1]}" for r in rows],
            "date": [datetime.fromisoformat(r[1]) for r in rows],
            "item": [r[2] for r in rows],
            "brand": [r[3] for r in rows],
            "category": [r[4] for r in rows],
            "quantity": [r[5] for r in rows],
            "net_sales": [r[6] for r in rows],
        }
    )
    lines = (
        lines.with_columns(
            pl.lit(None).cast(dtype).alias(name)
            for name, dtype in CLEAN_SCHEMA.items()
            if name not in lines.columns
        )
        .select(CLEAN_SCHEMA.names())
        .cast(dict(CLEAN_SCHEMA))
    )
    feats = build_customer_features(lines)
    doc = features_markdown()
    for name, definition in feats.definitions.items():
        if name in FEATURES:
            assert definition == f"{FEATURES[name].description}; {NON_FINITE_RULE}"
            assert f"| `{name}` |" in doc
        elif name.startswith("price_tier_share__"):
            assert f"`{MIX_KINDS['price_tier'].pattern}`" in doc
            assert definition == MIX_KINDS["price_tier"].describe(tier=name.rpartition("__")[2])
        elif name.startswith("mix__"):
            assert f"`{MIX_KINDS['basket_type'].pattern}`" in doc
            assert definition.endswith(f"; {MIX_KINDS['basket_type'].degenerate}")
            assert f"basket type {name.rpartition('__')[2]} (" in definition
        else:
            kind, _, slug = name.partition("_share__")
            pattern = "other" if slug == "other" else "<slug>"
            assert f"`{kind}_share__{pattern}`" in doc, name
            assert definition.endswith(f"; {SHARE_RULE}")
    assert "brand_share__bolt_co" in feats.definitions
    assert "price_tier_share__high" in feats.definitions and "mix__1" in feats.definitions

"""Top-N recommendations per customer, and basket completion, from rules and opportunities.

Scoring (documented choice): every rule whose opportunity names an item the customer has never
bought is evidence for that item. The item's ``score`` is the **highest confidence** among
those rules (the strongest rule's "this share of such orders also contain the item"); ties are
broken by the number of supporting rules, then the strongest rule's lift. A noisy-or of the
confidences was tried first and rejected: mined rules overlap heavily (nested antecedents with
the same consequent), so treating them as independent evidence saturates: on the demo ledger an
item backed by 19 rules whose best confidence was 72% scored 1.00 — a number a sales rep would
read as certainty. Sources are ranked, not mixed:
with ``source="segment_then_all"`` the items backed by the customer's segment rules come first
(by score), then items backed only by the rules mined on all orders fill the remaining places.
An item backed by both keeps its segment score and lists only the segment rules. The reason
quotes the strongest rule (highest confidence, then lift, then rule id).

``expected_value`` = score × the item's typical monthly spend in the source scope (see
:mod:`basketlens.opportunities.value`).

Example:
    >>> import polars as pl
    >>> from datetime import datetime
    >>> from basketlens.opportunities import find_opportunities
    >>> lines = pl.DataFrame({"unit": ["c1", "c1", "c2"], "item": ["a", "b", "a"],
    ...     "basket": ["1", "1", "2"], "quantity": [1.0] * 3, "net_sales": [4.0] * 3,
    ...     "date": [datetime(2024, 1, 1)] * 3})
    >>> rules = pl.DataFrame({"rule_id": ["all-r1"], "scope": ["all"], "antecedent": [["a"]],
    ...     "consequent": [["b"]], "support": [0.5], "confidence": [0.5], "lift": [1.0]})
    >>> recs = recommend(find_opportunities(lines, rules, None), top_n=3)
    >>> recs.select("customer_id", "rank", "item", "score", "source").rows()
    [('c2', 1, 'b', 0.5, 'all')]
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import polars as pl

from basketlens._validation import check_interval, check_option
from basketlens.opportunities.opportunities import ALL_SCOPE, Opportunities
from basketlens.opportunities.options import RecommendOptions
from basketlens.opportunities.reasons import rule_reason

logger = logging.getLogger(__name__)

__all__ = ["RULE_RECOMMENDATIONS_SCHEMA", "SOURCES", "combine_evidence", "recommend"]

Source = Literal["segment_then_all", "segment", "all"]
#: Which rules feed recommendations: segment rules then global ones, or one kind only.
SOURCES: tuple[str, ...] = ("segment_then_all", "segment", "all")

RULE_RECOMMENDATIONS_SCHEMA: pl.Schema = pl.Schema(
    {
        "customer_id": pl.String,
        "customer_name": pl.String,
        "segment": pl.Int32,
        "segment_name": pl.String,
        "rank": pl.Int32,
        "item": pl.String,
        "item_name": pl.String,
        "score": pl.Float64,
        "expected_value": pl.Float64,
        "source": pl.String,
        "rule_ids": pl.List(pl.String),
        "reason": pl.String,
    }
)

_EVIDENCE_COLUMNS = ("customer_id", "scope", "rule_id", "consequent", "confidence", "lift")


def _evidence(table: pl.DataFrame, opp: Opportunities) -> pl.DataFrame:
    """One row per (opportunity, consequent item the customer lacks)."""
    ev = table.select(_EVIDENCE_COLUMNS)
    multi = ev["consequent"].list.len() > 1
    if not multi.any():  # the usual case: one consequent item, lacking by construction
        return ev.with_columns(item=pl.col("consequent").list.first()).drop("consequent")
    ev = ev.with_columns(item=pl.col("consequent")).explode("item")
    multi = ev["consequent"].list.len() > 1
    # only multi-item consequents can name items the customer already has
    rows = opp.matrix.codes(ev["customer_id"].filter(multi).to_list(), axis="customer")
    cols = opp.matrix.codes(ev["item"].filter(multi).to_list(), axis="item")
    lacking = np.ones(ev.height, dtype=bool)
    lacking[multi.to_numpy()] = opp.matrix.lookup(rows, cols) < 0
    return ev.filter(pl.Series(lacking)).drop("consequent")


def combine_evidence(evidence: pl.DataFrame, *, by: list[str]) -> pl.DataFrame:
    """Score (max confidence), rule ids (strongest first) and the strongest rule per ``by``.

    Example:
        >>> ev = pl.DataFrame({"k": [1, 1], "rule_id": ["r1", "r2"], "confidence": [0.5, 0.6],
        ...                    "lift": [2.0, 1.0]})
        >>> combine_evidence(ev, by=["k"]).select("score", "rule_ids", "best_rule").rows()
        [(0.6, ['r2', 'r1'], 'r2')]
    """
    ordered = evidence.sort(
        ["confidence", "lift", "rule_id"], descending=[True, True, False], nulls_last=True
    )
    rest = [c for c in evidence.columns if c not in {*by, "rule_id", "confidence", "lift"}]
    return ordered.group_by(by, maintain_order=True).agg(
        pl.col("confidence").first().alias("score"),
        pl.len().alias("n_rules"),
        pl.col("rule_id").alias("rule_ids"),
        pl.col("rule_id").first().alias("best_rule"),
        pl.col("confidence").first().alias("best_confidence"),
        pl.col("lift").first().alias("best_lift"),
        *(pl.col(c).first() for c in rest),
    )


def recommend(
    opportunities: Opportunities,
    *,
    top_n: int = RecommendOptions.top_n,
    source: Source = "segment_then_all",
) -> pl.DataFrame:
    """Top ``top_n`` never-bought items per customer (``RULE_RECOMMENDATIONS_SCHEMA``).

    Customers without any opportunity get no rows. See the module docstring for the score.
    """
    check_interval("top_n", top_n, low=1, integer=True)
    check_option("source", source, SOURCES)
    table = opportunities.table
    if source == "all":
        table = table.filter(pl.col("scope") == ALL_SCOPE)
    elif source == "segment":
        table = table.filter(pl.col("scope") != ALL_SCOPE)
    if table.height == 0:
        return pl.DataFrame(schema=RULE_RECOMMENDATIONS_SCHEMA)
    ev = _evidence(table, opportunities).with_columns(
        source=pl.when(pl.col("scope") == ALL_SCOPE)
        .then(pl.lit("all"))
        .otherwise(pl.lit("segment"))
    )
    combined = combine_evidence(ev, by=["customer_id", "item", "source"])
    # segment evidence first; an item already backed by its segment is not repeated from "all"
    combined = combined.sort(
        ["customer_id", "source", "score", "n_rules", "best_lift", "item"],
        descending=[False, True, True, True, True, False],  # "segment" > "all" alphabetically
        nulls_last=True,
    ).unique(["customer_id", "item"], keep="first", maintain_order=True)
    top = combined.with_columns(
        rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("customer_id")
    ).filter(pl.col("rank") <= top_n)
    top = top.join(opportunities.customers, on="customer_id", how="left", maintain_order="left")
    return _finish(top, opportunities)


def _finish(top: pl.DataFrame, opp: Opportunities) -> pl.DataFrame:
    """Add expected value, names and reasons; order and type the columns."""
    cols = opp.matrix.item_codes(top["item"])
    scopes = top["scope"].to_numpy()
    value = np.zeros(top.height)
    for scope in np.unique(scopes):
        mask = scopes == scope
        value[mask] = opp.values.lookup(str(scope), cols[mask])
    names = opp.item_names
    top = top.with_columns(
        expected_value=pl.Series(value, dtype=pl.Float64) * pl.col("score"),
        item_name=pl.col("item").replace_strict(
            names, default=pl.col("item"), return_dtype=pl.String
        ),
        more_rules=pl.col("rule_ids").list.len() - 1,
    )
    # many customers share the same strongest rule: write each distinct reason once
    key = ["scope", "segment_name", "best_rule", "item", "more_rules"]
    distinct = top.select(*key, "best_confidence", "best_lift", "item_name").unique(key)
    rule_items = opp.rules.select(pl.col("rule_id").alias("best_rule"), "antecedent", "consequent")
    distinct = distinct.join(rule_items, on="best_rule", how="left")
    reasons = [
        rule_reason(
            scope_label=None if r["scope"] == ALL_SCOPE else (r["segment_name"] or r["scope"]),
            antecedent=[names.get(i, i) for i in r["antecedent"]],
            consequent=[names.get(i, i) for i in r["consequent"]],
            confidence=r["best_confidence"],
            lift=r["best_lift"],
            item=r["item_name"],
            more_rules=r["more_rules"],
        )
        for r in distinct.iter_rows(named=True)
    ]
    distinct = distinct.select(*key).with_columns(reason=pl.Series(reasons, dtype=pl.String))
    out = top.join(distinct, on=key, how="left", nulls_equal=True).sort("customer_id", "rank")
    return out.select(list(RULE_RECOMMENDATIONS_SCHEMA)).cast(dict(RULE_RECOMMENDATIONS_SCHEMA))

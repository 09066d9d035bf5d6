"""The OPPORTUNITIES stage entry point the pipeline calls after mining.

It finds, for the rules a customer may be offered (item-level cross-sell rules, or every kind
with ``include_variants``), the customers who buy the left-hand side but never the right
(:func:`find_opportunities`), builds the call list (customer × item, diverse ranking; see
:mod:`basketlens.opportunities.calls`), the top-N recommendations and the recommender model.

Example:
    >>> stage = run_opportunities(lines, rules.table, customers, segmenter=seg)  # doctest: +SKIP
    >>> stage.call_list.table            # opportunities.parquet          # doctest: +SKIP
    >>> stage.recommendations            # recommendations.parquet        # doctest: +SKIP
    >>> save_model(out_dir, stage.model) # out/model/                     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from basketlens.opportunities.calls import CallList, build_call_list
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.model import RecommenderModel
from basketlens.opportunities.opportunities import (
    Opportunities,
    find_opportunities,
    offered_rules,
)
from basketlens.opportunities.options import RecommendOptions
from basketlens.opportunities.recommendations import recommend

if TYPE_CHECKING:
    from basketlens.segment import CustomerSegmenter

__all__ = ["OpportunityResult", "run_opportunities"]


@dataclass(frozen=True, eq=False)
class OpportunityResult:
    """Opportunities (rule × customer), the call list (customer × item), top-N
    recommendations and the model that answers ``recommend``."""

    opportunities: Opportunities
    recommendations: pl.DataFrame
    model: RecommenderModel
    top_n: int
    call_list: CallList

    def with_rule_counts(self, rules: pl.DataFrame) -> pl.DataFrame:
        """``rules`` plus ``opportunity_customers``: the calls of the call list that list
        each rule (0 for rules offered to nobody, e.g. variant rules by default)."""
        return rules.join(
            self.call_list.rule_counts,
            on=["rule_id", "scope"],
            how="left",
            maintain_order="left",
        ).with_columns(pl.col("opportunity_customers").fill_null(0))

    def summary(self) -> dict[str, Any]:
        """Counts for ``run.json``."""
        recs = self.recommendations
        calls = self.call_list.table
        return {
            "opportunities": calls.height,
            "customers_with_opportunities": calls["customer_id"].n_unique(),
            "items_offered": calls["item"].n_unique(),
            "rules_with_opportunities": int(
                (self.call_list.rule_counts["opportunity_customers"] > 0).sum()
            ),
            "opportunities_by_kind": dict(calls.group_by("kind").len().sort("kind").iter_rows()),
            "top_n": self.top_n,
            "recommendations": recs.height,
            "customers_with_recommendations": recs["customer_id"].n_unique(),
            "recommendations_by_source": dict(
                recs.group_by("source").len().sort("source").iter_rows()
            ),
        }


def run_opportunities(
    lines: pl.DataFrame | CustomerItems,
    rules: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    items: pl.DataFrame | None = None,
    segmenter: CustomerSegmenter | None = None,
    options: RecommendOptions | None = None,
    families: pl.DataFrame | None = None,
) -> OpportunityResult:
    """Opportunities of the rules that may be offered, the call list, the top-N
    recommendations and the recommender model, from cleaned lines (or their customer × item
    matrix, :class:`~basketlens.opportunities.matrix.CustomerItems`), the rules table
    (``ScopedRules.table``: every level and kind), ``customers``, the item table (names) and
    the item families (``families.parquet``)."""
    options = (options or RecommendOptions()).validate()
    offered = offered_rules(rules, include_variants=options.include_variants)
    opp = find_opportunities(lines, offered, customers, items=items)
    calls = build_call_list(opp, rules, families=families, options=options)
    recs = recommend(opp, top_n=options.top_n)
    model = RecommenderModel.from_opportunities(opp, offered, segmenter=segmenter)
    return OpportunityResult(
        opportunities=opp,
        recommendations=recs,
        model=model,
        top_n=options.top_n,
        call_list=calls,
    )

"""The OPPORTUNITIES stage entry point the pipeline calls after mining.

Example:
    >>> stage = run_opportunities(lines, rules.table, customers, segmenter=seg)  # doctest: +SKIP
    >>> stage.opportunities.table        # opportunities.parquet          # doctest: +SKIP
    >>> stage.recommendations            # recommendations.parquet        # doctest: +SKIP
    >>> save_model(out_dir, stage.model) # out/model/                     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from basketlens.opportunities.model import RecommenderModel
from basketlens.opportunities.opportunities import Opportunities, find_opportunities
from basketlens.opportunities.options import RecommendOptions
from basketlens.opportunities.recommendations import recommend

if TYPE_CHECKING:
    from basketlens.segment import CustomerSegmenter

__all__ = ["OpportunityResult", "run_opportunities"]


@dataclass(frozen=True, eq=False)
class OpportunityResult:
    """Opportunities, top-N recommendations and the model that answers ``recommend``."""

    opportunities: Opportunities
    recommendations: pl.DataFrame
    model: RecommenderModel
    top_n: int

    def with_rule_counts(self, rules: pl.DataFrame) -> pl.DataFrame:
        """``rules`` plus ``opportunity_customers`` (0 for rules this stage did not see)."""
        return rules.join(
            self.opportunities.rule_counts,
            on=["rule_id", "scope"],
            how="left",
            maintain_order="left",
        ).with_columns(pl.col("opportunity_customers").fill_null(0))

    def summary(self) -> dict[str, Any]:
        """Counts for ``run.json``."""
        recs = self.recommendations
        return {
            "opportunities": self.opportunities.table.height,
            "rules_with_opportunities": int(
                (self.opportunities.rule_counts["opportunity_customers"] > 0).sum()
            ),
            "top_n": self.top_n,
            "recommendations": recs.height,
            "customers_with_recommendations": recs["customer_id"].n_unique(),
            "recommendations_by_source": dict(
                recs.group_by("source").len().sort("source").iter_rows()
            ),
        }


def run_opportunities(
    lines: pl.DataFrame,
    rules: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    items: pl.DataFrame | None = None,
    segmenter: CustomerSegmenter | None = None,
    options: RecommendOptions | None = None,
) -> OpportunityResult:
    """Opportunities of every rule, the top-N recommendations and the recommender model,
    from cleaned lines, the rules table (``ScopedRules.table``), ``customers`` and the item
    table (names)."""
    options = (options or RecommendOptions()).validate()
    opp = find_opportunities(lines, rules, customers, items=items)
    recs = recommend(opp, top_n=options.top_n)
    model = RecommenderModel.from_opportunities(opp, rules, segmenter=segmenter)
    return OpportunityResult(
        opportunities=opp, recommendations=recs, model=model, top_n=options.top_n
    )

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

from basketlens._validation import check_interval
from basketlens.opportunities.model import RecommenderModel
from basketlens.opportunities.opportunities import Opportunities, find_opportunities
from basketlens.opportunities.recommend import recommend

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
    segmenter: CustomerSegmenter | None = None,
    item_names: dict[str, str] | None = None,
    top_n: int = 5,
) -> OpportunityResult:
    """Opportunities of every rule, the top ``top_n`` recommendations and the saved-model
    object, from cleaned lines, the rules table (``ScopedRules.table``) and ``customers``."""
    check_interval("top_n", top_n, low=1, integer=True)
    opp = find_opportunities(lines, rules, customers, item_names=item_names)
    recs = recommend(opp, top_n=top_n)
    model = RecommenderModel.from_opportunities(opp, rules, segmenter=segmenter)
    return OpportunityResult(opportunities=opp, recommendations=recs, model=model, top_n=top_n)

"""The recommender: what ``basketlens recommend OUT`` answers from, without re-mining.

It holds the customer × item purchases, the rules with their names, the customers with their
segments and the typical item values; :mod:`basketlens.runfolder.model_io` saves it to and
loads it from ``OUT/model/``.

Example:
    >>> model = load_run("out").model                     # doctest: +SKIP
    >>> model.recommend_customer("17850", top=5)          # doctest: +SKIP
    >>> model.complete_basket(["22423", "85123A"], top=3) # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from basketlens._validation import check_interval
from basketlens.errors import ModelError, ParameterError
from basketlens.items import add_item_names
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.opportunities import (
    _PAD,
    ALL_SCOPE,
    Opportunities,
    RuleCodes,
    check_rules,
    find_opportunities,
)
from basketlens.opportunities.reasons import rule_reason
from basketlens.opportunities.recommendations import Source, combine_evidence, recommend
from basketlens.opportunities.value import ItemValues

if TYPE_CHECKING:
    from basketlens.segment import CustomerSegmenter

logger = logging.getLogger(__name__)

__all__ = ["BASKET_SCHEMA", "RecommenderModel"]


BASKET_SCHEMA: pl.Schema = pl.Schema(
    {
        "rank": pl.Int32,
        "item": pl.String,
        "item_name": pl.String,
        "score": pl.Float64,
        "source": pl.String,
        "rule_ids": pl.List(pl.String),
        "reason": pl.String,
    }
)


class RecommenderModel:
    """Rules + purchases + segments: answers per customer and per basket without re-mining.

    Build it with :meth:`from_opportunities` after :func:`find_opportunities`, or read it
    with :func:`load_model`.
    """

    def __init__(
        self,
        *,
        matrix: CustomerItems,
        rules: pl.DataFrame,
        customers: pl.DataFrame,
        values: ItemValues,
        item_names: dict[str, str],
        segmenter: CustomerSegmenter | None = None,
        segmenter_loader: Callable[[], CustomerSegmenter] | None = None,
    ) -> None:
        self.matrix = matrix
        self.rules = rules
        self.customers = customers
        self.values = values
        self.item_names = item_names
        self._segmenter = segmenter
        self._segmenter_loader = segmenter_loader

    def __repr__(self) -> str:
        return (
            f"RecommenderModel({self.matrix.n_customers} customers, {self.matrix.n_items} items,"
            f" {self.rules.height} rules)"
        )

    @classmethod
    def from_opportunities(
        cls,
        opportunities: Opportunities,
        rules: pl.DataFrame,
        *,
        segmenter: CustomerSegmenter | None = None,
    ) -> RecommenderModel:
        """The model behind ``opportunities`` (same matrix, values, customers and names)."""
        table = add_item_names(check_rules(rules), opportunities.item_names)
        return cls(
            matrix=opportunities.matrix,
            rules=table,
            customers=opportunities.customers,
            values=opportunities.values,
            item_names=dict(opportunities.item_names),
            segmenter=segmenter,
        )

    # ------------------------------------------------------------------ lookups
    def _customer_row(self, customer_id: str) -> int:
        row = int(self.matrix.codes([str(customer_id)], axis="customer")[0])
        if row < 0:
            hint = _suggest(str(customer_id), self.matrix.customers)
            raise ParameterError(
                f"customer {customer_id!r} is not in the model "
                f"({self.matrix.n_customers:,} customers){hint}; customer ids are the "
                "customer_id column of customers.parquet in the output folder"
            )
        return row

    def resolve_items(self, items: Sequence[str]) -> list[str]:
        """Item ids for ids or names (exact, case-insensitive); unknown ones raise with a hint."""
        by_name: dict[str, str] = {}
        for item, name in self.item_names.items():
            by_name.setdefault(str(name).casefold(), item)
        known = set(self.matrix.items) | set(self.item_names)
        out: list[str] = []
        for raw in items:
            text = str(raw).strip()
            if text in known:
                out.append(text)
            elif text.casefold() in by_name:
                out.append(by_name[text.casefold()])
            else:
                pool = [*self.matrix.items, *(str(n) for n in self.item_names.values())]
                raise ParameterError(
                    f"item {text!r} is not in the model ({self.matrix.n_items:,} items)"
                    f"{_suggest(text, pool)}"
                )
        return list(dict.fromkeys(out))

    # ------------------------------------------------------------------ answers
    def opportunities(self, customer_ids: Sequence[str] | None = None) -> Opportunities:
        """Opportunities of every customer (or of ``customer_ids``) for every rule."""
        return find_opportunities(
            self.matrix,
            self.rules,
            self.customers,
            customer_ids=list(customer_ids) if customer_ids is not None else None,
            values=self.values,
        )

    def recommend_customer(
        self, customer_id: str, *, top: int = 5, source: Source = "segment_then_all"
    ) -> pl.DataFrame:
        """Top ``top`` never-bought items for a known customer (``RECOMMENDATIONS_SCHEMA``).

        Same computation as the batch ``recommendations.parquet``, for one customer.
        """
        check_interval("top", top, low=1, integer=True)
        self._customer_row(customer_id)
        return recommend(self.opportunities([str(customer_id)]), top_n=top, source=source)

    def complete_basket(
        self, items: Sequence[str], *, top: int = 5, segment: int | None = None
    ) -> pl.DataFrame:
        """Items to add to a basket (``BASKET_SCHEMA``), like Spark's ``FPGrowthModel.transform``.

        Consequent items of the rules whose antecedent is inside the basket, minus the basket.
        With ``segment`` that segment's rules come first and the rules on all orders fill in;
        otherwise only the rules on all orders are used. Scored like customer recommendations.
        """
        check_interval("top", top, low=1, integer=True)
        basket = self.resolve_items(items)
        scopes = [ALL_SCOPE] if segment is None else [str(segment), ALL_SCOPE]
        if segment is not None and str(segment) not in set(self.rules["scope"].to_list()):
            valid = sorted(set(self.rules["scope"].to_list()) - {ALL_SCOPE})
            raise ParameterError(f"segment {segment!r} has no rules; segments with rules: {valid}")
        rules = self.rules.filter(pl.col("scope").is_in(scopes))
        codes = RuleCodes.encode(rules, self.matrix)
        inside = np.zeros(self.matrix.n_items + 1, dtype=bool)  # last slot: unknown/padding
        inside[self.matrix.codes(basket, axis="item")] = True
        inside[-1] = False

        def has(c: np.ndarray) -> np.ndarray:
            return inside[np.where(c >= 0, c, -1)]

        fires = ((codes.antecedent == _PAD) | has(codes.antecedent)).all(axis=1)
        fires &= (codes.antecedent != -1).all(axis=1)
        ev = (
            rules.filter(pl.Series(fires))
            .with_columns(item=pl.col("consequent"), item_name=pl.col("consequent_names"))
            .explode("item", "item_name")
            .filter(~pl.col("item").is_in(basket))
            .with_columns(
                source=pl.when(pl.col("scope") == ALL_SCOPE)
                .then(pl.lit("all"))
                .otherwise(pl.lit("segment"))
            )
        )
        if ev.height == 0:
            return pl.DataFrame(schema=BASKET_SCHEMA)
        keep = [
            "rule_id",
            "scope",
            "confidence",
            "lift",
            "item",
            "item_name",
            "source",
            "antecedent_names",
            "consequent_names",
        ]
        combined = (
            combine_evidence(ev.select(keep), by=["item", "source"])
            .sort(
                ["source", "score", "n_rules", "best_lift", "item"],
                descending=[True, True, True, True, False],
                nulls_last=True,
            )
            .unique("item", keep="first", maintain_order=True)
            .head(top)
        )
        labels = _segment_labels(self.customers)
        reasons = [
            rule_reason(
                scope_label=None if r["scope"] == ALL_SCOPE else labels.get(r["scope"], r["scope"]),
                antecedent=r["antecedent_names"],
                consequent=r["consequent_names"],
                confidence=r["best_confidence"],
                lift=r["best_lift"],
                item=r["item_name"],
                subject="basket",
                more_rules=len(r["rule_ids"]) - 1,
            )
            for r in combined.iter_rows(named=True)
        ]
        out = combined.with_columns(
            rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
            reason=pl.Series(reasons, dtype=pl.String),
        )
        return out.select(list(BASKET_SCHEMA)).cast(dict(BASKET_SCHEMA))

    @property
    def fitted_segmenter(self) -> CustomerSegmenter | None:
        """The fitted segmenter if it is in memory (None when it would have to be loaded)."""
        return self._segmenter

    @property
    def segmenter(self) -> CustomerSegmenter:
        """The fitted segmenter (loaded on first use from a saved model; trusted folders only)."""
        if self._segmenter is None:
            if self._segmenter_loader is None:
                raise ModelError("this model has no fitted segmenter; re-run basketlens run")
            self._segmenter = self._segmenter_loader()
        return self._segmenter

    def place(self, features: pl.DataFrame) -> np.ndarray:
        """Segment ids for new customers' feature rows (``build_customer_features`` table)."""
        return self.segmenter.predict(features)


def _segment_labels(customers: pl.DataFrame) -> dict[str, str]:
    pairs = customers.select("segment", "segment_name").drop_nulls("segment").unique("segment")
    return {
        str(s): (n if n is not None else str(s))
        for s, n in zip(pairs["segment"].to_list(), pairs["segment_name"].to_list(), strict=True)
    }


def _suggest(text: str, pool: Sequence[str]) -> str:
    close = difflib.get_close_matches(text, list(dict.fromkeys(pool)), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""

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
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
    """What ``basketlens recommend`` answers from: the recommender's ranked lists per customer,
    plus rules, purchases and segments for basket completion and opportunities.

    Build it with :meth:`from_opportunities` (rules only) and :meth:`with_recommender` (the
    ranked lists of :func:`basketlens.recommender.run_recommender`), or read it with
    :func:`~basketlens.runfolder.model_io.load_model`, which reads each part on first use
    (``recommend --customer`` reads one customer's rows of the ranked lists and nothing else).
    """

    def __init__(
        self,
        *,
        matrix: CustomerItems | None = None,
        rules: pl.DataFrame | None = None,
        customers: pl.DataFrame | None = None,
        values: ItemValues | None = None,
        item_names: dict[str, str] | None = None,
        ranked: pl.DataFrame | None = None,
        recommender: dict[str, Any] | None = None,
        segmenter: CustomerSegmenter | None = None,
        segmenter_loader: Callable[[], CustomerSegmenter] | None = None,
        loaders: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self._parts: dict[str, Any] = {
            "matrix": matrix,
            "rules": rules,
            "customers": customers,
            "values": values,
            "item_names": item_names,
            "ranked": ranked,
        }
        self._loaders = dict(loaders or {})
        self.recommender = recommender  # what run.json / model.json say about the ranker
        self._segmenter = segmenter
        self._segmenter_loader = segmenter_loader

    def _part(self, name: str) -> Any:
        value = self._parts[name]
        if value is None and name in self._loaders:
            value = self._parts[name] = self._loaders[name]()
        return value

    @property
    def matrix(self) -> CustomerItems:
        """Customer × item purchases (read on first use from a saved model)."""
        return self._part("matrix")

    @property
    def rules(self) -> pl.DataFrame:
        return self._part("rules")

    @property
    def customers(self) -> pl.DataFrame:
        """customer_id, customer_name, segment, segment_name of every customer."""
        return self._part("customers")

    @property
    def values(self) -> ItemValues:
        return self._part("values")

    @property
    def item_names(self) -> dict[str, str]:
        return self._part("item_names")

    @property
    def ranked(self) -> pl.DataFrame | None:
        """The recommender's ranked lists (``DEPTH`` items per customer), if the model has them."""
        if self._parts["ranked"] is None and "ranked" not in self._loaders:
            return None
        return self._part("ranked")

    @property
    def has_ranked(self) -> bool:
        return self._parts["ranked"] is not None or "ranked" in self._loaders

    @property
    def depth(self) -> int:
        """Items kept per customer in the ranked lists (0 without them)."""
        if not self.has_ranked:
            return 0
        if self.recommender and "depth" in self.recommender:
            return int(self.recommender["depth"])
        ranked = self.ranked
        return int(ranked["rank"].max() or 0) if ranked is not None and ranked.height else 0

    def __repr__(self) -> str:
        what = f"{self.depth} ranked items per customer, " if self.has_ranked else ""
        return f"RecommenderModel({what}{self.rules.height} rules)"

    def with_recommender(
        self, ranked: pl.DataFrame, summary: Mapping[str, Any]
    ) -> RecommenderModel:
        """This model with the recommender's ranked lists and its description (``depth``:
        the items ranked per customer; the deepest list by default)."""
        deepest = int(ranked["rank"].max() or 0) if ranked.height else 0
        depth = int(summary.get("depth", deepest))
        return RecommenderModel(
            matrix=self._parts["matrix"],
            rules=self._parts["rules"],
            customers=self._parts["customers"],
            values=self._parts["values"],
            item_names=self._parts["item_names"],
            ranked=ranked,
            recommender={**summary, "depth": depth},
            segmenter=self._segmenter,
            segmenter_loader=self._segmenter_loader,
            loaders={k: v for k, v in self._loaders.items() if k != "ranked"},
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
    def _unknown_customer(self, customer_id: str) -> ParameterError:
        ids = self.customers["customer_id"].cast(pl.String).to_list()
        return ParameterError(
            f"customer {customer_id!r} is not in the model ({len(ids):,} customers)"
            f"{_suggest(str(customer_id), ids)}; customer ids are the customer_id column of "
            "customers.parquet in the output folder"
        )

    def _customer_row(self, customer_id: str) -> int:
        row = int(self.matrix.codes([str(customer_id)], axis="customer")[0])
        if row < 0:
            raise self._unknown_customer(str(customer_id))
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
        """Top ``top`` never-bought items for a known customer.

        With the recommender's ranked lists: that customer's rows of ``recommendations``
        (:data:`basketlens.recommender.RECOMMENDATIONS_SCHEMA`, the same rows as the batch
        table), read without loading anything else. A model of rules only answers from the
        rules (``RULE_RECOMMENDATIONS_SCHEMA`` of :mod:`basketlens.opportunities.recommendations`,
        ``source`` choosing which rules).
        """
        check_interval("top", top, low=1, integer=True)
        customer_id = str(customer_id)
        if not self.has_ranked:
            self._customer_row(customer_id)
            return recommend(self.opportunities([customer_id]), top_n=top, source=source)
        depth = self.depth
        if top > depth:
            raise ParameterError(
                f"top must be at most {depth}: the model keeps {depth} items per customer; "
                f"run basketlens run with --top-n {top} to keep more"
            )
        if "ranked_customer" in self._loaders and self._parts["ranked"] is None:
            rows = self._loaders["ranked_customer"](customer_id)
        else:
            ranked = self.ranked
            assert ranked is not None
            rows = ranked.filter(pl.col("customer_id") == customer_id)
        if rows.height == 0 and not (self.customers["customer_id"] == customer_id).any():
            raise self._unknown_customer(customer_id)
        return rows.filter(pl.col("rank") <= top).sort("rank")

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

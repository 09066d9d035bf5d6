"""Everything the recommender knows at one cut-off date: purchases before it and the signals
fitted on them (item–item models, co-purchase shares, popularity, rule evidence).

:class:`Signals` is fitted twice by :func:`~basketlens.recommender.stage.run_recommender`:
on the lines before an inner cut-off (to train the ranker against what customers bought
after it) and on all the lines (to recommend). Nothing here looks past ``matrix.window_end``.

Example:
    >>> signals = Signals.fit(matrix, customers, rules=rules, lam=300.0,  # doctest: +SKIP
    ...                       options=RecommendOptions())
    >>> signals.ease.weights.shape                                        # doctest: +SKIP
    (1500, 1500)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl
import scipy.sparse as sp

from basketlens._arrays import isin_sorted, unique_sorted
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.opportunities import (
    ALL_SCOPE,
    RuleCodes,
    check_rules,
    customer_info,
    match_rules,
    scope_rows,
)
from basketlens.opportunities.options import RecommendOptions
from basketlens.opportunities.value import ItemValues, observed_months
from basketlens.recommender.itemitem import CoPurchase, Ease, ItemKnn, model_items, segment_grams

logger = logging.getLogger(__name__)

__all__ = ["RECENT_DAYS", "Basis", "RuleEvidence", "Signals", "cross_sell_rules", "segments_of"]

#: "Recently" in the popularity signal and its reason: the last 30 days before the cut-off.
RECENT_DAYS = 30


def cross_sell_rules(
    rules: pl.DataFrame | None, *, include_variants: bool = False
) -> pl.DataFrame | None:
    """The rules that may back a cross-sell recommendation: all but ``kind == "variant"``
    (unless ``include_variants``). Rules without a ``kind`` column are all kept (older run
    folders, ``mine`` output); rules whose items the purchases do not know (family- or
    category-level rules) back nothing, as their consequent matches no item.

    Example:
        >>> r = pl.DataFrame({"rule_id": ["a", "b", "c"], "kind": ["cross_sell", "variant", None]})
        >>> cross_sell_rules(r)["rule_id"].to_list()
        ['a', 'c']
    """
    if rules is None or include_variants or "kind" not in rules.columns:
        return rules
    return rules.filter(pl.col("kind").fill_null("") != "variant")


def segments_of(matrix: CustomerItems, customers: pl.DataFrame | None) -> pl.DataFrame:
    """customer_id, customer_name, segment, segment_name per matrix row (segment -1: none)."""
    info = customer_info(matrix, customers)
    return info.with_columns(pl.col("segment").fill_null(-1))


@dataclass(frozen=True, eq=False)
class Basis:
    """What every item–item model of one matrix starts from, computed once (choosing λ and
    fitting the signals share it): each row's segment, the model items, the binary
    customers × model-items matrix ``X`` and its Gram matrices, whole and per segment.

    Example:
        >>> basis = Basis.of(matrix, customers, options=RecommendOptions())  # doctest: +SKIP
        >>> basis.X.shape == (matrix.n_customers, basis.cols.size)          # doctest: +SKIP
        True
    """

    info: pl.DataFrame  # segments_of(matrix, customers)
    segment: np.ndarray  # int64 per row (-1: none)
    csr: sp.csr_matrix  # binary customers × items, float32
    buyers: np.ndarray  # int64: customers who bought each item
    cols: np.ndarray  # model item codes (sorted)
    X: sp.csr_matrix  # binary customers × model items, float32
    G: np.ndarray  # XᵀX (float64)
    grams: tuple[np.ndarray, ...]  # the Gram matrix of each segment's rows (segments ascending)

    @classmethod
    def of(
        cls, matrix: CustomerItems, customers: pl.DataFrame | None, *, options: RecommendOptions
    ) -> Basis:
        """Build from the matrix, the customers' segments and the model-item options."""
        info = segments_of(matrix, customers)
        segment = info["segment"].to_numpy().astype(np.int64)
        csr = matrix.csr().astype(np.float32)
        buyers = np.asarray(csr.sum(axis=0)).ravel().astype(np.int64)
        cols = model_items(buyers, min_buyers=options.min_buyers, max_items=options.max_items)
        X = csr[:, cols].tocsr()
        G, grams = segment_grams(X, segment)
        return cls(info, segment, csr, buyers, cols, X, G, grams)


@dataclass(frozen=True, eq=False)
class RuleEvidence:
    """Rules that fire for a (customer, never-bought item): best confidence, lift and rule.

    Arrays are sorted by ``key = row * n_items + col``; ``pairs`` lists every firing rule per
    pair (row, col, rule, confidence, lift) for the ``rule_ids`` column.
    """

    key: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray
    rule: np.ndarray  # index into ``rules`` of the strongest rule
    rules: pl.DataFrame  # check_rules columns (+ kind when present)
    pairs: pl.DataFrame  # row, col, rule, confidence, lift, rule_id (strongest first per pair)

    @classmethod
    def empty(cls) -> RuleEvidence:
        none = np.empty(0)
        return cls(
            none.astype(np.int64),
            none,
            none,
            none.astype(np.int64),
            pl.DataFrame(),
            pl.DataFrame(
                schema={
                    "row": pl.Int64,
                    "col": pl.Int64,
                    "rule": pl.Int64,
                    "confidence": pl.Float64,
                    "lift": pl.Float64,
                    "rule_id": pl.String,
                }
            ),
        )

    @classmethod
    def find(
        cls, matrix: CustomerItems, rules: pl.DataFrame | None, info: pl.DataFrame
    ) -> RuleEvidence:
        """Match every rule in its scope (:func:`~basketlens.opportunities.match_rules`);
        ``rules`` are those that may be offered (:func:`cross_sell_rules`)."""
        if rules is None or rules.height == 0:
            return cls.empty()
        kept = check_rules(rules)
        members = scope_rows(info, kept["scope"].unique(maintain_order=True).to_list())
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (row, col, rule)
        csr = matrix.csr()
        for scope, rows in members.items():
            idx = np.flatnonzero((kept["scope"] == scope).to_numpy())
            codes = RuleCodes.encode(kept[idx], matrix)
            r_idx, c_row = match_rules(matrix, codes, rows, csr=csr)
            cons = codes.consequent[r_idx]
            for j in range(cons.shape[1]):  # each consequent item the customer lacks
                col = cons[:, j]
                ok = (col >= 0) & ~matrix.has(c_row, np.maximum(col, 0))
                found.append((c_row[ok], col[ok], idx[r_idx[ok]]))
        if not found:
            return cls.empty()
        conf = kept["confidence"].to_numpy().astype(np.float64)
        lift = kept["lift"].fill_nan(1.0).fill_null(1.0).to_numpy().astype(np.float64)
        row, col, rule = (np.concatenate([f[i] for f in found]).astype(np.int64) for i in range(3))
        # per pair, strongest first: (row, col), then the rules by confidence and lift
        # (descending) and index, ranked once over the rules
        strongest = (
            pl.DataFrame({"confidence": conf, "lift": lift, "rule": np.arange(conf.size)})
            .sort(["confidence", "lift", "rule"], descending=[True, True, False])["rule"]
            .to_numpy()
        )
        strength = np.empty(conf.size, dtype=np.int64)
        strength[strongest] = np.arange(conf.size)
        key = row * matrix.n_items + col
        if float(matrix.n_customers) * matrix.n_items * max(conf.size, 1) < 2.0**62:
            order = np.argsort(key * conf.size + strength[rule])
        else:
            order = np.lexsort((strength[rule], key))
        row, col, rule, key = row[order], col[order], rule[order], key[order]
        pairs = pl.DataFrame(
            {
                "row": row,
                "col": col,
                "rule": rule,
                "confidence": conf[rule],
                "lift": lift[rule],
                "rule_id": kept["rule_id"].gather(rule),
            },
            schema_overrides={"row": pl.Int64, "col": pl.Int64, "rule": pl.Int64},
        )
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        return cls(
            key=key[first],
            confidence=conf[rule[first]],
            lift=lift[rule[first]],
            rule=rule[first],
            rules=kept,
            pairs=pairs,
        )

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(confidence, lift, rule index) of each key; 0, 1 and -1 where no rule fires."""
        if self.key.size == 0:
            n = keys.size
            return np.zeros(n), np.ones(n), np.full(n, -1)
        pos = np.minimum(np.searchsorted(self.key, keys), self.key.size - 1)
        found = self.key[pos] == keys
        return (
            np.where(found, self.confidence[pos], 0.0),
            np.where(found, self.lift[pos], 1.0),
            np.where(found, self.rule[pos], -1),
        )

    def candidates(self, rows: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of every pair of ``rows`` (sorted) that some rule backs."""
        if self.key.size == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        lo = np.searchsorted(self.key, rows[0] * n_items)
        hi = np.searchsorted(self.key, (rows[-1] + 1) * n_items)
        key = self.key[lo:hi]
        row = key // n_items
        keep = isin_sorted(row, rows)
        return row[keep], key[keep] % n_items


@dataclass(frozen=True, eq=False)
class Signals:
    """The purchases before a cut-off and every signal fitted on them (see the module doc)."""

    matrix: CustomerItems
    info: pl.DataFrame  # customer_id, customer_name, segment (-1 none), segment_name per row
    segment: np.ndarray  # int64 per row
    cols: np.ndarray  # model item codes (sorted)
    pos: np.ndarray  # item code -> position among the model items, -1 outside
    X: sp.csr_matrix  # binary customers × model items, float32
    ease: Ease
    knn: ItemKnn
    copurchase: CoPurchase
    buyers: np.ndarray  # customers who bought each item
    recent: np.ndarray  # customers who bought each item in the last RECENT_DAYS days
    share: np.ndarray  # (1 + segments) × items: share of the group's customers who bought it
    rules: RuleEvidence
    values: ItemValues  # typical monthly spend per scope and item
    monthly_spend: np.ndarray  # per row: net sales / observed months
    customer_features: np.ndarray  # rows × 4: log items, orders, recency and tenure

    @property
    def n_items(self) -> int:
        return self.matrix.n_items

    @classmethod
    def fit(
        cls,
        matrix: CustomerItems,
        customers: pl.DataFrame | None,
        *,
        rules: pl.DataFrame | None,
        lam: float,
        options: RecommendOptions,
        ease: Ease | None = None,
        basis: Basis | None = None,
    ) -> Signals:
        """Fit every signal on ``matrix`` (``ease``/``basis`` reuse what choosing λ computed)."""
        basis = Basis.of(matrix, customers, options=options) if basis is None else basis
        info, segment, csr, buyers = basis.info, basis.segment, basis.csr, basis.buyers
        cols, X, G = basis.cols, basis.X, basis.G
        pos = np.full(matrix.n_items, -1, dtype=np.int64)
        pos[cols] = np.arange(cols.size)
        ease = Ease.fit(X, lam=lam, G=G) if ease is None else ease
        knn = ItemKnn.fit(X, neighbours=options.neighbours, G=G)
        copurchase = CoPurchase.fit(X, segment, G=G, grams=basis.grams)
        share = np.zeros((1 + len(copurchase.segments), matrix.n_items))
        share[0] = buyers / max(matrix.n_customers, 1)
        scope_members: dict[str, np.ndarray] = {}
        for g, s in enumerate(copurchase.segments, start=1):
            rows = np.flatnonzero(segment == s)
            share[g] = np.asarray(csr[rows].sum(axis=0)).ravel() / max(rows.size, 1)
            scope_members[str(s)] = rows
        since = np.datetime64(matrix.window_end - timedelta(days=RECENT_DAYS), "us")
        recent_cells = matrix.last_bought >= since
        recent = np.bincount(matrix.indices[recent_cells], minlength=matrix.n_items)
        months = observed_months(matrix)
        rows_of_cells = np.repeat(np.arange(matrix.n_customers), np.diff(matrix.indptr))
        spend = np.bincount(rows_of_cells, weights=matrix.net_sales, minlength=matrix.n_customers)
        end = np.datetime64(matrix.window_end, "us")
        recency = (end - matrix.last_date) / np.timedelta64(1, "D")
        tenure = (end - matrix.first_date) / np.timedelta64(1, "D")
        customer_features = np.column_stack(
            [
                np.log1p(np.diff(matrix.indptr)),
                np.log1p(matrix.total_orders),
                np.log1p(np.maximum(recency, 0.0)),
                np.log1p(np.maximum(tenure, 0.0)),
            ]
        )
        logger.info(
            "signals at %s: %d customers, %d items (%d in the item–item models), λ=%g",
            matrix.window_end,
            matrix.n_customers,
            matrix.n_items,
            cols.size,
            ease.lam,
        )
        return cls(
            matrix=matrix,
            info=info,
            segment=segment,
            cols=cols,
            pos=pos,
            X=X,
            ease=ease,
            knn=knn,
            copurchase=copurchase,
            buyers=buyers,
            recent=recent.astype(np.int64),
            share=share,
            rules=RuleEvidence.find(matrix, rules, info),
            values=ItemValues.compute(matrix, scope_members),
            monthly_spend=np.maximum(spend, 0.0) / months,
            customer_features=customer_features,
        )

    def group(self, rows: np.ndarray) -> np.ndarray:
        """Co-purchase/share group of each row: 0 = no segment, k + 1 = k-th segment."""
        groups = self.__dict__.get("_groups")
        if groups is None:
            segments = np.asarray(self.copurchase.segments, dtype=np.int64)
            at = np.searchsorted(segments, self.segment)
            found = (at < segments.size) & (
                segments[np.minimum(at, segments.size - 1)] == self.segment
            )
            groups = np.where(found, at + 1, 0).astype(np.int64)
            object.__setattr__(self, "_groups", groups)
        return groups[np.asarray(rows, dtype=np.int64)]

    def item_value(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Typical monthly spend on each item among its buyers in the row's segment."""
        out = np.zeros(rows.size)
        seg = self.segment[rows]
        for s in unique_sorted(seg):
            mask = seg == s
            scope = str(int(s)) if s >= 0 else ALL_SCOPE
            out[mask] = self.values.lookup(scope, cols[mask])
        return out

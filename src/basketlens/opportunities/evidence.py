"""The call list's evidence rows in integer codes (the guts of :mod:`.calls`).

An evidence row says: rule ``rule_no`` fires for customer ``cust`` (a row of the purchase
matrix) and offers item ``item`` (a code of :class:`ItemVocabulary`), worth ``value`` a month
(confidence × the item's monthly value in the rule's scope). Rows are built as numbers only —
a family-level rule's item, value and quantity are worked out once per rule, not once per
customer — and turned into text only for the calls that come out of them.

Example:
    >>> vocab = ItemVocabulary(("a", "b"), ["z", "a"])
    >>> vocab.items.to_list(), vocab.matrix_codes(np.array([0, 1, 2])).tolist()
    (['a', 'b', 'z'], [0, 1, -1])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.opportunities import ALL_SCOPE, RuleCodes, match_rules
from basketlens.opportunities.value import ItemValues

__all__ = ["EVIDENCE_SCHEMA", "ItemVocabulary", "family_evidence", "item_evidence", "owns_variant"]

#: One row per rule, customer and item offered, in codes.
EVIDENCE_SCHEMA: pl.Schema = pl.Schema(
    {
        "cust": pl.Int64,
        "item": pl.Int64,
        "rule_no": pl.Int64,
        "value": pl.Float64,
        "quantity": pl.Float64,
        "antecedent_orders": pl.Int32,
        "antecedent_last_date": pl.Datetime("us"),
        "antecedent_recency_days": pl.Float64,
    }
)


class ItemVocabulary:
    """The matrix's item ids (codes 0 … n_items − 1, sorted) then any other id offered
    (codes from n_items on), so every offered item has a code and its text comes back."""

    def __init__(self, matrix_items: tuple[str, ...], others: Sequence[str | None]) -> None:
        self.n_matrix = len(matrix_items)
        known = set(matrix_items)
        extra = sorted({o for o in others if o is not None and o not in known})
        self.items = pl.Series("item", [*matrix_items, *extra], dtype=pl.String)
        self._enum = pl.Enum(self.items.to_list())

    def codes(self, values: pl.Series) -> np.ndarray:
        """Codes of item ids (each must be in the vocabulary; null → -1)."""
        coded = values.cast(pl.String).cast(self._enum)
        return coded.to_physical().fill_null(-1).to_numpy().astype(np.int64)

    def matrix_codes(self, codes: np.ndarray) -> np.ndarray:
        """The matrix column of each code (-1 for an id the matrix does not hold)."""
        return np.where((codes >= 0) & (codes < self.n_matrix), codes, -1)


def _customer_codes(values: pl.Series, matrix: CustomerItems) -> np.ndarray:
    coded = values.cast(pl.String).cast(pl.Enum(list(matrix.customers)))
    return coded.to_physical().to_numpy().astype(np.int64)


def _valued(
    codes: np.ndarray,
    scopes: pl.Series,
    conf: np.ndarray,
    values: ItemValues,
    vocab: ItemVocabulary,
) -> tuple[np.ndarray, np.ndarray]:
    """confidence × the monthly value (quantity) of each item code in its scope."""
    cols = vocab.matrix_codes(codes)
    value, qty = np.zeros(len(codes)), np.zeros(len(codes))
    for scope in scopes.unique().to_list():
        mask = (scopes == scope).to_numpy()
        value[mask] = values.lookup(str(scope), cols[mask])
        qty[mask] = values.lookup(str(scope), cols[mask], what="quantity")
    return conf * value, conf * qty


def item_evidence(
    table: pl.DataFrame,
    matrix: CustomerItems,
    values: ItemValues,
    vocab: ItemVocabulary,
    rule_no: pl.DataFrame,
) -> pl.DataFrame:
    """Evidence of the item-level opportunities ``table`` (rule × customer rows of
    :func:`~basketlens.opportunities.opportunities.find_opportunities`): one row per
    right-hand item the customer lacks. ``rule_no``: rule_id → rule_no."""
    lean = table.select(
        "customer_id", "rule_id", "scope", "confidence", "consequent",
        "antecedent_orders", "antecedent_last_date", "antecedent_recency_days",
    )  # fmt: skip
    ev = lean.with_columns(item=pl.col("consequent")).explode("item")
    items = vocab.codes(ev["item"])
    cust = _customer_codes(ev["customer_id"], matrix)
    multi = (ev["consequent"].list.len() > 1).to_numpy()
    if multi.any():
        lacking = np.ones(ev.height, dtype=bool)
        lacking[multi] = matrix.lookup(cust[multi], vocab.matrix_codes(items[multi])) < 0
        ev, items, cust = ev.filter(pl.Series(lacking)), items[lacking], cust[lacking]
    value, qty = _valued(items, ev["scope"], ev["confidence"].to_numpy(), values, vocab)
    numbers = ev.select("rule_id").join(rule_no, on="rule_id", how="left", maintain_order="left")
    return pl.DataFrame(
        {
            "cust": cust,
            "item": items,
            "rule_no": numbers["rule_no"],
            "value": value,
            "quantity": qty,
            "antecedent_orders": ev["antecedent_orders"],
            "antecedent_last_date": ev["antecedent_last_date"],
            "antecedent_recency_days": ev["antecedent_recency_days"],
        }
    ).cast(dict(EVIDENCE_SCHEMA))


def best_items(values: ItemValues, family_of: dict[str, str]) -> pl.DataFrame:
    """Each scope's best-selling item of each family (most buyers, then the lowest id)."""
    return (
        values.table.with_columns(
            family=pl.col("item").replace_strict(family_of, default=pl.col("item"))
        )
        .sort(["buyers", "item"], descending=[True, False])
        .unique(["scope", "family"], keep="first")
        .select("scope", "family", best_item="item")
    )


def family_rule_items(rules: pl.DataFrame, best: pl.DataFrame) -> pl.Series:
    """The item each family-level rule offers: its right-hand family's best-selling item in
    the rule's scope, else in scope "all" (null when nobody bought the family)."""
    fallback = best.filter(pl.col("scope") == ALL_SCOPE).select("family", fallback="best_item")
    return (
        rules.select("scope", family=pl.col("consequent").list.first())
        .join(best, on=["scope", "family"], how="left", maintain_order="left")
        .join(fallback, on="family", how="left", maintain_order="left")
        .select(item=pl.coalesce("best_item", "fallback"))["item"]
    )


def family_evidence(
    matrix: CustomerItems,
    fam_matrix: CustomerItems,
    members: dict[str, np.ndarray],
    rules: pl.DataFrame,
    items: pl.Series,
    values: ItemValues,
    vocab: ItemVocabulary,
    rule_no: pl.DataFrame,
) -> pl.DataFrame | None:
    """Evidence of the family-level ``rules`` (``items``: :func:`family_rule_items`): the
    customers of the rule's scope (``members``) who buy something of every left-hand family
    and nothing of the right-hand one. Value and quantity are the rule's, so they are
    computed per rule; antecedent history is null (it is about families)."""
    offered = items.is_not_null().to_numpy()
    codes = np.full(rules.height, -1, dtype=np.int64)
    codes[offered] = vocab.codes(items.filter(pl.Series(offered)))
    value, qty = _valued(codes, rules["scope"], rules["confidence"].to_numpy(), values, vocab)
    numbers = rules.select("rule_id").join(rule_no, on="rule_id", how="left", maintain_order="left")
    number = numbers["rule_no"].to_numpy()
    csr = fam_matrix.csr()
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    scopes = rules["scope"].to_numpy()
    for scope in rules["scope"].unique(maintain_order=True).to_list():
        sub = np.flatnonzero((scopes == scope) & offered)
        if sub.size == 0:
            continue
        rule_codes = RuleCodes.encode(rules[sub], fam_matrix)
        r_idx, c_row = match_rules(fam_matrix, rule_codes, members[scope], csr=csr)
        parts.append((sub[r_idx], c_row))
    if not parts or sum(len(r) for r, _ in parts) == 0:
        return None
    r = np.concatenate([p[0] for p in parts])
    cust = np.concatenate([p[1] for p in parts]).astype(np.int64)
    n = len(r)
    return pl.DataFrame(
        {
            "cust": cust,
            "item": codes[r],
            "rule_no": number[r],
            "value": value[r],
            "quantity": qty[r],
            "antecedent_orders": pl.Series([None], dtype=pl.Int32).extend_constant(None, n - 1),
            "antecedent_last_date": pl.Series([None], dtype=pl.Datetime("us")).extend_constant(
                None, n - 1
            ),
            "antecedent_recency_days": pl.Series([None], dtype=pl.Float64).extend_constant(
                None, n - 1
            ),
        }
    ).cast(dict(EVIDENCE_SCHEMA))


def owns_variant(
    cust: np.ndarray,
    item: np.ndarray,
    matrix: CustomerItems,
    families: pl.DataFrame,
    vocab: ItemVocabulary,
) -> np.ndarray:
    """Whether each customer ``cust[k]`` bought an item in the family of, or linked as a
    variant to, item ``item[k]`` (other than it)."""
    fam = families.select("item", "family")
    same = fam.join(fam.rename({"item": "other"}), on="family").filter(
        pl.col("item") != pl.col("other")
    )
    linked = families.select("item", other="variants").explode("other").drop_nulls()
    pairs = (
        pl.concat([same.select("item", "other"), linked])
        .unique()
        .filter(
            pl.col("item").is_in(vocab.items.to_list())
            & pl.col("other").is_in(vocab.items.head(vocab.n_matrix).to_list())
        )
    )
    out = np.zeros(len(cust), dtype=bool)
    if pairs.height == 0 or len(cust) == 0:
        return out
    p_item, p_other = vocab.codes(pairs["item"]), vocab.codes(pairs["other"])
    by_item = np.argsort(p_item, kind="stable")
    p_other = p_other[by_item]
    # each item's partners are p_other[start[item] : start[item] + count[item]]
    count = np.bincount(p_item, minlength=len(vocab.items))
    start = np.cumsum(count) - count
    item = np.asarray(item, dtype=np.int64)
    rep = count[item]
    ends = np.cumsum(rep)
    # (customer, partner) pairs, the partners of each call's item in turn
    pos = np.arange(ends[-1] if ends.size else 0) + np.repeat(start[item] - (ends - rep), rep)
    owned = matrix.has(np.repeat(np.asarray(cust, dtype=np.int64), rep), p_other[pos])
    # any owned partner per call: the count of owned ones up to each call's end rises
    seen = np.r_[0, np.cumsum(owned)]
    return seen[ends] > seen[ends - rep]

"""Cross-sell opportunities: who bought every antecedent item of a rule but lacks its consequent.

For each rule of each scope ("all" = every customer; a segment id = that segment's
customers), the opportunities are the customers of the scope who bought **every** antecedent
item at least once and **not every** consequent item (for the usual one-item consequent:
never bought it; for a multi-item consequent: lack at least one of its items — the missing
ones are what can still be sold, and only they count in ``expected_value``). A rule with an
empty antecedent (``min_len=1``) matches every customer of its scope who lacks the consequent.

Computation (no scan of the ledger per rule): rules are grouped by distinct antecedent; a
sparse product of the boolean customer × item matrix with the antecedent × item indicator
counts, per customer and antecedent, how many antecedent items the customer bought; the
customer matches where that count equals the antecedent length (with the compiled core: the
AND of the antecedent items' customer bitsets, ``_core.row_matches``). Matches are expanded to the
rules sharing the antecedent and the consequent is checked with a vectorised pair lookup.
Rows are processed in chunks so memory stays bounded (see ``benchmarks/bench_opportunities.py``).

Example:
    >>> import polars as pl
    >>> from datetime import datetime
    >>> lines = pl.DataFrame({
    ...     "unit": ["c1", "c1", "c2", "c2", "c3"], "item": ["a", "b", "a", "c", "b"],
    ...     "basket": ["1", "1", "2", "2", "3"], "quantity": [1.0] * 5,
    ...     "net_sales": [5.0] * 5, "date": [datetime(2024, 1, 1)] * 5})
    >>> rules = pl.DataFrame({"rule_id": ["all-r1"], "scope": ["all"], "antecedent": [["a"]],
    ...     "consequent": [["b"]], "support": [0.3], "confidence": [0.5], "lift": [0.75]})
    >>> opp = find_opportunities(lines, rules, None)
    >>> opp.table.select("rule_id", "customer_id", "expected_value").rows()
    [('all-r1', 'c2', 2.5)]
    >>> opp.rule_counts.rows()
    [('all-r1', 'all', 1)]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from basketlens._validation import check_interval
from basketlens.errors import SchemaError
from basketlens.items import add_item_names, item_names
from basketlens.mining._kernel import core as _core
from basketlens.opportunities.matrix import CustomerItems
from basketlens.opportunities.value import ItemValues

logger = logging.getLogger(__name__)

__all__ = [
    "OPPORTUNITIES_SCHEMA",
    "RULE_COUNTS_SCHEMA",
    "Opportunities",
    "RuleCodes",
    "find_opportunities",
    "match_rules",
    "offered_rules",
]

ALL_SCOPE = "all"
_PAD = -2  # padding in coded item matrices; -1 = item unknown to the matrix

OPPORTUNITIES_SCHEMA: pl.Schema = pl.Schema(
    {
        "scope": pl.String,
        "rule_id": pl.String,
        "customer_id": pl.String,
        "customer_name": pl.String,
        "segment": pl.Int32,
        "segment_name": pl.String,
        "antecedent": pl.List(pl.String),
        "consequent": pl.List(pl.String),
        "antecedent_names": pl.List(pl.String),
        "consequent_names": pl.List(pl.String),
        "support": pl.Float64,
        "confidence": pl.Float64,
        "lift": pl.Float64,
        "antecedent_orders": pl.Int32,
        "antecedent_last_date": pl.Datetime("us"),
        "antecedent_recency_days": pl.Float64,
        "expected_value": pl.Float64,
        "expected_quantity": pl.Float64,
        "rank": pl.Int64,
    }
)

RULE_COUNTS_SCHEMA: pl.Schema = pl.Schema(
    {"rule_id": pl.String, "scope": pl.String, "opportunity_customers": pl.Int64}
)

_RULE_COLUMNS = ("rule_id", "scope", "antecedent", "consequent", "support", "confidence", "lift")
_CUSTOMER_COLUMNS = ("customer_id", "customer_name", "segment", "segment_name")


@dataclass(frozen=True)
class RuleCodes:
    """Antecedents and consequents coded on a matrix's items, padded with -2 (-1 = unknown)."""

    antecedent: np.ndarray  # int64 (n_rules, max antecedent length)
    antecedent_len: np.ndarray  # int64
    consequent: np.ndarray  # int64 (n_rules, max consequent length)

    @classmethod
    def encode(cls, rules: pl.DataFrame, matrix: CustomerItems) -> RuleCodes:
        ante, n_ante = _pad(rules["antecedent"], matrix)
        cons, _ = _pad(rules["consequent"], matrix)
        return cls(antecedent=ante, antecedent_len=n_ante, consequent=cons)


def _pad(column: pl.Series, matrix: CustomerItems) -> tuple[np.ndarray, np.ndarray]:
    lengths = column.list.len().fill_null(0).to_numpy().astype(np.int64)
    width = max(int(lengths.max()) if lengths.size else 0, 1)
    out = np.full((lengths.size, width), _PAD, dtype=np.int64)
    codes = matrix.item_codes(column.explode().drop_nulls())
    rows = np.repeat(np.arange(lengths.size), lengths)
    starts = np.cumsum(lengths) - lengths
    out[rows, np.arange(rows.size) - starts[rows]] = codes
    return out, lengths


def match_rules(
    matrix: CustomerItems,
    codes: RuleCodes,
    rows: np.ndarray,
    *,
    csr: sp.csr_matrix | None = None,
    chunk_size: int = 50_000,
) -> tuple[np.ndarray, np.ndarray]:
    """(rule index, customer row) of every opportunity of the coded rules among ``rows``.

    Pairs come in no particular order (callers sort what they present).

    Example:
        >>> import polars as pl
        >>> from datetime import datetime
        >>> m = CustomerItems.from_lines(pl.DataFrame({"unit": ["x", "y"], "item": ["a", "a"],
        ...     "basket": ["1", "2"], "quantity": [1.0, 1.0], "net_sales": [1.0, 1.0],
        ...     "date": [datetime(2024, 1, 1)] * 2}))
        >>> lists = pl.List(pl.String)
        >>> r = pl.DataFrame({"antecedent": [[]], "consequent": [["b"]]},
        ...                  schema={"antecedent": lists, "consequent": lists})
        >>> [a.tolist() for a in match_rules(m, RuleCodes.encode(r, m), np.arange(2))]
        [[0, 0], [0, 1]]
    """
    rows = np.asarray(rows, dtype=np.int64)
    usable = ~(codes.antecedent == -1).any(axis=1)  # an unknown antecedent item: nobody has it
    rule_idx = np.flatnonzero(usable)
    if rule_idx.size == 0 or rows.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    uniq, inverse = np.unique(codes.antecedent[rule_idx], axis=0, return_inverse=True)
    inverse = inverse.ravel()
    u_len = (uniq >= 0).sum(axis=1)
    # unique antecedent -> the rules (indices into rule_idx) that share it
    slot_rule = rule_idx[np.argsort(inverse, kind="stable")]
    u_count = np.bincount(inverse, minlength=uniq.shape[0])
    u_start = np.cumsum(u_count) - u_count
    indicator = _indicator(uniq, matrix.n_items)
    csr = matrix.csr() if csr is None else csr
    compiled = None
    if _core is not None:  # bitsets of the antecedent items over the customers, compiled
        compiled = (
            np.ascontiguousarray(csr.indptr, dtype=np.int64),
            np.ascontiguousarray(csr.indices, dtype=np.int32),
            matrix.n_items,
        )
        sets = (indicator.indices.astype(np.int32), indicator.indptr.astype(np.int64))
    out_rules, out_rows = [], []
    for lo in range(0, rows.size, chunk_size):
        chunk = rows[lo : lo + chunk_size]
        found = None if compiled is None else _core.row_matches(*compiled, chunk, *sets)
        if found is None:
            cust, u = _antecedent_matches(csr, chunk, indicator, u_len)
        else:
            cust, u = _with_empty(chunk, *found, u_len)
        # expand each (customer, antecedent) to the rules with that antecedent:
        # slot_rule[u_start[u] : u_start[u] + u_count[u]]
        rep = u_count[u]
        ends = np.cumsum(rep)
        slot = np.arange(int(ends[-1]) if ends.size else 0)
        slot += np.repeat(u_start[u] - (ends - rep), rep)
        rule = slot_rule[slot]
        cust = np.repeat(cust, rep)
        lacking = np.flatnonzero(~_has_all(matrix, cust, codes.consequent, rule))
        out_rules.append(rule[lacking])
        out_rows.append(cust[lacking])
    return np.concatenate(out_rules), np.concatenate(out_rows)


def _indicator(uniq: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Antecedent × item 0/1 matrix (int32) of the distinct antecedents."""
    lengths = (uniq >= 0).sum(axis=1)
    indptr = np.zeros(uniq.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    cols = uniq[uniq >= 0]
    data = np.ones(cols.size, dtype=np.int32)
    return sp.csr_matrix((data, cols, indptr), shape=(uniq.shape[0], n_items))


def _antecedent_matches(
    csr: sp.csr_matrix, chunk: np.ndarray, indicator: sp.csr_matrix, u_len: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customer row, distinct antecedent) pairs where the customer bought every item."""
    sub = csr[chunk].astype(np.int32)
    hits = (sub @ indicator.T).tocsr()
    full = np.flatnonzero(hits.data == u_len[hits.indices])
    local = np.searchsorted(hits.indptr, full, side="right") - 1
    return _with_empty(chunk, chunk[local], hits.indices[full].astype(np.int64), u_len)


def _with_empty(
    chunk: np.ndarray, cust: np.ndarray, u: np.ndarray, u_len: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The matches plus the empty antecedent's, which every customer of ``chunk`` buys."""
    empty = np.flatnonzero(u_len == 0)
    if empty.size:
        cust = np.concatenate([cust, np.repeat(chunk, empty.size)])
        u = np.concatenate([u, np.tile(empty, chunk.size)])
    return cust, u


def _has_all(
    matrix: CustomerItems, cust: np.ndarray, items: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Whether each customer bought every (non-padding) item of its row (``rows``) of
    ``items``."""
    has = np.ones(cust.size, dtype=bool)
    for j in range(items.shape[1]):
        col = items[:, j]
        if (col == _PAD).any():
            col = col[rows]
            has &= (col == _PAD) | matrix.has(cust, col)
        else:  # no padding in this column (always so in the first)
            has &= matrix.has(cust, col[rows])
    return has


@dataclass(frozen=True, eq=False)
class Opportunities:
    """Opportunities (``table``), per-rule counts (``rule_counts``) and what made them."""

    table: pl.DataFrame  # OPPORTUNITIES_SCHEMA, ranked by expected_value within each scope
    rule_counts: pl.DataFrame  # RULE_COUNTS_SCHEMA, one row per input rule
    matrix: CustomerItems
    values: ItemValues
    customers: pl.DataFrame  # customer_id, customer_name, segment, segment_name per matrix row
    item_names: dict[str, str]
    rules: pl.DataFrame  # the rules used (check_rules columns)

    def __len__(self) -> int:
        return self.table.height


def scope_rows(customers: pl.DataFrame, scopes: list[str]) -> dict[str, np.ndarray]:
    """Matrix rows of each scope: every row for "all", the segment's rows otherwise."""
    seg = customers["segment"].cast(pl.String).to_numpy()
    out: dict[str, np.ndarray] = {}
    for scope in scopes:
        if scope == ALL_SCOPE:
            out[scope] = np.arange(customers.height, dtype=np.int64)
        else:
            out[scope] = np.flatnonzero(seg == scope).astype(np.int64)
    return out


def customer_info(matrix: CustomerItems, customers: pl.DataFrame | None) -> pl.DataFrame:
    """customer_id, customer_name, segment, segment_name aligned to the matrix rows."""
    base = pl.DataFrame({"customer_id": pl.Series(matrix.customers, dtype=pl.String)})
    if customers is None:
        customers = pl.DataFrame(schema={c: OPPORTUNITIES_SCHEMA[c] for c in _CUSTOMER_COLUMNS})
    if "customer_id" not in customers.columns:
        raise SchemaError("customers table lacks column 'customer_id' (see customers.parquet)")
    have = [c for c in _CUSTOMER_COLUMNS if c in customers.columns]
    info = base.join(
        customers.select(have).unique("customer_id", keep="first"),
        on="customer_id",
        how="left",
        maintain_order="left",
    )
    for column in _CUSTOMER_COLUMNS[1:]:
        if column not in info.columns:
            info = info.with_columns(pl.lit(None, OPPORTUNITIES_SCHEMA[column]).alias(column))
    return info.select(
        "customer_id",
        pl.coalesce("customer_name", "customer_id").cast(pl.String).alias("customer_name"),
        pl.col("segment").cast(pl.Int32),
        pl.col("segment_name").cast(pl.String),
    )


def rule_item_names(rules: pl.DataFrame) -> dict[str, str]:
    """Item id -> name from a rules table's ``*_names`` columns (empty if it has none)."""
    names: dict[str, str] = {}
    for side in ("antecedent", "consequent"):
        if f"{side}_names" in rules.columns:
            ids = rules[side].explode().to_list()
            labels = rules[f"{side}_names"].explode().to_list()
            names.update({i: n for i, n in zip(ids, labels, strict=True) if i is not None})
    return names


def offered_rules(rules: pl.DataFrame, *, include_variants: bool = False) -> pl.DataFrame:
    """The item-level rules whose right-hand items may be offered to a customer: those of
    kind ``cross_sell`` (every kind with ``include_variants``). Tables without a ``level`` or
    ``kind`` column (rules mined outside a run) are item-level cross-sell throughout.

    Example:
        >>> r = pl.DataFrame({"rule_id": ["a", "b", "c"], "level": ["item", "item", "family"],
        ...                   "kind": ["cross_sell", "variant", "cross_sell"]})
        >>> offered_rules(r)["rule_id"].to_list(), offered_rules(r, include_variants=True).height
        (['a'], 2)
    """
    keep = pl.lit(True)
    if "level" in rules.columns:
        keep &= pl.col("level") == "item"
    if "kind" in rules.columns and not include_variants:
        keep &= pl.col("kind") == "cross_sell"
    return rules.filter(keep)


def check_rules(rules: pl.DataFrame) -> pl.DataFrame:
    """The columns opportunities need, with ``scope`` as text; SchemaError if any is missing."""
    missing = [c for c in _RULE_COLUMNS if c not in rules.columns]
    if missing:
        raise SchemaError(
            f"rules table lacks column(s) {', '.join(missing)}; pass rules.parquet "
            "(ScopedRules.table)"
        )
    named = [c for c in ("antecedent_names", "consequent_names") if c in rules.columns]
    return rules.select(
        pl.col("rule_id").cast(pl.String),
        pl.col("scope").cast(pl.String),
        pl.col("antecedent").cast(pl.List(pl.String)),
        pl.col("consequent").cast(pl.List(pl.String)),
        *(pl.col(c).cast(pl.List(pl.String)) for c in named),
        *(pl.col(c).cast(pl.Float64) for c in ("support", "confidence", "lift")),
    )


def find_opportunities(
    lines: pl.DataFrame | CustomerItems,
    rules: pl.DataFrame,
    customers: pl.DataFrame | None,
    *,
    items: pl.DataFrame | None = None,
    customer_ids: list[str] | None = None,
    values: ItemValues | None = None,
    chunk_size: int = 50_000,
) -> Opportunities:
    """Every rule's opportunities in its scope, valued and ranked (see the module docstring).

    Parameters:
        lines: cleaned lines (``CLEAN_SCHEMA``) or a prebuilt :class:`CustomerItems`.
        rules: ``rules.parquet`` (rule_id, scope, antecedent, consequent, support,
            confidence, lift; ``*_names`` columns are used for names when present).
        customers: ``customers.parquet`` (customer_id, customer_name, segment,
            segment_name); customers missing from it belong to scope "all" only.
        items: the item table (``ITEMS_SCHEMA``; item, item_name) giving the names; without
            it, names come from the rules' ``*_names`` columns.
        customer_ids: only these customers (the model's single-customer path).
        values: precomputed :class:`ItemValues` (computed from the matrix otherwise).
        chunk_size: customers per sparse product (bounds memory).

    ``rank`` is 1 for the highest ``expected_value`` within each scope (ties: confidence,
    lift, rule_id, customer_id).
    """
    check_interval("chunk_size", chunk_size, low=1, integer=True)
    matrix = lines if isinstance(lines, CustomerItems) else CustomerItems.from_lines(lines)
    rules = check_rules(rules)
    info = customer_info(matrix, customers)
    scopes = rules["scope"].unique(maintain_order=True).to_list()
    members = scope_rows(info, scopes)
    if values is None:
        values = ItemValues.compute(matrix, {s: r for s, r in members.items() if s != ALL_SCOPE})
    if customer_ids is not None:
        keep = matrix.codes(list(customer_ids), axis="customer")
        keep = np.unique(keep[keep >= 0])
        members = {s: np.intersect1d(r, keep) for s, r in members.items()}
    names = item_names(items) if items is not None else rule_item_names(rules)
    rules = add_item_names(rules, names)
    csr = matrix.csr()
    frames, counts = [], []
    for scope in scopes:
        in_scope = np.flatnonzero((rules["scope"] == scope).to_numpy())
        sub = rules[in_scope]
        codes = RuleCodes.encode(sub, matrix)
        r_idx, c_row = match_rules(matrix, codes, members[scope], csr=csr, chunk_size=chunk_size)
        counts.append(
            sub.select("rule_id", "scope").with_columns(
                opportunity_customers=np.bincount(r_idx, minlength=sub.height).astype(np.int64)
            )
        )
        frames.append(_table(scope, sub, codes, r_idx, c_row, matrix, values, info, names))
    table = pl.concat(frames) if frames else pl.DataFrame(schema=OPPORTUNITIES_SCHEMA)
    rule_counts = (pl.concat(counts) if counts else pl.DataFrame(schema=RULE_COUNTS_SCHEMA)).cast(
        dict(RULE_COUNTS_SCHEMA)
    )
    logger.info("found %d opportunities for %d rules", table.height, rules.height)
    return Opportunities(table, rule_counts, matrix, values, info, names, rules)


def _table(
    scope: str,
    rules: pl.DataFrame,
    codes: RuleCodes,
    r_idx: np.ndarray,
    c_row: np.ndarray,
    matrix: CustomerItems,
    values: ItemValues,
    info: pl.DataFrame,
    names: dict[str, str],
) -> pl.DataFrame:
    """Assemble one scope's opportunities with their antecedent history and value."""
    ante = codes.antecedent[r_idx]
    empty = codes.antecedent_len[r_idx] == 0
    orders = np.where(empty, matrix.total_orders[c_row], np.iinfo(np.int32).max)
    last = np.where(empty, matrix.last_date[c_row], np.datetime64("NaT", "us"))
    last = last.astype("datetime64[us]")
    for j in range(ante.shape[1]):
        pos = matrix.lookup(c_row, ante[:, j])
        ok = pos >= 0
        orders = np.where(ok, np.minimum(orders, matrix.orders[np.maximum(pos, 0)]), orders)
        seen = matrix.last_bought[np.maximum(pos, 0)]
        later = ok & (np.isnat(last) | (seen > last))
        last = np.where(later, seen, last)
    cons = codes.consequent[r_idx]
    value = np.zeros(r_idx.size)
    qty = np.zeros(r_idx.size)
    for j in range(cons.shape[1]):
        lacking = (cons[:, j] != _PAD) & ~matrix.has(c_row, cons[:, j])
        value += np.where(lacking, values.lookup(scope, cons[:, j]), 0.0)
        qty += np.where(lacking, values.lookup(scope, cons[:, j], what="quantity"), 0.0)
    conf = rules["confidence"].to_numpy()[r_idx]
    end = np.datetime64(matrix.window_end, "us")
    picked = rules[r_idx]
    df = pl.DataFrame(
        {
            "antecedent_orders": orders.astype(np.int32),
            "antecedent_last_date": last,
            "antecedent_recency_days": (end - last) / np.timedelta64(1, "D"),
            "expected_value": conf * value,
            "expected_quantity": conf * qty,
        }
    )
    df = pl.concat([picked, info[c_row], df], how="horizontal")
    df = df.sort(
        ["expected_value", "confidence", "lift", "rule_id", "customer_id"],
        descending=[True, True, True, False, False],
        nulls_last=True,
    ).with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    return df.select(list(OPPORTUNITIES_SCHEMA)).cast(dict(OPPORTUNITIES_SCHEMA))

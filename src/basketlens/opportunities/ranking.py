"""Evidence rows → one row per customer and item (the guts of the call list's grouping).

:func:`group_order` orders the evidence rows of each (customer, item) strongest first —
value, confidence and lift descending (NaN first, nulls last, as Polars sorts), then the
rule's number: the first row of a group is its lead rule, the rest its supporting rules.
It sorts integer and float keys in numpy; the rule ids are gathered once, as one
``list<str>`` column built from Arrow buffers (:func:`list_column`).

Example:
    >>> order, first = group_order(np.array([0, 0]), np.array([1, 2]), [pl.Series([1.0, 2.0])])
    >>> list_column("rule_ids", pl.Series(["r1", "r2"]).gather(order), first).to_list()
    [['r2', 'r1']]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from basketlens._arrays import stable_argsort

__all__ = ["descending_keys", "group_order", "list_column"]


def descending_keys(values: pl.Series) -> list[np.ndarray]:
    """``np.lexsort`` keys (least significant first) ordering a float column as Polars'
    ``sort(descending=True, nulls_last=True)`` does: NaN first, then largest to smallest,
    nulls last.

    Example:
        >>> s = pl.Series([1.0, None, float("nan"), 3.0])
        >>> np.lexsort(descending_keys(s)).tolist()
        [2, 3, 0, 1]
    """
    x = values.cast(pl.Float64).to_numpy()  # nulls become NaN
    null = values.is_null().to_numpy()
    nan = np.isnan(x) & ~null
    if not null.any() and not nan.any():
        return [-x]
    rank = np.where(null, 2, np.where(nan, 0, 1)).astype(np.int8)
    return [-np.where(np.isnan(x), 0.0, x), rank]


def group_order(
    group: np.ndarray, rule_no: np.ndarray, strength: Sequence[pl.Series]
) -> tuple[np.ndarray, np.ndarray]:
    """(order, first): the rows sorted by ``group``, each group's strongest row first — the
    float columns ``strength`` descending (NaN first, nulls last), then ``rule_no`` — and
    where each group starts in ``order``.

    Example:
        >>> order, first = group_order(np.array([1, 0, 1]), np.array([5, 6, 7]),
        ...                            [pl.Series([1.0, 9.0, 2.0])])
        >>> order.tolist(), first.tolist()
        ([1, 2, 0], [0, 1])
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    group, rule_no = np.asarray(group, dtype=np.int64), np.asarray(rule_no, dtype=np.int64)
    rank = _rule_ranks(rule_no, strength)
    if rank is not None:  # one integer key: the group, then the rule's rank (a rule twice in
        # a group: input order)
        order = stable_argsort(group * len(rank) + rank[rule_no])
    else:
        keys: list[np.ndarray] = [rule_no]
        for column in reversed(list(strength)):
            keys += descending_keys(column)
        keys.append(group)
        order = np.lexsort(keys)
    ordered = group[order]
    return order, np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])


def _rule_ranks(rule_no: np.ndarray, strength: Sequence[pl.Series]) -> np.ndarray | None:
    """Each rule number's rank in the strongest-first order, when every ``strength`` column
    holds one value per rule (else None: the rows must be compared one by one)."""
    if rule_no.min() < 0 or rule_no.max() >= 4 * len(rule_no) + 1024:
        return None
    size = int(rule_no.max()) + 1
    first = np.full(size, -1, dtype=np.int64)
    first[rule_no[::-1]] = np.arange(len(rule_no) - 1, -1, -1)
    present = np.flatnonzero(first >= 0)
    per_rule = []
    rep = first[rule_no]  # each row's rule's first row
    for column in strength:
        x = column.cast(pl.Float64).to_numpy()
        other = x[rep]
        same = x.view(np.int64) == other.view(np.int64)  # the same bits
        if not same.all() or column.null_count():  # else: other NaNs, or nulls
            null = column.is_null().to_numpy()
            same |= np.isnan(x) & np.isnan(other)
            if not ((null == null[rep]) & (same | null)).all():
                return None
        per_rule.append(column.gather(first[present]))
    keys: list[np.ndarray] = [present]
    for column in reversed(per_rule):
        keys += descending_keys(column)
    rank = np.zeros(size, dtype=np.int64)
    rank[present[np.lexsort(keys)]] = np.arange(len(present))
    return rank


def list_column(name: str, values: pl.Series, starts: np.ndarray) -> pl.Series:
    """A ``list<str>`` column cutting ``values`` at ``starts`` (each list runs to the next).

    Example:
        >>> list_column("x", pl.Series(["a", "b", "c"]), np.array([0, 2])).to_list()
        [['a', 'b'], ['c']]
    """
    offsets = np.r_[starts, len(values)].astype(np.int64)
    arrow = values.cast(pl.String).to_arrow()
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), arrow)
    return pl.Series(name, lists).cast(pl.List(pl.String))

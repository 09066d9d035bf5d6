"""Multi-level rules: rules between item families and between categories, linked to the
item-level rules underneath them (Srikant & Agrawal 1995, "Mining generalized association
rules"; arules ``aggregate``).

Each level above the items replaces every item of a basket by its group — its family
(:mod:`basketlens.mining.families`) or its category from the item table — and is mined like
the items, scope by scope, with the same options. "Buys some cheese → buys some wine" is then
found even when no single pair of a cheese and a wine is frequent. Family-level rules whose
every family holds a single item are dropped: they repeat an item-level rule. Rule ids carry
the level: ``all-r000001`` (item), ``all-f000001`` (family), ``all-c000001`` (category).

``parent_rule_id`` links a rule to the rule one level up that generalises it: same scope, the
families (categories) of its left-hand items on the left, of its right-hand items on the
right. A rule within one family (a variant rule) has no parent.

Example:
    >>> import polars as pl
    >>> rules = pl.DataFrame({"rule_id": ["all-r1", "all-f1"], "scope": ["all", "all"],
    ...     "level": ["item", "family"], "antecedent": [["a1"], ["family:a1"]],
    ...     "consequent": [["b2"], ["family:b1"]]})
    >>> groups = {"family": {"a1": "family:a1", "a2": "family:a1", "b1": "family:b1",
    ...                      "b2": "family:b1"}}
    >>> parent_ids(rules, groups).to_list()
    ['all-f1', None]
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from basketlens.mining.encode import BasketMatrix, from_pairs
from basketlens.mining.families import ItemFamilies
from basketlens.mining.options import MiningOptions
from basketlens.mining.scopes import ScopedRules, mine_scopes

logger = logging.getLogger(__name__)

__all__ = [
    "CATEGORY_PREFIX",
    "LEVELS",
    "LEVEL_TAGS",
    "group_matrix",
    "group_vocabulary",
    "level_groups",
    "level_table",
    "mine_level",
    "mirror_ids",
    "parent_ids",
]

#: The levels, from the most specific up.
LEVELS: tuple[str, ...] = ("item", "family", "category")
#: The letter a rule id carries for its level.
LEVEL_TAGS: dict[str, str] = {"item": "r", "family": "f", "category": "c"}
#: Category ids are the category name behind this prefix.
CATEGORY_PREFIX = "category:"
_SEP = "\x1f"


def level_groups(
    families: ItemFamilies | None, items: pl.DataFrame
) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """For each level above the items that the data support: (item → group id, group id →
    name). Family: when some family holds several items; category: when the item table
    gives at least two categories (items without one are left out of that level).

    Example:
        >>> items = pl.DataFrame({"item": ["a", "b"], "category": ["Dairy", "Bread"]})
        >>> of, names = level_groups(None, items)["category"]
        >>> of
        {'a': 'category:Dairy', 'b': 'category:Bread'}
        >>> names
        {'category:Bread': 'Bread', 'category:Dairy': 'Dairy'}
    """
    out: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    if families is not None and (families.table["family_size"] > 1).any():
        out["family"] = (families.family_of, families.family_names)
    if "category" in items.columns:
        cats = (
            items.select(pl.col("item").cast(pl.String), pl.col("category").cast(pl.String))
            .drop_nulls()
            .unique("item", keep="first", maintain_order=True)
        )
        if cats["category"].n_unique() >= 2:
            of = {i: CATEGORY_PREFIX + c for i, c in cats.iter_rows()}
            names = {CATEGORY_PREFIX + c: c for c in cats["category"].unique().sort()}
            out["category"] = (of, names)
    return out


def group_vocabulary(items: tuple[str, ...], group_of: Mapping[str, str]) -> tuple[str, ...]:
    """The group ids of ``items`` (those with a group), sorted: a grouped matrix's vocabulary.

    Example:
        >>> group_vocabulary(("a1", "a2", "b"), {"a1": "A", "a2": "A", "b": "B"})
        ('A', 'B')
    """
    return tuple(sorted({group_of[i] for i in items if i in group_of}))


def group_matrix(matrix: BasketMatrix, group_of: Mapping[str, str]) -> BasketMatrix:
    """The baskets with every item replaced by its group (items without a group dropped);
    same rows, a vocabulary of group ids.

    Example:
        >>> from basketlens.mining import to_basket_matrix
        >>> m = group_matrix(to_basket_matrix([["a1", "a2", "b"]]), {"a1": "A", "a2": "A"})
        >>> m.items, m.indices.tolist()
        (('A',), [0])
    """
    groups = group_vocabulary(matrix.items, group_of)
    index = {g: k for k, g in enumerate(groups)}
    code = np.array([index.get(group_of.get(i, ""), -1) for i in matrix.items], dtype=np.int64)
    mapped = code[matrix.indices] if len(code) else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(matrix.n_baskets, dtype=np.int64), np.diff(matrix.indptr))
    keep = mapped >= 0
    return from_pairs(rows[keep], mapped[keep], matrix.n_baskets, groups, matrix.basket_ids)


def mine_level(
    matrix: BasketMatrix,
    scopes: Mapping[str, np.ndarray],
    options: MiningOptions,
    level: str,
    groups: tuple[dict[str, str], dict[str, str]],
    *,
    n_jobs: int | None = -1,
    units: np.ndarray | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Rules of one level above the items in every scope, named, with their rule ids.

    Returns the rules table (``level`` column, names from the group names) and its info
    (the scoped mining record plus ``repeats_item_rules``: family rules dropped because every
    family in them holds one item); see :func:`level_table`.
    """
    grouped = group_matrix(matrix, groups[0])
    mined = mine_scopes(grouped, scopes, options, n_jobs=n_jobs, units=units)
    return level_table(mined, level, groups)


def level_table(
    mined: ScopedRules, level: str, groups: tuple[dict[str, str], dict[str, str]]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The rules of one level (mined on baskets of group ids, every scope) as the level's
    table: named by ``groups`` (item → group id, group id → name), rule ids tagged with the
    level, and family rules whose every family holds one item dropped (they repeat an
    item rule; counted in the info's ``repeats_item_rules``).

    Example:
        >>> from basketlens.mining import to_basket_matrix
        >>> groups = ({"a": "F:a", "b": "F:b", "c": "F:b"}, {"F:a": "Apples", "F:b": "Buns"})
        >>> mined = mine_scopes(to_basket_matrix([["F:a", "F:b"]] * 12), min_count=5)
        >>> table, info = level_table(mined, "family", groups)
        >>> table.select("rule_id", "antecedent_names").rows()
        [('all-f000001', ['Apples']), ('all-f000002', ['Buns'])]
    """
    group_of, names = groups
    table = mined.with_item_names(
        pl.DataFrame({"item": list(names), "item_name": list(names.values())})
    ).table
    tag = LEVEL_TAGS[level]
    table = table.with_columns(
        pl.col("rule_id").str.replace(r"-r(\d+)$", f"-{tag}$1"), level=pl.lit(level)
    )
    info = dict(mined.info)
    if level == "family":
        sizes: dict[str, int] = {}
        for family in group_of.values():
            sizes[family] = sizes.get(family, 0) + 1
        multi = [f for f, n in sizes.items() if n > 1]
        both = pl.concat_list("antecedent", "consequent")
        keep = both.list.eval(pl.element().is_in(multi)).list.any()
        before = table.height
        table = table.filter(keep)
        info["repeats_item_rules"] = before - table.height
    info["n_rules"] = table.height
    return table, info


def _key(column: str, group_of: Mapping[str, str] | None = None) -> pl.Expr:
    expr = pl.col(column)
    if group_of is not None:
        expr = expr.list.eval(
            pl.element().replace_strict(dict(group_of), default=None, return_dtype=pl.String)
        )
        expr = expr.list.unique().list.sort()
    return expr.list.join(_SEP, ignore_nulls=False)  # an item without a group: no key


def parent_ids(rules: pl.DataFrame, groups: Mapping[str, Mapping[str, str]]) -> pl.Series:
    """``parent_rule_id`` of each rule (see the module docstring); null when none.

    ``rules`` needs rule_id, scope, level, antecedent, consequent; ``groups`` maps a level
    ("family", "category") to item → group id. A family's category is the category of its
    items (the family's first item with one).
    """
    parent = pl.Series("parent_rule_id", [None] * rules.height, dtype=pl.String)
    if rules.height == 0:
        return parent
    rows = rules.with_row_index("_row")
    chain = [lvl for lvl in LEVELS if lvl == "item" or lvl in groups]
    for child, up in itertools.pairwise(chain):
        mapping: Mapping[str, str] = groups[up]
        if child == "family" and up == "category":
            fam_cat: dict[str, str] = {}
            for item, family in groups["family"].items():
                if item in mapping:
                    fam_cat.setdefault(family, mapping[item])
            mapping = fam_cat
        kids = rows.filter(pl.col("level") == child).select(
            "_row", "scope", a=_key("antecedent", mapping), c=_key("consequent", mapping)
        )
        ups = rows.filter(pl.col("level") == up).select(
            "scope", a=_key("antecedent"), c=_key("consequent"), parent="rule_id"
        )
        found = kids.join(ups.unique(["scope", "a", "c"]), on=["scope", "a", "c"], how="inner")
        values = parent.to_numpy(allow_copy=True).astype(object)
        values[found["_row"].to_numpy()] = found["parent"].to_numpy()
        parent = pl.Series("parent_rule_id", values.tolist(), dtype=pl.String)
    return parent


def mirror_ids(rules: pl.DataFrame) -> pl.Series:
    """``mirror_rule_id``: for a rule A → B (one item each side), the id of B → A in the same
    scope and level; null otherwise.

    Example:
        >>> r = pl.DataFrame({"rule_id": ["1", "2", "3"], "scope": ["all"] * 3,
        ...     "level": ["item"] * 3, "antecedent": [["a"], ["b"], ["a"]],
        ...     "consequent": [["b"], ["a"], ["c"]]})
        >>> mirror_ids(r).to_list()
        ['2', '1', None]
    """
    single = rules.with_row_index("_row").filter(
        (pl.col("antecedent").list.len() == 1) & (pl.col("consequent").list.len() == 1)
    )
    pairs = single.select(
        "_row",
        "scope",
        "level",
        a=pl.col("antecedent").list.first(),
        c=pl.col("consequent").list.first(),
    )
    back = pairs.select("scope", "level", a="c", c="a", mirror=pl.col("_row"))
    found = pairs.join(back, on=["scope", "level", "a", "c"], how="inner")
    ids = rules["rule_id"].to_numpy(allow_copy=True).astype(object)
    values = np.full(rules.height, None, dtype=object)
    values[found["_row"].to_numpy()] = ids[found["mirror"].to_numpy()]
    return pl.Series("mirror_rule_id", values.tolist(), dtype=pl.String)

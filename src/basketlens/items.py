"""Item names: the one place where item ids become names, for every stage.

The item table (``ITEMS_SCHEMA``: item, item_name, brand, category, …) is built once by the
clean stage and passed by value; it is the single source of names. An item the table does not
name (absent, or with a null name) is shown by its id. The first non-null name of an item
that appears on several rows wins.

Example:
    >>> import polars as pl
    >>> items = pl.DataFrame({"item": ["a", "b"], "item_name": ["Apple", None]})
    >>> item_names(items, ids=["a", "b", "c"])
    {'a': 'Apple', 'b': 'b', 'c': 'c'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from basketlens.errors import SchemaError
from basketlens.schema import RULES_BASE_SCHEMA

__all__ = ["add_item_names", "item_names"]

_ITEM_COLUMNS = ("item", "item_name")


def item_names(items: pl.DataFrame, *, ids: Iterable[str] | None = None) -> dict[str, str]:
    """``{item id: name}`` from the item table; ``ids`` not named there map to themselves.

    Example:
        >>> item_names(pl.DataFrame({"item": [1, 1], "item_name": [None, "One"]}))
        {'1': 'One'}
    """
    if not isinstance(items, pl.DataFrame):
        raise SchemaError(
            f"items must be a Polars DataFrame with columns 'item' and 'item_name'; "
            f"got {type(items).__name__}"
        )
    missing = [c for c in _ITEM_COLUMNS if c not in items.columns]
    if missing:
        raise SchemaError(
            f"the item table has no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(items.columns) or 'none'} (it needs 'item' and 'item_name')"
        )
    named = (
        items.select(pl.col(c).cast(pl.String) for c in _ITEM_COLUMNS)
        .filter(pl.col("item").is_not_null())
        .group_by("item", maintain_order=True)
        .agg(pl.col("item_name").drop_nulls().first())
        .with_columns(pl.col("item_name").fill_null(pl.col("item")))
    )
    names = dict(zip(named["item"].to_list(), named["item_name"].to_list(), strict=True))
    if ids is not None:
        names = {i: names.get(i, i) for i in ids} | names
    return names


def add_item_names(table: pl.DataFrame, items: pl.DataFrame | Mapping[str, str]) -> pl.DataFrame:
    """``table`` (a rules table) with ``antecedent_names`` / ``consequent_names``.

    Columns come in the order of ``RULES_BASE_SCHEMA`` (those present), then the rest; names
    already present are replaced. ``items`` is the item table, or a map from
    :func:`item_names`.

    Example:
        >>> rules = pl.DataFrame({"rule_id": ["r1"], "antecedent": [["a"]],
        ...                       "consequent": [["b"]], "lift": [2.0]})
        >>> add_item_names(rules, {"a": "Apple"}).row(0)
        ('r1', ['a'], ['b'], ['Apple'], ['b'], 2.0)
    """
    names = dict(items) if isinstance(items, Mapping) else item_names(items)

    def named(column: str) -> pl.Expr:
        expr = pl.element().replace_strict(names, default=pl.element(), return_dtype=pl.String)
        return pl.col(column).list.eval(expr).alias(f"{column}_names")

    base = table.drop("antecedent_names", "consequent_names", strict=False)
    out = base.with_columns(named("antecedent"), named("consequent"))
    leading = [c for c in RULES_BASE_SCHEMA.names() if c in out.columns]
    return out.select(*leading, pl.all().exclude(leading))

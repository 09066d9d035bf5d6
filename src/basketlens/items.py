"""The item table (``ITEMS_SCHEMA``: item, item_name, brand, category, …) — built once by
the clean stage and passed by value to every stage that shows or groups items — and the one
helper that reads names from it.

Example:
    >>> import polars as pl
    >>> items = pl.DataFrame({"item": ["a", "b"], "item_name": ["Apple", None]})
    >>> item_names(items)
    {'a': 'Apple', 'b': 'b'}
"""

from __future__ import annotations

import polars as pl

__all__ = ["item_names", "with_names"]


def item_names(items: pl.DataFrame) -> dict[str, str]:
    """Item id -> display name (the id itself when the item has no name)."""
    named = items.select(
        pl.col("item").cast(pl.String),
        pl.coalesce(pl.col("item_name").cast(pl.String), pl.col("item").cast(pl.String)),
    )
    return dict(zip(named["item"].to_list(), named["item_name"].to_list(), strict=True))


def with_names(
    table: pl.DataFrame,
    names: dict[str, str],
    columns: tuple[str, ...] = ("antecedent", "consequent"),
) -> pl.DataFrame:
    """``table`` with a ``<column>_names`` list column beside each item-list ``column`` that
    lacks one (ids without a name keep the id).

    Example:
        >>> t = pl.DataFrame({"antecedent": [["a"]], "consequent": [["b"]]})
        >>> with_names(t, {"a": "Apple"}).row(0)
        (['a'], ['b'], ['Apple'], ['b'])
    """
    missing = [c for c in columns if f"{c}_names" not in table.columns]
    if not missing:
        return table
    mapped = pl.element().replace_strict(names, default=pl.element(), return_dtype=pl.String)
    return table.with_columns(pl.col(c).list.eval(mapped).alias(f"{c}_names") for c in missing)

"""The baskets of a run, every scope at once, as the mine stage reads them.

:class:`BasketSource` is what :func:`~basketlens.mining.stage.mine_baskets` (the stage's
rules, families, levels and accounting) needs from the baskets: the vocabulary, each scope's
item counts, the :class:`~basketlens.mining.counts.BasketCounts` of all baskets (the purchase
evidence of families) and each level's rules in every scope — which the source produces with
:func:`~basketlens.mining.scopes.mine_scope` wherever its baskets are, so both engines mine
with the same code. :class:`MatrixSource` holds them in memory (the local engine); the Spark
engine's source holds them on the cluster (:mod:`basketlens.spark.mining`).

A basket belongs to the segment of its unit (the first unit on the basket when a basket key
spans several, which only happens with a custom basket definition); baskets of units without
a segment are in scope "all" only.

Example:
    >>> lines = pl.DataFrame({"basket": ["1", "1", "2", "2"], "item": ["a", "b", "a", "b"],
    ...                       "unit": ["x", "x", "y", "y"]})
    >>> source = MatrixSource.from_lines(lines, None)
    >>> source.vocabulary, {k: v[1] for k, v in source.scope_item_counts().items()}
    (('a', 'b'), {'all': 2})
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

import numpy as np
import polars as pl

from basketlens.mining.counts import BasketCounts, MatrixCounts
from basketlens.mining.encode import BasketMatrix, lines_matrix, to_basket_matrix  # noqa: F401 (doctests)
from basketlens.mining.itemsets import mine_itemsets
from basketlens.mining.levels import group_matrix
from basketlens.mining.options import MiningOptions
from basketlens.mining.scopes import ALL_SCOPE, ScopedRules, mine_scopes

__all__ = [
    "ITEMSETS_SCHEMA",
    "BasketSource",
    "MatrixSource",
    "basket_scopes",
    "basket_units",
    "first_units",
    "scope_itemsets",
]

#: Columns of an itemsets table of several scopes (``itemsets.parquet``).
ITEMSETS_SCHEMA: pl.Schema = pl.Schema(
    {
        "scope": pl.String,
        "itemset": pl.List(pl.String),
        "count": pl.Int64,
        "support": pl.Float64,
        "length": pl.Int32,
    }
)

#: item → group id of each level mined (None: the items themselves).
LevelGroups = Mapping[str, Mapping[str, str] | None]


class BasketSource(ABC):
    """The baskets of every scope ("all", then each segment) of one run; see the module
    docstring."""

    @property
    @abstractmethod
    def vocabulary(self) -> tuple[str, ...]:
        """Item ids, by code (sorted), shared by every scope and level."""

    @abstractmethod
    def scope_item_counts(self) -> dict[str, tuple[np.ndarray, int]]:
        """Scope → (baskets holding each item code, baskets): "all" first, then the segments
        in ascending order."""

    @abstractmethod
    def counts(self) -> BasketCounts:
        """All baskets, with their customers (the purchase evidence of item families)."""

    @abstractmethod
    def mine_levels(
        self,
        options: MiningOptions,
        levels: LevelGroups,
        *,
        n_jobs: int | None = -1,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, ScopedRules]:
        """Each level's rules in every scope (items replaced by their group id above the item
        level), each scope by :func:`~basketlens.mining.scopes.mine_scope`; ``progress``
        counts the scopes of the first level."""

    @abstractmethod
    def itemsets(self, rules: ScopedRules, options: MiningOptions) -> pl.DataFrame:
        """The frequent itemsets of every mined scope at the min_count its item rules were
        mined with (``ITEMSETS_SCHEMA``)."""


class MatrixSource(BasketSource):
    """The baskets in memory: one :class:`BasketMatrix`, each scope's rows, each basket's unit."""

    def __init__(
        self, matrix: BasketMatrix, scopes: Mapping[str, np.ndarray], units: np.ndarray
    ) -> None:
        self.matrix, self.scopes, self.units = matrix, dict(scopes), units

    @classmethod
    def from_lines(cls, lines: pl.DataFrame, assignments: pl.DataFrame | None) -> MatrixSource:
        """From cleaned lines (basket, item, unit) and ``customer_id`` → ``segment`` (None:
        scope "all" only)."""
        matrix, units = lines_matrix(lines)  # one grouping for the matrix and the units
        scopes = {} if assignments is None else basket_scopes(lines, matrix, assignments, units)
        return cls(matrix, scopes, basket_units(lines, matrix, units))

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return self.matrix.items

    def scope_item_counts(self) -> dict[str, tuple[np.ndarray, int]]:
        out = {ALL_SCOPE: (self.matrix.item_counts(), self.matrix.n_baskets)}
        for scope, rows in self.scopes.items():
            sub = self.matrix.subset(rows)
            out[scope] = (sub.item_counts() if len(rows) else np.zeros(0, np.int64), len(rows))
        return out

    def counts(self) -> BasketCounts:
        return MatrixCounts(self.matrix, self.units)

    def mine_levels(
        self,
        options: MiningOptions,
        levels: LevelGroups,
        *,
        n_jobs: int | None = -1,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, ScopedRules]:
        out = {}
        for k, (level, group_of) in enumerate(levels.items()):
            matrix = self.matrix if group_of is None else group_matrix(self.matrix, group_of)
            out[level] = mine_scopes(
                matrix,
                self.scopes,
                options,
                n_jobs=n_jobs,
                units=self.units,
                progress=progress if k == 0 else None,
            )
        return out

    def itemsets(self, rules: ScopedRules, options: MiningOptions) -> pl.DataFrame:
        return scope_itemsets(self.matrix, self.scopes, rules, options)


def first_units(lines: pl.DataFrame, matrix: BasketMatrix) -> pl.Series:
    """The unit (as text) of each basket row of ``matrix``: the first unit of the basket's
    lines in ``lines`` (null for a basket without lines).

    Example:
        >>> lines = pl.DataFrame({"basket": ["1", "2", "1"], "item": ["a", "b", "c"],
        ...                       "unit": ["y", "x", "z"]})
        >>> first_units(lines, to_basket_matrix(lines)).to_list()
        ['y', 'x']
    """
    first = lines.group_by("basket").agg(pl.col("unit").first().cast(pl.String))
    order = pl.DataFrame({"basket": list(matrix.basket_ids or ())}, schema={"basket": pl.String})
    return order.join(first, on="basket", how="left", maintain_order="left")["unit"]


def basket_scopes(
    lines: pl.DataFrame,
    matrix: BasketMatrix,
    assignments: pl.DataFrame,
    units: pl.Series | None = None,
) -> dict[str, np.ndarray]:
    """Segment id (as text) → rows of ``matrix`` whose basket belongs to that segment.

    ``matrix`` must be encoded from ``lines`` (its ``basket_ids`` name the rows); a basket's
    segment is the segment of its first unit in ``assignments`` (``customer_id`` → ``segment``).
    ``units``: :func:`first_units` of ``lines`` and ``matrix``, when already computed.

    Example:
        >>> lines = pl.DataFrame({"basket": ["1", "2"], "item": ["a", "b"], "unit": ["x", "y"]})
        >>> m = to_basket_matrix(lines)
        >>> seg = pl.DataFrame({"customer_id": ["x", "y"], "segment": [1, 0]})
        >>> {k: v.tolist() for k, v in basket_scopes(lines, m, seg).items()}
        {'0': [1], '1': [0]}
    """
    units = first_units(lines, matrix) if units is None else units
    segments = assignments.select(
        pl.col("customer_id").cast(pl.String).alias("unit"), pl.col("segment")
    ).unique("unit", keep="first")
    joined = (
        pl.DataFrame({"unit": units})
        .with_row_index("row")
        .join(segments, on="unit", how="inner", maintain_order="left")
    )
    return {
        str(segment): joined.filter(pl.col("segment") == segment)["row"].to_numpy().astype(np.int64)
        for segment in sorted(joined["segment"].drop_nulls().unique().to_list())
    }


def scope_itemsets(
    matrix: BasketMatrix, scopes: dict[str, np.ndarray], rules: ScopedRules, options: MiningOptions
) -> pl.DataFrame:
    """The frequent itemsets of every mined scope, at the min_count its rules were mined with.

    A scope too small to mine has no itemsets either.

    Example:
        >>> m = to_basket_matrix([["a", "b"]] * 12)
        >>> options = MiningOptions(min_count=12)
        >>> scope_itemsets(m, {}, mine_scopes(m, {}, options), options).rows()
        [('all', ['a'], 12, 1.0, 1), ('all', ['b'], 12, 1.0, 1), ('all', ['a', 'b'], 12, 1.0, 2)]
    """
    tables = []
    for scope, scope_info in rules.info["scopes"].items():
        min_count = (scope_info.get("rules") or {}).get("min_count")
        if min_count is None:
            continue
        baskets = matrix if scope == ALL_SCOPE else matrix.subset(scopes[scope])
        found = mine_itemsets(
            baskets,
            min_count=min_count,
            max_len=options.max_len,
            max_itemsets=options.max_itemsets,
            max_memory=options.max_memory,
        )
        tables.append(found.table.select(pl.lit(scope).alias("scope"), pl.all()))
    if not tables:
        return pl.DataFrame(schema=ITEMSETS_SCHEMA)
    return pl.concat(tables, how="vertical").cast(dict(ITEMSETS_SCHEMA))


def basket_units(
    lines: pl.DataFrame, matrix: BasketMatrix, units: pl.Series | None = None
) -> np.ndarray:
    """Integer code of the unit (customer) of each basket row of ``matrix`` (its first unit).

    ``units``: :func:`first_units` of ``lines`` and ``matrix``, when already computed.

    Example:
        >>> lines = pl.DataFrame({"basket": ["1", "2"], "item": ["a", "b"], "unit": ["y", "x"]})
        >>> basket_units(lines, to_basket_matrix(lines)).tolist()
        [1, 0]
    """
    units = first_units(lines, matrix) if units is None else units
    codes = units.fill_null("").rank("dense").cast(pl.Int64) - 1
    return codes.to_numpy()

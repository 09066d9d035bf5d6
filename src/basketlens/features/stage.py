"""The features stage: one row of behavioural features per segmentation unit (customer).

Input is the cleaned lines (``CLEAN_SCHEMA``); ``unit`` becomes ``customer_id``. The core
features are the entries of the registry :data:`basketlens.features.definitions.FEATURES`, in
order, followed by the brand and category share columns. Every feature is Float64 and
finite; the rule for each degenerate case is in ``CustomerFeatures.definitions``.

Example:
    >>> from basketlens.features import FeatureOptions, build_customer_features
    >>> options = FeatureOptions(top_brands=3)
    >>> feats = build_customer_features(clean.lines, options=options)  # doctest: +SKIP
    >>> feats.table.columns[:4]  # doctest: +SKIP
    ['customer_id', 'customer_name', 'total_quantity', 'total_net_sales']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from basketlens.errors import EmptyInputError, InputError, ParameterError, SchemaError
from basketlens.features.definitions import (
    CORE_FEATURES,
    FEATURES,
    NON_FINITE_RULE,
    SHARE_KINDS,
    PerUnit,
    per_unit,
    share_definition,
    slugify,
)
from basketlens.features.mix import (
    MIX_PREFIX,
    PRICE_TIERS,
    TIER_PREFIX,
    basket_types,
    item_price_tiers,
    tier_definitions,
    tier_shares,
    unit_item_spend,
)
from basketlens.features.options import FeatureOptions
from basketlens.items import item_names
from basketlens.schema import CLEAN_SCHEMA

logger = logging.getLogger(__name__)

__all__ = [
    "CORE_FEATURES",
    "USABLE",
    "CustomerFeatures",
    "FeatureConstants",
    "FeatureOptions",
    "build_customer_features",
    "constants_of",
    "feature_constants",
    "finish_features",
    "item_categories",
    "unit_features",
]

#: Columns of the cleaned lines the features need.
_NEEDED = (
    "unit",
    "unit_name",
    "basket",
    "date",
    "item",
    "quantity",
    "net_sales",
    "brand",
    "category",
)


@dataclass(frozen=True)
class CustomerFeatures:
    """One row per unit: ``customer_id`` (str), ``customer_name`` (str), then Float64 features.

    ``labels`` names what each share and mix column is about, in words for personas:
    ``{"category_share__fromages": "Fromages", "mix__1": "Fromages & Charcuterie", ...}``.
    """

    table: pl.DataFrame
    definitions: dict[str, str]  # feature -> one-line definition (docs, report)
    as_of: datetime
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureConstants:
    """What every customer's features are measured against, taken from all the lines: the
    reference date ``as_of``, the observation window (first ledger day to ``as_of``), the top
    brands and categories by net sales (``tops``: kind → names), each item's price tier
    (``item_tiers``: item, price_tier) and category (``categories``: item, category).

    Computing them needs every line; the features of one customer then need only its own lines
    (:func:`unit_features`), which is how another engine (Spark) splits the work.
    """

    as_of: datetime
    window_days: int
    tops: dict[str, list[str]]
    item_tiers: pl.DataFrame
    categories: pl.DataFrame

    def share_columns(self) -> tuple[list[pl.Expr], dict[str, str]]:
        """The per-unit sums of every share column and their definitions, in output order."""
        sums: list[pl.Expr] = []
        defs: dict[str, str] = {}
        for kind in SHARE_KINDS:
            kind_sums, kind_defs = _share_columns(kind, self.tops.get(kind, []))
            sums += kind_sums
            defs.update(kind_defs)
        return sums, defs


def build_customer_features(
    lines: pl.DataFrame | pl.LazyFrame,
    options: FeatureOptions | None = None,
    *,
    items: pl.DataFrame | None = None,
) -> CustomerFeatures:
    """Aggregate cleaned lines into one row of features per unit.

    Args:
        lines: cleaned lines (``CLEAN_SCHEMA``; at least unit, unit_name, basket, date, item,
            quantity, net_sales, brand, category), eager or lazy.
        options: share columns, basket types and ``as_of``; defaults to
            :class:`FeatureOptions()`.
        items: the item table (``ITEMS_SCHEMA``), for the item names that describe basket
            types in a ledger without categories; ids are used without it.

    Returns:
        :class:`CustomerFeatures`, rows sorted by ``customer_id``.

    Raises:
        ParameterError: bad option, or ``as_of`` before the last date in the lines.
        SchemaError: a needed column is missing or has the wrong type.
        EmptyInputError: no line has a unit and a date.

    The work is :func:`feature_constants` (all lines), then :func:`unit_features` and
    :func:`~basketlens.features.mix.unit_item_spend` (each customer's lines), then
    :func:`finish_features` (the customer table and the customer × item spend).

    Example:
        >>> feats = build_customer_features(result.lines)  # doctest: +SKIP
        >>> feats.definitions["recency_days"]  # doctest: +SKIP
        "days (fractional) from the customer's last order to as_of"
    """
    options = FeatureOptions() if options is None else options
    _check_options(options)
    raw = _needed_columns(lines)
    constants = feature_constants(raw, options)
    lf = raw.filter(USABLE)
    try:
        table = unit_features(lf, constants)
        spend = unit_item_spend(lf.select("unit", "item", "net_sales"))
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot compute customer features from the lines: {exc}") from exc
    return finish_features(table, spend, constants, options, items=items)


#: Lines the features are built from: with a unit (customer) and a date.
USABLE: pl.Expr = pl.col("unit").is_not_null() & pl.col("date").is_not_null()


def feature_constants(
    lines: pl.DataFrame | pl.LazyFrame, options: FeatureOptions
) -> FeatureConstants:
    """The :class:`FeatureConstants` of cleaned ``lines`` (validated like
    :func:`build_customer_features`; lines without a unit or date are left out, with a
    warning)."""
    raw = _needed_columns(lines)
    lf = raw.filter(USABLE)
    try:
        stats, *tops = pl.collect_all(
            [
                raw.select(
                    USABLE.sum().alias("n"),
                    (~USABLE).sum().alias("n_bad"),
                    pl.col("date").filter(USABLE).min().alias("first"),
                    pl.col("date").filter(USABLE).max().alias("last"),
                ),
                *(
                    _top_values(lf, kind, getattr(options, top))
                    for kind, top in SHARE_KINDS.items()
                ),
            ]
        )
        item_tiers, categories = pl.collect_all(
            [item_price_tiers(lf), item_categories(lf)],
            engine="in-memory",  # the streaming engine's parallel sums vary in the last bits
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot compute customer features from the lines: {exc}") from exc
    return constants_of(
        n=stats["n"][0],
        n_bad=stats["n_bad"][0],
        first=stats["first"][0],
        last=stats["last"][0],
        tops={kind: top[kind].to_list() for kind, top in zip(SHARE_KINDS, tops, strict=True)},
        item_tiers=item_tiers,
        categories=categories,
        options=options,
    )


def constants_of(
    *,
    n: int,
    n_bad: int,
    first: datetime | None,
    last: datetime | None,
    tops: dict[str, list[str]],
    item_tiers: pl.DataFrame,
    categories: pl.DataFrame,
    options: FeatureOptions,
) -> FeatureConstants:
    """:class:`FeatureConstants` from the aggregates of all lines: ``n`` usable lines (with a
    unit and a date), ``n_bad`` others, the ``first`` and ``last`` usable dates, and the rest
    as computed by :func:`feature_constants` (whatever engine aggregated them)."""
    if n == 0 or first is None or last is None:
        raise EmptyInputError(
            "lines has no line with a unit and a date; nothing to build customer features from"
        )
    if n_bad:
        logger.warning(
            "%d lines without a unit (customer) or a date are left out of the customer "
            "features; clean them with drop_missing_ids=True",
            n_bad,
        )
    as_of = _resolve_as_of(options.as_of, last)
    window_days = max(1, (as_of.date() - first.date()).days)
    return FeatureConstants(as_of, window_days, tops, item_tiers, categories)


def item_categories(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``(item, category)``: each item's category, the first by name when it has several."""
    return lf.group_by("item").agg(pl.col("category").drop_nulls().min())


def unit_features(lines: pl.DataFrame | pl.LazyFrame, constants: FeatureConstants) -> pl.DataFrame:
    """The registry's features and the share columns of every unit of ``lines`` (usable
    cleaned lines holding every line of each of their units), sorted by ``customer_id``.

    Each unit's sums add its lines in line order, so the same unit gets the same features bit
    for bit whichever other units share the frame (one Spark partition, or the whole ledger).
    """
    share_sums, share_defs = constants.share_columns()
    aggregates = PerUnit(as_of=constants.as_of, window_days=constants.window_days)
    exprs = {name: feature.expr(aggregates) for name, feature in FEATURES.items()}
    exprs.update({name: aggregates.share(name) for name in share_defs})
    return (
        per_unit(lines.lazy(), share_sums)
        .select(
            pl.col("unit").alias("customer_id"),
            pl.coalesce("customer_name", "unit").alias("customer_name"),
            *(_finite(expr).alias(name) for name, expr in exprs.items()),
        )
        .sort("customer_id")
        .collect(engine="in-memory")  # the streaming engine's parallel sums vary in the last bits
    )


def finish_features(
    table: pl.DataFrame,
    spend: pl.DataFrame,
    constants: FeatureConstants,
    options: FeatureOptions,
    *,
    items: pl.DataFrame | None = None,
) -> CustomerFeatures:
    """:class:`CustomerFeatures` from :func:`unit_features` (``table``, every unit),
    :func:`~basketlens.features.mix.unit_item_spend` (``spend``) and the constants: the price
    tier shares, the basket types, every definition and label."""
    tier_names = [f"{TIER_PREFIX}{t}" for t in PRICE_TIERS]
    table = table.sort("customer_id")
    tiers = tier_shares(spend, constants.item_tiers).rename({"unit": "customer_id"})
    table = table.join(tiers, on="customer_id", how="left", maintain_order="left").with_columns(
        _finite(pl.col(name)).alias(name) for name in tier_names
    )
    _, share_defs = constants.share_columns()
    definitions = {name: f"{f.description}; {NON_FINITE_RULE}" for name, f in FEATURES.items()}
    definitions.update(share_defs)
    definitions.update(tier_definitions())
    labels = _share_labels(share_defs, constants.tops) | {
        f"{TIER_PREFIX}{t}": f"{t}-priced items" for t in PRICE_TIERS
    }
    names = item_names(items) if items is not None else {}
    mix = basket_types(
        spend,
        options.mix_factors,
        item_groups=_item_groups(constants.categories, names),
        item_names=names,
    )
    if mix.definitions:
        table = table.join(
            mix.table.rename({"unit": "customer_id"}), on="customer_id", how="left"
        ).with_columns(pl.col(f"^{MIX_PREFIX}.*$").fill_null(0.0))
        definitions.update(mix.definitions)
        labels.update(mix.labels)
    logger.info(
        "built %d features for %d customers (as_of %s)",
        table.width - 2,
        table.height,
        constants.as_of,
    )
    return CustomerFeatures(
        table=table, definitions=definitions, as_of=constants.as_of, labels=labels
    )


def _check_options(options: FeatureOptions) -> None:
    if not isinstance(options, FeatureOptions):
        raise ParameterError(f"options must be a FeatureOptions; got {type(options).__name__}")
    options.validate()
    as_of = options.as_of
    if as_of is not None:
        if not isinstance(as_of, date):
            raise ParameterError(f"as_of must be a datetime or None; got {as_of!r}")
        if isinstance(as_of, datetime) and as_of.tzinfo is not None:
            raise ParameterError(
                f"as_of must be a naive datetime like the ledger dates; got {as_of!r}"
            )


def _resolve_as_of(as_of: date | None, last: datetime) -> datetime:
    if as_of is None:
        return last
    if not isinstance(as_of, datetime):  # a plain date means the end of that day
        as_of = datetime(as_of.year, as_of.month, as_of.day, 23, 59, 59, 999999)
    if as_of < last:
        raise ParameterError(
            f"as_of must not be before the last date in the lines ({last}); got {as_of}"
        )
    return as_of


def _needed_columns(lines: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The needed columns of ``lines``, validated."""
    if isinstance(lines, pl.DataFrame):
        lines = lines.lazy()
    if not isinstance(lines, pl.LazyFrame):
        raise ParameterError(
            f"lines must be a polars DataFrame or LazyFrame; got {type(lines).__name__}"
        )
    schema = lines.collect_schema()
    for name in _NEEDED:
        if name not in schema:
            raise SchemaError(
                f"lines has no column {name!r}; pass the cleaned lines (CleanResult.lines)"
            )
        if schema[name] != CLEAN_SCHEMA[name]:
            raise SchemaError(
                f"lines column {name!r} must be {CLEAN_SCHEMA[name]}; got {schema[name]}"
            )
    return lines.select(_NEEDED)


def _top_values(lf: pl.LazyFrame, col: str, top: int) -> pl.LazyFrame:
    """The ``top`` non-null values of ``col`` by total net sales (ties by name)."""
    return (
        lf.filter(pl.col(col).is_not_null())
        .group_by(col)
        .agg(pl.col("net_sales").sum().alias("__net"))
        .sort(["__net", col], descending=[True, False])
        .head(top)
    )


def _share_columns(kind: str, names: list[str]) -> tuple[list[pl.Expr], dict[str, str]]:
    """Per-unit net-sales sums for each top value of ``kind`` and "other", and definitions.

    Example:
        >>> sums, defs = _share_columns("brand", ["Acme"])
        >>> list(defs)
        ['brand_share__acme', 'brand_share__other']
    """
    if not names:
        return [], {}
    col = pl.col(kind)
    sums: list[pl.Expr] = []
    defs: dict[str, str] = {}
    for name, slug in zip(names, slugify(names), strict=True):
        column = f"{kind}_share__{slug}"
        sums.append(pl.col("net_sales").filter(col == name).sum().alias(column))
        defs[column] = share_definition(kind, name)
    other = f"{kind}_share__other"
    is_other = col.is_null() | ~col.is_in(pl.lit(names, pl.List(pl.String)))
    sums.append(pl.col("net_sales").filter(is_other).sum().alias(other))
    defs[other] = share_definition(kind, None, top=len(names))
    return sums, defs


def _finite(expr: pl.Expr) -> pl.Expr:
    """``expr`` as Float64 with null, NaN and ±inf replaced by 0."""
    value = expr.cast(pl.Float64)
    return pl.when(value.is_finite()).then(value).otherwise(0.0)


def _share_labels(share_defs: dict[str, str], tops: dict[str, list[str]]) -> dict[str, str]:
    """Share column -> the brand or category it is about (``"other brands"`` for other)."""
    labels: dict[str, str] = {}
    for kind in SHARE_KINDS:
        names = tops.get(kind, [])
        for name, slug in zip(names, slugify(names), strict=True):
            labels[f"{kind}_share__{slug}"] = name
        if names:
            labels[f"{kind}_share__other"] = (
                "other brands" if kind == "brand" else "other categories"
            )
    return {k: v for k, v in labels.items() if k in share_defs}


def _item_groups(categories: pl.DataFrame, names: dict[str, str]) -> dict[str, str]:
    """Item -> the words a basket type groups it under: its category, else its name or id."""
    return {
        item: category if category is not None else names.get(item, item)
        for item, category in categories.iter_rows()
        if item is not None
    }

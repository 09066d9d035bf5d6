"""The customer features as one ordered registry (guts of :mod:`basketlens.features`).

Each core feature is one :class:`Feature` in :data:`FEATURES`, in output order: its name, its
one-line definition, its rule for the degenerate case and its expression, built from the
per-unit aggregates of :func:`per_unit` (read through :class:`PerUnit`). The registry drives
the computation, ``CustomerFeatures.definitions`` and ``docs/features.md``
(:func:`features_markdown`), so the three never disagree. Share columns (one per top brand /
category) depend on the data; :data:`SHARE_KINDS` and :func:`share_definition` describe them.

Example:
    >>> FEATURES["net_sales_per_unit"].description
    'total_net_sales / total_quantity; 0 when total_quantity is 0'
    >>> slugify(["Coca-Cola", "coca cola", "Other", "Café Noir"])
    ['coca_cola', 'coca_cola_2', 'other_2', 'cafe_noir']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

#: Average days per month used to turn tenure into months (365.25 / 12).
DAYS_PER_MONTH = 30.4375

#: Degenerate-case rule of every share column.
SHARE_RULE = "0 when total_net_sales is 0"

#: Rule for values that cannot be computed (stated once, applied to every feature).
NON_FINITE_RULE = "0 if not finite (only with non-finite inputs)"

#: Share column kinds: the lines column → the ``FeatureOptions`` field giving its top N.
SHARE_KINDS: dict[str, str] = {"brand": "top_brands", "category": "top_categories"}


@dataclass(frozen=True)
class MixKind:
    """A family of purchase-mix columns (computed in :mod:`basketlens.features.mix`): the
    column pattern, its definition and its degenerate-case rule."""

    pattern: str
    definition: str
    degenerate: str

    def describe(self, **values: object) -> str:
        """The definition of one column, ``{placeholders}`` filled, then the rule."""
        return f"{self.definition.format(**values)}; {self.degenerate}"


#: Purchase-mix columns beside the share columns (always computed; basket types when
#: ``FeatureOptions.mix_factors`` > 0).
MIX_KINDS: dict[str, MixKind] = {
    "price_tier": MixKind(
        "price_tier_share__<tier>",
        "share of the customer's net sales on {tier}-priced items: items sorted by unit price "
        "(net sales / quantity over lines with a positive quantity) within their category, "
        "the category's net sales cut in thirds (low, mid, high) at each item's "
        "cumulative-spend midpoint",
        SHARE_RULE,
    ),
    "basket_type": MixKind(
        "mix__<j>",
        "share of the customer's spend on basket type {j}{about}: non-negative matrix "
        "factorisation of the customer x item spend shares (the items with most net sales, "
        "at most 2,000) into `mix_factors` types, numbered by total weight; each customer's "
        "weights scaled to sum 1",
        "0 when the customer has no positive spend on the factorised items",
    ),
}

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class PerUnit:
    """The per-unit aggregates of :func:`per_unit` as expressions, and the reference dates.

    ``as_of`` is the reference date; ``window_days`` the observation window (first ledger
    day to ``as_of``, at least 1).

    Example:
        >>> PerUnit(datetime(2024, 1, 31), 30).net_sales.meta.output_name()
        'total_net_sales'
    """

    as_of: datetime
    window_days: int

    @property
    def quantity(self) -> pl.Expr:
        return pl.col("total_quantity")

    @property
    def net_sales(self) -> pl.Expr:
        return pl.col("total_net_sales")

    @property
    def invoices(self) -> pl.Expr:
        return pl.col("invoice_count").cast(pl.Float64)

    @property
    def order_days(self) -> pl.Expr:
        """Number of distinct order days."""
        return pl.col("__n_days")

    @property
    def tenure(self) -> pl.Expr:
        """Days between the first and the last order day (Float64)."""
        return (pl.col("__last_day") - pl.col("__first_day")).dt.total_days().cast(pl.Float64)

    @property
    def since_last(self) -> pl.Expr:
        """Duration from the last order to ``as_of``."""
        return pl.lit(self.as_of, pl.Datetime("us")) - pl.col("__last")

    def share(self, column: str) -> pl.Expr:
        """A share column: its per-unit net-sales sum over total net sales (0 when that is 0)."""
        return pl.when(self.net_sales != 0).then(pl.col(column) / self.net_sales).otherwise(0.0)


@dataclass(frozen=True)
class Feature:
    """One core feature: name, one-line definition, degenerate-case rule and expression.

    ``degenerate`` is None when the feature is always defined; ``expr(per_unit)`` computes
    it from the per-unit aggregates (the stage casts to Float64 and applies
    :data:`NON_FINITE_RULE`).

    Example:
        >>> FEATURES["tenure_days"].degenerate
        '0 for single-day customers'
    """

    name: str
    definition: str
    degenerate: str | None
    expr: Callable[[PerUnit], pl.Expr]

    @property
    def description(self) -> str:
        """The definition followed by the degenerate-case rule, if any."""
        return (
            self.definition if self.degenerate is None else f"{self.definition}; {self.degenerate}"
        )


def _registry(*entries: Feature) -> dict[str, Feature]:
    return {feature.name: feature for feature in entries}


#: The core features in output order (share columns follow them).
FEATURES: dict[str, Feature] = _registry(
    Feature(
        "total_quantity",
        "sum of quantity over the customer's lines (units or kilos)",
        None,
        lambda u: u.quantity,
    ),
    Feature(
        "total_net_sales",
        "sum of net_sales over the customer's lines",
        None,
        lambda u: u.net_sales,
    ),
    Feature(
        "net_sales_per_unit",
        "total_net_sales / total_quantity",
        "0 when total_quantity is 0",
        lambda u: pl.when(u.quantity != 0).then(u.net_sales / u.quantity).otherwise(0.0),
    ),
    Feature(
        "invoice_count",
        "number of distinct baskets (purchase frequency)",
        None,
        lambda u: u.invoices,
    ),
    Feature(
        "avg_days_between_orders",
        "mean gap in days between consecutive distinct order days",
        "for a customer with a single order day, the observation window (first ledger day to "
        "as_of, at least 1 day)",
        # consecutive gaps telescope: (last - first) / gaps
        lambda u: (
            pl.when(u.order_days > 1)
            .then(u.tenure / (u.order_days - 1))
            .otherwise(float(u.window_days))
        ),
    ),
    Feature(
        "avg_monthly_orders",
        f"invoice_count / months active, months active = max(1, tenure_days / {DAYS_PER_MONTH})",
        None,
        lambda u: u.invoices / pl.max_horizontal(pl.lit(1.0), u.tenure / DAYS_PER_MONTH),
    ),
    Feature(
        "recency_days",
        "days (fractional) from the customer's last order to as_of",
        None,
        lambda u: u.since_last.dt.total_microseconds() / _US_PER_DAY,
    ),
    Feature(
        "tenure_days",
        "days between the first and the last order day",
        "0 for single-day customers",
        lambda u: u.tenure,
    ),
    Feature(
        "avg_basket_size",
        "mean number of distinct items per basket",
        None,
        lambda u: pl.col("avg_basket_size"),
    ),
    Feature(
        "avg_basket_value",
        "total_net_sales / invoice_count",
        None,
        lambda u: u.net_sales / u.invoices,
    ),
    Feature(
        "distinct_items",
        "number of distinct items bought",
        None,
        lambda u: pl.col("distinct_items"),
    ),
    Feature(
        "avg_line_value",
        "total_net_sales / number of the customer's lines (value of a typical order line)",
        None,
        lambda u: u.net_sales / pl.col("__lines").cast(pl.Float64),
    ),
)

#: Core feature columns in output order (share columns follow).
CORE_FEATURES: tuple[str, ...] = tuple(FEATURES)


def per_unit(lf: pl.LazyFrame, share_sums: Sequence[pl.Expr]) -> pl.LazyFrame:
    """Per-unit aggregates the features are built from (two group_bys, one join).

    Columns: ``unit``, ``customer_name``, ``total_quantity``, ``total_net_sales``,
    ``distinct_items``, ``invoice_count``, ``avg_basket_size``, the private day columns read
    by :class:`PerUnit`, and one column per expression of ``share_sums``.

    Example:
        >>> per_unit(lines.lazy(), []).collect()  # doctest: +SKIP
    """
    day = pl.col("date").dt.date()
    # groups in order of appearance: every sum adds the same numbers in the same order
    totals = lf.group_by("unit", maintain_order=True).agg(
        pl.col("unit_name").drop_nulls().first().alias("customer_name"),
        pl.col("quantity").sum().alias("total_quantity"),
        pl.col("net_sales").sum().alias("total_net_sales"),
        pl.col("item").drop_nulls().n_unique().alias("distinct_items"),
        day.min().alias("__first_day"),
        day.max().alias("__last_day"),
        day.n_unique().alias("__n_days"),
        pl.col("date").max().alias("__last"),
        pl.len().alias("__lines"),
        *share_sums,
    )
    per_basket = (
        lf.group_by("unit", "basket")
        .agg(pl.col("item").drop_nulls().n_unique().alias("__size"))
        .group_by("unit")
        .agg(pl.len().alias("invoice_count"), pl.col("__size").mean().alias("avg_basket_size"))
    )
    return totals.join(per_basket, on="unit", how="left")


def slugify(names: Iterable[str], *, reserved: Iterable[str] = ("other",)) -> list[str]:
    """Column-safe slugs: lower-case ASCII, runs of non-alphanumerics → "_", deduplicated.

    A slug that repeats an earlier one or a ``reserved`` name gets a ``_2``, ``_3``… suffix;
    a name with no ASCII letters or digits becomes ``"x"``.

    Example:
        >>> slugify(["Bolt-Co", "bolt co"])
        ['bolt_co', 'bolt_co_2']
    """
    taken = set(reserved)
    slugs: list[str] = []
    for name in names:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "x"
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}_{n}"
        taken.add(slug)
        slugs.append(slug)
    return slugs


def share_definition(kind: str, name: str | None, *, top: int | str = 0) -> str:
    """Definition of a ``<kind>_share__<slug>`` column (``name`` None = the "other" column).

    Example:
        >>> share_definition("brand", "Acme")
        "share of the customer's net sales on brand 'Acme'; 0 when total_net_sales is 0"
    """
    if name is None:
        what = f"on lines of any {kind} outside the top {top} (or without a {kind})"
    else:
        what = f"on {kind} {name!r}"
    return f"share of the customer's net sales {what}; {SHARE_RULE}"


def features_markdown() -> str:
    """Render the feature registry as the Markdown of ``docs/features.md``.

    Example:
        >>> features_markdown().splitlines()[0]
        '# Customer features'
    """

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    def share_text(kind: str, name: str | None, top: str = "") -> str:
        text = share_definition(kind, name, top=top)
        return text.removesuffix(f"; {SHARE_RULE}")

    first, *rest = SHARE_KINDS.values()
    top_options = " / ".join([f"`FeatureOptions.{first}`", *(f"`{name}`" for name in rest)])
    lines = [
        "# Customer features",
        "",
        "Generated from `basketlens.features.definitions` (the definitions that "
        "`CustomerFeatures.definitions` and `run.json` carry) by `features_markdown()`; "
        "do not edit by hand.",
        "",
        "One row per segmentation unit (`customer_id`: the customer, or the customer group with "
        '`segment_level = "group"`), built from the cleaned lines. Every feature is Float64 '
        "and never inf or NaN: the degenerate cases below have defined values, and any other "
        f"value that cannot be computed is set by one rule: {NON_FINITE_RULE}. `as_of` is the "
        "last date in the lines unless `FeatureOptions.as_of` is given.",
        "",
        "## Core features",
        "",
        "| feature | definition | degenerate case |",
        "|---|---|---|",
    ]
    for feature in FEATURES.values():
        rule = feature.degenerate or "always defined"
        lines.append(f"| `{feature.name}` | {esc(feature.definition)} | {esc(rule)} |")
    lines += [
        "",
        "## Share columns",
        "",
        "One column per brand and per category among the top N by net sales over all lines "
        f"(ties by name; N = {top_options}, config "
        "`[features]`), plus an `other` column; none of a kind when no line has a value for "
        "it. When total_net_sales is not 0, a customer's shares of one kind sum to 1. "
        "`<slug>` is the name in lower-case ASCII with runs of other characters replaced by "
        "`_`; a slug that repeats an earlier one (or `other`) gets a `_2`, `_3`, … suffix.",
        "",
        "| column | definition | degenerate case |",
        "|---|---|---|",
    ]
    for kind in SHARE_KINDS:
        rows = (
            (f"{kind}_share__<slug>", share_text(kind, f"<{kind}>")),
            (f"{kind}_share__other", share_text(kind, None, top="N")),
        )
        for column, text in rows:
            lines.append(f"| `{column}` | {esc(text)} | {esc(SHARE_RULE)} |")
    lines += [
        "",
        "## Purchase mix",
        "",
        "What a customer buys, from one per-customer aggregate — net sales by customer and "
        "item — and a deterministic transform (`basketlens.features.mix`), so another engine "
        "can compute the aggregate and reuse the transform. Price tiers are always computed; "
        "basket types when `FeatureOptions.mix_factors` (config `[features]`) is above 0, "
        "fewer when the ledger has fewer customers or items than that. A run's definitions "
        "name each basket type's top items.",
        "",
        "| column | definition | degenerate case |",
        "|---|---|---|",
    ]
    fill = {"tier": "<tier>", "j": "<j>", "about": ""}
    for kind in MIX_KINDS.values():
        text = kind.definition.format(**fill)
        lines.append(f"| `{kind.pattern}` | {esc(text)} | {esc(kind.degenerate)} |")
    return "\n".join(lines) + "\n"

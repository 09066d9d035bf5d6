"""Purchase-mix features: what a customer buys, beside how much and how often.

Every mix feature is a per-customer aggregate followed by a deterministic transform, so that
another engine (a Spark back-end) can compute the same aggregate in SQL and reuse the
transform on its (small) result:

* **Spend per customer and item** — ``sum(net_sales)`` by ``(unit, item)``
  (:func:`unit_item_spend`); the aggregate both features below are built from (in a fixed
  order, so that the features are the same bit for bit on every run).
* **Price tiers** — each item's unit price is ``sum(net_sales) / sum(quantity)`` over lines
  with a positive quantity; within its category (the first by name if the item has several;
  all items without a category form one group) items are sorted by that price and the
  category's net sales are cut in thirds: an item whose cumulative-spend midpoint falls in
  the first third is ``low``, the second ``mid``, the last ``high`` (:func:`item_price_tiers`).
  ``price_tier_share__<tier>`` is the customer's share of net sales on items of that tier.
  Each tier holds about a third of the sales, whatever the ledger's unit, currency or category
  mix.
* **Basket types** — non-negative matrix factorisation (scikit-learn ``NMF``, Frobenius loss,
  deterministic ``nndsvda`` start) of the customer × item matrix of spend shares (a
  customer's net sales on an item over its total; negative spends count as 0; the
  ``MAX_MIX_ITEMS`` items with the most net sales), with ``mix_factors`` components. Each
  component is a *basket type* (a profile of items bought together by the same customers);
  ``mix__<j>`` is the share of the customer's factorised spend on basket type ``j``
  (components scaled to sum 1 over items, the customer's weights then to sum 1). Types are
  numbered by total weight, largest first (:func:`basket_types`).

Example:
    >>> import polars as pl
    >>> spend = pl.DataFrame({"unit": ["a", "a", "b"], "item": ["x", "y", "x"],
    ...                       "spend": [3.0, 1.0, 2.0]})
    >>> tiers = pl.DataFrame({"item": ["x", "y"], "price_tier": ["low", "high"]})
    >>> tier_shares(spend, tiers).rows()
    [('a', 0.75, 0.0, 0.25), ('b', 1.0, 0.0, 0.0)]
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from basketlens._sums import fixed_point_sum
from basketlens.features.definitions import MIX_KINDS

logger = logging.getLogger(__name__)

#: Price tiers, cheapest first (``price_tier_share__<tier>``).
PRICE_TIERS: tuple[str, ...] = ("low", "mid", "high")

#: Basket types are factorised on at most this many items (the largest by net sales).
MAX_MIX_ITEMS = 2_000

#: Items and categories named in a basket type's label, and the characters kept of each.
LABEL_TOP = 3
LABEL_CHARS = 24

TIER_PREFIX = "price_tier_share__"
MIX_PREFIX = "mix__"


def unit_item_spend(lines: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """``(unit, item, spend)``: each customer's net sales per item (lines with an item), in
    ``(unit, item)`` order.

    Computed eagerly with the groups in order of appearance, so that every sum adds the same
    numbers in the same order on every run: a parallel aggregation can differ in the last
    bits between runs, and these sums feed the factorisation and the clustering.
    """
    frame = lines.collect() if isinstance(lines, pl.LazyFrame) else lines
    return (
        frame.filter(pl.col("item").is_not_null())
        .group_by("unit", "item", maintain_order=True)
        .agg(pl.col("net_sales").sum().alias("spend"))
        .sort("unit", "item")
    )


def item_price_tiers(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``(item, price_tier)``: the tier of each item with a positive quantity sold
    (:func:`price_tiers` of :func:`item_sales`).

    Example:
        >>> lines = pl.DataFrame({"item": ["a", "b", "c"], "category": ["k", "k", "k"],
        ...                       "quantity": [1.0, 1.0, 1.0], "net_sales": [1.0, 2.0, 3.0]})
        >>> item_price_tiers(lines.lazy()).collect().sort("item").rows()
        [('a', 'low'), ('b', 'mid'), ('c', 'high')]
    """
    return price_tiers(item_sales(lf))


def item_sales(lf: pl.LazyFrame) -> pl.LazyFrame:
    """``(item, category, __qty, __sales)``: quantity and net sales of each item over its
    lines with a positive quantity, and its category (the first by name if it has several).

    The aggregate behind the price tiers: one item's sums need only that item's lines."""
    return (
        lf.filter(pl.col("item").is_not_null() & (pl.col("quantity") > 0))
        .group_by("item")
        .agg(
            pl.col("category").min(),  # an item under several categories: the first by name
            # in fixed point (1e-9): the same to the last bit whatever the order or grouping of
            # the lines, so that a tier boundary cannot move; values that are not finite or
            # beyond 1e29 (no real ledger line) count as missing
            fixed_point_sum("quantity", decimals=9).alias("__qty"),
            fixed_point_sum("net_sales", decimals=9).alias("__sales"),
        )
    )


def price_tiers(sales: pl.LazyFrame) -> pl.LazyFrame:
    """``(item, price_tier)`` from :func:`item_sales` (see the module docstring)."""
    group = pl.col("category").fill_null("")
    items = (
        sales.filter(pl.col("__sales") > 0)
        .with_columns((pl.col("__sales") / pl.col("__qty")).alias("__price"))
        .sort("__price", "item")
    )
    midpoint = (pl.col("__sales").cum_sum() - pl.col("__sales") / 2).over(group) / pl.col(
        "__sales"
    ).sum().over(group)
    return items.with_columns(
        pl.when(midpoint < 1 / 3)
        .then(pl.lit(PRICE_TIERS[0]))
        .when(midpoint < 2 / 3)
        .then(pl.lit(PRICE_TIERS[1]))
        .otherwise(pl.lit(PRICE_TIERS[2]))
        .alias("price_tier")
    ).select("item", "price_tier")


def tier_shares(spend: pl.DataFrame, tiers: pl.DataFrame) -> pl.DataFrame:
    """``(unit, price_tier_share__low, __mid, __high)`` from the per-item spend.

    Eager and in ``(unit, item)`` order, so that every sum adds the same numbers in the same
    order on every run (the shares feed the clustering: bit-for-bit reproducible inputs).
    """
    # a customer with no spend on tiered items (e.g. only zero-quantity fees) gets 0s
    total = pl.col("spend").sum()
    return (
        spend.sort("unit", "item")
        .join(tiers, on="item", how="left", maintain_order="left")
        .group_by("unit", maintain_order=True)
        .agg(
            *(
                pl.when(total != 0)
                .then(pl.col("spend").filter(pl.col("price_tier") == tier).sum() / total)
                .otherwise(0.0)
                .alias(f"{TIER_PREFIX}{tier}")
                for tier in PRICE_TIERS
            )
        )
    )


@dataclass(frozen=True)
class BasketTypes:
    """Basket-type columns (``unit`` then ``mix__1..m``), a definition and a short label per
    column (its top categories, or items)."""

    table: pl.DataFrame
    definitions: dict[str, str]
    labels: dict[str, str]


def basket_types(
    spend: pl.DataFrame,
    n_factors: int,
    *,
    item_groups: dict[str, str],
    item_names: dict[str, str],
    random_state: int = 0,
) -> BasketTypes:
    """Factorise the customer × item spend shares into ``n_factors`` basket types.

    ``spend`` is the collected :func:`unit_item_spend`; ``item_groups`` maps an item to the
    words a label groups it under (its category, else its name), ``item_names`` to its name
    (items absent from either are shown by their id). Fewer types are made
    when the data cannot hold ``n_factors`` (at most ``customers - 1`` and ``items``); none
    with ``n_factors=0``, a single customer or no item with positive spend.

    Example:
        >>> spend = pl.DataFrame({"unit": ["a", "a", "b", "b", "c"],
        ...                       "item": ["x", "y", "x", "y", "z"],
        ...                       "spend": [1.0, 1.0, 2.0, 2.0, 5.0]})
        >>> groups = {"x": "Cheese", "y": "Cheese", "z": "Wine"}
        >>> bt = basket_types(spend, 2, item_groups=groups, item_names={"z": "Claret"})
        >>> bt.table.sort("unit").rows()
        [('a', 1.0, 0.0), ('b', 1.0, 0.0), ('c', 0.0, 1.0)]
        >>> bt.labels
        {'mix__1': 'Cheese', 'mix__2': 'Wine'}
    """
    spend = spend.sort("unit", "item")  # sums in one order on every run
    units = spend.get_column("unit").unique().sort()
    empty = BasketTypes(pl.DataFrame({"unit": units}), {}, {})
    positive = spend.filter(pl.col("spend") > 0)
    top_items = (
        positive.group_by("item", maintain_order=True)
        .agg(pl.col("spend").sum())
        .sort(["spend", "item"], descending=[True, False])
        .head(MAX_MIX_ITEMS)
        .get_column("item")
        .sort()
    )
    m = min(n_factors, units.len() - 1, top_items.len())
    if m < 1:
        return empty
    unit_code = pl.DataFrame({"unit": units, "__r": np.arange(units.len())})
    item_code = pl.DataFrame({"item": top_items, "__c": np.arange(top_items.len())})
    totals = spend.group_by("unit", maintain_order=True).agg(
        pl.col("spend").clip(0.0).sum().alias("__total")
    )
    cells = (
        positive.join(item_code, on="item")
        .join(unit_code, on="unit")
        .join(totals, on="unit")
        .with_columns((pl.col("spend") / pl.col("__total")).alias("__share"))
    )
    S = sp.csr_matrix(
        (cells["__share"].to_numpy(), (cells["__r"].to_numpy(), cells["__c"].to_numpy())),
        shape=(units.len(), top_items.len()),
    )
    model = NMF(n_components=m, init="nndsvda", max_iter=400, random_state=random_state)
    # one BLAS thread: the products are small, spinning threads cost more CPU than they save
    # on a busy machine, and the factors come out the same whatever the machine's cores
    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        W = model.fit_transform(S)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            logger.info("basket types (NMF, %d components): %s", m, w.message)
    H = model.components_
    scale = H.sum(axis=1)
    W = W * scale
    H = np.divide(H, scale[:, None], out=np.zeros_like(H), where=scale[:, None] > 0)
    order = np.argsort(-W.sum(axis=0), kind="stable")
    W, H = W[:, order], H[order]
    row = W.sum(axis=1, keepdims=True)
    W = np.divide(W, row, out=np.zeros_like(W), where=row > 0)
    names = [f"{MIX_PREFIX}{j + 1}" for j in range(m)]
    item_ids = top_items.to_list()
    labels: dict[str, str] = {}
    definitions: dict[str, str] = {}
    for j, name in enumerate(names):
        labels[name] = _label(H[j], item_ids, item_groups)
        top = np.argsort(-H[j], kind="stable")[:LABEL_TOP]
        listed = ", ".join(f"{item_names.get(item_ids[i], item_ids[i])!r}" for i in top)
        about = f" ({labels[name]}; items with most weight: {listed})"
        definitions[name] = MIX_KINDS["basket_type"].describe(j=j + 1, about=about)
    table = pl.DataFrame({"unit": units, **{n: W[:, j] for j, n in enumerate(names)}})
    return BasketTypes(table, definitions, labels)


def _label(weights: np.ndarray, items: list[str], item_labels: dict[str, str]) -> str:
    """The words with most weight in a basket type (categories or item names), joined."""
    totals: dict[str, float] = {}
    for i in np.flatnonzero(weights > 0):
        word = item_labels.get(items[i], items[i])
        totals[word] = totals.get(word, 0.0) + float(weights[i])
    ranked = sorted(totals.items(), key=lambda t: (-t[1], t[0]))
    words = [_short(w) for w, v in ranked[:LABEL_TOP] if v >= 0.25 * ranked[0][1]]
    return " & ".join(words) if words else "(no items)"


def _short(word: str, limit: int = LABEL_CHARS) -> str:
    """``word`` cut to ``limit`` characters at a space, with an ellipsis when cut.

    Example:
        >>> _short("ASSORTED COLOURS SILK FAN WITH TASSELS", 20)
        'ASSORTED COLOURS…'
    """
    if len(word) <= limit:
        return word
    cut = word[:limit].rsplit(" ", 1)[0] or word[:limit]
    return cut.rstrip() + "…"


def tier_definitions() -> dict[str, str]:
    """``{price_tier_share__<tier>: definition}`` for the three tiers.

    Example:
        >>> list(tier_definitions())
        ['price_tier_share__low', 'price_tier_share__mid', 'price_tier_share__high']
    """
    return {f"{TIER_PREFIX}{t}": MIX_KINDS["price_tier"].describe(tier=t) for t in PRICE_TIERS}

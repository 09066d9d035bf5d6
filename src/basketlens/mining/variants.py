"""Variant links: which pairs of items are versions of one product (or pieces of one set).

Evidence comes from what the ledger offers, strongest first:

* **code** — the item codes share a numeric stem and differ by a letter suffix
  (``85099B`` / ``85099C``, ``22423`` / ``22423B``);
* **name** — the names share at least half of the words of each name, and at least two
  words (one when a name has a single word). Words that cannot tell products apart are set
  aside first: the item's brand and the words on nearly every item of that brand (a
  private-label abbreviation), words on more than 5% of the items (colours, "set", brand
  names when there is no brand column) and words of one or two letters without a digit
  ("of", "de"). "Farine T55" and "Farine T00" share one word of two: too little on its own;
* **set** / **instead** — purchase behaviour confirming a weaker name link (a third of the
  words of each name): the two are bought *together as a set* (on average each is in at least
  half of the baskets holding the other), or by the same customers *instead of* each other
  (most buyers of the rarer one buy the other too — at least ten customers, twice as often as
  chance predicts — yet the two share no more baskets than chance; the names must then share
  two words).

When the item table has a category, items of different categories are never linked.
Purchase behaviour alone never links two items: a strong cross-sell ("Brie → Baguette") is
bought together too, and must stay a cross-sell.

Example:
    >>> import polars as pl
    >>> items = pl.DataFrame({"item": ["1", "2", "3"],
    ...                       "item_name": ["Brie de Meaux LS", "Brie de Meaux Vercel", "Baguette"],
    ...                       "brand": ["LS", "Vercel", "LS"]})
    >>> variant_links(items).select("item", "other", "basis").rows()
    [('1', '2', 'name')]
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import scipy.sparse as sp

from basketlens.mining.counts import BasketCounts, as_counts
from basketlens.mining.encode import BasketMatrix

logger = logging.getLogger(__name__)

__all__ = ["BASES", "LINKS_SCHEMA", "content_tokens", "strongest_links", "variant_links"]

#: Kinds of evidence, strongest first (the order ``basis`` values are preferred in); "family"
#: links are added by :func:`basketlens.mining.families.build_families`.
BASES: tuple[str, ...] = ("code", "name", "set", "instead", "family")

#: One row per linked pair (``item`` < ``other``), with the evidence and its strength in [0, 1].
LINKS_SCHEMA: pl.Schema = pl.Schema(
    {"item": pl.String, "other": pl.String, "basis": pl.String, "similarity": pl.Float64}
)

#: A word on more than this share of the items (and on more than ``_COMMON_MIN`` items) is too
#: common to tell products apart.
COMMON_SHARE = 0.05
_COMMON_MIN = 10
#: A brand's "house" words: on at least this share of the names of a brand with 3+ items.
HOUSE_SHARE = 0.8
#: Set: on average over the two, an item is in at least this share of the baskets holding
#: the other (Kulczynski: the mean of the two confidences).
SET_CONFIDENCE = 0.5
#: Instead: at least this share of the rarer item's buyers buy the other item too, …
INSTEAD_OVERLAP = 0.5
#: … which is at least this many times what chance predicts (customer-level lift), …
INSTEAD_MIN_CUSTOMER_LIFT = 2.0
#: … while the two share no more baskets than chance (basket lift at most this); and at
#: least this many customers buy both (fewer prove nothing).
INSTEAD_MAX_LIFT = 1.0
INSTEAD_MIN_CUSTOMERS = 10

_CODE = r"^(\d{3,})[A-Za-z]{0,3}$"
_WORDS = r"[\p{L}\p{N}]+"


def _column(items: pl.DataFrame, name: str) -> pl.Expr:
    if name in items.columns:
        return pl.col(name).cast(pl.String)
    return pl.lit(None, pl.String).alias(name)


def content_tokens(items: pl.DataFrame) -> pl.DataFrame:
    """``item``, ``category`` and ``tokens`` (list of the name's content words) per item.

    Example:
        >>> t = pl.DataFrame({"item": ["1"], "item_name": ["Set of 3 Cake Tins"]})
        >>> content_tokens(t)["tokens"].to_list()
        [['set', '3', 'cake', 'tins']]
    """
    base = items.select(
        pl.col("item").cast(pl.String),
        _column(items, "item_name").fill_null(pl.col("item").cast(pl.String)).alias("name"),
        _column(items, "brand"),
        _column(items, "category"),
    ).unique("item", keep="first", maintain_order=True)

    def words(expr: pl.Expr) -> pl.Expr:
        return expr.str.to_lowercase().str.replace_all("['’]", "").str.extract_all(_WORDS)

    long = (
        base.select("item", "brand", words(pl.col("name")).list.unique(maintain_order=True))
        .explode("name")
        .rename({"name": "token"})
        .drop_nulls("token")
    )
    n_items = base.height
    common = max(COMMON_SHARE * n_items, _COMMON_MIN)
    frequency = long.group_by("token").agg(pl.len().alias("df"))
    brand_size = base.group_by("brand").agg(pl.len().alias("brand_items"))
    house = (
        long.drop_nulls("brand")
        .group_by("brand", "token")
        .agg(pl.len().alias("n"))
        .join(brand_size, on="brand")
        .filter((pl.col("brand_items") >= 3) & (pl.col("n") >= HOUSE_SHARE * pl.col("brand_items")))
        .select("brand", "token", house=pl.lit(True))
    )
    brand_words = (
        base.select("brand", words(pl.col("brand")).alias("token"))
        .drop_nulls("brand")
        .unique("brand")
        .explode("token")
        .drop_nulls("token")
        .select("brand", "token", own=pl.lit(True))
    )
    kept = (
        long.join(frequency, on="token", maintain_order="left")
        .join(house, on=["brand", "token"], how="left", maintain_order="left")
        .join(brand_words, on=["brand", "token"], how="left", maintain_order="left")
        .filter(
            pl.col("house").is_null()
            & pl.col("own").is_null()
            & (pl.col("df") <= common)
            & ((pl.col("token").str.len_chars() > 2) | pl.col("token").str.contains(r"\d"))
        )
        .group_by("item", maintain_order=True)
        .agg(pl.col("token").alias("tokens"))
    )
    return base.select("item", "category").join(kept, on="item", how="left", maintain_order="left")


def _same_category(pairs: pl.DataFrame, tokens: pl.DataFrame) -> pl.DataFrame:
    cat = tokens.select("item", "category")
    joined = pairs.join(cat, on="item", how="left").join(
        cat.rename({"item": "other", "category": "other_category"}), on="other", how="left"
    )
    return joined.filter(
        pl.col("category").is_null()
        | pl.col("other_category").is_null()
        | (pl.col("category") == pl.col("other_category"))
    ).drop("category", "other_category")


def _name_pairs(tokens: pl.DataFrame) -> pl.DataFrame:
    """item, other, shared, n, n_other for pairs sharing at least a third of their words.

    ``shared`` counts the (item word, other word) matches: the item × word count matrix
    times its transpose (a sparse product, not a join of every word's items with each other).
    """
    sizes = tokens.select("item", n=pl.col("tokens").list.len()).filter(pl.col("n") > 0)
    long = tokens.select("item", "tokens").explode("tokens").drop_nulls("tokens")
    schema = {"item": pl.String, "other": pl.String, "shared": pl.UInt32, "n": pl.UInt32,
              "n_other": pl.UInt32}  # fmt: skip
    if long.height == 0:
        return pl.DataFrame(schema=schema)
    names = long["item"].unique().sort()  # codes in text order: code < code iff item < other
    row = long["item"].cast(pl.Enum(names.to_list())).to_physical().to_numpy().astype(np.int64)
    col = long["tokens"].rank("dense").to_numpy().astype(np.int64) - 1
    words = sp.csr_matrix(
        (np.ones(len(row), dtype=np.int64), (row, col)), shape=(len(names), int(col.max()) + 1)
    )
    shared = sp.triu(words @ words.T, k=1).tocoo()
    n = (
        pl.DataFrame({"item": names})
        .join(sizes, on="item", how="left", maintain_order="left")["n"]
        .to_numpy()
        .astype(np.int64)
    )
    i, j, count = shared.row.astype(np.int64), shared.col.astype(np.int64), shared.data
    keep = 3 * count >= np.maximum(n[i], n[j])
    i, j, count = i[keep], j[keep], count[keep]
    return pl.DataFrame(
        {
            "item": names.gather(i),
            "other": names.gather(j),
            "shared": count,
            "n": n[i],
            "n_other": n[j],
        }
    ).cast(schema)


def _code_pairs(items: pl.Series) -> pl.DataFrame:
    stems = (
        pl.DataFrame({"item": items})
        .with_columns(stem=pl.col("item").str.extract(_CODE, 1))
        .drop_nulls("stem")
    )
    suffixed = stems.filter(pl.col("item") != pl.col("stem"))["stem"].unique()
    stems = stems.filter(pl.col("stem").is_in(suffixed.implode()))
    return (
        stems.join(stems.rename({"item": "other"}), on="stem")
        .filter(pl.col("item") < pl.col("other"))
        .select("item", "other")
    )


def _codes(ids: pl.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Code (position in ``vocabulary``, a tuple of distinct ids) of each id; -1 when absent.

    Example:
        >>> _codes(pl.Series(["b", "z", "a"]), ("a", "b")).tolist()
        [1, -1, 0]
    """
    codes = ids.cast(pl.Enum(list(vocabulary)), strict=False).to_physical().cast(pl.Int64)
    return codes.fill_null(-1).to_numpy()


def _behaviour(weak: pl.DataFrame, counts: BasketCounts) -> pl.DataFrame:
    """The weak name pairs that purchase behaviour confirms, with basis "set" or "instead"."""
    if weak.height == 0 or counts.n_baskets == 0:
        return pl.DataFrame(schema={"item": pl.String, "other": pl.String, "basis": pl.String})
    i, j = (_codes(weak[column], counts.items) for column in ("item", "other"))
    known = (i >= 0) & (j >= 0)
    i, j, weak = i[known], j[known], weak.filter(pl.Series(known))
    item_counts = counts.item_counts()
    n_a, n_b = item_counts[i], item_counts[j]
    n_ab = counts.pair_counts(i, j)
    with np.errstate(divide="ignore", invalid="ignore"):
        kulczynski = 0.5 * (n_ab / np.maximum(n_a, 1) + n_ab / np.maximum(n_b, 1))
    is_set = (kulczynski >= SET_CONFIDENCE) & (n_ab > 0)
    instead = np.zeros(len(i), dtype=bool)
    buyers = counts.customer_pairs(i, j)
    if buyers is not None:
        c_a, c_b, c_ab, n_units = buyers.a, buyers.b, buyers.ab, buyers.n_units
        n = counts.n_baskets
        instead = (c_ab >= INSTEAD_OVERLAP * np.minimum(c_a, c_b)) & (c_ab >= INSTEAD_MIN_CUSTOMERS)
        instead &= c_ab * n_units >= INSTEAD_MIN_CUSTOMER_LIFT * c_a * c_b
        instead &= n_ab * n <= INSTEAD_MAX_LIFT * n_a * n_b
        # behaviour this loose needs a firmer name link: two shared words (one for one-word names)
        small = np.minimum(weak["n"].to_numpy(), weak["n_other"].to_numpy())
        instead &= weak["shared"].to_numpy() >= np.minimum(2, small)
    basis = np.where(is_set, "set", np.where(instead, "instead", ""))
    return (
        weak.select("item", "other")
        .with_columns(basis=pl.Series(basis))
        .filter(pl.col("basis") != "")
    )


def variant_links(
    items: pl.DataFrame,
    matrix: BasketMatrix | BasketCounts | None = None,
    *,
    basket_units: np.ndarray | None = None,
    tokens: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Linked item pairs (``LINKS_SCHEMA``), one row per pair with its strongest evidence.

    ``items``: the item table (``item``, and ``item_name``, ``brand``, ``category`` when known);
    ``matrix``: the baskets, for the behaviour evidence (left out without it), or their
    :class:`~basketlens.mining.counts.BasketCounts` (which then knows the customers);
    ``basket_units``: the customer (as an integer code) of each basket row of a matrix,
    for the "instead" evidence. Similarity is 1 for a code link, else the shared share of
    words, ``shared / max(words of each name)``. ``tokens``: :func:`content_tokens` of
    ``items``, when already computed.
    """
    tokens = content_tokens(items) if tokens is None else tokens
    pairs = _name_pairs(tokens)
    ratio = pl.col("shared") / pl.max_horizontal("n", "n_other")
    is_strong = (2 * pl.col("shared") >= pl.max_horizontal("n", "n_other")) & (
        pl.col("shared") >= pl.min_horizontal(pl.lit(2), "n", "n_other")
    )
    strong = pairs.filter(is_strong)
    frames = [
        _code_pairs(tokens["item"]).with_columns(basis=pl.lit("code"), similarity=pl.lit(1.0)),
        strong.select("item", "other", basis=pl.lit("name"), similarity=ratio),
    ]
    if matrix is not None:
        weak = pairs.filter(~is_strong)
        weak = _same_category(weak, tokens)
        units = basket_units
        if isinstance(matrix, BasketMatrix) and units is not None:
            units = units if len(units) == matrix.n_baskets else None  # else: no "instead"
        confirmed = _behaviour(weak, as_counts(matrix, units))
        frames.append(
            confirmed.join(weak.select("item", "other", similarity=ratio), on=["item", "other"])
        )
    links = pl.concat([f.select(list(LINKS_SCHEMA)).cast(dict(LINKS_SCHEMA)) for f in frames])
    links = strongest_links(_same_category(links, tokens))
    logger.debug("variant links: %s", dict(links.group_by("basis").len().iter_rows()))
    return links


def strongest_links(links: pl.DataFrame) -> pl.DataFrame:
    """One row per pair (``item`` < ``other``): the strongest evidence (order of ``BASES``).

    Example:
        >>> links = pl.DataFrame({"item": ["a", "a"], "other": ["b", "b"],
        ...                       "basis": ["set", "code"], "similarity": [0.4, 1.0]})
        >>> strongest_links(links)["basis"].to_list()
        ['code']
    """
    order = {basis: k for k, basis in enumerate(BASES)}
    return (
        links.with_columns(rank=pl.col("basis").replace_strict(order, return_dtype=pl.Int32))
        .sort("item", "other", "rank")
        .unique(["item", "other"], keep="first", maintain_order=True)
        .drop("rank")
        .cast(dict(LINKS_SCHEMA))
    )

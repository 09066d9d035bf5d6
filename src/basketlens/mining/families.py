"""Item families: groups of items that are versions of one product, and the kind of a rule.

A *family* holds items that are all variant-linked to each other
(:func:`~basketlens.mining.variants.variant_links`: shared code stem, shared name words, or a
weaker name link confirmed by purchase behaviour). Families are grown greedily from the
strongest link down, and two groups merge only when **every** pair across them is linked
(complete linkage), so a chain of look-alikes ("lunch bag red" ~ "jumbo bag red" ~ "jumbo bag
pink" ~ …) never snowballs into one family. A second pass links an item whose name holds all
the words a family's members share (two words at least: "STOP FOR TEA WALL ART" and the
"WALL ART" family) to every member, and groups again. An item without links is a family of
its own.

A rule's ``kind`` is ``"variant"`` when an item on its right-hand side is linked to (or in
the family of) an item on its left — an alternative or a piece completing a set — and
``"cross_sell"`` otherwise: the item a sales rep would actually offer.

Example:
    >>> import polars as pl
    >>> items = pl.DataFrame({"item": ["1", "2", "3"],
    ...     "item_name": ["Teacup green regency", "Teacup pink regency", "Cake stand"]})
    >>> fam = build_families(items)
    >>> fam.table.select("item", "family", "family_size").rows()
    [('1', 'family:1', 2), ('2', 'family:1', 2), ('3', 'family:3', 1)]
    >>> rules = pl.DataFrame({"antecedent": [["1"], ["1"]], "consequent": [["2"], ["3"]]})
    >>> rule_kinds(rules, fam).to_list()
    ['variant', 'cross_sell']
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from basketlens.items import item_names
from basketlens.mining._kernel import core as _core
from basketlens.mining.counts import BasketCounts
from basketlens.mining.encode import BasketMatrix
from basketlens.mining.variants import (
    LINKS_SCHEMA,
    content_tokens,
    strongest_links,
    variant_links,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CROSS_SELL",
    "FAMILIES_SCHEMA",
    "FAMILY_PREFIX",
    "KINDS",
    "VARIANT",
    "ItemFamilies",
    "build_families",
    "rule_kinds",
]

CROSS_SELL = "cross_sell"
VARIANT = "variant"
#: The values of a rule's ``kind`` column.
KINDS: tuple[str, ...] = (CROSS_SELL, VARIANT)
#: Family ids are the id of the family's best-selling member behind this prefix.
FAMILY_PREFIX = "family:"

#: ``families.parquet``: one row per item.
FAMILIES_SCHEMA: pl.Schema = pl.Schema(
    {
        "item": pl.String,
        "item_name": pl.String,
        "family": pl.String,
        "family_name": pl.String,
        "family_size": pl.Int32,
        "category": pl.String,
        "variants": pl.List(pl.String),
        "variant_basis": pl.List(pl.String),
    }
)


@dataclass(frozen=True, eq=False)
class ItemFamilies:
    """Families of the items (``table``: ``FAMILIES_SCHEMA``), the variant ``links``
    (``LINKS_SCHEMA``) and an ``info`` record (counts by evidence, seconds)."""

    table: pl.DataFrame
    links: pl.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def family_of(self) -> dict[str, str]:
        """Item id → family id."""
        cached = self.__dict__.get("_family_of")
        if cached is None:
            cached = dict(
                zip(self.table["item"].to_list(), self.table["family"].to_list(), strict=True)
            )
            object.__setattr__(self, "_family_of", cached)
        return cached

    @property
    def family_names(self) -> dict[str, str]:
        """Family id → family name."""
        pairs = self.table.select("family", "family_name").unique("family")
        return dict(pairs.iter_rows())

    def linked_pairs(self) -> pl.DataFrame:
        """Both directions of every link plus every same-family pair: columns item, other."""
        links = self.links.select("item", "other")
        fam = self.table.select("item", "family")
        same = (
            fam.join(fam.rename({"item": "other"}), on="family")
            .filter(pl.col("item") != pl.col("other"))
            .select("item", "other")
        )
        both = pl.concat([links, links.select(item="other", other="item"), same])
        return both.unique()

    def family_links(self) -> pl.DataFrame:
        """Pairs of distinct families with a variant link between members: family, other."""
        fam = self.table.select("item", "family")
        pairs = (
            self.links.join(fam, on="item")
            .join(fam.rename({"item": "other", "family": "other_family"}), on="other")
            .filter(pl.col("family") != pl.col("other_family"))
            .select("family", other="other_family")
        )
        return pl.concat([pairs, pairs.select(family="other", other="family")]).unique()


def _complete_linkage(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cluster label of each of ``n`` nodes; edges (u, v) in merge order (strongest first).

    Two clusters merge only when every pair across them is an edge; the merged cluster keeps
    the label of the larger one (of ``u``'s cluster on a tie). The compiled core does it for
    distinct edges (the links of :func:`build_families`): a cluster merges into another when
    its members are all among the nodes linked to every member of the other;
    :func:`_linkage_by_counts` for repeated edges or without the core.
    """
    us, vs = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    linkage = getattr(_core, "complete_linkage", None)
    label = None if linkage is None else linkage(n, us, vs)
    return _linkage_by_counts(n, us, vs) if label is None else label


def _linkage_by_counts(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`_complete_linkage` with the edges between clusters counted (a repeated edge
    counts each time): the general case, for edges that are not distinct."""
    label = list(range(n))
    size = [1] * n
    members: dict[int, list[int]] = {}
    between: dict[int, dict[int, int]] = {}
    us, vs = np.asarray(u, dtype=np.int64).tolist(), np.asarray(v, dtype=np.int64).tolist()
    if us:  # edges between each pair of nodes, both ways, counted in numpy
        keys, counts = np.unique(
            np.concatenate([np.asarray(us) * n + vs, np.asarray(vs) * n + us]),
            return_counts=True,
        )
        src, dst = keys // n, keys % n
        starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
        ends = np.r_[starts[1:], len(keys)]
        dst_l, counts_l = dst.tolist(), counts.tolist()
        for node, lo, hi in zip(src[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
            between[node] = dict(zip(dst_l[lo:hi], counts_l[lo:hi], strict=True))
    for a, b in zip(us, vs, strict=True):
        ca, cb = label[a], label[b]
        if ca == cb or between[ca].get(cb, 0) != size[ca] * size[cb]:
            continue
        if size[ca] < size[cb]:
            ca, cb = cb, ca
        moved = members.pop(cb, [cb])
        members.setdefault(ca, [ca]).extend(moved)
        for node in moved:
            label[node] = ca
        size[ca] += size[cb]
        for other, count in between.pop(cb).items():
            if other == ca:
                continue
            between[ca][other] = between[ca].get(other, 0) + count
            row = between[other]
            row[ca] = row.get(ca, 0) + row.pop(cb)
        between[ca].pop(cb, None)
    return np.asarray(label, dtype=np.int64)


def _cluster(links: pl.DataFrame, ids: pl.Series) -> np.ndarray:
    """Complete-linkage labels of the (sorted, unique) item ids ``ids`` from ``links``
    (strongest first: by similarity, then item and other)."""
    codes = pl.Enum(ids)
    u = links["item"].cast(codes).to_physical().to_numpy().astype(np.int64)
    v = links["other"].cast(codes).to_physical().to_numpy().astype(np.int64)
    similarity = links["similarity"].to_numpy()
    # the codes follow the text order of the ids, so this is the order of the id pairs
    order = np.lexsort((v, u, -similarity))
    return _complete_linkage(len(ids), u[order], v[order])


def _family_name_links(label: np.ndarray, ids: pl.Series, tokens: pl.DataFrame) -> pl.DataFrame:
    """Links (basis "family") from each item to every member of a family of two items or more
    whose shared name words — two at least — all appear in the item's name."""
    groups = pl.DataFrame({"item": ids, "label": label}).join(
        tokens.select("item", "tokens"), on="item", how="left"
    )
    sizes = groups.group_by("label").agg(pl.len().alias("size"))
    words = (
        groups.join(sizes.filter(pl.col("size") >= 2), on="label")
        .explode("tokens")
        .drop_nulls("tokens")
        .group_by("label", "tokens")
        .agg(pl.len().alias("n"), pl.col("size").first())
        .filter(pl.col("n") == pl.col("size"))  # a word every member's name has
        .with_columns(pl.len().over("label").alias("n_words"))
        .filter(pl.col("n_words") >= 2)
    )
    if words.is_empty():
        return pl.DataFrame(schema=LINKS_SCHEMA)
    item_words = groups.select("item", "label", "tokens").explode("tokens").drop_nulls()
    holders = (
        words.join(item_words.rename({"label": "own"}), on="tokens")
        .filter(pl.col("own") != pl.col("label"))
        .group_by("label", "item")
        .agg(pl.len().alias("hits"), pl.col("n_words").first())
        .filter(pl.col("hits") == pl.col("n_words"))
    )
    members = groups.select(pl.col("item").alias("member"), "label")
    pairs = holders.join(members, on="label").select(
        pl.min_horizontal("item", "member").alias("item"),
        pl.max_horizontal("item", "member").alias("other"),
        basis=pl.lit("family"),
        similarity=pl.lit(0.0),
    )
    return pairs.unique().cast(dict(LINKS_SCHEMA))


def _family_names(table: pl.DataFrame, tokens: pl.DataFrame) -> pl.DataFrame:
    """family → name: the words every member's name shares, in the order of the best-selling
    member's name, when they hold at least half of that name's content words (brand and
    common words aside: "Brie de Meaux", "Mozzarella"); else that member's name and the number
    of others ("HOME SWEET HOME METAL SIGN (+30 variants)")."""
    ranked = table.sort(["family", "weight", "item"], descending=[False, True, False]).select(
        "family",
        "item",
        "item_name",
        size=pl.len().over("family"),
        head=pl.int_range(pl.len()).over("family") == 0,
    )
    words = (
        ranked.with_columns(word=pl.col("item_name").str.split(" "))
        .explode("word")
        .filter(pl.col("word") != "")
        .with_columns(key=pl.col("word").str.to_lowercase())
    )
    everywhere = (
        words.unique(["family", "item", "key"])
        .group_by("family", "key")
        .agg(pl.len().alias("n"), pl.col("size").first())
        .filter(pl.col("n") == pl.col("size"))
        .select("family", "key", common=pl.lit(True))
    )
    head = (
        words.filter(pl.col("head"))
        .join(everywhere, on=["family", "key"], how="left", maintain_order="left")
        .group_by("family", maintain_order=True)
        .agg(
            pl.col("word").filter(pl.col("common").is_not_null()).str.join(" ").alias("shared"),
            pl.col("common").is_not_null().sum().alias("n_shared"),
            pl.len().alias("n_words"),
        )
    )
    content = (
        ranked.select("family", "item", "size")
        .join(tokens.select("item", "tokens"), on="item", how="left")
        .explode("tokens")
        .drop_nulls("tokens")
    )
    content_common = (
        content.group_by("family", "tokens")
        .agg(pl.len().alias("n"), pl.col("size").first())
        .filter(pl.col("n") == pl.col("size"))
        .group_by("family")
        .agg(pl.len().alias("n_common"))
    )
    head_content = (
        ranked.filter(pl.col("head"))
        .join(tokens.select("item", "tokens"), on="item", how="left")
        .select("family", n_content=pl.col("tokens").list.len().fill_null(0))
    )
    heads = (
        ranked.filter(pl.col("head"))
        .join(head, on="family", how="left")
        .join(content_common, on="family", how="left")
        .join(head_content, on="family", how="left")
        .with_columns(pl.col("n_common").fill_null(0))
    )
    name = (
        pl.when(pl.col("size") == 1)
        .then(pl.col("item_name"))
        .when(
            (pl.col("n_shared") > 0)
            & (pl.col("n_common") > 0)
            & (2 * pl.col("n_common") >= pl.col("n_content"))
        )
        .then(pl.col("shared"))
        .otherwise(pl.format("{} (+{} variants)", pl.col("item_name"), pl.col("size") - 1))
    )
    return heads.select("family", family_name=name)


def build_families(
    items: pl.DataFrame,
    matrix: BasketMatrix | BasketCounts | None = None,
    *,
    basket_units: np.ndarray | None = None,
) -> ItemFamilies:
    """Families of every item of ``items`` (and of ``matrix``'s vocabulary).

    ``items`` is the item table (``item``, ``item_name``; ``brand`` and ``category`` are used
    when present); ``matrix`` and ``basket_units`` (customer code of each basket row) add the
    purchase-behaviour evidence (see :mod:`basketlens.mining.variants`); ``matrix`` may also
    be the baskets' :class:`~basketlens.mining.counts.BasketCounts` (the Spark engine's). The
    family id is ``"family:" + the id of the member with the most baskets`` (lines when there
    are no baskets, then the smallest id).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    ids = items["item"].cast(pl.String).unique(maintain_order=True)
    if matrix is not None:
        ids = pl.concat([ids, pl.Series("item", matrix.items, dtype=pl.String)]).unique(
            maintain_order=True
        )
    ids = ids.sort()
    names = item_names(items, ids=ids.to_list())
    weight = pl.DataFrame({"item": ids, "weight": np.zeros(len(ids), dtype=np.int64)})
    if matrix is not None:
        counts = pl.DataFrame({"item": list(matrix.items), "weight": matrix.item_counts()})
        weight = weight.drop("weight").join(counts, on="item", how="left").fill_null(0)
    elif "lines" in items.columns:
        lines = items.select(
            pl.col("item").cast(pl.String), pl.col("lines").cast(pl.Int64).alias("weight")
        )
        weight = (
            weight.drop("weight").join(lines.unique("item"), on="item", how="left").fill_null(0)
        )
    tokens = content_tokens(items)
    links = variant_links(items, matrix, basket_units=basket_units, tokens=tokens)
    links = links.filter(pl.col("item").is_in(ids.implode()) & pl.col("other").is_in(ids.implode()))
    label = _cluster(links, ids)
    # second pass: an item whose name holds every word the members of a family share
    # ("STOP FOR TEA WALL ART" and the WALL ART family) is a variant of each of them
    extra = _family_name_links(label, ids, tokens)
    if extra.height:
        links = strongest_links(pl.concat([links, extra]))
        label = _cluster(links, ids)
    category = (
        items.select(pl.col("item").cast(pl.String), pl.col("category").cast(pl.String)).unique(
            "item", keep="first"
        )
        if "category" in items.columns
        else pl.DataFrame(schema={"item": pl.String, "category": pl.String})
    )
    table = (
        pl.DataFrame({"item": ids, "label": label})
        .with_columns(
            item_name=pl.col("item").replace_strict(names, default=pl.col("item")),
        )
        .join(weight, on="item", how="left")
        .join(category, on="item", how="left")
    )
    head = (
        table.sort(["weight", "item"], descending=[True, False])
        .unique("label", keep="first")
        .select("label", family=FAMILY_PREFIX + pl.col("item"))
    )
    table = table.join(head, on="label").with_columns(
        family_size=pl.len().over("label").cast(pl.Int32)
    )
    table = table.join(_family_names(table, tokens), on="family")
    both = pl.concat(
        [
            links.select("item", "other", "basis"),
            links.select(item="other", other="item", basis="basis"),
        ]
    ).sort("item", "other")
    variants = both.group_by("item").agg(
        pl.col("other").alias("variants"), pl.col("basis").alias("variant_basis")
    )
    table = (
        table.join(variants, on="item", how="left")
        .with_columns(
            pl.col("variants").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("variant_basis").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .sort("item")
        .select(list(FAMILIES_SCHEMA))
        .cast(dict(FAMILIES_SCHEMA))
    )
    sizes = table.unique("family")["family_size"]
    info = {
        "items": table.height,
        "families": int(sizes.len()),
        "families_with_variants": int((sizes > 1).sum()),
        "items_in_families_with_variants": int(sizes.filter(sizes > 1).sum() or 0),
        "largest_family": int(sizes.max() or 0),
        "links": dict(sorted(links.group_by("basis").len().iter_rows())),
        "seconds": round(time.perf_counter() - t0, 6),
        "cpu_seconds": round(time.process_time() - c0, 6),
    }
    logger.info(
        "families: %d items in %d families (%d with variants)",
        info["items"],
        info["families"],
        info["families_with_variants"],
    )
    return ItemFamilies(table, links.cast(dict(LINKS_SCHEMA)), info)


def rule_kinds(rules: pl.DataFrame, families: ItemFamilies, *, level: str = "item") -> pl.Series:
    """``kind`` of each rule: "variant" when a right-hand item is linked to (or in the
    family of) a left-hand item, else "cross_sell" (also for the empty antecedent).

    ``level`` "family" compares families (variant when the two families are linked);
    any other level ("category") is always cross-sell.
    """
    if rules.height == 0:
        return pl.Series("kind", [], dtype=pl.String)
    if level == "item":
        pairs = families.linked_pairs()
    elif level == "family":
        pairs = families.family_links().rename({"family": "item"})
    else:
        return pl.Series("kind", [CROSS_SELL] * rules.height, dtype=pl.String)
    sides = (
        rules.select(pl.col("antecedent").alias("item"), pl.col("consequent").alias("other"))
        .with_row_index("row")
        .explode("item")
        .explode("other")
        .drop_nulls(["item", "other"])
    )
    hit = sides.join(pairs, on=["item", "other"], how="semi")["row"].unique()
    variant = np.zeros(rules.height, dtype=bool)
    variant[hit.to_numpy()] = True
    return pl.Series("kind", np.where(variant, VARIANT, CROSS_SELL), dtype=pl.String)

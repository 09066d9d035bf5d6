"""Item families and rule kinds: variant links from names, codes and behaviour; complete
linkage; ``kind`` of a rule at every level."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from basketlens.mining import to_basket_matrix
from basketlens.mining.families import (
    FAMILIES_SCHEMA,
    _complete_linkage,
    build_families,
    rule_kinds,
)
from basketlens.mining.variants import _name_pairs, content_tokens, variant_links


def _links(items: pl.DataFrame, *args, **kwargs) -> set[tuple[str, str, str]]:
    return set(variant_links(items, *args, **kwargs).select("item", "other", "basis").iter_rows())


def test_brand_words_and_private_label_abbreviations_are_set_aside() -> None:
    # the demo catalogue's shape: a product in several brands, "LS" on every private label
    names = {
        "1": ("Brie de Meaux LS", "Lens Sélection"),
        "2": ("Brie de Meaux Maison Vercel", "Maison Vercel"),
        "3": ("Pain burger LS", "Lens Sélection"),
        "4": ("Pain de mie LS", "Lens Sélection"),
        "5": ("Steak haché Prix Pro", "Prix Pro"),
        "6": ("Pain burger Prix Pro", "Prix Pro"),
    }
    items = pl.DataFrame(
        {
            "item": list(names),
            "item_name": [n for n, _ in names.values()],
            "brand": [b for _, b in names.values()],
        }
    )
    tokens = dict(content_tokens(items).select("item", "tokens").iter_rows())
    assert tokens["1"] == ["brie", "meaux"]  # "de": two letters; "LS": the brand's house word
    assert tokens["2"] == ["brie", "meaux"]  # "Maison Vercel": the item's own brand
    assert tokens["5"] == ["steak", "haché"]
    links = _links(items)
    assert ("1", "2", "name") in links  # the same product in two brands
    assert ("3", "6", "name") in links
    # "Pain burger" and "Pain de mie" share one word of two: not enough on its own; and the
    # brand words "Prix Pro" shared by Steak haché and Pain burger link nothing
    assert not {(a, b) for a, b, _ in links} & {("3", "4"), ("5", "6")}


def test_words_on_many_items_cannot_tell_products_apart() -> None:
    colours = ["RED", "PINK", "BLUE", "GREEN", "WHITE", "BLACK"]
    rows = [(f"c{i}", f"{colours[i % 6]} THING {i}") for i in range(240)]  # colours everywhere
    rows += [("a", "GREEN REGENCY TEACUP AND SAUCER"), ("b", "PINK REGENCY TEACUP AND SAUCER")]
    rows += [("c", "REGENCY CAKESTAND 3 TIER"), ("d", "PINK CAKESTAND LOVE")]
    items = pl.DataFrame(rows, schema=["item", "item_name"], orient="row")
    tokens = dict(content_tokens(items).select("item", "tokens").iter_rows())
    assert tokens["a"] == ["regency", "teacup", "and", "saucer"]  # GREEN is on > 5% of items
    links = {(a, b) for a, b, _ in _links(items)}
    assert ("a", "b") in links  # colour variants
    assert ("a", "c") not in links  # one shared word of four: a matching piece, not a variant
    assert ("c", "d") not in links


def test_code_stems_link_letter_suffixes() -> None:
    items = pl.DataFrame(
        {
            "item": ["22423", "22423B", "85099B", "85099C", "85123", "200011", "200012"],
            "item_name": ["CAKESTAND", "CAKESTAND SMALL", "JUMBO A", "BAG B", "X", "Y", "Z"],
        }
    )
    links = _links(items)
    assert ("22423", "22423B", "code") in links
    assert ("85099B", "85099C", "code") in links
    # numeric codes alone are no stems (the demo's 200011 / 200012 are unrelated products)
    assert not any("2000" in a for a, _, _ in links)
    assert not any(a == "85123" or b == "85123" for a, b, _ in links)


def test_different_categories_are_never_variants() -> None:
    items = pl.DataFrame(
        {
            "item": ["a", "b", "c"],
            "item_name": ["Croissant au beurre", "Croissant au beurre", "Croissant au beurre"],
            "category": ["Boulangerie", "Boulangerie", "Surgelés"],
        }
    )
    assert {(a, b) for a, b, _ in _links(items)} == {("a", "b")}


def _baskets(pairs: list[tuple[list[str], str]]) -> tuple[pl.DataFrame, np.ndarray]:
    """Lines (basket, item, unit) from (items, unit) baskets and the unit code per basket."""
    rows = [(f"B{b}", item, unit) for b, (items, unit) in enumerate(pairs) for item in items]
    lines = pl.DataFrame(rows, schema=["basket", "item", "unit"], orient="row")
    matrix = to_basket_matrix(lines)
    units = np.array([int(pairs[int(b[1:])][1][1:]) for b in matrix.basket_ids])
    return lines, units


def test_behaviour_confirms_a_weak_name_link_but_never_links_alone() -> None:
    items = pl.DataFrame(
        {
            "item": ["cup", "plate", "brie", "bag", "mug"],
            "item_name": ["POLKADOT CUP", "POLKADOT PLATE", "BRIE", "BAGUETTE", "POLKADOT MUG"],
        }
    )
    # cup and plate (one shared word of two) and brie and baguette (none) are bought together
    # as sets; the mug only now and then
    baskets = [(["cup", "plate"], f"u{i % 7}") for i in range(30)]
    baskets += [(["brie", "bag"], f"u{i % 7}") for i in range(30)]
    baskets += [(["mug"], f"u{i % 7}") for i in range(30)] + [(["mug", "cup"], "u1")] * 2
    lines, units = _baskets(baskets)
    matrix = to_basket_matrix(lines)
    assert {(a, b) for a, b, _ in _links(items)} == set()  # names alone: too little
    with_behaviour = _links(items, matrix, basket_units=units)
    assert with_behaviour == {("cup", "plate", "set")}  # brie + baguette stays a cross-sell


def test_instead_links_substitutes_bought_by_the_same_customers_in_other_baskets() -> None:
    items = pl.DataFrame(
        {
            "item": ["x1", "x2", "y"],
            # two shared words of five: too few for a name link on their own
            "item_name": ["STRONG WHITE FLOUR T55 SACK", "ITALIAN PIZZA FLOUR T00 SACK", "YEAST"],
        }
    )
    # 12 customers alternate between the two flours, never both in one order; 12 others buy
    # yeast alone
    baskets = [([f"x{1 + k % 2}"], f"u{c}") for c in range(12) for k in range(4)]
    baskets += [(["y"], f"u{12 + c}") for c in range(12)]
    lines, units = _baskets(baskets)
    links = _links(items, to_basket_matrix(lines), basket_units=units)
    assert links == {("x1", "x2", "instead")}


def test_complete_linkage_never_chains_look_alikes() -> None:
    names = {
        "a": "LUNCH BAG RED RETROSPOT",
        "b": "JUMBO BAG RED RETROSPOT",
        "c": "JUMBO BAG PINK POLKADOT",
        "d": "JUMBO BAG WOODLAND ANIMALS",
        "e": "LUNCH BAG PINK POLKADOT",
    }
    items = pl.DataFrame({"item": list(names), "item_name": list(names.values())})
    fam = build_families(items)
    links = {(a, b) for a, b, _ in _links(items)}
    assert ("a", "b") in links and ("b", "c") in links and ("a", "c") not in links
    assert fam.table.schema == FAMILIES_SCHEMA
    families = fam.table.group_by("family").agg(pl.col("item"))["item"].to_list()
    for members in families:  # every pair inside a family is linked
        for x, y in itertools.combinations(sorted(members), 2):
            assert (x, y) in links
    assert max(len(m) for m in families) < len(names)
    assert fam.info["items"] == 5 and fam.info["families"] == len(families)


def _graphs(n: int) -> st.SearchStrategy:
    edge = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    return st.tuples(st.just(n), st.sets(edge, max_size=30))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9).flatmap(_graphs))
def test_complete_linkage_families_are_cliques(case) -> None:
    n, edges = case
    edges = sorted({(min(a, b), max(a, b)) for a, b in edges if a != b})
    u = np.array([a for a, _ in edges], dtype=np.int64)
    v = np.array([b for _, b in edges], dtype=np.int64)
    label = _complete_linkage(n, u, v)
    linked = set(edges)
    for group in {int(x) for x in label}:
        members = np.flatnonzero(label == group).tolist()
        for a, b in itertools.combinations(members, 2):
            assert (a, b) in linked


def test_family_ids_names_and_variants_columns() -> None:
    items = pl.DataFrame(
        {
            "item": ["1", "2", "3", "4"],
            "item_name": ["Brie de Meaux LS", "Brie de Meaux Vercel", "Baguette", "Comté"],
            "brand": ["LS", "Vercel", "LS", None],
            "lines": [5, 50, 9, 1],
        }
    )
    table = build_families(items).table
    row = {r["item"]: r for r in table.iter_rows(named=True)}
    # the family is named after its best-selling member (most lines) and the shared words
    assert row["1"]["family"] == row["2"]["family"] == "family:2"
    assert row["1"]["family_name"] == "Brie de Meaux" and row["1"]["family_size"] == 2
    assert row["1"]["variants"] == ["2"] and row["1"]["variant_basis"] == ["name"]
    assert row["3"]["family"] == "family:3" and row["3"]["variants"] == []


def test_rule_kinds_at_every_level() -> None:
    items = pl.DataFrame(
        {
            "item": ["g", "p", "c", "t"],
            "item_name": [
                "GREEN REGENCY TEACUP",
                "PINK REGENCY TEACUP",
                "REGENCY CAKESTAND TIER",
                "TEA STRAINER",
            ],
        }
    )
    fam = build_families(items)
    lists = pl.List(pl.String)
    rules = pl.DataFrame(
        {
            "antecedent": [["g"], ["c", "g"], ["g"], [], ["t"]],
            "consequent": [["p"], ["p"], ["c"], ["p"], ["c"]],
        },
        schema={"antecedent": lists, "consequent": lists},
    )
    assert rule_kinds(rules, fam).to_list() == [
        "variant",  # another colour of the same teacup
        "variant",  # completes the set: a teacup of the other colour
        "cross_sell",
        "cross_sell",  # {} -> Y: nothing to be a variant of
        "cross_sell",
    ]
    of = fam.family_of
    fam_rules = pl.DataFrame(
        {"antecedent": [[of["t"]], [of["c"]]], "consequent": [[of["g"]], [of["t"]]]},
        schema={"antecedent": lists, "consequent": lists},
    )
    assert rule_kinds(fam_rules, fam, level="family").to_list() == ["cross_sell", "cross_sell"]
    assert rule_kinds(fam_rules, fam, level="category").to_list() == ["cross_sell"] * 2


def _name_pairs_by_join(tokens: pl.DataFrame) -> pl.DataFrame:
    """The word-sharing pairs as the join of every word's items with each other (the
    definition _name_pairs computes by a sparse product)."""
    sizes = tokens.select("item", n=pl.col("tokens").list.len()).filter(pl.col("n") > 0)
    long = tokens.select("item", "tokens").explode("tokens").drop_nulls("tokens")
    pairs = (
        long.join(long.rename({"item": "other"}), on="tokens")
        .filter(pl.col("item") < pl.col("other"))
        .group_by("item", "other")
        .agg(pl.len().alias("shared"))
        .join(sizes, on="item")
        .join(sizes.rename({"item": "other", "n": "n_other"}), on="other")
    )
    return pairs.filter(3 * pl.col("shared") >= pl.max_horizontal("n", "n_other"))


@given(
    st.lists(
        st.lists(
            st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "ee", "f"])), max_size=5
        ),
        max_size=12,
    )
)
@settings(max_examples=150, deadline=None)
def test_name_pairs_match_the_join_definition(words: list[list[str | None]]) -> None:
    tokens = pl.DataFrame(
        {"item": [f"i{k:02d}" for k in range(len(words))], "tokens": words},
        schema={"item": pl.String, "tokens": pl.List(pl.String)},
    )
    got = _name_pairs(tokens).sort("item", "other")
    want = _name_pairs_by_join(tokens).sort("item", "other")
    assert got.schema == want.schema
    assert got.equals(want)


def _complete_linkage_by_dicts(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The reference: complete linkage with every count kept in dictionaries."""
    label = np.arange(n)
    size = np.ones(n, dtype=np.int64)
    members: dict[int, list[int]] = {}
    between: dict[int, dict[int, int]] = {}
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        between.setdefault(a, {})[b] = between.get(a, {}).get(b, 0) + 1
        between.setdefault(b, {})[a] = between.get(b, {}).get(a, 0) + 1
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        ca, cb = int(label[a]), int(label[b])
        if ca == cb or between[ca].get(cb, 0) != size[ca] * size[cb]:
            continue
        if size[ca] < size[cb]:
            ca, cb = cb, ca
        moved = members.pop(cb, [cb])
        members.setdefault(ca, [ca]).extend(moved)
        label[moved] = ca
        size[ca] += size[cb]
        for other, count in between.pop(cb).items():
            if other == ca:
                continue
            between[ca][other] = between[ca].get(other, 0) + count
            row = between[other]
            row[ca] = row.get(ca, 0) + row.pop(cb)
        between[ca].pop(cb, None)
    return label


@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 9)).filter(lambda e: e[0] != e[1]),
        max_size=40,
    )
)
@settings(max_examples=300, deadline=None)
def test_complete_linkage_matches_the_reference(edges: list[tuple[int, int]]) -> None:
    """Links join two different items (never an item with itself), maybe more than once."""
    u = np.array([a for a, _ in edges], dtype=np.int64)
    v = np.array([b for _, b in edges], dtype=np.int64)
    got = _complete_linkage(10, u, v)
    assert got.dtype == np.int64
    assert got.tolist() == _complete_linkage_by_dicts(10, u, v).tolist()

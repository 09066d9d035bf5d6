"""The demo product catalogue: a B2B food-distribution range built from lists in code.

Every product of :data:`PRODUCTS` is offered by several brands of its category (always by the
private label), which gives ~220 items with an ERP-like code, a name, a brand, a category, a
list price per kilo, a typical line quantity (kilos) and a brand tier. No data files are read.

Example:
    >>> from basketlens.synth.catalog import build_catalog
    >>> cat = build_catalog()
    >>> 150 <= cat.n_items <= 300
    True
    >>> cat.items.columns
    ['Item_CD', 'Item_TX', 'BrandL1_TX', 'CategoryL1_TX']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

#: Brand tiers; personas weight them differently.
TIERS: tuple[str, ...] = ("premium", "standard", "value", "private")

#: The distributor's own brand, offered for every product.
PRIVATE_LABEL = "Lens Sélection"

# brand -> (tier, price multiplier on the product's list price)
BRANDS: dict[str, tuple[str, float]] = {
    PRIVATE_LABEL: ("private", 0.88),
    "Maison Vercel": ("premium", 1.40),
    "Terroirs d'Antan": ("premium", 1.30),
    "Laiterie du Val": ("standard", 1.00),
    "Salaisons Meunier": ("standard", 1.00),
    "Moulin de Provence": ("standard", 1.00),
    "Fournil Duval": ("standard", 1.05),
    "Oliveraie du Sud": ("standard", 1.00),
    "Conserverie Bretonne": ("standard", 1.00),
    "Polaire Pro": ("standard", 1.00),
    "Source Claire": ("standard", 1.00),
    "Prix Pro": ("value", 0.74),
}

# category -> (brands offering it besides the private label, default line kilos)
CATEGORIES: dict[str, tuple[tuple[str, ...], float]] = {
    "Fromages": (("Maison Vercel", "Terroirs d'Antan", "Laiterie du Val", "Prix Pro"), 2.0),
    "Charcuterie": (("Maison Vercel", "Terroirs d'Antan", "Salaisons Meunier", "Prix Pro"), 1.5),
    "Boulangerie": (("Maison Vercel", "Fournil Duval", "Prix Pro"), 3.0),
    "Crèmerie": (("Terroirs d'Antan", "Laiterie du Val", "Prix Pro"), 4.0),
    "Huiles": (("Maison Vercel", "Oliveraie du Sud", "Prix Pro"), 10.0),
    "Épicerie": (
        ("Terroirs d'Antan", "Moulin de Provence", "Conserverie Bretonne", "Prix Pro"),
        6.0,
    ),
    "Surgelés": (("Polaire Pro", "Prix Pro"), 5.0),
    "Boissons": (("Maison Vercel", "Source Claire", "Prix Pro"), 12.0),
}

# (category, product, list price €/kg, line kilos or None for the category default, popularity)
PRODUCTS: tuple[tuple[str, str, float, float | None, float], ...] = (
    ("Fromages", "Brie de Meaux", 14.0, None, 1.0),
    ("Fromages", "Comté 18 mois", 22.0, None, 0.9),
    ("Fromages", "Mozzarella", 8.5, 3.0, 1.4),
    ("Fromages", "Parmigiano Reggiano", 21.0, 1.5, 0.8),
    ("Fromages", "Emmental râpé", 8.0, 3.0, 1.3),
    ("Fromages", "Roquefort", 24.0, 1.0, 0.4),
    ("Fromages", "Bûche de chèvre", 15.0, None, 0.7),
    ("Fromages", "Camembert", 11.0, None, 0.8),
    ("Fromages", "Raclette", 13.0, 3.0, 0.5),
    ("Fromages", "Reblochon", 16.0, None, 0.4),
    ("Fromages", "Burrata", 18.0, 1.0, 0.5),
    ("Fromages", "Gorgonzola", 14.0, 1.0, 0.4),
    ("Fromages", "Morbier", 15.0, None, 0.3),
    ("Charcuterie", "Jambon de Bayonne", 24.0, None, 0.8),
    ("Charcuterie", "Jambon blanc", 12.0, 2.5, 1.3),
    ("Charcuterie", "Saucisson sec", 20.0, 1.0, 0.7),
    ("Charcuterie", "Chorizo", 16.0, 1.0, 0.6),
    ("Charcuterie", "Lardons fumés", 9.0, 3.0, 1.2),
    ("Charcuterie", "Rosette de Lyon", 17.0, 1.0, 0.4),
    ("Charcuterie", "Pancetta", 18.0, 1.0, 0.4),
    ("Charcuterie", "Prosciutto crudo", 30.0, 1.0, 0.5),
    ("Charcuterie", "Pâté de campagne", 10.0, 2.0, 0.5),
    ("Charcuterie", "Rillettes", 11.0, 1.5, 0.4),
    ("Charcuterie", "Coppa", 26.0, 1.0, 0.3),
    ("Boulangerie", "Baguette tradition", 4.5, 4.0, 1.6),
    ("Boulangerie", "Croissant au beurre", 9.0, 2.0, 1.1),
    ("Boulangerie", "Pain au chocolat", 10.0, 2.0, 0.9),
    ("Boulangerie", "Pain de campagne", 5.0, None, 0.7),
    ("Boulangerie", "Brioche tressée", 8.0, 1.5, 0.5),
    ("Boulangerie", "Pain de mie", 4.0, None, 0.8),
    ("Boulangerie", "Ciabatta", 6.0, 2.0, 0.5),
    ("Boulangerie", "Baguette précuite", 3.5, 5.0, 1.0),
    ("Boulangerie", "Pain burger", 5.0, None, 0.7),
    ("Crèmerie", "Beurre doux", 9.0, 3.0, 1.5),
    ("Crèmerie", "Beurre AOP Charentes", 13.0, 2.0, 0.5),
    ("Crèmerie", "Crème fraîche épaisse", 5.0, None, 1.2),
    ("Crèmerie", "Crème liquide 35%", 4.5, 6.0, 1.2),
    ("Crèmerie", "Lait demi-écrémé UHT", 0.9, 12.0, 1.3),
    ("Crèmerie", "Œufs frais", 4.0, 6.0, 1.2),
    ("Crèmerie", "Yaourt nature", 2.5, None, 0.6),
    ("Crèmerie", "Mascarpone", 7.0, 2.0, 0.5),
    ("Crèmerie", "Ricotta", 6.0, 2.0, 0.4),
    ("Huiles", "Huile de tournesol", 2.0, 20.0, 1.3),
    ("Huiles", "Huile d'olive vierge extra", 9.0, 5.0, 1.0),
    ("Huiles", "Huile de friture", 1.8, 20.0, 0.9),
    ("Huiles", "Vinaigre balsamique", 6.0, 2.0, 0.5),
    ("Huiles", "Huile de colza", 2.2, None, 0.6),
    ("Épicerie", "Farine T55", 0.8, 25.0, 1.2),
    ("Épicerie", "Farine T00", 1.2, 25.0, 0.8),
    ("Épicerie", "Farine T65", 0.9, 25.0, 0.5),
    ("Épicerie", "Levure boulangère", 4.0, 1.0, 0.5),
    ("Épicerie", "Sucre semoule", 1.1, 10.0, 0.9),
    ("Épicerie", "Sel fin", 0.5, 5.0, 0.7),
    ("Épicerie", "Tomates pelées", 1.6, 10.0, 1.1),
    ("Épicerie", "Sauce tomate pizza", 2.2, None, 0.8),
    ("Épicerie", "Penne rigate", 1.6, 5.0, 1.0),
    ("Épicerie", "Spaghetti", 1.7, 5.0, 1.0),
    ("Épicerie", "Riz basmati", 2.5, 5.0, 0.8),
    ("Épicerie", "Olives noires", 7.0, 2.0, 0.5),
    ("Surgelés", "Frites surgelées", 1.6, 15.0, 1.3),
    ("Surgelés", "Frites coupe fine", 2.2, 10.0, 0.7),
    ("Surgelés", "Légumes pour wok", 3.0, None, 0.6),
    ("Surgelés", "Épinards hachés", 2.5, None, 0.5),
    ("Surgelés", "Pavés de saumon", 18.0, 3.0, 0.6),
    ("Surgelés", "Crevettes décortiquées", 16.0, 2.0, 0.5),
    ("Surgelés", "Glace vanille", 6.0, 4.0, 0.6),
    ("Surgelés", "Croissant cru surgelé", 7.0, 5.0, 0.7),
    ("Surgelés", "Steak haché", 9.0, None, 0.9),
    ("Boissons", "Eau minérale", 0.35, 18.0, 1.3),
    ("Boissons", "Eau gazeuse", 0.5, 18.0, 1.0),
    ("Boissons", "Jus d'orange", 1.8, 12.0, 0.9),
    ("Boissons", "Cola", 1.2, 12.0, 1.0),
    ("Boissons", "Limonade artisanale", 1.6, None, 0.5),
    ("Boissons", "Café en grains", 18.0, 2.0, 0.8),
    ("Boissons", "Thé noir", 25.0, 0.5, 0.3),
    ("Boissons", "Sirop de grenadine", 3.0, 3.0, 0.4),
)


@dataclass(frozen=True)
class Catalog:
    """The demo catalogue: ERP item table plus the hidden generation attributes.

    Arrays are aligned with ``items`` rows (item index = row number).
    """

    items: pl.DataFrame  # Item_CD, Item_TX, BrandL1_TX, CategoryL1_TX
    product: tuple[str, ...]  # product name without brand (e.g. "Brie de Meaux")
    price_per_kg: np.ndarray  # float64 list price per kilo
    line_kg: np.ndarray  # float64 typical kilos on one line for a mid-size customer
    popularity: np.ndarray  # float64 relative base popularity
    tier: np.ndarray  # int8 index into TIERS
    category: np.ndarray  # int8 index into CATEGORY_NAMES

    @property
    def n_items(self) -> int:
        """Number of items."""
        return self.items.height

    def find(self, product: str) -> np.ndarray:
        """Indices of the items (brand variants) of ``product``."""
        idx = np.flatnonzero(np.asarray(self.product) == product)
        if idx.size == 0:
            raise KeyError(f"unknown product {product!r}")
        return idx


#: Category names in catalogue order.
CATEGORY_NAMES: tuple[str, ...] = tuple(CATEGORIES)


@lru_cache(maxsize=1)
def build_catalog() -> Catalog:
    """Build the catalogue deterministically (cached; the result is immutable).

    A product is offered by the private label and by each brand of its category except a
    deterministic subset, so that not every product exists in every brand.
    """
    codes: list[str] = []
    names: list[str] = []
    brands: list[str] = []
    cats: list[str] = []
    product: list[str] = []
    price: list[float] = []
    line_kg: list[float] = []
    pop: list[float] = []
    tier: list[int] = []
    for p_idx, (cat, name, list_price, kg, popularity) in enumerate(PRODUCTS):
        cat_brands, default_kg = CATEGORIES[cat]
        offered = [PRIVATE_LABEL] + [
            b for j, b in enumerate(cat_brands) if (p_idx + j) % 4 != 3 or j == 0
        ]
        for variant, brand in enumerate(offered, start=1):
            b_tier, mult = BRANDS[brand]
            codes.append(f"{200000 + 10 * p_idx + variant}")
            names.append(f"{name} {brand}" if brand != PRIVATE_LABEL else f"{name} LS")
            brands.append(brand)
            cats.append(cat)
            product.append(name)
            price.append(round(list_price * mult, 2))
            line_kg.append(kg if kg is not None else default_kg)
            pop.append(popularity)
            tier.append(TIERS.index(b_tier))
    items = pl.DataFrame(
        {"Item_CD": codes, "Item_TX": names, "BrandL1_TX": brands, "CategoryL1_TX": cats},
        schema={
            "Item_CD": pl.String,
            "Item_TX": pl.String,
            "BrandL1_TX": pl.String,
            "CategoryL1_TX": pl.String,
        },
    )
    return Catalog(
        items=items,
        product=tuple(product),
        price_per_kg=np.asarray(price, dtype=np.float64),
        line_kg=np.asarray(line_kg, dtype=np.float64),
        popularity=np.asarray(pop, dtype=np.float64),
        tier=np.asarray(tier, dtype=np.int8),
        category=np.asarray([CATEGORY_NAMES.index(c) for c in cats], dtype=np.int8),
    )

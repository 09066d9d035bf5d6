"""Behavioural personas of the synthetic ledgers: the planted truth the pipeline should recover.

Each persona fixes the centre of heavy-tailed, overlapping customer distributions (order rate,
basket size, kilos per line, price discounts), its seasonality, its product mix (category and
brand-tier weights) and its planted product affinities. :data:`PERSONAS` are the four of the
demo ledger; :data:`EXTRA_PERSONAS` are two more that the generated family
(:mod:`basketlens.synth.family`) adds.

Example:
    >>> from basketlens.synth.personas import EXTRA_PERSONAS, PERSONAS
    >>> [p.name for p in PERSONAS]
    ['restaurant', 'wholesale', 'premium_deli', 'occasional_shop']
    >>> round(sum(p.share for p in PERSONAS), 6)
    1.0
    >>> [p.name for p in EXTRA_PERSONAS]
    ['bakery', 'bar_cafe']
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Affinity:
    """A planted rule: orders holding every ``antecedent`` product get ``consequent``.

    ``trigger`` is the probability that an order of the persona is given the antecedent
    products; ``strength`` the probability that an order holding them gets the consequent.
    Products are names from :data:`basketlens.synth.catalog.PRODUCTS`; the variant (brand)
    is the persona's most likely one.
    """

    antecedent: tuple[str, ...]
    consequent: str
    strength: float
    trigger: float


@dataclass(frozen=True)
class Persona:
    """Parameters of one customer persona (medians; customers scatter around them)."""

    name: str
    share: float  # share of customers
    orders_per_month: float  # median order rate of a customer
    rate_sigma: float  # lognormal spread of the customer order rate
    lines_per_order: float  # median lines per order
    repertoire: int  # median number of the customer's habitual items (draws, repeats allowed)
    kilo_multiplier: float  # kilos per line relative to the catalogue's typical line
    kilo_sigma: float  # lognormal spread of the customer's kilo scale
    discount: float  # base customer discount on list price
    discount_per_log_volume: float  # extra discount per unit of log volume index
    churn: float  # probability the customer stops ordering during the period
    late_start: float  # probability the customer starts during the period
    month_factors: tuple[float, ...]  # 12 relative order intensities, January first
    category_weights: dict[str, float]
    tier_weights: dict[str, float]
    name_templates: tuple[str, ...]  # "{surname}", "{place}" or "{italian}" placeholders
    chain_share: float  # share of customers belonging to a parent chain
    affinities: tuple[Affinity, ...]


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="restaurant",
        share=0.35,
        orders_per_month=3.6,
        rate_sigma=0.45,
        lines_per_order=4.5,
        repertoire=30,
        kilo_multiplier=1.0,
        kilo_sigma=0.40,
        discount=0.03,
        discount_per_log_volume=0.02,
        churn=0.10,
        late_start=0.10,
        month_factors=(0.8, 0.8, 0.9, 1.0, 1.1, 1.3, 1.4, 1.4, 1.1, 1.0, 0.9, 1.1),
        category_weights={
            "Fromages": 1.0,
            "Charcuterie": 0.8,
            "Boulangerie": 0.8,
            "Crèmerie": 1.1,
            "Huiles": 0.7,
            "Épicerie": 1.1,
            "Surgelés": 0.9,
            "Boissons": 0.7,
        },
        tier_weights={"premium": 0.5, "standard": 1.0, "value": 0.5, "private": 0.9},
        name_templates=(
            "Restaurant {surname}",
            "Brasserie {place}",
            "Pizzeria {italian}",
            "Bistro {place}",
            "Hotel {place}",
            "Le Comptoir {place}",
            "Trattoria {italian}",
            "Crêperie {place}",
        ),
        chain_share=0.25,
        affinities=(
            Affinity(("Mozzarella", "Tomates pelées"), "Farine T00", 0.70, 0.05),
            Affinity(("Crème liquide 35%",), "Lardons fumés", 0.55, 0.04),
            Affinity(("Parmigiano Reggiano",), "Spaghetti", 0.55, 0.03),
        ),
    ),
    Persona(
        name="wholesale",
        share=0.15,
        orders_per_month=4.3,
        rate_sigma=0.30,
        lines_per_order=9.0,
        repertoire=45,
        kilo_multiplier=8.0,
        kilo_sigma=0.55,
        discount=0.12,
        discount_per_log_volume=0.04,
        churn=0.05,
        late_start=0.05,
        month_factors=(1.0, 0.9, 1.0, 1.0, 1.0, 1.1, 1.1, 1.0, 1.0, 1.0, 1.0, 1.1),
        category_weights={
            "Fromages": 0.5,
            "Charcuterie": 0.4,
            "Boulangerie": 0.6,
            "Crèmerie": 0.8,
            "Huiles": 1.4,
            "Épicerie": 1.4,
            "Surgelés": 1.5,
            "Boissons": 1.3,
        },
        tier_weights={"premium": 0.05, "standard": 0.6, "value": 1.4, "private": 1.2},
        name_templates=(
            "{place} Distribution",
            "Grossiste {surname}",
            "Cash {place}",
            "Cuisine centrale {place}",
            "Restauration collective {place}",
            "Cantine {place}",
        ),
        chain_share=0.30,
        affinities=(
            Affinity(("Huile de tournesol",), "Frites surgelées", 0.70, 0.02),
            Affinity(("Farine T55",), "Levure boulangère", 0.60, 0.02),
            Affinity(("Steak haché",), "Pain burger", 0.60, 0.02),
        ),
    ),
    Persona(
        name="premium_deli",
        share=0.25,
        orders_per_month=2.4,
        rate_sigma=0.45,
        lines_per_order=4.0,
        repertoire=22,
        kilo_multiplier=0.35,
        kilo_sigma=0.45,
        discount=0.0,
        discount_per_log_volume=0.01,
        churn=0.10,
        late_start=0.10,
        month_factors=(0.8, 0.8, 0.9, 1.0, 0.9, 0.9, 0.8, 0.7, 0.9, 1.0, 1.2, 1.9),
        category_weights={
            "Fromages": 1.7,
            "Charcuterie": 1.5,
            "Boulangerie": 0.9,
            "Crèmerie": 0.7,
            "Huiles": 0.6,
            "Épicerie": 0.35,
            "Surgelés": 0.15,
            "Boissons": 0.4,
        },
        tier_weights={"premium": 2.2, "standard": 0.5, "value": 0.03, "private": 0.1},
        name_templates=(
            "Fromagerie {surname}",
            "Épicerie fine {surname}",
            "Maison {surname}",
            "Traiteur {surname}",
            "Cave et Comptoir {place}",
            "Le Garde-Manger {place}",
        ),
        chain_share=0.15,
        affinities=(
            Affinity(("Brie de Meaux",), "Baguette tradition", 0.65, 0.05),
            Affinity(("Comté 18 mois",), "Jambon de Bayonne", 0.60, 0.05),
            Affinity(("Burrata",), "Huile d'olive vierge extra", 0.55, 0.03),
        ),
    ),
    Persona(
        name="occasional_shop",
        share=0.25,
        orders_per_month=0.55,
        rate_sigma=0.45,
        lines_per_order=2.8,
        repertoire=12,
        kilo_multiplier=0.55,
        kilo_sigma=0.55,
        discount=0.0,
        discount_per_log_volume=0.0,
        churn=0.30,
        late_start=0.15,
        month_factors=(1.0, 0.9, 1.0, 1.0, 1.0, 1.1, 1.2, 1.2, 1.0, 0.9, 0.9, 1.1),
        category_weights={
            "Fromages": 0.6,
            "Charcuterie": 0.5,
            "Boulangerie": 1.3,
            "Crèmerie": 1.3,
            "Huiles": 0.4,
            "Épicerie": 0.9,
            "Surgelés": 0.6,
            "Boissons": 1.2,
        },
        tier_weights={"premium": 0.2, "standard": 1.0, "value": 1.0, "private": 1.0},
        name_templates=(
            "Boulangerie {surname}",
            "Alimentation {surname}",
            "Superette {place}",
            "Épicerie {surname}",
            "Snack {place}",
            "Tabac-Presse {place}",
        ),
        chain_share=0.05,
        affinities=(
            Affinity(("Baguette précuite",), "Jambon blanc", 0.55, 0.06),
            Affinity(("Lait demi-écrémé UHT",), "Œufs frais", 0.50, 0.05),
        ),
    ),
)

#: Persona names of the demo ledger, in order.
PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)

#: Two more personas for the generated family: a bakery (frequent, flour, butter and cream)
#: and a café-bar (drinks). Their shares are relative to the demo's (the family renormalises).
EXTRA_PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="bakery",
        share=0.15,
        orders_per_month=9.0,
        rate_sigma=0.35,
        lines_per_order=3.0,
        repertoire=18,
        kilo_multiplier=2.2,
        kilo_sigma=0.40,
        discount=0.05,
        discount_per_log_volume=0.02,
        churn=0.06,
        late_start=0.08,
        month_factors=(0.9, 0.9, 1.0, 1.1, 1.0, 0.9, 0.8, 0.8, 1.0, 1.0, 1.1, 1.5),
        category_weights={
            "Fromages": 0.2,
            "Charcuterie": 0.15,
            "Boulangerie": 0.3,
            "Crèmerie": 1.8,
            "Huiles": 0.4,
            "Épicerie": 2.0,
            "Surgelés": 0.7,
            "Boissons": 0.15,
        },
        tier_weights={"premium": 0.3, "standard": 1.0, "value": 0.6, "private": 1.3},
        name_templates=(
            "Boulangerie-Pâtisserie {surname}",
            "Pâtisserie {surname}",
            "Au Fournil {place}",
            "Maison {surname} Pâtissier",
        ),
        chain_share=0.10,
        affinities=(
            Affinity(("Farine T55",), "Beurre doux", 0.60, 0.05),
            Affinity(("Crème liquide 35%",), "Sucre semoule", 0.55, 0.04),
        ),
    ),
    Persona(
        name="bar_cafe",
        share=0.20,
        orders_per_month=1.6,
        rate_sigma=0.40,
        lines_per_order=6.5,
        repertoire=20,
        kilo_multiplier=3.0,
        kilo_sigma=0.45,
        discount=0.02,
        discount_per_log_volume=0.02,
        churn=0.12,
        late_start=0.10,
        month_factors=(0.7, 0.7, 0.8, 0.9, 1.1, 1.4, 1.6, 1.6, 1.1, 0.9, 0.7, 0.9),
        category_weights={
            "Fromages": 0.4,
            "Charcuterie": 0.5,
            "Boulangerie": 0.8,
            "Crèmerie": 0.6,
            "Huiles": 0.15,
            "Épicerie": 0.3,
            "Surgelés": 0.5,
            "Boissons": 2.6,
        },
        tier_weights={"premium": 0.6, "standard": 1.2, "value": 0.5, "private": 0.6},
        name_templates=(
            "Café {place}",
            "Bar {place}",
            "Le Bistrot {surname}",
            "Café des Sports {place}",
        ),
        chain_share=0.10,
        affinities=(
            Affinity(("Café en grains",), "Sirop de grenadine", 0.50, 0.05),
            Affinity(("Cola",), "Limonade artisanale", 0.50, 0.04),
        ),
    ),
)

"""The demo customer table: plausible names from the persona templates, and parent chains.

Example:
    >>> import numpy as np
    >>> from basketlens.synth.personas import PERSONAS
    >>> t = customer_table(np.random.default_rng(0), np.array([0, 1, 2, 3]), PERSONAS)
    >>> t.columns
    ['SoldToCustomer_CD', 'Customer_TX', 'ParentCustomer_CD']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from basketlens.synth.personas import Persona

SURNAMES: tuple[str, ...] = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
)
PLACES: tuple[str, ...] = (
    "Atlantic",
    "du Port",
    "de la Gare",
    "du Marché",
    "des Halles",
    "Saint-Michel",
    "Bellevue",
    "du Centre",
    "Riviera",
    "Montmartre",
    "des Alpes",
    "du Lac",
    "Provence",
    "Bretagne",
    "des Arts",
    "du Parc",
    "de la Place",
    "des Vignes",
    "du Pont",
    "Belle Époque",
)
#: Cities appended to the names of the members of a parent chain ("Hotel Atlantic Nantes").
CITIES: tuple[str, ...] = (
    "Paris",
    "Lyon",
    "Marseille",
    "Toulouse",
    "Nice",
    "Nantes",
    "Strasbourg",
    "Montpellier",
    "Bordeaux",
    "Lille",
    "Rennes",
    "Reims",
    "Grenoble",
    "Dijon",
    "Angers",
    "Tours",
    "Annecy",
    "Biarritz",
    "Brest",
    "Metz",
)
ITALIAN: tuple[str, ...] = (
    "Roma",
    "Napoli",
    "Milano",
    "Venezia",
    "Firenze",
    "Da Luigi",
    "Bella Vita",
    "Sorrento",
    "Da Marco",
    "Il Forno",
    "La Dolce Vita",
    "Toscana",
    "Capri",
    "Sicilia",
    "Portofino",
)

#: First parent-chain code (chains are numbered from here).
CHAIN_BASE = 900_001
CUSTOMERS_SCHEMA = pl.Schema(
    {"SoldToCustomer_CD": pl.String, "Customer_TX": pl.String, "ParentCustomer_CD": pl.String}
)


def customer_table(
    rng: np.random.Generator,
    persona: np.ndarray,
    personas: Sequence[Persona],
    *,
    first_code: int = 100_001,
) -> pl.DataFrame:
    """ERP customer table for customers with indices ``persona`` into ``personas``.

    Names come from the persona templates; a share of customers (``chain_share``) is grouped
    in parent chains of 2–8 members sharing ``ParentCustomer_CD`` and a brand name followed by
    a city. Independents are their own parent.

    Example:
        >>> from basketlens.synth.personas import PERSONAS
        >>> t = customer_table(np.random.default_rng(0), np.array([0, 1, 2, 3]), PERSONAS)
        >>> t.height
        4
    """
    n = persona.size
    codes = [str(first_code + i) for i in range(n)]
    names: list[str] = []
    fill = {
        "surname": rng.integers(0, len(SURNAMES), n),
        "place": rng.integers(0, len(PLACES), n),
        "italian": rng.integers(0, len(ITALIAN), n),
    }
    tpl_draw = rng.random(n)
    for i, p in enumerate(persona):
        templates = personas[p].name_templates
        tpl = templates[int(tpl_draw[i] * len(templates))]
        names.append(
            tpl.format(
                surname=SURNAMES[fill["surname"][i]],
                place=PLACES[fill["place"][i]],
                italian=ITALIAN[fill["italian"][i]],
            )
        )
    parents = list(codes)
    chain_no = 0
    for p_idx, p in enumerate(personas):
        members = np.flatnonzero((persona == p_idx) & (rng.random(n) < p.chain_share))
        pos = 0
        while members.size - pos >= 2:
            size = min(int(rng.integers(2, 9)), members.size - pos)
            chain = members[pos : pos + size]
            brand = names[chain[0]]
            first_city = int(rng.integers(0, len(CITIES)))
            for j, m in enumerate(chain):
                parents[m] = str(CHAIN_BASE + chain_no)
                names[m] = f"{brand} {CITIES[(first_city + j) % len(CITIES)]}"
            chain_no += 1
            pos += size
    return pl.DataFrame(
        {"SoldToCustomer_CD": codes, "Customer_TX": names, "ParentCustomer_CD": parents},
        schema=CUSTOMERS_SCHEMA,
    )

"""The family of generated persona sets: how many personas, how far apart, and on what.

The demo personas (:data:`~basketlens.synth.personas.PERSONAS`) are realistic rather than
tidy: a restaurant and a premium deli order much the same volumes and differ in what they buy.
A family member meant to test whether segmentation finds *n* personas that differ in volume
only needs personas that do differ in volume. :data:`ARCHETYPES` are therefore the six
personas (the demo's four, a bakery and a café-bar, with their names, seasonality, chains and
affinities) with volume and mix parameters laid out so that, as designed, every pair differs
clearly in both:

==================  ============  ===========  ===========  ==================================
archetype           orders/month  lines/order  kilos/line   mix (category; brand tier)
==================  ============  ===========  ===========  ==================================
restaurant          6             6            1.0 x        groceries, cheese, oils; standard
wholesale           4             12           10 x         frozen, oils, drinks; value, own
premium_deli        3             3            0.2 x        cheese, charcuterie; premium
occasional_shop     0.4           3            0.8 x        bakery, drinks, dairy; any
bakery              20            2.5          2 x          groceries (flour), dairy; own
bar_cafe            1.2           10           3 x          drinks; standard
==================  ============  ===========  ===========  ==================================

Every archetype has the same customer spreads (order rate 0.35, kilos per line 0.40, log
scale). :func:`persona_family` takes the first ``n`` archetypes
(``n=None``: the demo personas) and reshapes them:

* ``differ="volume"`` gives every persona the average product mix (category and brand-tier
  weights), so they differ only in order rate, basket and line sizes, terms and timing;
  ``differ="mix"`` gives every persona the average volume parameters, so they differ only in
  what they buy; ``"both"`` keeps the designs.
* ``overlap`` moves every persona that fraction of the way towards the average persona:
  geometrically for scale parameters (order rate, lines per order, kilos per line, repertoire),
  linearly for spreads, rates, seasonality and mix weights.

The average persona is the unweighted mean over the chosen ones (normalised mix weights).

Example:
    >>> [p.name for p in persona_family(2)]
    ['restaurant', 'wholesale']
    >>> pair = persona_family(2, differ="mix")
    >>> pair[0].orders_per_month == pair[1].orders_per_month
    True
    >>> pair[0].category_weights == pair[1].category_weights
    False
    >>> persona_family(None) == PERSONAS
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from basketlens.synth.catalog import CATEGORY_NAMES, TIERS
from basketlens.synth.personas import EXTRA_PERSONAS, PERSONAS, Persona

#: Scale parameters: averaged and interpolated in log space.
_GEOMETRIC = ("orders_per_month", "lines_per_order", "kilo_multiplier", "repertoire")
#: Spreads, rates and terms: averaged and interpolated linearly.
_LINEAR = (
    "rate_sigma",
    "kilo_sigma",
    "discount",
    "discount_per_log_volume",
    "churn",
    "late_start",
)
#: Parameters of the product mix (dicts of weights).
_MIX = ("category_weights", "tier_weights")

#: Customer spreads (lognormal, log scale) shared by every archetype.
RATE_SIGMA = 0.35
KILO_SIGMA = 0.40


def _weights(names: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    return dict(zip(names, values, strict=True))


# name -> (orders per month, lines per order, kilo multiplier, category weights in the order of
# CATEGORY_NAMES, brand-tier weights in the order of TIERS)
_DESIGN: dict[str, tuple[float, float, float, tuple[float, ...], tuple[float, ...]]] = {
    "restaurant": (
        6.0,
        6.0,
        1.0,
        (1.5, 0.4, 0.4, 0.5, 1.2, 1.8, 0.4, 0.3),
        (0.5, 1.2, 0.4, 0.8),
    ),
    "wholesale": (
        4.0,
        12.0,
        10.0,
        (0.2, 0.2, 0.3, 0.4, 1.5, 1.0, 2.0, 1.2),
        (0.05, 0.5, 1.5, 1.2),
    ),
    "premium_deli": (
        3.0,
        3.0,
        0.2,
        (2.0, 2.0, 0.4, 0.3, 0.2, 0.2, 0.1, 0.2),
        (2.2, 0.5, 0.03, 0.1),
    ),
    "occasional_shop": (
        0.4,
        3.0,
        0.8,
        (0.3, 0.3, 2.0, 1.0, 0.3, 0.4, 0.3, 1.3),
        (0.2, 1.0, 1.0, 1.0),
    ),
    "bakery": (
        20.0,
        2.5,
        2.0,
        (0.15, 0.15, 0.3, 2.0, 0.3, 2.0, 0.5, 0.15),
        (0.3, 1.0, 0.6, 1.3),
    ),
    "bar_cafe": (
        1.2,
        10.0,
        3.0,
        (0.3, 0.4, 0.6, 0.4, 0.1, 0.2, 0.3, 3.0),
        (0.6, 1.2, 0.5, 0.6),
    ),
}


def _archetype(base: Persona) -> Persona:
    rate, lines, kilo, categories, tiers = _DESIGN[base.name]
    return replace(
        base,
        orders_per_month=rate,
        lines_per_order=lines,
        kilo_multiplier=kilo,
        rate_sigma=RATE_SIGMA,
        kilo_sigma=KILO_SIGMA,
        category_weights=_weights(CATEGORY_NAMES, categories),
        tier_weights=_weights(TIERS, tiers),
    )


#: The six personas of the generated family, in the order the family takes them.
ARCHETYPES: tuple[Persona, ...] = tuple(_archetype(p) for p in PERSONAS + EXTRA_PERSONAS)


def persona_family(
    n: int | None = None, *, overlap: float = 0.0, differ: str = "both"
) -> tuple[Persona, ...]:
    """The personas of a generated ledger (parameters assumed valid: see SynthOptions).

    ``n=None`` starts from the demo personas, ``n`` from the first ``n`` archetypes.

    Example:
        >>> close = persona_family(2, overlap=0.5)
        >>> round(close[0].kilo_multiplier, 3), round(close[1].kilo_multiplier, 3)
        (1.778, 5.623)
    """
    chosen = PERSONAS if n is None else ARCHETYPES[:n]
    if overlap == 0.0 and differ == "both":
        return chosen
    centre = _centre(chosen)
    volume_fields = (*_GEOMETRIC, *_LINEAR, "month_factors")
    out = []
    for p in chosen:
        values: dict[str, Any] = {}
        if differ == "mix":
            values.update({f: centre[f] for f in volume_fields})
        else:
            values.update(_towards(p, centre, overlap, volume_fields))
        if differ == "volume":
            values.update({f: centre[f] for f in _MIX})
        else:
            values.update(_towards(p, centre, overlap, _MIX))
        values["repertoire"] = max(1, round(values["repertoire"]))
        out.append(replace(p, **values))
    return tuple(out)


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def _centre(personas: Sequence[Persona]) -> dict[str, Any]:
    """The average persona's parameters."""
    centre: dict[str, Any] = {}
    for f in _GEOMETRIC:
        centre[f] = float(np.exp(np.mean([np.log(getattr(p, f)) for p in personas])))
    for f in _LINEAR:
        centre[f] = float(np.mean([getattr(p, f) for p in personas]))
    centre["month_factors"] = tuple(
        float(v) for v in np.mean([p.month_factors for p in personas], axis=0)
    )
    for f in _MIX:
        shares = [_normalised(getattr(p, f)) for p in personas]
        centre[f] = {k: float(np.mean([s[k] for s in shares])) for k in shares[0]}
    return centre


def _towards(
    p: Persona, centre: dict[str, Any], overlap: float, names: Sequence[str]
) -> dict[str, Any]:
    """``p``'s parameters ``names`` moved the fraction ``overlap`` towards ``centre``."""
    keep = 1.0 - overlap
    out: dict[str, Any] = {}
    for f in names:
        own, mid = getattr(p, f), centre[f]
        if f in _GEOMETRIC:
            out[f] = float(np.exp(np.log(mid) + keep * (np.log(own) - np.log(mid))))
        elif f == "month_factors":
            out[f] = tuple(m + keep * (o - m) for o, m in zip(own, mid, strict=True))
        elif f in _MIX:
            mine = _normalised(own)
            out[f] = {k: mid[k] + keep * (mine[k] - mid[k]) for k in mine}
        else:
            out[f] = mid + keep * (own - mid)
    return out

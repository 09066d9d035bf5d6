"""The family of generated persona sets: how many personas, how far apart, and on what.

:func:`persona_family` takes the first ``n`` of :data:`~basketlens.synth.personas.ARCHETYPES`
and reshapes them:

* ``differ="volume"`` gives every persona the average product mix (category and brand-tier
  weights), so they differ only in order rate, basket and line sizes, terms and timing;
  ``differ="mix"`` gives every persona the average volume parameters, so they differ only in
  what they buy; ``"both"`` keeps the designs.
* ``overlap`` moves every persona that fraction of the way towards the average persona:
  geometrically for scale parameters (order rate, lines per order, kilos per line, repertoire),
  linearly for spreads, rates, seasonality and mix weights.
* ``tail`` multiplies the lognormal spreads of customer order rates and line sizes.

The average persona is the unweighted mean over the chosen ones (normalised mix weights).
The defaults (four personas, no overlap, tail 1, both) return the demo personas unchanged.

Example:
    >>> [p.name for p in persona_family(2)]
    ['restaurant', 'wholesale']
    >>> pair = persona_family(2, differ="mix")
    >>> pair[0].orders_per_month == pair[1].orders_per_month
    True
    >>> pair[0].category_weights == pair[1].category_weights
    False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from basketlens.synth.personas import ARCHETYPES, PERSONAS, Persona

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


def persona_family(
    n: int = len(PERSONAS), *, overlap: float = 0.0, tail: float = 1.0, differ: str = "both"
) -> tuple[Persona, ...]:
    """The ``n`` personas of a generated ledger (parameters assumed valid: see SynthOptions).

    Example:
        >>> persona_family() == PERSONAS
        True
        >>> close = persona_family(2, overlap=0.5)
        >>> round(close[0].kilo_multiplier, 3), round(close[1].kilo_multiplier, 3)
        (1.682, 4.757)
    """
    chosen = ARCHETYPES[:n]
    if overlap == 0.0 and differ == "both" and tail == 1.0:
        return chosen
    centre = _centre(chosen)
    out = []
    for p in chosen:
        values: dict[str, Any] = {}
        volume_fields = (*_GEOMETRIC, *_LINEAR, "month_factors")
        if differ == "mix":
            values.update({f: centre[f] for f in volume_fields})
        else:
            values.update(_towards(p, centre, overlap, volume_fields))
        if differ == "volume":
            values.update({f: centre[f] for f in _MIX})
        else:
            values.update(_towards(p, centre, overlap, _MIX))
        values["repertoire"] = max(1, round(values["repertoire"]))
        values["rate_sigma"] *= tail
        values["kilo_sigma"] *= tail
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

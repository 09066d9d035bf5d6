"""Options of the opportunities stage (the ``[recommend]`` section): the call list and the
recommendations.

Example:
    >>> RecommendOptions(top_n=0).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: top_n must be in [1, inf); got 0
    >>> RecommendOptions().include_variants
    False
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Boolean, Interval, Options, param


@dataclass(frozen=True)
class RecommendOptions(Options):
    """What is offered to each customer: the call list and the top-N recommendations."""

    section = "recommend"
    panel = "Recommendations"

    top_n: int = param(5, Interval(int, 1), "Items recommended per customer.", cli="--top-n")
    include_variants: bool = param(
        False,
        Boolean(),
        "Also offer variants: items of the same family as what the customer buys (another "
        "colour, size or brand; a piece completing a set), and rules of kind 'variant'.",
        cli="--variants",
        sets=True,
        flag_help="Also offer variants of what the customer buys (rules of kind 'variant').",
    )
    diversity: float = param(
        0.5,
        Interval(float, 0, 1, closed="right"),
        "Diminishing returns in the call-list ranking: the n-th call led by the same rule (or "
        "offering the same item) counts diversity^(n-1) of its value; 1 ranks by value alone.",
        cli="--diversity",
    )

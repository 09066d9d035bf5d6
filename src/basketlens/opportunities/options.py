"""Options of what is offered to each customer (the ``[recommend]`` section): the call list
(variants or not, diversity) and the recommendations — how many items per customer, over which
period their probability and value are stated, and the limits of the item–item models behind
them (:mod:`basketlens.recommender`). The currency named beside the amounts is the run's
(``[report] currency`` or the ledger layout's), passed to the stage by the pipeline.

Example:
    >>> RecommendOptions(top_n=0).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: top_n must be in [1, inf); got 0
    >>> RecommendOptions().include_variants
    False
    >>> RecommendOptions(horizon_months=6).validate().horizon_months
    6
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
    horizon_months: int = param(
        3,
        Interval(int, 1, 24),
        "Period of the purchase probability and the expected value, in months.",
        cli="--horizon-months",
    )
    candidates: int = param(
        30,
        Interval(int, 1, 1000),
        "Candidate items per customer from each item–item model before ranking.",
        cli="--candidates",
    )
    min_buyers: int = param(
        3,
        Interval(int, 1),
        "Items bought by fewer customers are left out of the item–item models.",
        cli="--min-buyers",
    )
    max_items: int = param(
        1500,
        Interval(int, 10, 20000),
        "At most this many of the most-bought items in the item–item models "
        "(EASE inverts a dense item × item matrix).",
        cli="--max-items",
    )
    neighbours: int = param(
        100,
        Interval(int, 1),
        "Neighbours kept per item by item-kNN.",
        cli="--neighbours",
    )

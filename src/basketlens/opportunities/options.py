"""Options of the recommendations (the ``[recommend]`` section): how many items per customer,
over which period their probability and value are stated, and the limits of the item–item
models behind them (:mod:`basketlens.recommender`). The currency named beside the amounts is
the run's (``[report] currency`` or the ledger layout's), passed to the stage by the pipeline.

Example:
    >>> RecommendOptions(top_n=0).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: top_n must be in [1, inf); got 0
    >>> RecommendOptions(horizon_months=6).validate().horizon_months
    6
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Interval, Options, param


@dataclass(frozen=True)
class RecommendOptions(Options):
    """How many never-bought items to recommend to each customer, and how they are ranked."""

    section = "recommend"
    panel = "Recommendations"

    top_n: int = param(5, Interval(int, 1), "Items recommended per customer.", cli="--top-n")
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

"""Options of the opportunities stage (the ``[recommend]`` section).

Example:
    >>> RecommendOptions(top_n=0).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: top_n must be in [1, inf); got 0
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Interval, Options, param


@dataclass(frozen=True)
class RecommendOptions(Options):
    """How many never-bought items to recommend to each customer."""

    section = "recommend"
    panel = "Recommendations"

    top_n: int = param(5, Interval(int, 1), "Items recommended per customer.", cli="--top-n")

"""Options of the synthetic ledger generator (``basketlens synth``, :func:`generate_ledger`).

One declaration gives the keyword parameters of :func:`basketlens.synth.generate_ledger`, their
validation and the flags of ``basketlens synth``. The family parameters (``personas``,
``overlap``, ``tail``, ``differ``) span the generated ledgers the segmentation benchmark
(``benchmarks/bench_segmentation.py``) is measured on (see :mod:`basketlens.synth.family`);
their defaults give the demo ledger.

Example:
    >>> SynthOptions(personas=1, differ="mix").validate().personas
    1
    >>> SynthOptions(n_customers=3, personas=4).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: n_customers must be >= 4 (one per persona); got 3
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Interval, OneOf, Options, param
from basketlens.errors import ParameterError

#: How the personas of a generated ledger differ: what each value keeps apart.
DIFFER_CHOICES: tuple[str, ...] = ("both", "volume", "mix")

#: Number of persona archetypes of the family (``basketlens.synth.family.ARCHETYPES``).
MAX_PERSONAS = 6

#: Number of personas of the demo ledger.
DEMO_PERSONAS = 4


@dataclass(frozen=True)
class SynthOptions(Options):
    """Size, period, seed and the persona family of a generated ledger."""

    section = "synth"
    panel = "Generated ledger"

    n_customers: int = param(
        600, Interval(int, 1, 1_000_000), "Number of customers.", cli="--customers"
    )
    n_lines: int | None = param(
        None,
        Interval(int, 1_000, 1_000_000_000, allow_none=True),
        "About this many sales lines (thins or scales the orders), e.g. 1000000.",
        cli="--lines",
        default_text="what the personas order (~175 lines per customer a year)",
    )
    months: int = param(12, Interval(int, 1, 120), "Months of sales.", cli="--months")
    seed: int = param(
        0, Interval(int, 0), "Random seed: the same seed gives the same files.", cli="--seed"
    )
    return_rate: float = param(
        0.02,
        Interval(float, 0.0, 0.5),
        "Share of lines returned (negative lines).",
        cli="--return-rate",
    )
    personas: int | None = param(
        None,
        Interval(int, 1, MAX_PERSONAS, allow_none=True),
        "Number of planted personas of the generated family: the first N of restaurant, "
        "wholesale, premium deli, occasional shop, bakery, café-bar, laid out to differ "
        "clearly in volume and in mix.",
        cli="--personas",
        default_text="the demo's four personas (restaurants and delis order alike)",
    )
    overlap: float = param(
        0.0,
        Interval(float, 0.0, 1.0, closed="left"),
        "How far each persona is moved towards the average persona (0: as designed; "
        "0.5: halfway, so their customers overlap more).",
        cli="--overlap",
    )
    tail: float = param(
        0.0,
        Interval(float, 0.0, 0.5),
        "Tail weight of customer sizes: the share of customers whose volume (order rate and "
        "line size) is multiplied by a Pareto draw (index 1.5: half of them above 1.6x, 1 in "
        "20 above 7x), a few very large accounts on top of the personas' spread.",
        cli="--tail",
    )
    differ: str = param(
        "both",
        OneOf(DIFFER_CHOICES),
        "What sets personas apart: volume (order rate, basket and line sizes, terms), mix "
        "(categories and brand tiers) or both.",
        cli="--differ",
    )

    @property
    def n_personas(self) -> int:
        """How many personas the ledger has (the demo has 4)."""
        return DEMO_PERSONAS if self.personas is None else self.personas

    def _check_together(self) -> None:
        if self.n_customers < self.n_personas:
            raise ParameterError(
                f"n_customers must be >= {self.n_personas} (one per persona); "
                f"got {self.n_customers}"
            )

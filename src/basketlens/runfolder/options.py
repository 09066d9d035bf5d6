"""Where a run is written (the ``[output]`` section).

Example:
    >>> OutputOptions().out
    'basketlens-out'
"""

from __future__ import annotations

from dataclasses import dataclass

from basketlens._params import Options, Text, param


@dataclass(frozen=True)
class OutputOptions(Options):
    """The output folder of a run."""

    section = "output"
    panel = "Output"

    out: str = param(
        "basketlens-out", Text(), "Output folder (created), e.g. out/.", cli=("--out", "-o")
    )

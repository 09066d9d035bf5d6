"""The honest verdict on a segmentation: ``"clear"`` or ``"weak"`` segment structure.

A segmentation is **clear** when its segments are both *separated* and *stable*:

* separation: the mean silhouette of the chosen segments (in the space that defined them)
  is at least :data:`MIN_SILHOUETTE`;
* stability: refits on bootstrap resamples agree, mean adjusted Rand index at least
  :data:`MIN_STABILITY`.

Otherwise it is **weak**: the ledger shows no clear segment structure, and the best split is
shown as a description of the spread of customers, not as distinct personas. The thresholds
were chosen on the generated family of ``benchmarks/bench_segmentation.py``, where every
one-persona ledger must come out weak and every planted multi-persona ledger clear; the
measured ranges are in ``docs/segmentation.md``.

Example:
    >>> verdict(silhouette=0.41, stability=0.97).label
    'clear'
    >>> verdict(silhouette=0.18, stability=0.93).label
    'weak'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Smallest mean silhouette of a clear segmentation.
MIN_SILHOUETTE = 0.25

#: Smallest bootstrap stability (mean ARI between refits) of a clear segmentation.
MIN_STABILITY = 0.8


@dataclass(frozen=True)
class Verdict:
    """``label`` ("clear" or "weak") and the reason in words."""

    label: str
    reason: str


def verdict(*, silhouette: float, stability: float) -> Verdict:
    """The verdict for a segmentation with this silhouette and stability (NaN counts as 0)."""
    sil = 0.0 if math.isnan(silhouette) else silhouette
    stab = 0.0 if math.isnan(stability) else stability
    problems = []
    if sil < MIN_SILHOUETTE:
        problems.append(f"segments overlap (silhouette {sil:.2f} < {MIN_SILHOUETTE})")
    if stab < MIN_STABILITY:
        problems.append(
            f"segments change between resamples (stability {stab:.2f} < {MIN_STABILITY})"
        )
    if problems:
        return Verdict("weak", "; ".join(problems))
    return Verdict(
        "clear",
        f"separated (silhouette {sil:.2f} >= {MIN_SILHOUETTE}) and stable "
        f"(stability {stab:.2f} >= {MIN_STABILITY})",
    )

"""The honest verdict on a segmentation: ``"clear"`` or ``"weak"`` segment structure.

A segmentation is **clear** when its segments are both *separated beyond chance* and
*stable*:

* separation beyond chance: the mean silhouette of the chosen segments exceeds, by at least
  :data:`MIN_EXCESS`, the silhouette the same clustering reaches with the same ``k`` on
  reference customers that form no segments but are spread like these (one Gaussian cloud
  with the same means and covariances: :func:`basketlens.segment.criteria.null_silhouette`,
  the null of SigClust, Liu et al. 2008). A silhouette alone cannot tell: one elongated cloud
  of customers split in two scores about as well as real segments that overlap — the
  reference is what tells them apart;
* stability: refits on bootstrap resamples agree, mean adjusted Rand index at least
  :data:`MIN_STABILITY`.

Otherwise it is **weak**: the ledger shows no clear segment structure, and the best split is
shown as a description of the spread of customers, not as distinct personas. The thresholds
were chosen on the generated family of ``benchmarks/bench_segmentation.py``, where every
one-persona ledger must come out weak and every planted multi-persona ledger clear; the
measured ranges are in ``docs/segmentation.md``.

Example:
    >>> verdict(silhouette=0.41, null_silhouette=0.22, stability=0.97).label
    'clear'
    >>> verdict(silhouette=0.21, null_silhouette=0.20, stability=0.93).label
    'weak'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Smallest silhouette excess over the reference without segments of a clear segmentation.
MIN_EXCESS = 0.04

#: Smallest bootstrap stability (mean ARI between refits) of a clear segmentation.
MIN_STABILITY = 0.7


@dataclass(frozen=True)
class Verdict:
    """``label`` ("clear" or "weak") and the reason in words."""

    label: str
    reason: str


def verdict(*, silhouette: float, null_silhouette: float, stability: float) -> Verdict:
    """The verdict for segments with this silhouette, reference silhouette and stability
    (an undefined value counts against clarity)."""
    excess = silhouette - null_silhouette
    excess = 0.0 if math.isnan(excess) else excess
    stab = 0.0 if math.isnan(stability) else stability
    problems = []
    if excess < MIN_EXCESS:
        problems.append(
            f"segments are no better separated than in customers without segments "
            f"(silhouette {silhouette:.2f} vs {null_silhouette:.2f})"
        )
    if stab < MIN_STABILITY:
        problems.append(
            f"segments change between resamples (stability {stab:.2f} < {MIN_STABILITY})"
        )
    if problems:
        return Verdict("weak", "; ".join(problems))
    return Verdict(
        "clear",
        f"better separated than customers without segments (silhouette {silhouette:.2f} vs "
        f"{null_silhouette:.2f}) and stable (stability {stab:.2f} >= {MIN_STABILITY})",
    )

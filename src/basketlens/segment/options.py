"""Options of the segment stage; :class:`CustomerSegmenter` takes exactly these parameters.

Example:
    >>> SegmentOptions(k=1).validate()
    Traceback (most recent call last):
    ...
    basketlens.errors.ParameterError: k must be in [2, inf); got 1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from basketlens._params import Boolean, Interval, OneOf, Options, TextList, param
from basketlens.errors import ParameterError


@dataclass(frozen=True)
class SegmentOptions(Options):
    """The ``[segment]`` section: features, k, preprocessing and k-means settings."""

    section = "segment"
    panel = "Segmentation"

    features: Sequence[str] | None = param(
        None,
        TextList(allow_none=True),
        "Feature columns to cluster on, comma-separated, e.g. "
        "total_quantity,total_net_sales,invoice_count.",
        cli="--features",
        split=",",
        default_text="the default feature set",
    )
    k: int | None = param(
        None,
        Interval(int, 2, allow_none=True),
        "Number of segments.",
        cli="--k",
        default_text="chosen automatically in k_min..k_max",
    )
    k_min: int = param(2, Interval(int, 2), "Smallest k tried.", cli="--k-min")
    k_max: int = param(
        10, Interval(int, 2), "Largest k tried (clipped to customers - 1).", cli="--k-max"
    )
    cap_quantile: float | None = param(
        0.99,
        Interval(float, 0.5, 1.0, closed="right", allow_none=True),
        "Cap each feature at this quantile and 1 minus it (none: no capping).",
        cli="--cap-quantile",
    )
    log_transform: bool = param(
        True,
        Boolean(),
        "log1p the features before scaling.",
        cli="--log-transform/--no-log-transform",
    )
    n_init: int = param(10, Interval(int, 1), "k-means++ restarts per k.")
    random_state: int = param(0, Interval(int, 0), "Seed of k-means and of sampling.")
    silhouette_sample: int = param(
        10_000, Interval(int, 100), "Silhouettes use a sample of at most this many customers."
    )
    order_by: str = param(
        "revenue",
        OneOf(("revenue", "size")),
        "Segment ids 0..k-1 by descending revenue or customer count.",
    )

    def _check_together(self) -> None:
        if self.k_max < self.k_min:
            raise ParameterError(
                f"k_max must be >= k_min; got k_min={self.k_min}, k_max={self.k_max}"
            )
        features = self.features
        if features is not None:
            if not features:
                raise ParameterError("features must name at least one column; got []")
            repeated = sorted({f for f in features if list(features).count(f) > 1})
            if repeated:
                raise ParameterError(f"features must not repeat a column; got {repeated} twice")

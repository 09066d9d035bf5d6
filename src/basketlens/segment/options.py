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

#: The k-selection criteria (``basketlens.segment.criteria.K_METHODS``, same order).
K_METHOD_NAMES: tuple[str, ...] = (
    "silhouette",
    "calinski_harabasz",
    "davies_bouldin",
    "gap",
    "bic",
    "stability",
    "stable_separation",
)

#: The default criterion, chosen on the generated family (docs/segmentation.md).
DEFAULT_K_METHOD = "stable_separation"

#: Feature transforms (``basketlens.segment.preprocess``).
TRANSFORMS: tuple[str, ...] = ("auto", "log", "none")


@dataclass(frozen=True)
class SegmentOptions(Options):
    """The ``[segment]`` section: features, k and how it is chosen, preprocessing, k-means."""

    section = "segment"
    panel = "Segmentation"

    features: Sequence[str] | None = param(
        None,
        TextList(allow_none=True),
        "Feature columns to cluster on, comma-separated; * matches any text, e.g. "
        "avg_monthly_orders,total_net_sales,category_share__*.",
        cli="--features",
        split=",",
        default_text="the default feature set (volume and purchase mix)",
    )
    k: int | None = param(
        None,
        Interval(int, 2, allow_none=True),
        "Number of segments.",
        cli="--k",
        default_text="chosen by k_method in k_min..k_max",
    )
    k_min: int = param(2, Interval(int, 2), "Smallest k tried.", cli="--k-min")
    k_max: int = param(
        10, Interval(int, 2), "Largest k tried (clipped to customers - 1).", cli="--k-max"
    )
    k_method: str = param(
        DEFAULT_K_METHOD,
        OneOf(K_METHOD_NAMES),
        "How k is chosen: stable_separation (the largest k that is stable and separated "
        "beyond chance), stability (bootstrap refits), gap (gap statistic), bic (Gaussian "
        "mixture), silhouette, calinski_harabasz or davies_bouldin; see "
        "docs/segmentation.md.",
        cli="--k-method",
    )
    cap_quantile: float | None = param(
        0.99,
        Interval(float, 0.5, 1.0, closed="right", allow_none=True),
        "Cap each feature at this quantile and 1 minus it (none: no capping).",
        cli="--cap-quantile",
    )
    transform: str = param(
        "auto",
        OneOf(TRANSFORMS),
        "Transform of each feature before scaling: auto (log where it makes the feature "
        "less skewed), log (every non-negative feature) or none.",
        cli="--transform",
    )
    weighting: bool = param(
        True,
        Boolean(),
        "Weight each feature by how well it separates the segments (features that do not "
        "tell segments apart fade out).",
        cli="--weighting/--no-weighting",
    )
    reliability_orders: float | None = param(
        5.0,
        Interval(float, 0.0, closed="neither", allow_none=True),
        "Weigh each customer by how reliable its averages are: n / (n + this), n its number "
        "of orders, so customers with a few orders do not pull the segments apart (none: "
        "every customer counts the same).",
        cli="--reliability-orders",
    )
    n_init: int = param(4, Interval(int, 1), "k-means++ restarts per k.")
    random_state: int = param(0, Interval(int, 0), "Seed of k-means and of sampling.")
    sample_size: int = param(
        3_000,
        Interval(int, 100),
        "k selection and stability use a sample of at most this many customers; the chosen k "
        "is refitted on everyone.",
    )
    stability_resamples: int = param(
        20,
        Interval(int, 2, 200),
        "Bootstrap refits whose agreement (mean adjusted Rand index) is the stability: half "
        "of them first, all of them for a k whose weakest segment's stability is within 0.1 "
        "of the 0.8 it must reach (where ten refits' noise would decide).",
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

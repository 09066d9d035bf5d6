"""Preprocessing of customer features before clustering: capping, a transform per feature
chosen from its distribution, scaling.

The steps run in this order and their fitted state is kept, so that new customers are placed
with the training caps, transforms and scaler:

1. **Capping** (winsorising): each feature is clipped to ``[q(1 - cap_quantile), q(cap_quantile)]``
   of the training data (both tails; the upper tail is the one that matters for sales data).
2. **Transform**, per feature. ``log`` is ``log(x + c)``: ``c = 0`` when every capped value is
   positive, else ``c`` = the 5th percentile of the positive values (zeros land one step
   below the small values, whatever the unit). With ``transform="auto"`` a feature is logged
   when its values are non-negative, at most half of them are 0 and the log makes its
   distribution less skewed (smaller absolute sample skewness); otherwise it is kept as is.
   ``"log"`` logs every non-negative feature, ``"none"`` none. A feature with a negative
   value is never logged; new customers' values below ``-c`` are clipped first.
3. **Standardisation** with scikit-learn's ``StandardScaler``; a constant feature has scale 1 and
   becomes all zeros, never NaN.

Example:
    >>> import numpy as np
    >>> X = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [100.0, 5.0]])
    >>> prep = FeaturePreprocessor(cap_quantile=0.75, transform="none").fit(X)
    >>> float(prep.upper_[0]), float(prep.upper_[1])
    (27.25, 5.0)
    >>> prep.transform(X)[:, 1].tolist()
    [0.0, 0.0, 0.0, 0.0]
    >>> skewed = np.exp(np.linspace(0, 6, 50))[:, None]
    >>> FeaturePreprocessor(cap_quantile=None).fit(skewed).describe()[0]["transform"]
    'log(x)'
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

from basketlens.errors import NotFittedError
from basketlens.segment.options import TRANSFORMS

__all__ = ["TRANSFORMS", "FeaturePreprocessor", "skewness"]


#: ``auto`` never logs a feature with a larger share of zeros than this.
MAX_ZERO_SHARE = 0.5

#: Percentile of the positive values used as the log offset when a feature has zeros.
OFFSET_PERCENTILE = 5.0


def skewness(x: np.ndarray) -> float:
    """Sample skewness (the biased moment estimator); 0 for a constant column.

    Example:
        >>> skewness(np.array([1.0, 1.0, 1.0]))
        0.0
        >>> round(skewness(np.array([0.0, 0.0, 0.0, 10.0])), 3)
        1.155
    """
    centred = x - x.mean()
    var = float(np.mean(centred**2))
    if var <= 0.0 or not np.isfinite(var):
        return 0.0
    return float(np.mean(centred**3) / var**1.5)


class FeaturePreprocessor:
    """Cap, transform (per feature) and standardise a numeric feature matrix.

    Parameters are assumed valid (the estimator validates them). ``cap_quantile=None``
    disables capping; ``transform`` is one of :data:`TRANSFORMS`.
    """

    def __init__(self, *, cap_quantile: float | None = 0.99, transform: str = "auto") -> None:
        self.cap_quantile = cap_quantile
        self.transform_kind = transform

    def fit(self, X: np.ndarray) -> FeaturePreprocessor:
        """Learn caps, the transform of each feature and the scaler from ``X``."""
        X = np.asarray(X, dtype=np.float64)
        if self.cap_quantile is None:
            self.lower_ = np.full(X.shape[1], -np.inf)
            self.upper_ = np.full(X.shape[1], np.inf)
        else:
            q = float(self.cap_quantile)
            # method="linear" (the numpy default) keeps caps inside the observed range.
            self.lower_ = np.quantile(X, 1.0 - q, axis=0)
            self.upper_ = np.quantile(X, q, axis=0)
        capped = np.clip(X, self.lower_, self.upper_)
        p = X.shape[1]
        self.log_mask_ = np.zeros(p, dtype=bool)
        self.offset_ = np.zeros(p)
        self.skew_raw_ = np.zeros(p)
        self.skew_used_ = np.zeros(p)
        for j in range(p):
            self._choose(j, capped[:, j])
        transformed = self._log(capped)
        self.scaler_ = StandardScaler().fit(transformed)
        # a feature with one value carries no information: it scales to exactly 0
        self.constant_ = transformed.max(axis=0) == transformed.min(axis=0)
        return self

    def _choose(self, j: int, x: np.ndarray) -> None:
        skew = skewness(x)
        self.skew_raw_[j] = self.skew_used_[j] = skew
        if self.transform_kind == "none" or x.size == 0 or x.min() < 0.0:
            return
        positive = x[x > 0.0]
        if positive.size == 0:
            return
        offset = 0.0 if x.min() > 0.0 else float(np.percentile(positive, OFFSET_PERCENTILE))
        logged_skew = skewness(np.log(x + offset))
        if self.transform_kind == "auto":
            zero_share = 1.0 - positive.size / x.size
            if zero_share > MAX_ZERO_SHARE or abs(logged_skew) >= abs(skew):
                return
        self.log_mask_[j] = True
        self.offset_[j] = offset
        self.skew_used_[j] = logged_skew

    def _log(self, X: np.ndarray) -> np.ndarray:
        if not self.log_mask_.any():
            return X
        out = X.copy()
        m = self.log_mask_
        # new customers may fall below the training range: clip to the smallest loggable value
        floor = np.where(self.offset_[m] > 0.0, 0.0, np.nextafter(0.0, 1.0))
        out[:, m] = np.log(np.maximum(out[:, m], floor) + self.offset_[m])
        return out

    def cap(self, X: np.ndarray) -> np.ndarray:
        """Clip ``X`` to the fitted caps."""
        self._check_fitted()
        return np.clip(np.asarray(X, dtype=np.float64), self.lower_, self.upper_)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Cap, transform and scale ``X`` with the fitted state."""
        out = np.asarray(self.scaler_.transform(self._log(self.cap(X))), dtype=np.float64)
        out[:, self.constant_] = 0.0
        return out

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit to ``X`` and return it transformed."""
        return self.fit(X).transform(X)

    def describe(self) -> list[dict[str, Any]]:
        """Per feature (in column order): the transform applied and the skewness before and
        after it (for ``run.json``); ``transform`` reads ``"log(x)"``, ``"log(x + 0.5)"`` or
        ``"none"``."""
        self._check_fitted()
        out = []
        for j in range(self.log_mask_.size):
            if self.log_mask_[j]:
                c = float(self.offset_[j])
                text = "log(x)" if c == 0.0 else f"log(x + {c:.4g})"
            else:
                text = "none"
            out.append(
                {
                    "transform": text,
                    "skew_before": round(float(self.skew_raw_[j]), 4),
                    "skew_after": round(float(self.skew_used_[j]), 4),
                    "cap_low": _finite_or_none(self.lower_[j]),
                    "cap_high": _finite_or_none(self.upper_[j]),
                }
            )
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "scaler_"):
            raise NotFittedError(
                "This FeaturePreprocessor is not fitted yet; call fit(X) before transform."
            )


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None

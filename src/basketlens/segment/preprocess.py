"""Preprocessing of customer features before clustering: quantile capping, log1p, scaling.

The steps run in this order and their fitted state is kept, so that new customers are placed
with the training caps and scaler:

1. **Capping** (winsorising): each feature is clipped to ``[q(1 - cap_quantile), q(cap_quantile)]``
   of the training data (both tails; the upper tail is the one that matters for sales data).
2. **log1p** (optional) on features whose training values are all non-negative; values of new
   customers below zero are clipped to zero first.
3. **Standardisation** with scikit-learn's ``StandardScaler``; a constant feature has scale 1 and
   becomes all zeros, never NaN.

Example:
    >>> import numpy as np
    >>> X = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [100.0, 5.0]])
    >>> prep = FeaturePreprocessor(cap_quantile=0.75, log_transform=False).fit(X)
    >>> float(prep.upper_[0]), float(prep.upper_[1])
    (27.25, 5.0)
    >>> prep.transform(X)[:, 1].tolist()
    [0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler

from basketlens.errors import NotFittedError


class FeaturePreprocessor:
    """Cap, optionally log-transform and standardise a numeric feature matrix.

    Parameters are assumed valid (the estimator validates them). ``cap_quantile=None``
    disables capping.
    """

    def __init__(self, *, cap_quantile: float | None = 0.99, log_transform: bool = False) -> None:
        self.cap_quantile = cap_quantile
        self.log_transform = log_transform

    def fit(self, X: np.ndarray) -> FeaturePreprocessor:
        """Learn caps, log mask and scaler from ``X`` (n_samples, n_features)."""
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
        self.log_mask_ = (
            capped.min(axis=0) >= 0.0 if self.log_transform else np.zeros(X.shape[1], dtype=bool)
        )
        logged = self._log(capped)
        self.scaler_ = StandardScaler().fit(logged)
        # a feature with one value carries no information: it scales to exactly 0
        self.constant_ = logged.max(axis=0) == logged.min(axis=0)
        return self

    def _log(self, X: np.ndarray) -> np.ndarray:
        if not self.log_mask_.any():
            return X
        out = X.copy()
        out[:, self.log_mask_] = np.log1p(np.maximum(out[:, self.log_mask_], 0.0))
        return out

    def cap(self, X: np.ndarray) -> np.ndarray:
        """Clip ``X`` to the fitted caps."""
        self._check_fitted()
        return np.clip(np.asarray(X, dtype=np.float64), self.lower_, self.upper_)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Cap, log-transform and scale ``X`` with the fitted state."""
        out = np.asarray(self.scaler_.transform(self._log(self.cap(X))), dtype=np.float64)
        out[:, self.constant_] = 0.0
        return out

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit to ``X`` and return it transformed."""
        return self.fit(X).transform(X)

    def _check_fitted(self) -> None:
        if not hasattr(self, "scaler_"):
            raise NotFittedError(
                "This FeaturePreprocessor is not fitted yet; call fit(X) before transform."
            )

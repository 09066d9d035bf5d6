"""Expected spend: what a customer would spend on an item over the horizon if they buy it.

``expected_value`` of a recommendation = probability of buying within the horizon ×
:meth:`SpendModel.predict`. The spend is learned, like the ranker, on the time split inside
the training data, from the customers who did buy a recommended-type (never-bought) item in
the inner horizon and what they spent on it there:

    log(spend) = a + b₁ · log(item value) + b₂ · log(customer's monthly spend)

where *item value* is the item's typical monthly spend among its buyers in the customer's
segment (:class:`~basketlens.opportunities.value.ItemValues`: the median, so one wholesale
buyer does not set it) and the customer's monthly spend is their net sales per observed month.
Least squares on the logs, then Duan's smearing factor (the mean of ``exp(residual)``) turns
the fitted median into a mean, so sums over many recommendations are unbiased. With fewer
than :data:`MIN_BUYERS` such purchases the model falls back to ``b₁ = 1, b₂ = 0`` and the
ratio of realised to typical spend. The backtest compares expected with realised revenue per
decile.

Example:
    >>> rng = np.random.default_rng(1)
    >>> v = rng.lognormal(3, 1, 500); m = rng.lognormal(5, 1, 500)
    >>> spent = v * (m / 150) ** 0.5 * rng.lognormal(0, 0.3, 500)
    >>> model = SpendModel.fit(v, m, spent)
    >>> round(model.b_item, 1), round(model.b_customer, 1)
    (1.0, 0.5)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["MIN_BUYERS", "SpendModel"]

#: Converted pairs needed to fit the regression rather than the ratio fallback.
MIN_BUYERS = 30
_FLOOR = 1e-6


@dataclass(frozen=True)
class SpendModel:
    """``spend = smear · exp(a) · value^b_item · monthly_spend^b_customer``."""

    a: float
    b_item: float
    b_customer: float
    smear: float
    fitted_on: int  # converted pairs

    @classmethod
    def fit(
        cls, item_value: np.ndarray, monthly_spend: np.ndarray, spent: np.ndarray
    ) -> SpendModel:
        """Fit on the converted pairs: typical item value, customer monthly spend, spend."""
        ok = (spent > 0) & (item_value > 0) & (monthly_spend > 0)
        n = int(ok.sum())
        if n == 0:
            return cls(0.0, 1.0, 0.0, 1.0, 0)
        v, m, y = np.log(item_value[ok]), np.log(monthly_spend[ok]), np.log(spent[ok])
        if n < MIN_BUYERS:
            a = float(np.log(spent[ok].sum() / item_value[ok].sum()))
            return cls(a, 1.0, 0.0, 1.0, n)
        A = np.column_stack([np.ones(n), v, m])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        resid = y - A @ coef
        smear = float(np.mean(np.exp(resid)))
        model = cls(float(coef[0]), float(coef[1]), float(coef[2]), smear, n)
        logger.info("spend model: %s", model)
        return model

    def predict(self, item_value: np.ndarray, monthly_spend: np.ndarray) -> np.ndarray:
        """Expected spend over the horizon if bought (0 where the item value is 0)."""
        v = np.maximum(item_value, _FLOOR)
        m = np.maximum(monthly_spend, _FLOOR)
        out = self.smear * np.exp(self.a + self.b_item * np.log(v) + self.b_customer * np.log(m))
        return np.where(item_value > 0, out, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpendModel:
        return cls(**{k: data[k] for k in ("a", "b_item", "b_customer", "smear", "fitted_on")})

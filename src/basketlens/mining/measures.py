"""The one registry of rule interest measures, computed from integer counts only.

Every measure is a function of the 2×2 contingency counts of a rule X → Y:
``n`` baskets, ``n_a`` baskets containing X (antecedent), ``n_b`` baskets containing Y
(consequent) and ``n_ab`` baskets containing both. The registry drives computation
(:func:`compute_measures`), the documentation (:func:`measures_markdown`, written to
``docs/measures.md``) and the error for an unknown name, so the three never disagree.

Undefined values (a zero denominator that has no natural limit) are NaN in the arrays
returned here and become **null** in every table; no measure ever returns ``inf``.

Example:
    >>> import numpy as np
    >>> out = compute_measures(["lift", "confidence"], np.array([20]), np.array([40]),
    ...                        np.array([50]), 100)
    >>> float(out["lift"][0]), float(out["confidence"][0])
    (1.0, 0.5)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln

from basketlens.errors import ParameterError
from basketlens.mining._kernel import core as _core

__all__ = [
    "DEFAULT_MEASURES",
    "MEASURES",
    "Measure",
    "compute_measures",
    "measures_markdown",
    "resolve_measures",
]

MeasureFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Measure:
    """One interest measure: its definition, range, degenerate-case rule and function.

    ``fn(n_ab, n_a, n_b, n)`` takes float64 arrays of equal shape and returns float64
    (NaN where the measure is undefined; tables store that as null).
    """

    name: str
    description: str
    formula: str
    range: str
    degenerate: str
    fn: MeasureFn


def _div(num: np.ndarray, den: np.ndarray, *, zero: float = np.nan) -> np.ndarray:
    """``num / den`` with ``zero`` where ``den == 0`` (no warnings, never inf)."""
    out = np.full(np.broadcast(num, den).shape, zero, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _support(ab, a, b, n):
    return _div(ab, n)


def _coverage(ab, a, b, n):
    return _div(a, n)


def _consequent_support(ab, a, b, n):
    return _div(b, n)


def _confidence(ab, a, b, n):
    return _div(ab, a)


def _lift(ab, a, b, n):
    return _div(ab * n, a * b)


def _leverage(ab, a, b, n):
    return _div(ab * n - a * b, n * n, zero=0.0)


def _conviction(ab, a, b, n):
    return _div(a * (n - b), n * (a - ab))


def _zhang(ab, a, b, n):
    den = np.maximum(ab * (n - a), a * (b - ab))
    return _div(n * ab - a * b, den, zero=0.0)


def _jaccard(ab, a, b, n):
    return _div(ab, a + b - ab)


def _kulczynski(ab, a, b, n):
    return 0.5 * (_div(ab, a) + _div(ab, b))


def _cosine(ab, a, b, n):
    return _div(ab, np.sqrt(a * b))


def _certainty(ab, a, b, n):
    # (conf - supp_b) / (1 - supp_b) when positive, / supp_b when negative; in counts:
    d = n * ab - a * b  # n * n_a * (conf - supp_b)
    pos = _div(d, a * (n - b), zero=0.0)
    neg = _div(d, a * b, zero=0.0)
    return np.where(d >= 0, pos, neg)


def _added_value(ab, a, b, n):
    return _div(ab, a) - _div(b, n)


def _cells(ab, a, b, n):
    return ab, a - ab, b - ab, n - a - b + ab


def _odds_ratio(ab, a, b, n):
    n11, n10, n01, n00 = _cells(ab, a, b, n)
    fix = ((n11 == 0) | (n10 == 0) | (n01 == 0) | (n00 == 0)) * 0.5
    return _div((n11 + fix) * (n00 + fix), (n10 + fix) * (n01 + fix))


def _chi_squared(ab, a, b, n):
    n11, n10, n01, n00 = _cells(ab, a, b, n)
    d = n11 * n00 - n10 * n01
    return _div(n * d * d, a * b * (n - a) * (n - b), zero=0.0)


def _log_pmf(k, n, a, b):
    """log P(N = k), N ~ Hypergeometric(population n, a marked, b drawn)."""

    def log_comb(x, y):
        return -np.log1p(x) - betaln(x - y + 1, y + 1)

    return log_comb(a, k) + log_comb(n - a, b - k) - log_comb(n, b)


def hypergeom_upper(k0, n, a, b) -> np.ndarray:
    """``P(N >= k0)`` for N ~ Hypergeometric(n, a, b), vectorised.

    Sums the pmf from ``k0`` away from the mode with the ratio recurrence until the terms are
    negligible (relative 1e-17); when ``k0`` is at or below the mode, returns one minus the
    lower tail. Agrees with ``scipy.stats.hypergeom.sf(k0 - 1, n, a, b)`` to ~1e-12 and is
    about a hundred times faster; the summation runs in the compiled core when it is built
    (``_core.hypergeom_tail``: the same operations in the same order, so the same values).

    Example:
        >>> round(float(hypergeom_upper(np.array([3.0]), 10.0, 4.0, 5.0)[0]), 6)
        0.261905
    """
    k0, n, a, b = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (k0, n, a, b)))
    k0, n, a, b = (np.array(x, dtype=np.float64) for x in (k0, n, a, b))
    kmin = np.maximum(0.0, a + b - n)
    kmax = np.minimum(a, b)
    out = np.where(k0 <= kmin, 1.0, 0.0)
    todo = np.flatnonzero((k0 > kmin) & (k0 <= kmax))
    if len(todo) == 0:
        return out
    k0, n, a, b, kmin, kmax = (x[todo] for x in (k0, n, a, b, kmin, kmax))
    up = k0 > np.floor((a + 1) * (b + 1) / (n + 2))  # above the mode: sum the upper tail
    k = np.where(up, k0, k0 - 1)
    term = np.exp(_log_pmf(k, n, a, b))
    rest = n - a - b
    if _core is not None:  # the same loop, compiled: the same operations, the same bits
        _core.hypergeom_tail(term, k, a, b, rest, kmin, kmax, up.astype(np.float64))
        out[todo] = np.where(up, term, 1.0 - term)
        return np.clip(out, 0.0, 1.0)
    total = term.copy()
    active = np.flatnonzero(np.where(up, k < kmax, k > kmin) & (term > 0))
    while len(active):
        ka, ua = k[active], up[active]
        aa, ba, ra = a[active], b[active], rest[active]
        ratio = np.where(
            ua,
            (aa - ka) * (ba - ka) / ((ka + 1) * (ra + ka + 1)),
            ka * (ra + ka) / np.maximum((aa - ka + 1) * (ba - ka + 1), 1.0),
        )
        term[active] *= ratio
        k[active] = np.where(ua, ka + 1, ka - 1)
        total[active] += term[active]
        more = np.where(ua, k[active] < kmax[active], k[active] > kmin[active])
        more &= term[active] > 1e-17 * total[active]
        active = active[more]
    out[todo] = np.where(up, total, 1.0 - total)
    return np.clip(out, 0.0, 1.0)


def _fisher_p(ab, a, b, n):
    # P(N_ab >= n_ab) under the hypergeometric null with all margins fixed.
    return hypergeom_upper(ab, n, a, b)


_NULL_IF_EMPTY = "null when n_a = 0 (never for mined rules)"

#: The registry: measure name -> :class:`Measure`. Order is the documentation order.
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "support",
            "share of baskets containing X ∪ Y",
            "n_ab / n",
            "[0, 1]",
            "always defined (n > 0)",
            _support,
        ),
        Measure(
            "coverage",
            "antecedent support: share of baskets containing X",
            "n_a / n",
            "[0, 1]",
            "always defined; 1 for the empty antecedent",
            _coverage,
        ),
        Measure(
            "consequent_support",
            "share of baskets containing Y",
            "n_b / n",
            "[0, 1]",
            "always defined",
            _consequent_support,
        ),
        Measure(
            "confidence",
            "share of baskets with X that also contain Y",
            "n_ab / n_a",
            "[0, 1]",
            f"{_NULL_IF_EMPTY}; equals support(Y) for the empty antecedent",
            _confidence,
        ),
        Measure(
            "lift",
            "confidence relative to the consequent's base rate",
            "n · n_ab / (n_a · n_b)",
            "[0, ∞); 1 = independence",
            "null when n_a = 0 or n_b = 0",
            _lift,
        ),
        Measure(
            "leverage",
            "observed minus expected joint support",
            "n_ab / n − n_a · n_b / n²",
            "[−0.25, 0.25]; 0 = independence",
            "always defined",
            _leverage,
        ),
        Measure(
            "conviction",
            "how much more often X occurs without Y than expected",
            "n_a · (n − n_b) / (n · (n_a − n_ab))",
            "[0, ∞); 1 = independence",
            "null when confidence = 1 (n_ab = n_a: the ratio is infinite)",
            _conviction,
        ),
        Measure(
            "zhangs_metric",
            "Zhang's metric of association and dissociation",
            "(n · n_ab − n_a · n_b) / max(n_ab · (n − n_a), n_a · (n_b − n_ab))",
            "[−1, 1]; 0 = independence",
            "0 when the denominator is 0 (the numerator is then 0 too)",
            _zhang,
        ),
        Measure(
            "jaccard",
            "baskets with both over baskets with either",
            "n_ab / (n_a + n_b − n_ab)",
            "[0, 1]",
            "null when n_a = n_b = 0",
            _jaccard,
        ),
        Measure(
            "kulczynski",
            "mean of the confidences of X → Y and Y → X",
            "(n_ab / n_a + n_ab / n_b) / 2",
            "[0, 1]",
            "null when n_a = 0 or n_b = 0",
            _kulczynski,
        ),
        Measure(
            "cosine",
            "geometric mean of the confidences of X → Y and Y → X",
            "n_ab / √(n_a · n_b)",
            "[0, 1]",
            "null when n_a = 0 or n_b = 0",
            _cosine,
        ),
        Measure(
            "certainty_factor",
            "Shortliffe's certainty factor: gain of confidence over supp(Y), scaled",
            "(conf − supp_b) / (1 − supp_b) if conf ≥ supp_b else (conf − supp_b) / supp_b",
            "[−1, 1]; 0 = independence",
            "0 when the scaling denominator is 0 (supp_b = 1, or n_a = 0)",
            _certainty,
        ),
        Measure(
            "added_value",
            "confidence minus the consequent's support",
            "n_ab / n_a − n_b / n",
            "[−1, 1]; 0 = independence",
            _NULL_IF_EMPTY,
            _added_value,
        ),
        Measure(
            "odds_ratio",
            "odds of Y given X over odds of Y given not X",
            "(n11 · n00) / (n10 · n01) with n11 = n_ab, n10 = n_a − n_ab, "
            "n01 = n_b − n_ab, n00 = n − n_a − n_b + n_ab",
            "(0, ∞); 1 = independence",
            "Haldane–Anscombe: 0.5 is added to all four cells when any cell is 0 "
            "(finite, never null)",
            _odds_ratio,
        ),
        Measure(
            "chi_squared",
            "Pearson χ² of the 2×2 table (no continuity correction)",
            "n · (n11 · n00 − n10 · n01)² / (n_a · n_b · (n − n_a) · (n − n_b))",
            "[0, n]",
            "0 when a margin is 0 or n (no evidence of dependence)",
            _chi_squared,
        ),
        Measure(
            "fisher_p",
            "one-sided Fisher exact test p-value for positive association (as arules)",
            "P(N ≥ n_ab), N ~ Hypergeometric(n, n_a, n_b)",
            "[0, 1]",
            "always defined; 1 when a margin is 0",
            _fisher_p,
        ),
    )
}

#: Measures computed when the caller names none.
DEFAULT_MEASURES: tuple[str, ...] = (
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "zhangs_metric",
)


def resolve_measures(names: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validate measure names; return them de-duplicated in the given order.

    ``None`` means :data:`DEFAULT_MEASURES`. An unknown name raises ParameterError listing
    the valid names and the closest match.

    Example:
        >>> resolve_measures(["lift", "support", "lift"])
        ('lift', 'support')
    """
    if names is None:
        return DEFAULT_MEASURES
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or name not in MEASURES:
            valid = ", ".join(MEASURES)
            hint = ""
            if isinstance(name, str):
                close = difflib.get_close_matches(name, MEASURES, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"unknown measure {name!r}; valid measures: {valid}{hint}")
        if name not in out:
            out.append(name)
    return tuple(out)


def compute_measures(
    names: Iterable[str] | str | None,
    n_ab: np.ndarray,
    n_a: np.ndarray,
    n_b: np.ndarray,
    n: np.ndarray | int,
) -> dict[str, np.ndarray]:
    """Compute measures from counts; return name -> float64 array (NaN = undefined).

    Example:
        >>> out = compute_measures("conviction", np.array([5, 4]), np.array([5, 5]),
        ...                        np.array([5, 5]), 10)
        >>> [float(x) for x in out["conviction"]]
        [nan, 2.5]
    """
    resolved = resolve_measures(names)
    ab = np.asarray(n_ab, dtype=np.float64)
    a = np.asarray(n_a, dtype=np.float64)
    b = np.asarray(n_b, dtype=np.float64)
    shape = np.broadcast(ab, a, b).shape
    nn = np.broadcast_to(np.asarray(n, dtype=np.float64), shape)
    ab, a, b = (np.broadcast_to(x, shape) for x in (ab, a, b))
    return {
        name: np.asarray(MEASURES[name].fn(ab, a, b, nn), dtype=np.float64) for name in resolved
    }


def measures_markdown() -> str:
    """Render the registry as the Markdown of ``docs/measures.md``.

    Example:
        >>> measures_markdown().splitlines()[0]
        '# Rule interest measures'
    """

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Rule interest measures",
        "",
        "Generated from `basketlens.mining.measures.MEASURES` by `measures_markdown()`; "
        "do not edit by hand.",
        "",
        "All measures are computed from the integer counts of a rule X → Y: `n` baskets, "
        "`n_a` baskets containing X, `n_b` containing Y, `n_ab` containing both. Undefined "
        "values are stored as null; no measure is ever infinite.",
        "",
        f"Default measures: {', '.join(f'`{m}`' for m in DEFAULT_MEASURES)}.",
        "",
        "| measure | meaning | formula | range | zero / degenerate cases |",
        "|---|---|---|---|---|",
    ]
    for m in MEASURES.values():
        lines.append(
            f"| `{m.name}` | {esc(m.description)} | {esc(m.formula)} | {esc(m.range)} "
            f"| {esc(m.degenerate)} |"
        )
    return "\n".join(lines) + "\n"

"""Single proportions: point estimate, confidence interval, and printed-percentage consistency.

Confidence intervals, written with SciPy's beta and normal quantiles (the same arithmetic as
statsmodels' `proportion_confint`, which the project no longer installs for this one function):

* ``"exact"`` - Clopper-Pearson (1934) exact interval from the beta distribution (the default,
  and what trial reports mean by an "exact 95% CI"; the interval `scipy.stats.binomtest(...)
  .proportion_ci()` gives);
* ``"wilson"`` - Wilson (1927) score interval;
* ``"wald"`` - the normal approximation p +/- z*sqrt(p(1-p)/n);
* ``"agresti_coull"`` - Agresti and Coull (1998).

References
----------
Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the
binomial. Biometrika 1934;26:404-413.
Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
methods. Stat Med 1998;17:857-872.
Agresti A, Coull BA. Approximate is better than "exact" for interval estimation of binomial
proportions. Am Stat 1998;52:119-126.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
from scipy import stats

CI_METHODS = ("exact", "wilson", "wald", "agresti_coull")
CI_METHOD_LABELS = {
    "exact": "Clopper-Pearson exact",
    "wilson": "Wilson score",
    "wald": "Wald",
    "agresti_coull": "Agresti-Coull",
}


@dataclass(frozen=True)
class ProportionEstimate:
    events: int
    total: int
    estimate: float | None  # None when total is 0: the proportion is undefined
    ci_low: float | None
    ci_high: float | None
    method: str
    level: float


def _limits(x: np.ndarray, n: np.ndarray, method: str, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval limits of x/n, elementwise, clipped to [0, 1]."""
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; use one of {', '.join(CI_METHODS)}")
    alpha = (1 - level) / 2
    q = x / n
    if method == "exact":
        with np.errstate(invalid="ignore"):  # the beta quantile is undefined at 0 and n: 0 and 1 there
            lo = np.where(x == 0, 0.0, stats.beta.ppf(alpha, x, n - x + 1))
            hi = np.where(x == n, 1.0, stats.beta.isf(alpha, x + 1, n - x))
        return lo, hi
    crit = stats.norm.isf(alpha)
    if method == "wald":
        dist = crit * np.sqrt(q * (1 - q) / n)
        lo, hi = q - dist, q + dist
    elif method == "agresti_coull":
        n_c = n + crit**2
        q_c = (x + crit**2 / 2.0) / n_c
        dist = crit * np.sqrt(q_c * (1.0 - q_c) / n_c)
        lo, hi = q_c - dist, q_c + dist
    else:  # Wilson
        crit2 = crit**2
        denom = 1 + crit2 / n
        centre = (q + crit2 / (2 * n)) / denom
        dist = crit * np.sqrt(q * (1.0 - q) / n + crit2 / (4.0 * n**2)) / denom
        lo, hi = centre - dist, centre + dist
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def proportion_ci(events: int, total: int, method: str = "exact", level: float = 0.95) -> ProportionEstimate:
    """Proportion events/total with its confidence interval (Clopper-Pearson exact by default).

    Parameters
    ----------
    events, total : int
        Events and patients (0 <= events <= total).
    method : {"exact", "wilson", "wald", "agresti_coull"}
        The interval.
    level : float
        Confidence level.

    Returns
    -------
    ProportionEstimate
        The proportion and its interval; None for all three when total is 0.

    References
    ----------
    Clopper CJ, Pearson ES. Biometrika 1934;26:404-413. Newcombe RG. Stat Med 1998;17:857-872.
    """
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; use one of {', '.join(CI_METHODS)}")
    if total < 0 or events < 0 or events > total:
        raise ValueError(f"need 0 <= events <= total, got {events}/{total}")
    if total == 0:
        return ProportionEstimate(events, total, None, None, None, method, level)
    lo, hi = _limits(np.float64(events), np.float64(total), method, level)
    return ProportionEstimate(events, total, events / total, float(lo), float(hi), method, level)


def study_cis(events, totals, method: str = "exact", level: float = 0.95):
    """Vectorised `proportion_ci` limits for many studies at once.

    Parameters
    ----------
    events, totals : array_like of int
        Each study's events and patients.
    method, level
        As `proportion_ci`.

    Returns
    -------
    (ndarray, ndarray)
        Lower and upper limits.

    References
    ----------
    Clopper CJ, Pearson ES. Biometrika 1934;26:404-413.
    """
    return _limits(np.asarray(events, float), np.asarray(totals, float), method, level)


def decimals_of(printed: Decimal) -> int:
    """Number of printed decimals: Decimal('33.3') -> 1, Decimal('75') -> 0."""
    exp = printed.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def printed_bounds(printed: Decimal, *, scale: float = 100.0) -> tuple[float, float]:
    """The interval of fractions that print as `printed` on `scale` when rounded at its printed
    precision: printed +/- half a unit in the last digit (inclusive, with a hair of tolerance).
    A fast float pre-check for `rounds_to` in search loops."""
    half = 0.5 * 10.0 ** (-decimals_of(printed))
    eps = 1e-9
    return (float(printed) - half - eps) / scale, (float(printed) + half + eps) / scale


def rounds_to(value: float, printed: Decimal, *, scale: float = 100.0) -> str | None:
    """How `value` (a fraction) relates to a printed number on `scale` (100 for percent).

    Returns ``"exact"`` when rounding half-up or half-even at the printed precision gives the
    printed digits, ``"truncated"`` when only cutting off the digits does, and None otherwise.
    A tiny tolerance absorbs binary floating error (1/3 is 33.333...).
    """
    d = decimals_of(printed)
    q = Decimal(1).scaleb(-d)
    v = float(value) * scale
    if v != v or v in (float("inf"), float("-inf")):
        return None
    x = Decimal(repr(v))
    eps = Decimal("1e-9")
    for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN):
        for nudge in (Decimal(0), eps, -eps):
            if (x + nudge).quantize(q, rounding=mode) == printed:
                return "exact"
    for nudge in (Decimal(0), eps):
        if (x + nudge).quantize(q, rounding="ROUND_DOWN") == printed:
            return "truncated"
    return None


def consistent_fractions(
    printed_percent: Decimal, denominators, *, allow_truncation: bool = False
) -> list[tuple[int, int]]:
    """All (numerator, denominator) pairs, for the given denominators, whose percentage prints
    as `printed_percent` at its printed precision (GRIM-style check for percentages).
    """
    out = []
    lo, hi = printed_bounds(printed_percent)
    if allow_truncation:  # truncation reaches up to a whole unit above the printed value
        hi += 0.5 * 10.0 ** (-decimals_of(printed_percent)) / 100.0
    for n in denominators:
        if n <= 0:
            continue
        # only the k whose k/n can print as the value: a float window, confirmed exactly below
        for k in range(max(0, math.floor(lo * n)), min(n, math.ceil(hi * n)) + 1):
            how = rounds_to(k / n, printed_percent)
            if how == "exact" or (allow_truncation and how == "truncated"):
                out.append((k, n))
    return out


def numerator_for(printed_percent: Decimal, denominator: int) -> int | None:
    """The unique numerator k with k/denominator printing as `printed_percent`, or None when no
    numerator or more than one fits. Used to recover counts that a paper prints only as a
    percentage of a stated N; the caller must label such counts as derived."""
    fits = [k for k, _ in consistent_fractions(printed_percent, [denominator])]
    return fits[0] if len(fits) == 1 else None

"""Single proportions: point estimate and confidence interval.

Confidence intervals, written with SciPy's beta and normal quantiles (the same arithmetic as
statsmodels' `proportion_confint`, which the project no longer installs for this one function):

* ``"exact"`` - Clopper-Pearson (1934) exact interval from the beta distribution (the default,
  and what trial reports mean by an "exact 95% CI"; the interval `scipy.stats.binomtest(...)
  .proportion_ci()` gives);
* ``"wilson"`` - Wilson (1927) score interval;
* ``"wald"`` - the normal approximation p +/- z*sqrt(p(1-p)/n);
* ``"agresti_coull"`` - Agresti and Coull (1998).

Which counts a printed percentage can stand for, and which one is used, is a rule about printed
numbers, not numerics: `cartpool.domain.printed`.

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

from dataclasses import dataclass

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

"""Single proportions: point estimate and confidence interval.

Confidence intervals come from statsmodels' `proportion_confint`:

* ``"exact"`` - Clopper-Pearson (1934) exact interval from the beta distribution (the default,
  and what trial reports mean by an "exact 95% CI");
* ``"wilson"`` - Wilson (1927) score interval;
* ``"wald"`` - the normal approximation p +/- z*sqrt(p(1-p)/n);
* ``"agresti_coull"`` - Agresti and Coull (1998).

Which counts a printed percentage can stand for, and which one is used, is a rule about printed
numbers, not numerics: `cartpool.domain.printed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from statsmodels.stats.proportion import proportion_confint

CI_METHODS = {"exact": "beta", "wilson": "wilson", "wald": "normal", "agresti_coull": "agresti_coull"}
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


def proportion_ci(events: int, total: int, method: str = "exact", level: float = 0.95) -> ProportionEstimate:
    """Proportion events/total with its confidence interval (Clopper-Pearson exact by default)."""
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; use one of {', '.join(CI_METHODS)}")
    if total < 0 or events < 0 or events > total:
        raise ValueError(f"need 0 <= events <= total, got {events}/{total}")
    if total == 0:
        return ProportionEstimate(events, total, None, None, None, method, level)
    lo, hi = proportion_confint(events, total, alpha=1 - level, method=CI_METHODS[method])
    # statsmodels can return -0.0 or 1.0000000000000002 at the edges for Wald; clip to [0, 1].
    lo, hi = max(0.0, float(lo)), min(1.0, float(hi))
    return ProportionEstimate(events, total, events / total, lo, hi, method, level)


def study_cis(events, totals, method: str = "exact", level: float = 0.95):
    """Vectorised `proportion_ci` limits for many studies at once (one statsmodels call)."""
    import numpy as np

    x, n = np.asarray(events, float), np.asarray(totals, float)
    lo, hi = proportion_confint(x, n, alpha=1 - level, method=CI_METHODS[method])
    return np.clip(np.asarray(lo, float), 0, 1), np.clip(np.asarray(hi, float), 0, 1)

"""Single proportions: point estimate, confidence interval, and printed-percentage consistency.

Confidence intervals come from statsmodels' `proportion_confint`:

* ``"exact"`` - Clopper-Pearson (1934) exact interval from the beta distribution (the default,
  and what trial reports mean by an "exact 95% CI");
* ``"wilson"`` - Wilson (1927) score interval;
* ``"wald"`` - the normal approximation p +/- z*sqrt(p(1-p)/n);
* ``"agresti_coull"`` - Agresti and Coull (1998).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

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
    import math

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

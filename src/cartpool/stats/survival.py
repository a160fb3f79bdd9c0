"""Kaplan-Meier estimation with R survival's conventions.

* The product-limit estimate itself comes from scikit-survival's `kaplan_meier_estimator`.
* `std_err` is the Greenwood standard error of S(t) (what R's ``summary(survfit)`` prints).
  scikit-survival offers neither this nor "log"/"plain" intervals nor a median CI, so those
  are written here.
* Pointwise CIs: ``"log"`` (R survival's default), ``"log-log"`` (SAS, Stata, scikit-survival)
  or ``"plain"``; the same formulas as R's `survfit` (Kalbfleisch & Prentice 2002, sec. 1.3).
* Quantiles (median and others) and their CIs follow R's `quantile.survfit` (Brookmeyer &
  Crowley 1982): the quantile is where a horizontal line at the level meets the curve, and the
  CI limits are where it meets the lower and upper bands. Where the curve is flat exactly at the
  level, the midpoint of the flat stretch is used (and, for a flat stretch at the end of the
  curve, the midpoint between its start and the last follow-up time). A limit the curve never
  reaches is "not reached", returned as None.
* The log-rank test is scikit-survival's `compare_survival`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CONF_TYPES = ("log", "log-log", "plain")
_TOL = np.sqrt(np.finfo(float).eps)  # R: sqrt(.Machine$double.eps)


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = _TOL) -> float | None:
    """Where a horizontal line at CDF level `p` meets the step curve (x, y), y = 1 - S.

    Port of the rule in R survival's `quantile.survfit` (its helper `findq`): duplicated y
    values (censoring times) are dropped; a flat stretch exactly at `p` gives the midpoint.
    """
    keep = ~np.isnan(y)
    xmax = x[-1]
    x, y = x[keep], y[keep]
    if len(y) == 0 or np.max(y) < p:
        return None
    _, first = np.unique(y, return_index=True)
    first = np.sort(first)
    x, y = x[first], y[first]
    n = len(y)
    if p == 0:
        return float(x[0])

    def right_constant(levels: np.ndarray) -> int | None:
        # approx(levels, 1:n, p, method="constant", f=1): smallest i with levels[i] >= p,
        # NA outside [levels[0], levels[-1]]
        if p < levels[0] or p > levels[-1]:
            return None
        return int(np.searchsorted(levels, p, side="left"))

    i1 = right_constant(y + tol)
    i2 = right_constant(y - tol)
    if i1 is None:
        return None
    if abs(p - y[n - 1]) < tol and i1 == n - 1:  # flat at the end of the curve
        return float((x[i1] + xmax) / 2)
    if i2 is None:
        return None
    return float((x[i1] + x[i2]) / 2)


@dataclass
class KaplanMeier:
    """A fitted Kaplan-Meier curve. `table` has one row per distinct time (events or censorings)."""

    table: pd.DataFrame
    conf_type: str
    level: float
    n: int

    def quantile(self, p: float) -> tuple[float | None, float | None, float | None]:
        """The p-th quantile of the event-time distribution (p = 0.5 is the median survival),
        with its CI: (estimate, ci_low, ci_high); None where not reached."""
        t = self.table
        x = np.concatenate([[0.0], t["time"].to_numpy(float)])

        def cdf(col):
            return np.concatenate([[0.0], 1 - t[col].to_numpy(float)])

        est = _findq(x, cdf("survival"), p)
        lo = _findq(x, cdf("ci_low"), p)
        hi = _findq(x, cdf("ci_high"), p)
        return est, lo, hi

    def median(self) -> tuple[float | None, float | None, float | None]:
        return self.quantile(0.5)

    def survival_at(self, time: float) -> tuple[float | None, float | None, float | None]:
        """S(time) with its pointwise CI; None beyond the last observed time."""
        t = self.table
        if time < 0 or len(t) == 0 or time > t["time"].iloc[-1]:
            return None, None, None
        before = t[t["time"] <= time]
        if before.empty:
            return 1.0, 1.0, 1.0
        row = before.iloc[-1]

        def f(v):
            return None if pd.isna(v) else float(v)

        return float(row["survival"]), f(row["ci_low"]), f(row["ci_high"])

    def n_at_risk(self, times) -> list[int]:
        """Numbers at risk just before each time (patients whose follow-up reaches it)."""
        return [int(np.sum(self._times >= t)) for t in times]

    _times: np.ndarray = None  # set by kaplan_meier


def kaplan_meier(time, event, conf_type: str = "log-log", level: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier estimate with Greenwood SE and pointwise CIs (see the module docstring)."""
    from sksurv.nonparametric import kaplan_meier_estimator

    if conf_type not in CONF_TYPES:
        raise ValueError(f"unknown conf_type {conf_type!r}; use one of {', '.join(CONF_TYPES)}")
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    if len(time) == 0:
        raise ValueError("no observations")
    if np.any(~np.isfinite(time)) or np.any(time < 0):
        raise ValueError("times must be finite and non-negative")
    uniq = np.unique(time)
    n_risk = np.array([np.sum(time >= u) for u in uniq])
    n_event = np.array([np.sum((time == u) & event) for u in uniq])
    n_censor = np.array([np.sum((time == u) & ~event) for u in uniq])
    if event.any():
        km_t, km_s = kaplan_meier_estimator(event, time)
        surv = np.interp(uniq, km_t, km_s)  # km_t are the distinct times: exact lookup
    else:
        surv = np.ones(len(uniq))
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        var_log = np.cumsum(inc)  # Greenwood: Var(log S)
        se_log = np.sqrt(var_log)
        std_err = surv * se_log
        z = stats.norm.ppf(0.5 + level / 2)
        if conf_type == "plain":
            lo, hi = surv - z * std_err, surv + z * std_err
        elif conf_type == "log":
            lo, hi = surv * np.exp(-z * se_log), surv * np.exp(z * se_log)
        else:
            ll = np.log(-np.log(surv))
            a = np.exp(-np.exp(ll + z * se_log / np.log(surv)))
            b = np.exp(-np.exp(ll - z * se_log / np.log(surv)))
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            flat1 = surv >= 1.0
            lo, hi = np.where(flat1, np.nan, lo), np.where(flat1, np.nan, hi)
        lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
        zero = surv <= 0
        std_err = np.where(zero, np.nan, std_err)
        lo, hi = np.where(zero, np.nan, lo), np.where(zero, np.nan, hi)
    table = pd.DataFrame({
        "time": uniq, "n_risk": n_risk, "n_event": n_event, "n_censor": n_censor,
        "survival": surv, "std_err": std_err, "ci_low": lo, "ci_high": hi,
    })
    km = KaplanMeier(table=table, conf_type=conf_type, level=level, n=len(time))
    km._times = time
    return km


@dataclass(frozen=True)
class LogRank:
    chisq: float
    df: int
    p_value: float


def logrank_test(time, event, group) -> LogRank:
    """Log-rank test across groups (scikit-survival `compare_survival`, as R `survdiff`)."""
    from sksurv.compare import compare_survival

    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    y = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    y["event"], y["time"] = event, time
    chisq, p = compare_survival(y, np.asarray(group))
    return LogRank(float(chisq), len(set(group)) - 1, float(p))

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

    A line-by-line port of R survival's `findq` (the helper of `quantile.survfit`), including how
    R's ``approx(method="constant", f=1)`` treats its input: duplicated y values are dropped (a
    missing value counts as one value), missing values are then ignored, and the remaining points
    are sorted by level, so a confidence band that is not monotone is read in sorted order. A flat
    stretch exactly at `p` gives its midpoint; at the end of the curve, the midpoint between its
    start and the last time. None is R's NA ("not reached").
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    xmax = x[-1]
    seen, keep = set(), []
    for i, v in enumerate(y):  # R duplicated(): the first of each value, NA being a value
        key = None if np.isnan(v) else float(v)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    x, y = x[keep], y[keep]
    n = len(y)

    def approx_index(levels: np.ndarray) -> int | None:
        # approx(levels, 1:n, p, method="constant", f=1): drop NA pairs, sort by level, take the
        # point at the first level >= p; NA outside the range of the levels
        ok = ~np.isnan(levels)
        lv, idx = levels[ok], np.arange(n)[ok]
        order = np.argsort(lv, kind="stable")
        lv, idx = lv[order], idx[order]
        if len(lv) == 0 or p < lv[0] or p > lv[-1]:
            return None
        return int(idx[np.searchsorted(lv, p, side="left")])

    if p == 0:
        return float(x[0])
    i1, i2 = approx_index(y + tol), approx_index(y - tol)
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol:  # flat at the end of the curve
        return None if i1 is None else float((x[i1] + xmax) / 2)
    if i1 is None or i2 is None:
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

    def survival_at(self, time: float, *, extend: bool = False) -> tuple[float | None, float | None, float | None]:
        """S(time) with its pointwise CI.

        Beyond the last observed time the curve is unknown and the result is None, unless `extend`
        is true: then the last value is carried forward, as R's ``summary(fit, times, extend=TRUE)``
        (a curve that reached 0 stays at 0, with no interval).
        """
        t = self.table
        if time < 0 or len(t) == 0 or (time > t["time"].iloc[-1] and not extend):
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
    """Kaplan-Meier estimate with Greenwood SE and pointwise CIs (see the module docstring).

    Parameters
    ----------
    time : array_like of float, shape (n,)
        Each patient's follow-up time (finite, non-negative; any unit, e.g. months).
    event : array_like of bool, shape (n,)
        True where the follow-up ended in the event, False where it was censored.
    conf_type : {"log-log", "log", "plain"}
        Scale on which the pointwise interval is symmetric (R survival's ``conf.type``).
    level : float
        Confidence level of the pointwise intervals and of the quantile intervals.

    Returns
    -------
    KaplanMeier
        The fitted curve. Its `table` has one row per distinct time with the numbers at risk,
        events and censorings there, S(t), its Greenwood standard error and the pointwise limits
        (NaN where S is 0, and for "log-log" where S is still 1).

    Raises
    ------
    ValueError
        For an unknown `conf_type`, no observations, or a negative or non-finite time.

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc.
    1958;53:457-81.
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj. 1926;33:1-26.
    Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. 2nd ed. Wiley; 2002.
    Therneau TM. survival: A Package for Survival Analysis in R (survfit, conf.type).
    """
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
        lo, hi = pointwise_ci(surv, se_log, conf_type, z)
        if conf_type == "log-log":
            flat1 = surv >= 1.0
            lo, hi = np.where(flat1, np.nan, lo), np.where(flat1, np.nan, hi)
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
    """Log-rank test across groups (scikit-survival `compare_survival`, as R `survdiff`).

    Parameters
    ----------
    time : array_like of float, shape (n,)
        Each patient's follow-up time.
    event : array_like of bool, shape (n,)
        True where the follow-up ended in the event, False where it was censored.
    group : array_like, shape (n,)
        Each patient's group label (two or more distinct labels).

    Returns
    -------
    LogRank
        The chi-square statistic, its degrees of freedom (number of groups - 1) and its p-value.

    References
    ----------
    Mantel N. Evaluation of survival data and two new rank order statistics arising in its
    consideration. Cancer Chemother Rep. 1966;50:163-70.
    Peto R, Peto J. Asymptotically efficient rank invariant test procedures. J R Stat Soc Ser A.
    1972;135:185-207.
    Therneau TM. survival: A Package for Survival Analysis in R (survdiff).
    """
    from sksurv.compare import compare_survival

    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    y = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    y["event"], y["time"] = event, time
    chisq, p = compare_survival(y, np.asarray(group))
    return LogRank(float(chisq), len(set(group)) - 1, float(p))


def pointwise_ci(surv, se_log, conf_type: str, z: float):
    """The pointwise CI of S from the SE of log S, on the transform's scale (R survival's
    ``conf.type``: "plain", "log" or "log-log"), clipped to [0, 1]. Scalars or arrays.

    Parameters
    ----------
    surv : float or array_like of float
        Survival estimates S(t).
    se_log : float or array_like of float
        Standard errors of log S(t) (Greenwood's), the same shape as `surv`.
    conf_type : {"plain", "log", "log-log"}
        The scale on which the interval is symmetric; any other value is read as "log-log".
    z : float
        The normal quantile, e.g. 1.96 for a 95% interval.

    Returns
    -------
    (ndarray, ndarray)
        Lower and upper limits, the shape of `surv`, clipped to [0, 1]; NaN where the transform is
        undefined (log-log at S = 0 or 1).

    References
    ----------
    Therneau TM. survival: survfit.formula, conf.type.
    Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. Wiley; 1980 (log-log).
    """
    surv, se_log = np.asarray(surv, float), np.asarray(se_log, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            lo, hi = surv - z * surv * se_log, surv + z * surv * se_log
        elif conf_type == "log":
            lo, hi = surv * np.exp(-z * se_log), surv * np.exp(z * se_log)
        else:
            ll = np.log(-np.log(surv))
            a = np.exp(-np.exp(ll + z * se_log / np.log(surv)))
            b = np.exp(-np.exp(ll - z * se_log / np.log(surv)))
            lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def landmark_ci_uncensored(s: float, n: int, transform: str, level: float) -> tuple[float, float]:
    """Pointwise CI for S = k/n with no censoring (Greenwood variance of log S: (1 - S)/(n S)).

    Parameters
    ----------
    s : float
        The survival estimate, a fraction in (0, 1].
    n : int
        Patients at the start, none censored before the landmark.
    transform : {"plain", "log", "log-log"}
        The interval's scale, as `pointwise_ci`.
    level : float
        Confidence level.

    Returns
    -------
    (float, float)
        Lower and upper limits (NaN for "log-log" at s = 1).

    References
    ----------
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj. 1926;33:1-26.
    Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. 2nd ed. Wiley; 2002.
    """
    z = stats.norm.ppf(0.5 + level / 2)
    lo, hi = pointwise_ci(s, np.sqrt((1 - s) / (n * s)), transform, z)
    return float(lo), float(hi)


def landmark_cis_uncensored(s, n, transform: str, level: float) -> tuple[np.ndarray, np.ndarray]:
    """`landmark_ci_uncensored` for arrays of S = k/n and n at once (a search over candidates)."""
    z = stats.norm.ppf(0.5 + level / 2)
    s, n = np.asarray(s, float), np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pointwise_ci(s, np.sqrt((1 - s) / (n * s)), transform, z)


def landmark_effective_n(s: float, lo: float, hi: float, level: float) -> dict[str, float]:
    """The sample size each symmetric transform implies for a printed S(t) and its CI.

    A Kaplan-Meier pointwise interval is symmetric on its transform's scale, with half-width
    z * SE. Greenwood's variance without censoring is S(1 - S)/n, so the width gives the n for
    which an uncensored sample would be this precise: the effective sample size. Censoring before t
    makes it smaller than the population.

    Parameters
    ----------
    s, lo, hi : float
        The estimate and its limits, as fractions.
    level : float
        The confidence level (0.95).

    Returns
    -------
    dict
        Transform ("plain", "log", "log-log") -> effective n, for the transforms on whose scale
        the interval is symmetric (within the printed rounding).

    References
    ----------
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj. 1926;33:1-26.
    Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. Wiley; 1980 (log-log).
    Therneau TM. survival: survfit conf.type ("plain", "log", "log-log").
    """
    z = stats.norm.ppf(0.5 + level / 2)
    out: dict[str, float] = {}
    if not (0 < lo < s < hi <= 1):
        return out
    if abs((s - lo) - (hi - s)) < 0.0015:
        se = (hi - lo) / (2 * z)
        out["plain"] = s * (1 - s) / se ** 2
    if hi < 1 and abs(np.log(s / lo) - np.log(hi / s)) < 0.01:
        se_log = (np.log(hi) - np.log(lo)) / (2 * z)
        out["log"] = (1 - s) / (s * se_log ** 2)
    if hi < 1:
        ll = [np.log(-np.log(v)) for v in (lo, s, hi)]
        if abs((ll[0] - ll[1]) - (ll[1] - ll[2])) < 0.01:
            var_log_s = ((ll[0] - ll[2]) / (2 * z) * np.log(s)) ** 2
            out["log-log"] = (1 - s) / (s * var_log_s)
    return out

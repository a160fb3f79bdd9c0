"""Survival summaries published without patient data.

* `se_from_ci`: the standard error implied by a printed CI, on the scale the CI was built on
  (plain, log, or complementary log-log for survival probabilities), using one side only when the
  other is "not reached" (Parmar, Torri & Stewart 1998; Tierney et al. 2007).
* `pool_landmark`: random-effects pooling of landmark survival rates on the log(-log S) scale,
  where the sampling distribution of a KM estimate is closest to normal; back-transformed with
  S = exp(-exp(mu)).
* `approximate_curve`: a piecewise-exponential curve through a study's reported milestones
  (S(0) = 1, the median at 0.5, landmark rates). It is an approximation for drawing, always
  labelled so, and carries the points it was built from. It is never patient data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .meta import MetaResult, meta_generic

SCALES = ("plain", "log", "log-log")


def _fwd(x: float, scale: str) -> float:
    if scale == "plain":
        return x
    if scale == "log":
        return float(np.log(x))
    return float(np.log(-np.log(x)))


def se_from_ci(estimate: float, low: float | None, high: float | None, *, scale: str = "log-log",
               level: float = 0.95) -> float:
    """Standard error on `scale` implied by the CI (low, high) of `estimate`.

    With both limits: (g(high) - g(low)) / (2 z) in absolute value. With one limit missing
    ("not reached" is None): |g(estimate) - g(limit)| / z from the side that was printed.
    For survival probabilities on "log-log" the transform is g(S) = log(-log S), which
    reverses the order of the limits; absolute values take care of that.

    Parameters
    ----------
    estimate : float
        The printed point estimate (a fraction for survival probabilities).
    low, high : float or None
        The printed limits; None for a limit not printed ("not reached").
    scale : {"plain", "log", "log-log"}
        The scale on which the interval is taken to be symmetric: g(x) = x, log x or log(-log x).
    level : float
        Confidence level of the printed interval.

    Returns
    -------
    float
        The standard error of g(estimate).

    Raises
    ------
    ValueError
        For an unknown `scale`, or when both limits are None.

    References
    ----------
    Parmar MKB, Torri V, Stewart L. Extracting summary statistics to perform meta-analyses of the
    published literature for survival endpoints. Stat Med 1998;17:2815-34.
    Tierney JF, Stewart LA, Ghersi D, Burdett S, Sydes MR. Practical methods for incorporating
    summary time-to-event data into meta-analysis. Trials 2007;8:16.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    z = stats.norm.ppf(0.5 + level / 2)
    g_est = _fwd(estimate, scale)
    if low is not None and high is not None:
        return abs(_fwd(high, scale) - _fwd(low, scale)) / (2 * z)
    side = low if low is not None else high
    if side is None:
        raise ValueError("a CI with neither limit gives no standard error")
    return abs(g_est - _fwd(side, scale)) / z


def pool_landmark(rates, lows, highs, *, tau2: str = "REML", knha: bool = False, pi_dist: str = "z",
                  level: float = 0.95, labels=None) -> MetaResult:
    """Pool landmark survival rates S_i (fractions) with their CIs on the log(-log S) scale.

    Parameters
    ----------
    rates, lows, highs : array_like of float
        Each study's survival at the landmark and its printed CI, as fractions in (0, 1).
    tau2 : {"REML", "ML", "DL", "PM", "EE"}
        tau^2 estimator ("EE": common-effect model).
    knha : bool
        Hartung-Knapp adjusted CI with t(k-1) quantiles (metafor ``test="knha"``).
    pi_dist : {"z", "t"}
        Quantiles of the prediction interval.
    level : float
        Confidence level.
    labels : sequence, optional
        Study labels.

    Returns
    -------
    MetaResult
        Pooled survival, CI and prediction interval back-transformed to probabilities. Each study's
        SE comes from its printed CI (`se_from_ci`, log-log scale).

    References
    ----------
    Combescure C, Foucher Y, Jackson D. Meta-analysis of single-arm survival studies: a
    distribution-free approach for estimating summary survival curves with random effects.
    Stat Med 2014;33:2521-37 (pooling survival at fixed times on a transformed scale).
    """
    s = np.asarray(rates, float)
    if np.any((s <= 0) | (s >= 1)):
        raise ValueError("landmark rates must lie strictly between 0 and 1 to pool on log(-log)")
    y = np.log(-np.log(s))
    se = np.array([se_from_ci(si, lo, hi, scale="log-log", level=level)
                   for si, lo, hi in zip(s, lows, highs, strict=True)])
    r = meta_generic(y, se**2, tau2=tau2, knha=knha, pi_dist=pi_dist, level=level, labels=labels)

    def back(v):
        return float(np.exp(-np.exp(v)))

    # log(-log S) is decreasing in S: the limits swap
    return MetaResult(
        estimate=back(r.mu), ci_low=back(r.ci_high), ci_high=back(r.ci_low),
        pi_low=back(r.pi_high), pi_high=back(r.pi_low), tau2=r.tau2, i2=r.i2, h2=r.h2,
        q=r.q, q_p=r.q_p, k=r.k, mu=r.mu, se=r.se, method="log(-log) inverse variance",
        tau2_method=tau2, scale="log-log", level=level, knha=knha, studies=r.studies,
    )


@dataclass(frozen=True)
class ApproximateCurve:
    """A survival curve drawn through reported milestones; NOT patient data."""

    times: np.ndarray
    survival: np.ndarray
    points: tuple[tuple[float, float, str], ...]  # (time, S, what it is) it was built from
    label: str = "approximate (piecewise exponential through reported milestones)"


def approximate_curve(milestones: list[tuple[float, float, str]], horizon: float | None = None,
                      n: int = 200) -> ApproximateCurve | None:
    """Piecewise-exponential survival through (time, S, label) milestones.

    Between consecutive milestones the hazard is constant, so log S is linear in time. Beyond
    the last milestone the curve continues with the last segment's hazard up to `horizon`.
    Milestones that are not monotone (a later time with higher survival) are dropped with the
    earliest kept, since no survival curve passes through them. Returns None with fewer than
    one usable milestone.

    Parameters
    ----------
    milestones : list of (float, float, str)
        (time, S, what the point is, e.g. "median"); only points with time > 0 and 0 < S < 1 are
        used, and of two at the same time the one with the lower S.
    horizon : float, optional
        Last time to draw; the curve ends at the last milestone when it is earlier or None.
    n : int
        Number of evenly spaced times from 0 to the end.

    Returns
    -------
    ApproximateCurve or None
        `times` and `survival`, arrays of shape (n,), and the milestones kept; None when no
        milestone is usable.

    References
    ----------
    Friedman M. Piecewise exponential models for survival data with covariates. Ann Stat
    1982;10:101-13.
    Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
    reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
    2012;12:9 (the full reconstruction, which needs the printed curve; this draws through
    milestones only).
    """
    pts = sorted((float(t), float(s), lab) for t, s, lab in milestones if t > 0 and 0 < s < 1)
    kept: list[tuple[float, float, str]] = []
    for t, s, lab in pts:
        if kept and (t == kept[-1][0] or s > kept[-1][1]):
            continue
        kept.append((t, s, lab))
    if not kept:
        return None
    knots_t = np.array([0.0] + [p[0] for p in kept])
    knots_logs = np.array([0.0] + [np.log(p[1]) for p in kept])
    end = max(horizon or 0.0, knots_t[-1])
    times = np.linspace(0.0, end, n)
    logs = np.interp(times, knots_t, knots_logs)
    beyond = times > knots_t[-1]
    if beyond.any():
        slope = (knots_logs[-1] - knots_logs[-2]) / (knots_t[-1] - knots_t[-2])
        logs[beyond] = knots_logs[-1] + slope * (times[beyond] - knots_t[-1])
    return ApproximateCurve(times, np.exp(logs), tuple(kept))

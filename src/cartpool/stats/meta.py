"""Random-effects meta-analysis of single proportions and of generic effect sizes.

Conventions follow R's metafor (Viechtbauer 2010) and say so where they matter:

* tau^2 estimators (`cartpool.stats.tau2`): REML and ML by Fisher scoring (as `rma.uni`),
  DerSimonian-Laird (1986), Paule-Mandel (1982). tau^2 is truncated at 0.
* I^2 = 100 * tau^2 / (tau^2 + s^2) and H^2 = (tau^2 + s^2) / s^2, with s^2 the "typical"
  within-study variance of Higgins & Thompson (2002), as metafor computes them.
* Q is Cochran's Q from the equal-effects weights, with a chi-square(k-1) p-value.
* Confidence interval of the pooled effect: z-based by default; with ``knha=True`` the
  Knapp-Hartung (2003) adjusted standard error with t(k-1) quantiles (metafor ``test="knha"``).
* Prediction interval: metafor's default mu +/- z*sqrt(SE^2 + tau^2); ``pi_dist="t"`` uses
  t(k-1) quantiles instead, the choice metafor makes with ``test="knha"`` and the one the
  issue tracker asks for as R meta's option.

For proportions (`pool_proportions`; the effect sizes are `cartpool.stats.effect_sizes`):

* ``"glmm"`` (default, as R meta's `metaprop`): random-intercept logistic regression
  (binomial-normal model, Stijnen et al. 2010) fitted by maximum likelihood, the marginal
  likelihood integrated by adaptive Gauss-Hermite quadrature (7 nodes, as `rma.glmm`'s nAGQ).
* ``"logit"``: inverse variance on the logit scale; 0.5 is added to both cells only for
  studies with 0 or all events (metafor's ``add=1/2, to="only0"``).
* ``"ft"``: Freeman-Tukey double arcsine (metafor measure "PFT") with Miller's (1978)
  back-transformation at the harmonic mean of the sample sizes (`transf.ipft.hm`).
* ``"raw"``: untransformed proportions; studies with 0 or all events enter as (x + 0.5)/(n + 1),
  as metafor's escalc default for measure "PR" (their variance would otherwise be 0).

statsmodels' `combine_effects` provides DL and a fixed-effect pooling, but not REML or ML tau^2
(and its DL can go negative), GLMM, proportion transforms, back-transforms or prediction
intervals; those are written here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from .effect_sizes import ft_escalc, ipft, logit_escalc, raw_escalc
from .glmm import GLMMNotEstimable, glmm_fit  # noqa: F401 (GLMMNotEstimable: part of this API)
from .proportions import study_cis
from .tau2 import estimate_tau2

PROPORTION_METHODS = ("glmm", "logit", "ft", "raw")


@functools.lru_cache(maxsize=4096)
def _z_quantile(p: float) -> float:
    """The standard normal quantile (scipy's), kept: a large synthesis asks for the same few
    thousands of times (each leave-one-out row), and scipy's ppf costs about 50 microseconds."""
    return float(stats.norm.ppf(p))


@functools.lru_cache(maxsize=4096)
def _t_quantile(p: float, df: int) -> float:
    """Student's t quantile (scipy's), kept as `_z_quantile`."""
    return float(stats.t.ppf(p, df))


@dataclass
class MetaResult:
    """Pooled estimate with heterogeneity statistics.

    For `pool_proportions` the `estimate`, CI and PI are on the proportion scale; `mu`, `se`
    and `scale` give the model scale ("logit", "ft" or "raw"). For `meta_generic` both are on
    the scale of `yi`.
    """

    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_p: float
    k: int
    mu: float
    se: float
    method: str
    tau2_method: str
    scale: str
    level: float
    knha: bool
    studies: pd.DataFrame = field(repr=False)
    events: int | None = None
    total: int | None = None
    note: str = ""

    def as_row(self) -> dict:
        return {
            "k": self.k,
            "events": self.events,
            "total": self.total,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pi_low": self.pi_low,
            "pi_high": self.pi_high,
            "tau2": self.tau2,
            "i2": self.i2,
            "h2": self.h2,
            "q": self.q,
            "q_p": self.q_p,
            "method": self.method,
            "tau2_method": self.tau2_method,
        }


# --- tau^2 estimators (intercept-only model) -------------------------------------------------


def _heterogeneity(y: np.ndarray, v: np.ndarray, tau2: float) -> tuple[float, float, float, float]:
    k = len(y)
    w = 1 / v
    mu_fe = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu_fe) ** 2))
    q_p = float(stats.chi2.sf(q, k - 1)) if k > 1 else float("nan")
    denom = np.sum(w) ** 2 - np.sum(w**2)
    s2 = (k - 1) * np.sum(w) / denom if denom > 0 else float("nan")
    if k > 1 and np.isfinite(s2) and s2 > 0:
        i2 = 100 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
    else:
        i2, h2 = 0.0, 1.0
    return q, q_p, float(i2), float(h2)


@dataclass
class _Fit:
    mu: float
    se: float
    ci: tuple[float, float]
    pi: tuple[float, float]
    tau2: float
    weights: np.ndarray


def _pool(y: np.ndarray, v: np.ndarray, tau2: float, knha: bool, level: float, pi_dist: str) -> _Fit:
    k = len(y)
    w = 1 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    se = float(np.sqrt(1 / np.sum(w)))
    if knha and k > 1:
        se = float(np.sqrt(np.sum(w * (y - mu) ** 2) / ((k - 1) * np.sum(w))))
        crit = _t_quantile(0.5 + level / 2, k - 1)
    else:
        crit = _z_quantile(0.5 + level / 2)
    ci = (mu - crit * se, mu + crit * se)
    if (pi_dist == "t" or knha) and k > 1:  # metafor: test="knha" gives t quantiles for the PI too
        pcrit = _t_quantile(0.5 + level / 2, k - 1)
    else:
        pcrit = _z_quantile(0.5 + level / 2)
    half = pcrit * np.sqrt(se**2 + tau2)
    return _Fit(mu, se, ci, (mu - half, mu + half), tau2, w / np.sum(w))


def meta_generic(yi, vi, tau2: str = "REML", knha: bool = False, level: float = 0.95,
                 pi_dist: str = "z", labels=None) -> MetaResult:
    """Random-effects meta-analysis of effect sizes `yi` with sampling variances `vi`.

    The same model as metafor's ``rma(yi, vi, method=tau2, test="knha" if knha else "z")``.

    Parameters
    ----------
    yi : array_like of float, shape (k,)
        The studies' effect sizes (finite).
    vi : array_like of float, shape (k,)
        Their sampling variances (finite, positive).
    tau2 : {"REML", "ML", "DL", "PM", "EE"}
        The tau^2 estimator (`estimate_tau2`).
    knha : bool
        Knapp-Hartung adjusted standard error with t(k-1) quantiles for the CI and the PI.
    level : float
        Confidence level.
    pi_dist : {"z", "t"}
        Quantiles of the prediction interval when `knha` is False.
    labels : sequence, optional
        Study labels for the per-study table; 1..k when None.

    Returns
    -------
    MetaResult
        Pooled estimate, CI, PI, tau^2, I^2, H^2 and Cochran's Q, all on the scale of `yi`;
        `studies` has each study's effect, variance, z-based CI and weight in percent.

    Raises
    ------
    ValueError
        With no studies, or a non-finite effect or a non-positive variance.

    References
    ----------
    DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials. 1986;7:177-88.
    Knapp G, Hartung J. Improved tests for a random effects meta-regression with a single
    covariate. Stat Med. 2003;22:2693-710.
    Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med.
    2002;21:1539-58.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    y, v = np.asarray(yi, float), np.asarray(vi, float)
    if len(y) == 0:
        raise ValueError("no studies to pool")
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("effect sizes must be finite and variances positive")
    t2 = estimate_tau2(y, v, tau2)
    fit = _pool(y, v, t2, knha, level, pi_dist)
    q, q_p, i2, h2 = _heterogeneity(y, v, t2)
    crit = _z_quantile(0.5 + level / 2)
    studies = pd.DataFrame({
        "study": list(labels) if labels is not None else list(range(1, len(y) + 1)),
        "yi": y, "vi": v,
        "ci_low": y - crit * np.sqrt(v), "ci_high": y + crit * np.sqrt(v),
        "weight": 100 * fit.weights,
    })
    return MetaResult(
        estimate=fit.mu, ci_low=fit.ci[0], ci_high=fit.ci[1], pi_low=fit.pi[0], pi_high=fit.pi[1],
        tau2=t2, i2=i2, h2=h2, q=q, q_p=q_p, k=len(y), mu=fit.mu, se=fit.se,
        method="generic", tau2_method=tau2, scale="generic", level=level, knha=knha, studies=studies,
    )


# --- proportions -----------------------------------------------------------------------------


def pool_proportions(events, totals, method: str = "glmm", tau2: str = "REML", knha: bool = False,
                     level: float = 0.95, pi_dist: str = "z", labels=None,
                     ci_method: str = "exact", *, fit: tuple | None = None, table: bool = True) -> MetaResult:
    """Random-effects pooled proportion from per-study `events` out of `totals`.

    Parameters
    ----------
    events, totals : array_like of int
        Each study's events and patients.
    method : {"glmm", "logit", "ft", "raw"}
        The model (see the module docstring). For "glmm" tau^2 is always estimated by maximum
        likelihood (as `rma.glmm`); `tau2` applies to the inverse-variance methods.
    tau2 : {"REML", "ML", "DL", "PM"}
        tau^2 estimator of the inverse-variance methods.
    knha : bool
        Small-sample inference. For the inverse-variance methods the Knapp-Hartung adjusted
        standard error with t(k-1) quantiles (metafor ``test="knha"``); for the GLMM the same
        standard error with t(k-1) quantiles (metafor ``rma.glmm(test="t")``). Prediction
        intervals then use t(k-1) too, as metafor does.
    level : float
        Confidence level.
    pi_dist : {"z", "t"}
        Quantiles of the prediction interval when `knha` is False.
    labels : sequence, optional
        Study labels for the per-study table.
    ci_method : str
        Interval of each study's own proportion (Clopper-Pearson exact by default, as `metaprop`).
    fit : tuple, optional
        For "glmm": the maximum-likelihood fit of these data, already made (`glmm_fit` or
        `glmm_leave_one_out`); fitted here when None.
    table : bool
        Build the per-study table (`studies`); False leaves it empty (leave-one-out rows).

    Returns
    -------
    MetaResult
        Estimate, CI and PI on the proportion scale; `studies` gives each study's proportion,
        interval and weight in percent (for GLMM the inverse-variance logit weights under the GLMM
        tau^2, which is how R meta shows GLMM weights).

    Raises
    ------
    GLMMNotEstimable
        For "glmm" when the likelihood has no finite maximum (every study at 0 events or every
        study at 100%) or the information matrix is not positive definite. Callers decide what a
        reader sees instead (`cartpool.analysis.pooling`); no continuity-corrected value is
        substituted here.

    References
    ----------
    Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome in the framework
    of the generalized linear mixed model. Stat Med. 2010;29:3046-67.
    Hartung J, Knapp G. A refined method for the meta-analysis of controlled clinical trials with
    binary outcome. Stat Med. 2001;20:3875-89.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    return _pool_proportions(events, totals, method, tau2, knha, level, pi_dist, labels, ci_method, fit, table)


def _pool_proportions(events, totals, method: str, tau2: str, knha: bool, level: float, pi_dist: str,
                      labels, ci_method: str, fit: tuple | None = None, table: bool = True) -> MetaResult:
    x, n = np.asarray(events, float), np.asarray(totals, float)
    if len(x) == 0:
        raise ValueError("no studies to pool")
    if np.any(n <= 0) or np.any(x < 0) or np.any(x > n):
        raise ValueError("each study needs 0 <= events <= total and total > 0")
    if method not in PROPORTION_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(PROPORTION_METHODS)}")
    k = len(x)
    crit = _z_quantile(0.5 + level / 2)

    note = ""
    if method == "glmm":
        mu, se, t2, _ = glmm_fit(x, n) if fit is None else fit
        y, v = logit_escalc(x, n)
        # metafor rma.glmm(test="t"): the same standard error, t(k-1) quantiles for CI and PI
        c = _t_quantile(0.5 + level / 2, k - 1) if (knha and k > 1) else crit
        pc = _t_quantile(0.5 + level / 2, k - 1) if ((knha or pi_dist == "t") and k > 1) else crit
        ci = (mu - c * se, mu + c * se)
        half = pc * np.sqrt(se**2 + t2)
        pi = (mu - half, mu + half)
        weights = (1 / (v + t2)) / np.sum(1 / (v + t2))
        q, q_p, i2, h2 = _heterogeneity(y, v, t2)
        back = special.expit
        scale, t2_label = "logit", "ML"
    else:
        if method == "logit":
            y, v = logit_escalc(x, n)
            back, scale = special.expit, "logit"
        elif method == "ft":
            y, v = ft_escalc(x, n)
            n_hm = k / np.sum(1 / n)

            def back(z, _n=n_hm):
                out = ipft(z, _n)
                return out if np.ndim(z) else float(out[0])
            scale = "ft"
        else:
            y, v = raw_escalc(x, n)

            def back(z):
                return np.clip(z, 0.0, 1.0)
            scale = "raw"
        t2 = estimate_tau2(y, v, tau2) if k > 1 else 0.0
        fit = _pool(y, v, t2, knha, level, pi_dist)
        mu, se, ci, pi, weights = fit.mu, fit.se, fit.ci, fit.pi, fit.weights
        q, q_p, i2, h2 = _heterogeneity(y, v, t2)
        t2_label = tau2

    def b(z):
        return float(np.asarray(back(z)).reshape(-1)[0])

    if table:
        lo, hi = study_cis(x, n, ci_method, level)
        studies = pd.DataFrame({
            "study": list(labels) if labels is not None else list(range(1, k + 1)),
            "events": x.astype(int), "total": n.astype(int),
            "proportion": x / n,
            "ci_low": lo, "ci_high": hi,
            "yi": y, "vi": v, "weight": 100 * weights,
        })
    else:
        studies = pd.DataFrame()
    return MetaResult(
        estimate=b(mu), ci_low=b(ci[0]), ci_high=b(ci[1]),
        pi_low=b(pi[0]) if k > 1 else float("nan"), pi_high=b(pi[1]) if k > 1 else float("nan"),
        tau2=float(t2), i2=i2, h2=h2, q=q, q_p=q_p, k=k, mu=float(mu), se=float(se),
        method=method, tau2_method=t2_label, scale=scale, level=level, knha=knha,
        studies=studies, events=int(x.sum()), total=int(n.sum()), note=note,
    )


def q_between(mus, ses) -> tuple[float, int, float]:
    """The test for subgroup differences: Cochran's Q of the subgroup estimates on the model scale,
    weighted by their inverse squared standard errors, on (number of subgroups - 1) df, as R meta's
    random-effects test for subgroup differences (metafor: ``rma(yi, sei, method="EE")$QE``).

    Parameters
    ----------
    mus, ses : sequences of float
        Each subgroup's pooled estimate (logit scale) and its standard error.

    Returns
    -------
    (q, df, p)

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to Meta-Analysis. Wiley;
    2009, chapter 19.
    """
    mus, ws = np.asarray(mus, float), 1 / np.asarray(ses, float) ** 2
    pooled = np.sum(ws * mus) / np.sum(ws)
    q = float(np.sum(ws * (mus - pooled) ** 2))
    df = len(mus) - 1
    return q, df, float(stats.chi2.sf(q, df))


def leave_one_out(events, totals, labels=None, **kw) -> pd.DataFrame:
    """Pooled proportion with each study left out in turn (metafor `leave1out`).

    For the inverse-variance methods the study effects are transformed once and only the
    random-effects model is refitted per omission (the same numbers as calling
    `pool_proportions` k times, without rebuilding k study tables).

    Parameters
    ----------
    events, totals : array_like of int, shape (k,)
        Each study's events and patients.
    labels : sequence, optional
        Study labels, used in the `omitted` column; 1..k when None.
    **kw
        Passed to `pool_proportions` (method, tau2, knha, level, pi_dist, ...).

    Returns
    -------
    pandas.DataFrame
        One row per omitted study (none for a single study): `omitted` and the columns of
        `MetaResult.as_row` (k, events, total, estimate, CI, PI, tau2, i2, h2, q, q_p, method,
        tau2_method) for the remaining studies.

    Raises
    ------
    GLMMNotEstimable
        For "glmm" when a subset's likelihood has no finite maximum.

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    x, n = np.asarray(events, float), np.asarray(totals, float)
    labels = list(labels) if labels is not None else list(range(1, len(x) + 1))
    method = kw.get("method", "glmm")
    rows = []
    if method in ("logit", "ft", "raw") and not kw.get("knha") and len(x) > 2:
        y, v = {"logit": logit_escalc, "ft": ft_escalc, "raw": raw_escalc}[method](x, n)
        tau2_method, level = kw.get("tau2", "REML"), kw.get("level", 0.95)
        for i in range(len(x)):
            m = np.arange(len(x)) != i
            yi, vi, xi, ni = y[m], v[m], x[m], n[m]
            t2 = estimate_tau2(yi, vi, tau2_method)
            fit = _pool(yi, vi, t2, False, level, kw.get("pi_dist", "z"))
            q, q_p, i2, h2 = _heterogeneity(yi, vi, t2)
            n_hm = len(ni) / np.sum(1 / ni)

            def back(z, _n=n_hm):
                if method == "logit":
                    return float(special.expit(z))
                if method == "ft":
                    return float(ipft(z, _n)[0])
                return float(np.clip(z, 0, 1))
            rows.append({"omitted": labels[i], "k": int(m.sum()), "events": int(xi.sum()), "total": int(ni.sum()),
                         "estimate": back(fit.mu), "ci_low": back(fit.ci[0]), "ci_high": back(fit.ci[1]),
                         "pi_low": back(fit.pi[0]), "pi_high": back(fit.pi[1]), "tau2": t2, "i2": i2, "h2": h2,
                         "q": q, "q_p": q_p, "method": method, "tau2_method": tau2_method})
        return pd.DataFrame(rows)
    for i in range(len(x)):
        m = np.arange(len(x)) != i
        if m.sum() == 0:
            continue
        r = pool_proportions(x[m], n[m], **kw)
        rows.append({"omitted": labels[i], **r.as_row()})
    return pd.DataFrame(rows)

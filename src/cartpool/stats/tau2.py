"""Estimators of the between-study variance tau^2 of a random-effects model, as R's metafor
computes them (Viechtbauer 2005; 2010): REML and ML by Fisher scoring (as `rma.uni`),
DerSimonian-Laird (1986), Paule-Mandel (1982) by metafor's root finding, Hedges' estimator, and
none ("EE", equal effects). tau^2 is truncated at 0.

References
----------
Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects
model. J Educ Behav Stat 2005;30:261-293.
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
"""

from __future__ import annotations

import numpy as np

TAU2_METHODS = ("REML", "ML", "DL", "PM", "EE")


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - mu) ** 2)
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    return max(0.0, (q - (len(y) - 1)) / c) if c > 0 else 0.0


def _q_at(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mu) ** 2))


#: metafor's rma.uni control defaults: the convergence threshold of Fisher scoring, the tolerance of
#: uniroot() for Paule-Mandel, the search interval and the iteration limit. metafor stops at these
#: tolerances, so a tau^2 of order 1e-5 (raw proportions) is only as precise as they are; using
#: them here reproduces metafor's numbers rather than a different, equally valid root.
_METAFOR_THRESHOLD = 1e-5
_METAFOR_TOL = np.finfo(float).eps ** 0.25
_METAFOR_TAU2_MAX = 100.0
_METAFOR_MAXITER = 100


def _zeroin(f, a: float, b: float, tol: float, maxit: int) -> float:
    """Brent's root finder exactly as R's `uniroot` (R_zeroin2 in R's src/library/stats/src/zeroin.c).

    Ported by hand because scipy's `brentq`, the same method, takes different interpolation steps:
    at metafor's loose tolerance (1.2e-4) the two return different roots within it, and a tau^2 of
    order 1e-4 (raw proportions) then gives a visibly different prediction interval.
    """
    eps = np.finfo(float).eps
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # linear interpolation
                t1 = fb / fa
                p, q = cb * t1, 1.0 - t1
            else:  # inverse quadratic interpolation
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _tau2_pm(y: np.ndarray, v: np.ndarray) -> float:
    """Paule-Mandel: the tau^2 at which generalised Q equals its expectation k-1, found as metafor
    does (uniroot on [0, 100] at its tolerance)."""
    k = len(y)
    if _q_at(y, v, 0.0) < k - 1:
        return 0.0
    hi = _METAFOR_TAU2_MAX
    while _q_at(y, v, hi) > k - 1:  # beyond metafor's interval (metafor would stop with an error)
        hi *= 10
    return float(_zeroin(lambda t: _q_at(y, v, t) - (k - 1), 0.0, hi, _METAFOR_TOL, _METAFOR_MAXITER))


def _tau2_he(y: np.ndarray, v: np.ndarray) -> float:
    """Hedges' estimator (Hedges & Olkin 1985), truncated at 0: metafor's start for ML and REML."""
    k = len(y)
    rss = np.sum((y - y.mean()) ** 2)
    return max(0.0, float((rss - np.sum(v) * (k - 1) / k) / (k - 1)))


def _tau2_fisher(y: np.ndarray, v: np.ndarray, reml: bool) -> float:
    """REML/ML by Fisher scoring as metafor's `rma.uni` (intercept only): start at Hedges' estimator,
    halve a step that would make tau^2 negative, stop when tau^2 changes by less than 1e-5.

    metafor then compares the likelihood with tau^2 = 0 and, if that is higher, sets tau^2 = 0 with a
    warning ("Fisher scoring ... may have gotten stuck at a local maximum"); the same check is made
    here, silently.
    """
    tau2 = _tau2_he(y, v)
    change = _METAFOR_THRESHOLD + 1
    iterations = 0
    while change > _METAFOR_THRESHOLD and iterations <= _METAFOR_MAXITER:
        iterations += 1
        w = 1 / (v + tau2)
        sw = np.sum(w)
        py = w * (y - np.sum(w * y) / sw)  # P y, with P = W - W 1 1' W / sum(W)
        if reml:
            tr_p = sw - np.sum(w**2) / sw
            tr_pp = np.sum(w**2) - 2 * np.sum(w**3) / sw + (np.sum(w**2) / sw) ** 2
            adj = (np.sum(py**2) - tr_p) / tr_pp
        else:
            adj = (np.sum(py**2) - sw) / np.sum(w**2)
        while tau2 + adj < 0:
            adj /= 2
        change = abs(adj)
        tau2 += adj
    if tau2 > _METAFOR_THRESHOLD and _loglik(y, v, 0.0, reml) - _loglik(y, v, tau2, reml) > _METAFOR_TOL:
        return 0.0
    return float(tau2)


def _loglik(y: np.ndarray, v: np.ndarray, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood of the normal-normal model at tau2, mu profiled out (no constants)."""
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    ll = -0.5 * np.sum(np.log(v + tau2)) - 0.5 * np.sum(w * (y - mu) ** 2)
    return float(ll - 0.5 * np.log(np.sum(w))) if reml else float(ll)


def estimate_tau2(y, v, method: str = "REML") -> float:
    """Between-study variance tau^2 for an intercept-only random-effects model, truncated at 0.

    Parameters
    ----------
    y : array_like of float, shape (k,)
        The studies' effect sizes.
    v : array_like of float, shape (k,)
        Their sampling variances.
    method : {"REML", "ML", "DL", "PM", "EE"}
        REML or ML by Fisher scoring from Hedges' estimator, as metafor's `rma.uni`;
        DerSimonian-Laird; Paule-Mandel by R's `uniroot`; "EE" (equal effects) gives 0.

    Returns
    -------
    float
        tau^2 >= 0; 0 for fewer than two studies.

    Raises
    ------
    ValueError
        For an unknown `method`.

    References
    ----------
    DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials. 1986;7:177-88.
    Paule RC, Mandel J. Consensus values and weighting factors. J Res Natl Bur Stand.
    1982;87:377-85.
    Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects
    model. J Educ Behav Stat. 2005;30:261-93.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    y, v = np.asarray(y, float), np.asarray(v, float)
    if len(y) < 2 or method == "EE":  # "EE": equal-effects (common-effect) model, as metafor
        return 0.0
    if method == "DL":
        return _tau2_dl(y, v)
    if method == "PM":
        return _tau2_pm(y, v)
    if method in ("REML", "ML"):
        return _tau2_fisher(y, v, reml=method == "REML")
    raise ValueError(f"unknown tau2 method {method!r}; use one of {', '.join(TAU2_METHODS)}")

"""The binomial-normal GLMM for single proportions (random-intercept logistic regression), fitted
by maximum likelihood with adaptive Gauss-Hermite quadrature (7 nodes, as lme4's nAGQ and
metafor's `rma.glmm`), and its leave-one-out refits.

References
----------
Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome in the framework of
the generalized linear mixed model with applications in sparse data. Stat Med 2010;29:3046-3067.
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .quadrature import TAU_ZERO, binomial_normal_derivatives, binomial_normal_loglik


def _glmm_study_loglik(mu: float, tau: float, x: np.ndarray, n: np.ndarray, nodes: int = 7,
                       start: np.ndarray | None = None, return_mode: bool = False):
    """Per-study log marginal likelihood of the binomial-normal model (adaptive Gauss-Hermite
    quadrature, `cartpool.stats.quadrature`), with the modes to warm-start the next call."""
    if tau < TAU_ZERO:  # no heterogeneity: plain binomial likelihood
        ll = binomial_normal_loglik(mu, 0.0, x, n)
        return (ll, start if start is not None else np.zeros_like(x)) if return_mode else ll
    return binomial_normal_loglik(mu, tau, x, n, nodes=nodes, start=start, return_mode=return_mode)


class GLMMNotEstimable(ValueError):
    """The binomial-normal likelihood has no maximum for these data (for example every study at 0%
    or at 100%, or the likelihood still rising at the largest heterogeneity allowed)."""


#: Search bounds of the GLMM fit: the pooled logit and tau (the SD of the study logits).
_MU_BOUND = 30.0
_TAU_MAX = 30.0
#: Profile grid over tau: zero, then log-spaced up to `_TAU_MAX`.
_TAU_GRID = np.concatenate([[0.0], np.geomspace(0.05, _TAU_MAX, 19)])


class _GLMMLikelihood:
    """The negative log-likelihood of one data set, warm-starting each quadrature's mode search
    from the previous call's modes (successive calls of an optimiser are close together)."""

    def __init__(self, x: np.ndarray, n: np.ndarray):
        self.x, self.n, self.modes = x, n, None

    def __call__(self, mu: float, tau: float) -> float:
        ll, self.modes = _glmm_study_loglik(mu, tau, self.x, self.n, start=self.modes, return_mode=True)
        return -float(np.sum(ll))

    def profile(self, tau: float, xatol: float) -> tuple[float, float]:
        """max over mu at a fixed tau: (mu, negative log-likelihood)."""
        r = optimize.minimize_scalar(lambda m: self(m, tau), bounds=(-_MU_BOUND, _MU_BOUND), method="bounded",
                                     options={"xatol": xatol})
        return float(r.x), float(r.fun)


@dataclass(frozen=True)
class _Climbed:
    """A maximum that `_newton_climb` reached, shaped as scipy's `OptimizeResult` is read here."""

    x: np.ndarray
    fun: float


def _newton_climb(x: np.ndarray, n: np.ndarray, lik: _GLMMLikelihood, mu0: float, lt0: float,
                  max_steps: int = 60) -> _Climbed | None:
    """The maximum of the likelihood in (mu, log tau) by Newton's method from (mu0, lt0), with the
    gradient and curvature of the quadrature (`binomial_normal_derivatives`) and step halving on
    the likelihood itself; None where a step has no negative definite curvature, leaves the
    search bounds or does not converge (the caller then uses Nelder-Mead). Written by hand because
    the steps need the quadrature's own derivatives; converges to 1e-9 in both coordinates, where
    Nelder-Mead stops at about 1e-7.

    References
    ----------
    Nocedal J, Wright SJ. Numerical Optimization, 2nd ed. Springer; 2006, chapter 3 (Newton's
    method with a backtracking line search).
    """
    th = np.array([mu0, lt0], float)
    f = lik(th[0], float(np.exp(th[1])))
    lt_low, lt_high = np.log(1e-6), np.log(_TAU_MAX)
    for _ in range(max_steps):
        d = binomial_normal_derivatives(th[0], float(np.exp(th[1])), x, n, nodes=7)
        g = np.array([d["d_mu"].sum(), d["d_s"].sum()])
        h = np.array([[d["d_mu_mu"].sum(), d["d_mu_s"].sum()], [d["d_mu_s"].sum(), d["d_s_s"].sum()]])
        if not (h[0, 0] < 0 and np.linalg.det(h) > 0):
            return None
        step = -np.linalg.solve(h, g)
        t = 1.0
        while True:
            cand = th + t * step
            if abs(cand[0]) > _MU_BOUND or not lt_low < cand[1] < lt_high:
                return None
            f_cand = lik(cand[0], float(np.exp(cand[1])))
            if f_cand <= f + 1e-12:
                break
            t /= 2
            if t < 1e-6:
                return None
        th, f = cand, f_cand
        if np.all(np.abs(t * step) < 1e-9):
            return _Climbed(th, f)
    return None

def _glmm_nll(mu: float, tau: float, x: np.ndarray, n: np.ndarray) -> float:
    return -float(np.sum(_glmm_study_loglik(mu, tau, x, n)))


def _profile_grid(x: np.ndarray, n: np.ndarray, counts: np.ndarray, mu0: float,
                  tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """The profile of the likelihood over the tau grid (`_TAU_GRID`): at each grid tau the mu that
    maximises it, and each study's log-likelihood there (shape: grid x studies; `counts`: each
    study's multiplicity). All grid points at once, by Newton's method on the exact gradient and
    curvature of the quadrature, safeguarded by bisection in the search bounds, each grid point
    until its step is below `tol`: the likelihood is concave in mu at fixed tau (the integrand is
    log-concave in (mu, b), and so is its integral over b), so the maximiser is unique."""
    taus = np.where(_TAU_GRID == 0, TAU_ZERO, _TAU_GRID)
    m = np.full(len(taus), float(mu0))
    lo, hi = np.full(len(taus), -_MU_BOUND), np.full(len(taus), _MU_BOUND)
    modes = None
    active = np.arange(len(taus))
    for _ in range(200):
        d = binomial_normal_derivatives(m[active, None], taus[active, None], x, n, nodes=7,
                                        start=None if modes is None else modes[active])
        if modes is None:
            modes = np.empty((len(taus), len(x)))
        modes[active] = d["mode"]
        g, h = d["d_mu"] @ counts, d["d_mu_mu"] @ counts
        lo[active], hi[active] = np.where(g > 0, m[active], lo[active]), np.where(g < 0, m[active], hi[active])
        new = m[active] - g / np.minimum(h, -1e-300)
        new = np.where((new <= lo[active]) | (new >= hi[active]), 0.5 * (lo[active] + hi[active]), new)
        moved = np.abs(new - m[active]) >= tol
        m[active] = new
        active = active[moved]
        if active.size == 0:
            break
    return m, binomial_normal_loglik(m[:, None], np.where(_TAU_GRID == 0, 0.0, _TAU_GRID)[:, None], x, n)


def _glmm_fit(x: np.ndarray, n: np.ndarray) -> tuple[float, float, float, float]:
    """Maximum-likelihood fit of the binomial-normal model: (mu, SE of mu, tau^2, log-likelihood).

    Written by hand because no Python library fits this model with adaptive quadrature
    (statsmodels' BinomialBayesMixedGLM is variational Bayes, not ML). The likelihood is often flat
    with CAR-T data (several studies at 100%, 6-12 patients each), where a local optimiser stops
    early, so the fit profiles the likelihood over tau on a grid from 0 to 30, maximising over mu
    at each point, and then refines the best point jointly in (mu, log tau). The SE of mu comes from
    the observed information in (mu, log tau), a well-conditioned scale, with steps suited to the
    curvature; at tau = 0 only the mu-mu element is used. A maximum at the search bounds (the
    pooled logit running off to +-infinity, or tau still rising at its largest value) raises
    `GLMMNotEstimable`, as does an information matrix that is not positive definite.

    References
    ----------
    Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome in the framework
    of the generalized linear mixed model with applications in sparse data. Stat Med
    2010;29:3046-3067.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
    Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4. J Stat
    Softw 2015;67(1) (adaptive Gauss-Hermite quadrature with nAGQ = 7 as used by rma.glmm).
    """
    if np.all(x == 0) or np.all(x == n):
        raise GLMMNotEstimable("every study has " + ("no" if np.all(x == 0) else "all") + " events")
    lik = _GLMMLikelihood(x, n)
    mu0 = float(np.log((x.sum() + 0.5) / ((n - x).sum() + 0.5)))  # the pooled empirical logit
    grid_mu, grid_ll = _profile_grid(x, n, np.ones(len(x)), mu0, tol=1e-6)  # the grid gives starting points
    profile = [((float(m), -float(np.sum(ll))), float(t)) for m, ll, t in zip(grid_mu, grid_ll, _TAU_GRID, strict=True)]

    def nll(theta):
        return lik(theta[0], float(np.exp(theta[1])))

    def refine(mu0: float, start_lt: float):
        # Newton's method on the quadrature's exact derivatives from a grid point, where it climbs to a
        # point with a negative definite curvature inside the bounds (a few steps); else Nelder-Mead
        # with a simplex the size of the grid's spacing, robust on flat likelihoods, where
        # gradient-based methods stop on finite-difference noise
        found = _newton_climb(x, n, lik, mu0, start_lt)
        if found is not None:
            return found
        simplex = np.array([[mu0, start_lt], [mu0 + 0.5, start_lt], [mu0, start_lt + 0.5]])
        return optimize.minimize(lambda th: nll([np.clip(th[0], -_MU_BOUND, _MU_BOUND),
                                                 np.clip(th[1], np.log(1e-6), np.log(_TAU_MAX))]),
                                 x0=simplex[0], method="Nelder-Mead",
                                 options={"initial_simplex": simplex, "xatol": 1e-7, "fatol": 1e-12, "maxiter": 2000})

    # The profile likelihood over tau can have two maxima (one at tau = 0, one inside): refine from the
    # best grid point and from the best grid point with tau > 0, and keep the higher.
    (mu0, _), t0 = min(profile, key=lambda p: p[0][1])
    (mu1, _), t1 = min(profile[1:], key=lambda p: p[0][1])
    starts = [(mu0, np.log(t0) if t0 > 0 else np.log(_TAU_GRID[1] / 4))]
    if t1 != t0:
        starts.append((mu1, np.log(t1)))
    r = min((refine(m, lt0) for m, lt0 in starts), key=lambda res: float(res.fun))
    mu_hat, lt = float(r.x[0]), float(r.x[1])
    best = float(r.fun)
    # the tau = 0 boundary (equal-effects model) wins when its likelihood is at least as high
    m_zero, f_zero = lik.profile(0.0, 1e-10)
    if f_zero <= best + 1e-9 or np.exp(lt) < 1e-4:
        mu_hat, tau, best = m_zero, 0.0, f_zero
    else:
        tau = float(np.exp(lt))
    if abs(mu_hat) > _MU_BOUND - 1e-3:
        raise GLMMNotEstimable("the pooled logit has no finite maximum")
    if tau > _TAU_MAX * 0.999:
        raise GLMMNotEstimable("the likelihood keeps rising with the heterogeneity")

    hm = 1e-3 * max(1.0, abs(mu_hat))
    if tau == 0.0:
        h_mm = (_glmm_nll(mu_hat + hm, 0, x, n) - 2 * best + _glmm_nll(mu_hat - hm, 0, x, n)) / hm**2
        var_mu = 1 / h_mm if h_mm > 0 else -1.0
    else:
        th = np.array([mu_hat, np.log(tau)])
        hs = np.array([hm, 1e-2])  # log tau: a larger step keeps quadrature noise out of a small curvature
        f00 = nll(th)
        info = np.empty((2, 2))
        for i in range(2):
            e_i = np.eye(2)[i] * hs[i]
            info[i, i] = (nll(th + e_i) - 2 * f00 + nll(th - e_i)) / hs[i] ** 2
        e0, e1 = np.eye(2)[0] * hs[0], np.eye(2)[1] * hs[1]
        info[0, 1] = info[1, 0] = (nll(th + e0 + e1) - nll(th + e0 - e1) - nll(th - e0 + e1)
                                   + nll(th - e0 - e1)) / (4 * hs[0] * hs[1])
        det = info[0, 0] * info[1, 1] - info[0, 1] ** 2
        var_mu = info[1, 1] / det if det > 0 and info[0, 0] > 0 else -1.0
    if not (var_mu > 0 and np.isfinite(var_mu)):
        raise GLMMNotEstimable("the information matrix is not positive definite at the maximum")
    return float(mu_hat), float(np.sqrt(var_mu)), float(tau**2), -best




@functools.lru_cache(maxsize=4096)
def _glmm_fit_cached(x: tuple, n: tuple) -> tuple[float, float, float, float] | GLMMNotEstimable:
    try:
        return _glmm_fit(np.array(x, float), np.array(n, float))
    except GLMMNotEstimable as err:
        return err


def glmm_fit(x, n) -> tuple[float, float, float, float]:
    """Maximum-likelihood fit of the binomial-normal model: (mu, SE of mu, tau^2, log-likelihood).

    Memoised on the data (a row and its small-sample companion fit the same model). See
    `_glmm_fit` for the method.

    Parameters
    ----------
    x, n : array_like of int
        Each study's events and patients.

    Returns
    -------
    tuple of float
        The pooled logit, its standard error, tau^2 and the maximised log-likelihood.

    Raises
    ------
    GLMMNotEstimable
        Where the likelihood has no finite maximum.

    References
    ----------
    Stijnen T, Hamza TH, Ozdemir P. Stat Med 2010;29:3046-3067.
    """
    r = _glmm_fit_cached(tuple(float(v) for v in np.asarray(x, float)),
                         tuple(float(v) for v in np.asarray(n, float)))
    if isinstance(r, GLMMNotEstimable):
        raise GLMMNotEstimable(*r.args)
    return r


# --- leave-one-out ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveOneOut:
    """The GLMM fitted with each study left out in turn: `fits[i]` is the fit without study i, a
    tuple (mu, SE of mu, tau^2, log-likelihood) as `glmm_fit` returns, or the `GLMMNotEstimable`
    that fit raised."""

    fits: list


def glmm_leave_one_out(x, n) -> LeaveOneOut:
    """The GLMM refitted with each study left out, as `glmm_fit` on each subset, fast at any k.

    Each omission's log-likelihood is the full one less the omitted study's term, and studies with
    the same counts give the same subset, so only the distinct (events, total) pairs are refitted,
    all at once: Newton's method in (mu, log tau) from the full data's maximum, with the gradient
    and Hessian of every study's adaptive quadrature (`binomial_normal_derivatives`), vectorised
    over omissions x studies. A refit is then accepted only where it is the maximum `glmm_fit`
    finds: it converged to an interior maximum, neither tau = 0 nor any point of `glmm_fit`'s
    profile grid over tau is higher, and it is inside the search bounds. The standard error comes
    from the same finite differences as `glmm_fit`. Where a check fails (and wherever the full
    data have no interior maximum) the subset is fitted by `glmm_fit` itself.

    Parameters
    ----------
    x, n : array_like of int
        Each study's events and patients (k >= 2).

    Returns
    -------
    LeaveOneOut

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3) (`leave1out`).
    """
    x, n = np.asarray(x, float), np.asarray(n, float)
    pairs, inverse, counts = np.unique(np.stack([x, n], axis=1), axis=0, return_inverse=True,
                                       return_counts=True)
    inverse = np.asarray(inverse).ravel()
    px, pn = pairs[:, 0], pairs[:, 1]
    weights = counts[None, :] - np.eye(len(pairs))  # row q: the counts without one study of pair q
    fits: list = [None] * len(pairs)
    try:
        mu0, _, tau2_0, _ = glmm_fit(x, n)
    except GLMMNotEstimable:
        mu0, tau2_0 = None, None
    if len(x) > 3 and tau2_0 is not None and tau2_0 > 0:
        fits = _batched_refits(px, pn, weights, mu0, np.sqrt(tau2_0))
    elif len(x) > 3 and tau2_0 == 0:  # the full data's maximum is at tau = 0
        fits = _batched_common(px, pn, weights, mu0)
    for q in range(len(pairs)):
        if fits[q] is None:
            keep = weights[q]
            xs, ns = np.repeat(px, keep.astype(int)), np.repeat(pn, keep.astype(int))
            try:
                fits[q] = glmm_fit(xs, ns)
            except GLMMNotEstimable as err:
                fits[q] = err
    return LeaveOneOut([fits[q] for q in inverse])


#: Refits whose tau falls below this are left to `glmm_fit` (it sets tau = 0 below 1e-4).
_LOG_TAU_FLOOR = float(np.log(1e-5))


def _batched_refits(px, pn, weights, mu0: float, tau0: float) -> list:
    """Newton refits of every omission at once; None where `glmm_fit` must decide."""
    n_q = len(weights)
    theta = np.tile([mu0, np.log(tau0)], (n_q, 1))

    def evaluate(th, rows, derivatives: bool):
        mu, tau, w = th[:, 0:1], np.exp(th[:, 1:2]), weights[rows]
        if derivatives:
            d = binomial_normal_derivatives(mu, tau, px[None, :], pn[None, :], nodes=7)
            return {k: np.sum(w * v, axis=1) for k, v in d.items() if k != "mode"}
        return np.sum(w * binomial_normal_loglik(mu, tau, px[None, :], pn[None, :], nodes=7, fast=True), axis=1)

    active = np.ones(n_q, bool)
    converged = np.zeros(n_q, bool)
    d = evaluate(theta, np.arange(n_q), True)
    value = d["loglik"]
    for _ in range(50):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        grad = np.stack([d["d_mu"][idx], d["d_s"][idx]], axis=1)
        hess = np.stack([np.stack([d["d_mu_mu"][idx], d["d_mu_s"][idx]], axis=1),
                         np.stack([d["d_mu_s"][idx], d["d_s_s"][idx]], axis=1)], axis=1)
        det = hess[:, 0, 0] * hess[:, 1, 1] - hess[:, 0, 1] ** 2
        concave = (hess[:, 0, 0] < 0) & (det > 0)
        step = np.zeros_like(grad)
        step[:, 0] = -(hess[:, 1, 1] * grad[:, 0] - hess[:, 0, 1] * grad[:, 1]) / np.where(concave, det, 1)
        step[:, 1] = -(hess[:, 0, 0] * grad[:, 1] - hess[:, 0, 1] * grad[:, 0]) / np.where(concave, det, 1)
        active[idx[~concave]] = False  # not concave here: glmm_fit decides
        keep = concave
        idx, step = idx[keep], step[keep]
        # backtracking: halve the step until the likelihood does not fall
        trial_value = np.full(idx.size, -np.inf)
        scale = np.ones(idx.size)
        pending = np.arange(idx.size)
        for _ in range(30):
            if pending.size == 0:
                break
            trial = theta[idx[pending]] + scale[pending, None] * step[pending]
            trial[:, 1] = np.clip(trial[:, 1], _LOG_TAU_FLOOR, np.log(_TAU_MAX))
            v = evaluate(trial, idx[pending], False)
            ok = v >= value[idx[pending]] - 1e-12 * np.abs(value[idx[pending]])
            trial_value[pending[ok]] = v[ok]
            pending = pending[~ok]
            scale[pending] /= 2
        moved_ok = np.isfinite(trial_value)
        new = theta[idx] + scale[:, None] * step
        new[:, 1] = np.clip(new[:, 1], _LOG_TAU_FLOOR, np.log(_TAU_MAX))
        size = np.abs(new - theta[idx]).max(axis=1)
        theta[idx[moved_ok]] = new[moved_ok]
        # no progress, or heading for tau = 0 (glmm_fit's boundary rule decides those)
        moved_ok &= new[:, 1] > _LOG_TAU_FLOOR
        active[idx[~moved_ok]] = False
        done = moved_ok & (size < 1e-10)
        converged[idx[done]] = True
        active[idx[done]] = False
        still = idx[moved_ok & ~done]
        if still.size:
            dd = evaluate(theta[still], still, True)
            for k_, v_ in dd.items():
                d[k_][still] = v_
            value[still] = dd["loglik"]
    fits: list = [None] * n_q
    ok = np.flatnonzero(converged)
    if ok.size == 0:
        return fits
    mu, lt = theta[ok, 0], theta[ok, 1]
    w = weights[ok]
    centre, modes = binomial_normal_loglik(mu[:, None], np.exp(lt)[:, None], px[None, :], pn[None, :], fast=True,
                                           return_mode=True)
    best = -np.sum(w * centre, axis=1)
    ok_mask = (np.abs(mu) <= _MU_BOUND - 1e-3) & (np.exp(lt) <= _TAU_MAX * 0.999) & (np.exp(lt) >= 1e-4)
    # glmm_fit's profile over tau: no grid point (tau = 0 included) may come near the refit
    ok_mask &= _profile_below(px, pn, weights[ok], ok, mu0, best, np.exp(lt))
    # standard errors by glmm_fit's finite differences
    hm = 1e-3 * np.maximum(1.0, np.abs(mu))
    hs = 1e-2

    def nll(m, s):  # warm-started at the modes of the centre point, a step away
        return -np.sum(w * binomial_normal_loglik(m[:, None], np.exp(s)[:, None], px[None, :], pn[None, :], fast=True,
                                                  start=modes), axis=1)

    f00 = best
    i_mm = (nll(mu + hm, lt) - 2 * f00 + nll(mu - hm, lt)) / hm**2
    i_ss = (nll(mu, lt + hs) - 2 * f00 + nll(mu, lt - hs)) / hs**2
    i_ms = (nll(mu + hm, lt + hs) - nll(mu + hm, lt - hs) - nll(mu - hm, lt + hs) + nll(mu - hm, lt - hs)) / (4 * hm * hs)
    det = i_mm * i_ss - i_ms**2
    var = np.where((det > 0) & (i_mm > 0), i_ss / np.where(det > 0, det, 1), -1.0)
    ok_mask &= (var > 0) & np.isfinite(var)
    for j, q in enumerate(ok):
        if ok_mask[j]:
            fits[q] = (float(mu[j]), float(np.sqrt(var[j])), float(np.exp(lt[j]) ** 2), float(-best[j]))
    return fits


def _batched_common(px, pn, weights, mu0: float) -> list:
    """Refits where the full data's maximum is at tau = 0 (the common-effect boundary, where
    `glmm_fit` reports tau^2 = 0): each subset's maximum there is logit(events / patients) in
    closed form, and it stays on the boundary where the likelihood falls as tau leaves 0 (the score
    for tau^2 at 0 is negative) and no point of the profile grid comes near it. The standard error
    is `glmm_fit`'s finite difference at tau = 0. None where `glmm_fit` must decide."""
    events, patients = weights @ px, weights @ pn
    fits: list = [None] * len(weights)
    inside = (events > 0) & (events < patients)
    if not inside.any():
        return fits
    rows = np.flatnonzero(inside)
    w = weights[rows]
    p = events[rows] / patients[rows]
    mu = np.log(p / (1 - p))
    # d loglik / d tau^2 at tau^2 = 0, mu at its maximum: 1/2 sum [(x - n p)^2 - n p (1 - p)]
    score = 0.5 * np.sum(w * ((px - pn * p[:, None]) ** 2 - pn * (p * (1 - p))[:, None]), axis=1)

    def nll(m):
        return -np.sum(w * binomial_normal_loglik(m[:, None], 0.0, px, pn), axis=1)

    best = nll(mu)
    hm = 1e-3 * np.maximum(1.0, np.abs(mu))
    h_mm = (nll(mu + hm) - 2 * best + nll(mu - hm)) / hm**2
    ok = (score < 0) & (h_mm > 0) & (np.abs(mu) <= _MU_BOUND - 1e-3)
    ok &= _profile_below(px, pn, w, rows, mu0, best, np.zeros(len(rows)))
    for j, q in enumerate(rows):
        if ok[j]:
            fits[q] = (float(mu[j]), float(np.sqrt(1 / h_mm[j])), 0.0, float(-best[j]))
    return fits


#: glmm_fit starts from the best point of its profile grid over tau. A refit is accepted without
#: that search when every grid point that comes within this much of it (log-likelihood) lies on
#: its own hill (the two points around its tau, then outwards while the profile falls): the best
#: grid point then leads to the same maximum, and no other maximum competes. tau = 0 as high as an
#: interior refit is glmm_fit's boundary rule: such refits are left to glmm_fit.
_PROFILE_MARGIN = 1.0


def _profile_below(px, pn, weights, rows, mu0: float, best: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Whether each refit passes the grid check above. An omission's profile at a grid tau is the
    full data's profile less one study: one Newton step in mu from the full data's maximiser
    estimates it (the step's error is second order in the one study's pull, and
    `_PROFILE_MARGIN` absorbs it). Cost: one pass over the studies per grid point."""
    counts = weights[0] + (np.arange(len(px)) == rows[0])  # the full data's multiplicities
    m, ll = _profile_grid(px, pn, counts, mu0)
    d = binomial_normal_derivatives(m[:, None], np.where(_TAU_GRID == 0, TAU_ZERO, _TAU_GRID)[:, None], px, pn,
                                    nodes=7)
    # per omission (rows of weights) and grid point: value, gradient and curvature at m
    value = weights @ ll.T
    g = weights @ d["d_mu"].T
    h = weights @ d["d_mu_mu"].T
    # the Newton estimate where the curvature is usable; else the bound that concavity in mu gives
    # over the whole search range (f(m') <= f(m) + f'(m) (m' - m))
    bound = np.abs(g) * 2 * _MU_BOUND
    estimate = value + np.where(h < 0, np.minimum(g**2 / (2 * np.maximum(-h, 1e-300)), bound), bound)
    near = estimate >= -best[:, None] - _PROFILE_MARGIN
    below = np.searchsorted(_TAU_GRID, tau, side="right") - 1  # the grid point at or below each refit's tau
    ok = np.empty(len(weights), bool)
    last = len(_TAU_GRID) - 1
    for r in range(len(weights)):
        # the hill of the refit: its bracket, then outwards while the profile keeps falling; every
        # grid point near the refit must lie on it (a second hill would be a competing maximum)
        left, right = below[r], min(below[r] + 1, last)
        while left > 0 and near[r, left - 1] and estimate[r, left - 1] <= estimate[r, left]:
            left -= 1
        while right < last and near[r, right + 1] and estimate[r, right + 1] <= estimate[r, right]:
            right += 1
        outside = near[r].copy()
        outside[left:right + 1] = False
        # tau = 0 as high as the refit is glmm_fit's boundary rule, unless the refit is there
        boundary = tau[r] > 0 and left == 0 and near[r, 0]
        ok[r] = not outside.any() and not boundary
    return ok

"""The marginal likelihood of the binomial-normal model by adaptive Gauss-Hermite quadrature.

One home for the integral that both the GLMM (`cartpool.stats.glmm`, 7 nodes as lme4's nAGQ) and
the Bayesian few-studies model (`cartpool.stats.bayes`, 15 nodes) need:

    p(x | mu, tau) = integral of Binomial(x | n, expit(mu + b)) * Normal(b | 0, tau^2) db.

The nodes are centred at the mode of each integrand and scaled by its curvature (Liu & Pierce
1994), which is what lme4 and metafor's `rma.glmm` do with nAGQ > 1. Every function broadcasts
over its arguments, so a whole grid of (mu, tau) and every study are integrated at once.

Written by hand because no maintained Python library integrates this model by adaptive
quadrature (statsmodels' BinomialBayesMixedGLM is variational Bayes; scipy has fixed-node
Gauss-Hermite rules only, which this module uses).

References
----------
Liu Q, Pierce DA. A note on Gauss-Hermite quadrature. Biometrika 1994;81:624-629.
Pinheiro JC, Bates DM. Approximations to the log-likelihood function in the nonlinear mixed-effects
model. J Comput Graph Stat 1995;4:12-35.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special

#: Below this tau the random effect is taken as absent (the plain binomial likelihood).
TAU_ZERO = 1e-8


@functools.cache
def hermite_rule(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights for the weight function exp(-x^2) (physicists' rule).

    Cached: each rule is computed once per process (numpy's `hermgauss`).

    Parameters
    ----------
    nodes : int
        Number of nodes (7 for the GLMM, 15 for the Bayesian grid).

    Returns
    -------
    (ndarray, ndarray)
        Nodes and weights, each of shape (nodes,); the weights sum to sqrt(pi).

    References
    ----------
    Abramowitz M, Stegun IA, eds. Handbook of Mathematical Functions. National Bureau of
    Standards; 1964, formula 25.4.46.
    Liu Q, Pierce DA. A note on Gauss-Hermite quadrature. Biometrika 1994;81:624-629.
    """
    return np.polynomial.hermite.hermgauss(nodes)


def log_binomial_coefficient(x, n) -> np.ndarray:
    """log C(n, x), elementwise, from log-gamma functions (defined for non-integer x too).

    Parameters
    ----------
    x, n : array_like of float
        Events and patients, broadcast together (0 <= x <= n).

    Returns
    -------
    ndarray
        log(n! / (x! (n - x)!)) in the broadcast shape.

    References
    ----------
    Abramowitz M, Stegun IA, eds. Handbook of Mathematical Functions. National Bureau of
    Standards; 1964, chapter 6 (the gamma function).
    """
    x, n = np.asarray(x, float), np.asarray(n, float)
    return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)


def approximate_mode(mu, tau, x, n) -> np.ndarray:
    """A starting point for `integrand_mode`: the mode of the normal approximation, with the study's
    empirical logit (0.5 added to both cells) and its variance in place of the binomial likelihood.

    Parameters
    ----------
    mu, tau : array_like of float
        The pooled logit and the SD of the study logits (tau > 0); broadcast with `x` and `n`.
    x, n : array_like of float
        Events and patients.

    Returns
    -------
    ndarray
        The approximate modes of the random effect b, (y - mu) * w / (w + 1/tau^2) with y the
        empirical logit and w its inverse variance, in the broadcast shape.

    References
    ----------
    Cox DR. The Analysis of Binary Data. Methuen; 1970 (the empirical logistic transform).
    Liu Q, Pierce DA. A note on Gauss-Hermite quadrature. Biometrika 1994;81:624-629.
    """
    x, n = np.asarray(x, float), np.asarray(n, float)
    y = np.log((x + 0.5) / (n - x + 0.5))
    prec = 1 / (1 / (x + 0.5) + 1 / (n - x + 0.5))
    prior = 1 / np.asarray(tau, float) ** 2
    return (y - np.asarray(mu, float)) * prec / (prec + prior)


def integrand_mode(mu, tau, x, n, start=None, *, tol: float = 1e-10, maxiter: int = 300,
                   each: bool = False) -> np.ndarray:
    """The mode b of log Binomial(x | n, expit(mu + b)) + log Normal(b | 0, tau^2), elementwise.

    The log integrand is strictly concave in b, so its gradient is decreasing and the mode lies
    in [-n tau^2 - 1, x tau^2 + 1]. Newton's method safeguarded by bisection in that bracket
    converges for any data; plain Newton diverges for a study at 0% or 100%. All elements step
    until the largest step is below `tol`; with `each`, every element stops on its own (faster on
    large grids, and the same to about 1e-12).

    Parameters
    ----------
    mu, tau, x, n : array_like
        Broadcast together; tau > 0.
    start : array_like, optional
        A starting mode (a warm start from a nearby (mu, tau) saves most steps); 0 by default.

    Returns
    -------
    ndarray
        The modes, in the broadcast shape.

    References
    ----------
    Press WH, Teukolsky SA, Vetterling WT, Flannery BP. Numerical Recipes, 3rd ed. Cambridge
    University Press; 2007, section 9.4 (Newton-Raphson with bisection).
    """
    mu, tau, x, n = np.broadcast_arrays(*(np.asarray(v, float) for v in (mu, tau, x, n)))
    shape = mu.shape
    mu, x, n = mu.ravel(), x.ravel(), n.ravel()
    t2 = tau.ravel() ** 2
    lo, hi = -n * t2 - 1.0, x * t2 + 1.0
    b = np.zeros_like(mu) if start is None else np.clip(np.broadcast_to(start, shape).ravel(), lo, hi)
    g_before = np.full_like(mu, np.inf)
    active = np.arange(mu.size)
    for _ in range(maxiter):
        if active.size == 0:
            break
        ba, ta, xa, na = b[active], t2[active], x[active], n[active]
        p = special.expit(mu[active] + ba)
        g = xa - na * p - ba / ta
        lo_a = np.where(g > 0, ba, lo[active])
        hi_a = np.where(g < 0, ba, hi[active])
        new = ba + g / (na * p * (1 - p) + 1 / ta)
        # bisect where Newton leaves the bracket or did not halve the gradient (it can cycle)
        bisect = (new < lo_a) | (new > hi_a) | (np.abs(g) > 0.5 * g_before[active])
        new = np.where(bisect, 0.5 * (lo_a + hi_a), new)
        lo[active], hi[active], g_before[active], b[active] = lo_a, hi_a, np.abs(g), new
        moved = np.abs(new - ba) >= tol
        active = active[moved] if each else (active if moved.any() else active[:0])
    return b.reshape(shape)


def _softplus(eta: np.ndarray) -> np.ndarray:
    """log(1 + exp(eta)), the same as np.logaddexp(0, eta) to within 2e-16 and about twice as fast."""
    return np.maximum(eta, 0) + np.log(1 + np.exp(-np.abs(eta)))


def binomial_normal_loglik(mu, tau, x, n, *, nodes: int = 7, start=None, return_mode: bool = False,
                           fast: bool = False):
    """log p(x | mu, tau) of the binomial-normal model, by adaptive Gauss-Hermite quadrature.

    Parameters
    ----------
    mu, tau : array_like
        The pooled logit and the SD of the study logits; broadcast with `x` and `n`. Where
        tau < `TAU_ZERO` the likelihood is the plain binomial one.
    x, n : array_like
        Events and patients.
    nodes : int
        Quadrature nodes (7 as lme4's nAGQ for the GLMM; 15 for the Bayesian grid).
    start : array_like, optional
        Starting modes (`integrand_mode`).
    return_mode : bool
        Also return the modes (to warm-start the next call).
    fast : bool
        Start each mode search at `approximate_mode`, stop each on its own, and use a faster
        log(1 + e^x); the values differ by about 1e-13 (the Bayesian grid uses it; the GLMM keeps the exact arithmetic its
        optimiser was tuned with).

    Returns
    -------
    ndarray, or (ndarray, ndarray) with `return_mode`
        The log marginal likelihood in the broadcast shape (and the modes).

    References
    ----------
    Liu Q, Pierce DA. A note on Gauss-Hermite quadrature. Biometrika 1994;81:624-629.
    """
    mu, tau, x, n = np.broadcast_arrays(*(np.asarray(v, float) for v in (mu, tau, x, n)))
    log_choose = log_binomial_coefficient(x, n)
    zero = tau < TAU_ZERO
    out = np.empty(mu.shape)
    modes = np.zeros(mu.shape)
    if zero.any():  # no heterogeneity: the plain binomial likelihood
        eta = mu[zero]
        out[zero] = log_choose[zero] + x[zero] * eta - n[zero] * np.logaddexp(0, eta)
        if start is not None:
            modes[zero] = np.broadcast_to(start, mu.shape)[zero]
    rest = ~zero
    if rest.any():
        m_, t_, x_, n_ = mu[rest], tau[rest], x[rest], n[rest]
        s_ = None if start is None else np.broadcast_to(start, mu.shape)[rest]
        if fast and s_ is None:
            s_ = approximate_mode(m_, t_, x_, n_)
        b = integrand_mode(m_, t_, x_, n_, s_, each=fast)
        out[rest] = _log_integral(m_, t_, x_, n_, b, nodes, fast, log_choose[rest])
        modes[rest] = b
    return (out, modes) if return_mode else out


def _log_integral(mu, tau, x, n, b, nodes: int, fast: bool, log_choose) -> np.ndarray:
    """log of the integral, nodes centred at the modes `b` (the terms added in a fixed order: the
    GLMM's optimiser sees the same values to the last bit as before this function had one home)."""
    gh_x, gh_w = hermite_rule(nodes)
    p = special.expit(mu + b)
    sigma = 1 / np.sqrt(n * p * (1 - p) + 1 / tau**2)
    pts = b[:, None] + np.sqrt(2) * sigma[:, None] * gh_x
    eta = mu[:, None] + pts
    softplus = _softplus(eta) if fast else np.logaddexp(0, eta)
    h = x[:, None] * eta - n[:, None] * softplus - 0.5 * (pts / tau[:, None]) ** 2 + gh_x**2
    m = h.max(axis=1, keepdims=True)
    integral = np.log(np.sum(gh_w * np.exp(h - m), axis=1)) + m[:, 0]
    return log_choose + integral + np.log(np.sqrt(2) * sigma) - 0.5 * np.log(2 * np.pi * tau**2)


def binomial_normal_derivatives(mu, tau, x, n, *, nodes: int = 7, start=None) -> dict[str, np.ndarray]:
    """log p(x | mu, tau) with its derivatives in mu and s = log tau.

    The first derivatives are those of the quadrature itself (the value `binomial_normal_loglik`
    returns), nodes moving with the mode and scale included, so a maximiser stops where the
    quadrature likelihood is highest. The second derivatives are those of the integral,
    differentiated under the integral sign with the integrand's normalised weights at the nodes
    (d2l = E[d2 log f] + Var(d log f), f(b) = Binomial(x | n, expit(mu + b)) Normal(b | 0, tau^2)):
    close to the quadrature's, which is all Newton's method needs.

    Parameters
    ----------
    mu, tau, x, n : array_like
        Broadcast together; tau >= `TAU_ZERO` everywhere.
    nodes : int
        Quadrature nodes.
    start : array_like, optional
        Starting modes.

    Returns
    -------
    dict of ndarray
        "loglik", "d_mu", "d_s", "d_mu_mu", "d_mu_s", "d_s_s" and "mode", in the broadcast shape.

    References
    ----------
    Pinheiro JC, Bates DM. Approximations to the log-likelihood function in the nonlinear
    mixed-effects model. J Comput Graph Stat 1995;4:12-35.
    """
    mu, tau, x, n = np.broadcast_arrays(*(np.asarray(v, float) for v in (mu, tau, x, n)))
    if np.any(tau < TAU_ZERO):
        raise ValueError("derivatives in log tau need tau > 0")
    shape = mu.shape
    mu, tau, x, n = mu.ravel(), tau.ravel(), x.ravel(), n.ravel()
    b = integrand_mode(mu, tau, x, n, approximate_mode(mu, tau, x, n) if start is None
                       else np.broadcast_to(start, shape).ravel(), each=True)
    gh_x, gh_w = hermite_rule(nodes)
    p = special.expit(mu + b)
    sigma = 1 / np.sqrt(n * p * (1 - p) + 1 / tau**2)
    pts = b[:, None] + np.sqrt(2) * sigma[:, None] * gh_x
    eta = mu[:, None] + pts
    z2 = (pts / tau[:, None]) ** 2
    h = x[:, None] * eta - n[:, None] * _softplus(eta) - 0.5 * z2 + gh_x**2
    m = h.max(axis=1, keepdims=True)
    w = gh_w * np.exp(h - m)
    total = w.sum(axis=1)
    loglik = (log_binomial_coefficient(x, n) + np.log(total) + m[:, 0] + np.log(np.sqrt(2) * sigma)
              - 0.5 * np.log(2 * np.pi * tau**2))
    w /= total[:, None]
    pj = special.expit(eta)
    a = x[:, None] - n[:, None] * pj  # d/dmu log f at fixed b
    u = z2 - 1  # d/ds log f at fixed b
    ea, eu = (w * a).sum(axis=1), (w * u).sum(axis=1)
    # The exact gradient of the quadrature itself: its nodes move with (mu, s) through the mode b
    # and the scale sigma (implicit differentiation of the mode's equation), which the integral's
    # own derivative does not see. Without this, a maximiser would stop about 1e-4 away from the
    # maximum of the 7-node likelihood that glmm_fit reaches.
    pq = p * (1 - p)
    db_mu, db_s = -n * pq * sigma**2, 2 * b * sigma**2 / tau**2
    curv = n * pq * (1 - 2 * p)
    dsig_mu = -0.5 * sigma**3 * curv * (1 + db_mu)
    dsig_s = -0.5 * sigma**3 * (curv * db_s - 2 / tau**2)
    g_node = a - pts / tau[:, None] ** 2  # d/db of the log integrand at each node
    shift = np.sqrt(2) * gh_x
    grad_mu = ea + (w * g_node * (db_mu[:, None] + shift * dsig_mu[:, None])).sum(axis=1) + dsig_mu / sigma
    grad_s = (w * z2).sum(axis=1) + (w * g_node * (db_s[:, None] + shift * dsig_s[:, None])).sum(axis=1) \
        + dsig_s / sigma - 1
    out = {
        "loglik": loglik,
        "d_mu": grad_mu,
        "d_s": grad_s,
        "d_mu_mu": (w * (a * a - n[:, None] * pj * (1 - pj))).sum(axis=1) - ea**2,
        "d_mu_s": (w * a * u).sum(axis=1) - ea * eu,
        "d_s_s": (w * (u * u - 2 * z2)).sum(axis=1) - eu**2,
        "mode": b,
    }
    return {k: v.reshape(shape) for k, v in out.items()}

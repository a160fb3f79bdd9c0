"""Bayesian binomial-normal random-effects model for few studies, by deterministic quadrature.

Model: x_i ~ Binomial(n_i, expit(theta_i)), theta_i ~ Normal(mu, tau^2), with a vague normal prior
on mu (mean 0, SD `MU_PRIOR_SD` on the logit scale) and a half-normal prior on tau (scale
`TAU_PRIOR_SCALE` = 0.5 on the logit scale, Röver et al. 2021). The posterior of (mu, tau) is
two-dimensional, so it is computed on a grid: each study's marginal likelihood by adaptive
Gauss-Hermite quadrature over theta_i (the same integral as the GLMM, `cartpool.stats.meta`),
times the priors, normalised over a fine (mu, tau) grid. No MCMC, no continuity correction:
studies at 0% or 100% enter with their binomial likelihood.

Written by hand because no maintained Python library provides this model by quadrature
(PyMC and Stan sample by MCMC and are heavy dependencies; R's bayesmeta handles the normal-normal
model only).

References
----------
Friede T, Röver C, Wandel S, Neuenschwander B. Meta-analysis of few small studies in orphan
diseases. Res Synth Methods 2017;8:79-91.
Röver C, Bender R, Dias S, et al. On weakly informative prior distributions for the heterogeneity
parameter in Bayesian random-effects meta-analysis. Res Synth Methods 2021;12:448-474.
Röver C. Bayesian random-effects meta-analysis using the bayesmeta R package. J Stat Softw
2020;93(6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

#: Prior SD of the pooled logit (vague: 95% of its mass between proportions 0.02% and 99.98%).
MU_PRIOR_SD = 4.0
#: Half-normal prior scale of tau on the logit scale (Röver et al. 2021).
TAU_PRIOR_SCALE = 0.5

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(15)


@dataclass(frozen=True)
class BayesResult:
    """Posterior summaries; proportions are the posterior of expit(mu)."""

    estimate: float  # posterior median of the pooled proportion
    ci_low: float  # 95% central credible interval
    ci_high: float
    tau: float  # posterior median of tau (logit scale)
    tau_low: float
    tau_high: float
    mu_prior_sd: float = MU_PRIOR_SD
    tau_prior_scale: float = TAU_PRIOR_SCALE

    def as_row(self) -> dict:
        return {"bayes_estimate": self.estimate, "bayes_low": self.ci_low, "bayes_high": self.ci_high,
                "bayes_tau": self.tau, "bayes_tau_low": self.tau_low, "bayes_tau_high": self.tau_high}


def marginal_loglik_grid(mu: np.ndarray, tau: np.ndarray, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """log p(x_i | mu, tau) for every grid point (rows) and study (columns), integrating theta_i by
    adaptive Gauss-Hermite quadrature (15 nodes) centred at each integrand's mode.

    Parameters
    ----------
    mu, tau : arrays of shape (G,)
        Grid points; tau > 0.
    x, n : arrays of shape (k,)
        Events and patients of each study.

    Returns
    -------
    ndarray of shape (G, k)

    References
    ----------
    Liu Q, Pierce DA. A note on Gauss-Hermite quadrature. Biometrika 1994;81:624-629.
    """
    mu, tau = np.asarray(mu, float)[:, None], np.asarray(tau, float)[:, None]
    x, n = np.asarray(x, float)[None, :], np.asarray(n, float)[None, :]
    t2 = tau**2
    # mode of log Bin(x | expit(mu + b)) + log N(b | 0, tau^2): safeguarded Newton in its bracket
    lo, hi = -n * t2 - 1.0, x * t2 + 1.0
    b = np.zeros(np.broadcast(mu, x).shape)
    g_before = np.full_like(b, np.inf)
    for _ in range(300):
        p = special.expit(mu + b)
        g = x - n * p - b / t2
        lo, hi = np.where(g > 0, b, lo), np.where(g < 0, b, hi)
        new = b + g / (n * p * (1 - p) + 1 / t2)
        bisect = (new < lo) | (new > hi) | (np.abs(g) > 0.5 * g_before)
        new = np.where(bisect, 0.5 * (lo + hi), new)
        g_before = np.abs(g)
        step = np.max(np.abs(new - b))
        b = new
        if step < 1e-10:
            break
    p = special.expit(mu + b)
    sigma = 1 / np.sqrt(n * p * (1 - p) + 1 / t2)
    nodes = b[..., None] + np.sqrt(2) * sigma[..., None] * _GH_X
    eta = mu[..., None] + nodes
    h = x[..., None] * eta - n[..., None] * np.logaddexp(0, eta) - 0.5 * (nodes / tau[..., None]) ** 2 + _GH_X**2
    m = h.max(axis=-1, keepdims=True)
    integral = np.log(np.sum(_GH_W * np.exp(h - m), axis=-1)) + m[..., 0]
    log_choose = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return log_choose + integral + np.log(np.sqrt(2) * sigma) - 0.5 * np.log(2 * np.pi * t2)


def _quantiles(grid: np.ndarray, density: np.ndarray, probs) -> list[float]:
    """Quantiles of a density tabulated on a grid (trapezoid CDF, linear interpolation)."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    return [float(np.interp(p, cdf, grid)) for p in probs]


def pool_bayes(events, totals, *, mu_prior_sd: float = MU_PRIOR_SD, tau_prior_scale: float = TAU_PRIOR_SCALE,
               mu_points: int = 241, tau_points: int = 81) -> BayesResult:
    """Posterior of the pooled proportion and of tau under the binomial-normal model.

    Parameters
    ----------
    events, totals : sequences of int
        Each study's events and patients (any k >= 1; 0% and 100% studies need no correction).
    mu_prior_sd : float
        SD of the normal prior on the pooled logit (mean 0).
    tau_prior_scale : float
        Scale of the half-normal prior on tau.
    mu_points, tau_points : int
        Grid sizes. mu spans the prior's +-6 SD intersected with the data's range +-8; tau spans
        0 to 6 prior scales (prior mass beyond: 2e-9).

    Returns
    -------
    BayesResult
        Posterior median and 95% central credible interval of expit(mu), and of tau.

    References
    ----------
    Röver C, et al. Res Synth Methods 2021;12:448-474. Friede T, et al. Res Synth Methods
    2017;8:79-91.
    """
    x, n = np.asarray(events, float), np.asarray(totals, float)
    if len(x) == 0 or np.any(n <= 0) or np.any(x < 0) or np.any(x > n):
        raise ValueError("each study needs 0 <= events <= total and total > 0")
    y = special.logit((x + 0.5) / (n + 1))  # only to place the grid, never in the likelihood
    lo_mu = max(-6 * mu_prior_sd, float(y.min()) - 8)
    hi_mu = min(6 * mu_prior_sd, float(y.max()) + 8)
    mus = np.linspace(lo_mu, hi_mu, mu_points)
    taus = np.linspace(0.0, 6 * tau_prior_scale, tau_points)
    taus[0] = 1e-4  # tau -> 0 limit, numerically
    mm, tt = np.meshgrid(mus, taus, indexing="ij")
    ll = marginal_loglik_grid(mm.ravel(), tt.ravel(), x, n).sum(axis=1).reshape(mm.shape)
    log_post = ll - 0.5 * (mm / mu_prior_sd) ** 2 - 0.5 * (tt / tau_prior_scale) ** 2
    post = np.exp(log_post - log_post.max())
    mu_marginal = np.trapezoid(post, taus, axis=1)
    tau_marginal = np.trapezoid(post, mus, axis=0)
    m_lo, m_med, m_hi = _quantiles(mus, mu_marginal, [0.025, 0.5, 0.975])
    t_lo, t_med, t_hi = _quantiles(taus, tau_marginal, [0.025, 0.5, 0.975])
    e = special.expit
    return BayesResult(float(e(m_med)), float(e(m_lo)), float(e(m_hi)), t_med, t_lo, t_hi,
                       mu_prior_sd, tau_prior_scale)

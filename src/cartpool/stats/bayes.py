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
from scipy.interpolate import RectBivariateSpline

from .quadrature import binomial_normal_derivatives, binomial_normal_loglik

#: Prior SD of the pooled logit (vague: 95% of its mass between proportions 0.02% and 99.98%).
MU_PRIOR_SD = 4.0
#: Half-normal prior scale of tau on the logit scale (Röver et al. 2021).
TAU_PRIOR_SCALE = 0.5

#: Gauss-Hermite nodes per study and (mu, tau) grid point.
NODES = 15
#: Grid points whose log posterior lies more than this below the grid's maximum are left at zero
#: posterior mass: each weighs less than exp(-40) = 4e-18 of the highest point, and the whole grid
#: has fewer than 20,000 points, so no quantile moves by more than about 1e-12.
NEGLIGIBLE = 40.0
#: The grid is used as it is where the posterior's support (where it is within NEGLIGIBLE of its
#: highest point) spans at least this share of its mu range; a narrower posterior (many studies)
#: would fall between a few grid points, so it gets a grid of its own (`ZOOM`).
SPREAD = 1 / 4
#: The support is read from every this-many-th tau column (and the last).
_PROBE = 8
#: Points (mu, tau) of the grid laid over a narrow posterior's support, where the log posterior
#: is computed; a bicubic spline carries it onto a grid of the usual size for the quantiles.
ZOOM = (25, 17)
#: The grid over a narrow posterior is widened while the log posterior on its edges is within
#: this of its maximum (exp(-25) = 1e-11 of the peak density, beyond which the mass is negligible).
EDGE = 25.0
#: Grid points x distinct studies integrated per batch (bounds memory: about 20 MB a batch).
_BATCH = 100_000


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


class _Grid:
    """The log posterior of (mu, tau) on the grid, summed over the distinct (events, total) pairs
    with their multiplicities, computed only where it is not negligible.

    For a fixed tau the log posterior is concave in mu (the marginal of a log-concave density is
    log-concave, Prekopa 1973; the normal prior on mu is too). So each tau column has one maximum,
    found by safeguarded Newton steps in mu, and falls away monotonically on both sides of it.
    A column whose maximum lies more than `NEGLIGIBLE` below the grid's best point is skipped;
    in the others the grid is filled outwards from the maximum until it drops that far. With many
    studies the posterior covers a few grid points and this is most of the saving; with few
    studies nearly the whole grid is computed, as before.
    """

    def __init__(self, mus, taus, x, n, counts, mu_prior_sd, tau_prior_scale):
        self.mus, self.taus, self.x, self.n, self.c = mus, taus, x, n, counts
        self.mu_sd, self.tau_scale = mu_prior_sd, tau_prior_scale
        self.log_post = np.full((len(mus), len(taus)), -np.inf)
        self.done = np.zeros(self.log_post.shape, bool)

    def prior(self, mu, tau):
        return -0.5 * (mu / self.mu_sd) ** 2 - 0.5 * (tau / self.tau_scale) ** 2

    def fill(self, i: np.ndarray, j: np.ndarray) -> None:
        """Compute the grid points (i, j) not yet computed."""
        keep = ~self.done[i, j]
        i, j = i[keep], j[keep]
        if i.size == 0:
            return
        order = np.lexsort((i, j))  # tidy batches; the result does not depend on it
        i, j = i[order], j[order]
        step = max(1, _BATCH // len(self.x))
        for a in range(0, i.size, step):
            ii, jj = i[a:a + step], j[a:a + step]
            mu, tau = self.mus[ii], self.taus[jj]
            ll = binomial_normal_loglik(mu[:, None], tau[:, None], self.x, self.n, nodes=NODES, fast=True)
            self.log_post[ii, jj] = ll @ self.c + self.prior(mu, tau)
        self.done[i, j] = True

    def column_maxima(self, cols: np.ndarray | None = None) -> np.ndarray:
        """The maximising mu (continuous, within the grid's range) of each tau column in `cols`
        (all by default), by Newton's method safeguarded by bisection."""
        cols = np.arange(len(self.taus)) if cols is None else np.asarray(cols)
        lo = np.full(len(cols), self.mus[0])
        hi = np.full(len(cols), self.mus[-1])
        m = 0.5 * (lo + hi)
        act = np.arange(len(cols))
        for _ in range(100):
            d = binomial_normal_derivatives(m[act, None], self.taus[cols[act], None], self.x, self.n, nodes=NODES)
            g = d["d_mu"] @ self.c - m[act] / self.mu_sd**2
            curv = d["d_mu_mu"] @ self.c - 1 / self.mu_sd**2
            lo[act] = np.where(g > 0, m[act], lo[act])
            hi[act] = np.where(g < 0, m[act], hi[act])
            new = m[act] - g / np.minimum(curv, -1e-12)
            outside = (new <= lo[act]) | (new >= hi[act])
            new = np.where(outside, 0.5 * (lo[act] + hi[act]), new)
            moved = np.abs(new - m[act]) > 1e-9 * max(1.0, self.mus[-1] - self.mus[0])
            m[act] = new
            act = act[moved & (hi[act] - lo[act] > 1e-12)]
            if act.size == 0:
                break
        return m

    def support(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """In each tau column of `cols`: the mu interval (lo, hi) where the log posterior is within
        `NEGLIGIBLE` of the best value seen in these columns, and the column's maximum. The log
        posterior is concave in mu, so each end is found by bisection between the column's
        maximum and the grid's edge."""
        taus = self.taus[cols]
        peak = self.column_maxima(cols)
        top = self.log_posterior(peak, taus)
        threshold = top.max() - NEGLIGIBLE
        ends = []
        for edge in (self.mus[0], self.mus[-1]):
            inner, outer = peak.copy(), np.full(len(cols), edge)
            outer_value = self.log_posterior(outer, taus)
            inside = outer_value >= threshold  # the support reaches the grid's edge
            for _ in range(40):
                mid = 0.5 * (inner + outer)
                above = self.log_posterior(mid, taus) >= threshold
                inner, outer = np.where(above, mid, inner), np.where(above, outer, mid)
                if np.abs(outer - inner).max() < 1e-3 * (self.mus[-1] - self.mus[0]):
                    break
            ends.append(np.where(inside, edge, outer))
        return ends[0], ends[1], top

    def log_posterior(self, mu, tau) -> np.ndarray:
        """The log posterior at points (mu, tau) of any shape (not cached)."""
        mu, tau = np.broadcast_arrays(np.asarray(mu, float), np.asarray(tau, float))
        flat_mu, flat_tau = mu.ravel(), tau.ravel()
        out = np.empty(flat_mu.size)
        step = max(1, _BATCH // len(self.x))
        for a in range(0, flat_mu.size, step):
            m, t = flat_mu[a:a + step], flat_tau[a:a + step]
            ll = binomial_normal_loglik(m[:, None], t[:, None], self.x, self.n, nodes=NODES, fast=True)
            out[a:a + step] = ll @ self.c + self.prior(m, t)
        return out.reshape(mu.shape)

    def support_box(self) -> tuple[float, float, float, float] | None:
        """Where the posterior is not negligible, when that is a narrow part of the grid: (mu_lo,
        mu_hi, tau_lo, tau_hi), read from every `_PROBE`-th tau column; None when the posterior
        spans at least `SPREAD` of the grid's mu range, where the grid is used as it is."""
        cols = np.unique(np.r_[np.arange(0, len(self.taus), _PROBE), len(self.taus) - 1])
        lo, hi, top = self.support(cols)
        keep = top >= top.max() - NEGLIGIBLE
        if (hi[keep].max() - lo[keep].min()) >= SPREAD * (self.mus[-1] - self.mus[0]):
            return None
        j = np.flatnonzero(keep)
        tau_lo = self.taus[cols[max(j[0] - 1, 0)]]
        tau_hi = self.taus[cols[min(j[-1] + 1, len(cols) - 1)]]
        return lo[keep].min(), hi[keep].max(), tau_lo, tau_hi

    def zoomed(self, box, mu_points: int, tau_points: int):
        """The log posterior on a `ZOOM` grid over `box`, widened until its edges are negligible
        (or at the grid's bounds), then interpolated by a bicubic spline onto a mu_points x
        tau_points grid over the same box."""
        lo = np.array([self.mus[0], self.taus[0]])
        hi = np.array([self.mus[-1], self.taus[-1]])
        box_lo, box_hi = np.array(box[::2]), np.array(box[1::2])
        for _ in range(20):
            mus = np.linspace(box_lo[0], box_hi[0], ZOOM[0])
            taus = np.linspace(box_lo[1], box_hi[1], ZOOM[1])
            lp = self.log_posterior(mus[:, None], taus[None, :])
            edge = lp.max() - EDGE
            width = box_hi - box_lo
            widen_lo = np.array([lp[0, :].max() > edge, lp[:, 0].max() > edge]) & (box_lo > lo)
            widen_hi = np.array([lp[-1, :].max() > edge, lp[:, -1].max() > edge]) & (box_hi < hi)
            if not (widen_lo.any() or widen_hi.any()):
                break
            box_lo = np.where(widen_lo, np.maximum(lo, box_lo - width / 2), box_lo)
            box_hi = np.where(widen_hi, np.minimum(hi, box_hi + width / 2), box_hi)
        fine_mu = np.linspace(box_lo[0], box_hi[0], mu_points)
        fine_tau = np.linspace(box_lo[1], box_hi[1], tau_points)
        spline = RectBivariateSpline(mus, taus, lp, kx=3, ky=3)
        return fine_mu, fine_tau, spline(fine_mu, fine_tau)

    def compute(self) -> np.ndarray:
        n_mu, n_tau = self.log_post.shape
        centre = np.interp(self.column_maxima(), self.mus, np.arange(n_mu))
        left = np.clip(np.floor(centre).astype(int), 0, n_mu - 1)
        right = np.clip(left + 1, 0, n_mu - 1)
        cols = np.arange(n_tau)
        self.fill(np.concatenate([left, right]), np.concatenate([cols, cols]))
        # the column maxima on the grid: each column falls away from its best point on both sides
        best = np.where(self.log_post[left, cols] >= self.log_post[right, cols], left, right)
        top = self.log_post[best, cols]
        lo_i, hi_i = best.copy(), best.copy()
        keep = top >= top.max() - NEGLIGIBLE
        grow_lo, grow_hi = keep & (lo_i > 0), keep & (hi_i < n_mu - 1)
        width = 4
        while grow_lo.any() or grow_hi.any():
            new_lo = np.where(grow_lo, np.maximum(lo_i - width, 0), lo_i)
            new_hi = np.where(grow_hi, np.minimum(hi_i + width, n_mu - 1), hi_i)
            ii = [np.arange(a, b) for a, b in zip(new_lo, lo_i, strict=True)]
            ii += [np.arange(a + 1, b + 1) for a, b in zip(hi_i, new_hi, strict=True)]
            jj = [np.full(len(r), j) for r, j in zip(ii, np.concatenate([cols, cols]), strict=True)]
            self.fill(np.concatenate(ii), np.concatenate(jj))
            lo_i, hi_i = new_lo, new_hi
            # a side grows while its end is still above the threshold and not at the grid's edge
            threshold = self.log_post[self.done].max() - NEGLIGIBLE
            grow_lo = grow_lo & (lo_i > 0) & (self.log_post[lo_i, cols] >= threshold)
            grow_hi = grow_hi & (hi_i < n_mu - 1) & (self.log_post[hi_i, cols] >= threshold)
            width *= 2
        return self.log_post


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
    pairs, counts = np.unique(np.stack([x, n], axis=1), axis=0, return_counts=True)
    grid = _Grid(mus, taus, pairs[:, 0], pairs[:, 1], counts.astype(float), mu_prior_sd, tau_prior_scale)
    box = grid.support_box()
    if box is None:  # the posterior spreads over the grid: compute it there
        log_post = grid.compute()
    else:  # a narrow posterior (many studies): a grid over its support, interpolated onto a fine one
        mus, taus, log_post = grid.zoomed(box, mu_points, tau_points)
    post = np.exp(log_post - log_post.max())
    mu_marginal = np.trapezoid(post, taus, axis=1)
    tau_marginal = np.trapezoid(post, mus, axis=0)
    m_lo, m_med, m_hi = _quantiles(mus, mu_marginal, [0.025, 0.5, 0.975])
    t_lo, t_med, t_hi = _quantiles(taus, tau_marginal, [0.025, 0.5, 0.975])
    e = special.expit
    return BayesResult(float(e(m_med)), float(e(m_lo)), float(e(m_hi)), t_med, t_lo, t_hi,
                       mu_prior_sd, tau_prior_scale)

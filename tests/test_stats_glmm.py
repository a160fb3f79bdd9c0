"""The GLMM's leave-one-out refits (stats/glmm.py) against fitting each subset on its own.

`glmm_fit` itself is tested against R's metafor `rma.glmm` in test_stats_reference.py; here the
fast route (every omission at once, from the full data's maximum) must give what `glmm_fit` gives
on each subset, to 1e-6, including where the maximum sits at tau = 0 and where several studies
have the same counts.
"""

import numpy as np
import pytest
from scipy import special

from cartpool.stats.glmm import GLMMNotEstimable, _glmm_fit, glmm_leave_one_out
from cartpool.stats.quadrature import binomial_normal_derivatives, binomial_normal_loglik


def _cases():
    rng = np.random.default_rng(20261206)
    for k, spread in ((4, 1.0), (6, 2.0), (9, 0.5), (12, 1.0), (40, 0.8)):
        n = rng.integers(6, 40, k)
        yield rng.binomial(n, special.expit(rng.normal(0.8, spread, k))), n
    yield np.array([6, 8, 6, 3, 6]), np.array([11, 8, 6, 9, 11])  # two equal studies
    yield np.array([10, 11, 9, 10, 12, 10, 11]), np.array([20, 21, 19, 20, 22, 20, 21])  # tau = 0
    yield np.array([0, 0, 1, 0]), np.array([8, 9, 10, 12])  # most subsets at 0 events


@pytest.mark.parametrize("x, n", list(_cases()))
def test_leave_one_out_equals_fitting_each_subset(x, n):
    loo = glmm_leave_one_out(x, n)
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        try:
            ref = _glmm_fit(x[keep].astype(float), n[keep].astype(float))
        except GLMMNotEstimable:
            assert isinstance(loo.fits[i], GLMMNotEstimable)
            continue
        mu, se, tau2, loglik = loo.fits[i]
        assert special.expit(mu) == pytest.approx(special.expit(ref[0]), abs=1e-6)
        assert se == pytest.approx(ref[1], abs=1e-6) and tau2 == pytest.approx(ref[2], abs=2e-6)
        assert loglik == pytest.approx(ref[3], abs=1e-6)


def test_quadrature_gradient_is_the_derivative_of_the_quadrature():
    # the maximiser relies on it: central differences of the 7-node likelihood itself
    x, n = np.array([0, 3, 9, 12]), np.array([8, 10, 12, 12])
    for mu, tau in ((0.3, 0.2), (1.5, 1.3), (-2.0, 4.0)):
        d = binomial_normal_derivatives(mu, tau, x, n)
        h = 1e-5
        f = lambda m, s: binomial_normal_loglik(m, np.exp(s), x, n)  # noqa: E731
        s = np.log(tau)
        assert d["d_mu"] == pytest.approx((f(mu + h, s) - f(mu - h, s)) / (2 * h), abs=1e-6)
        assert d["d_s"] == pytest.approx((f(mu, s + h) - f(mu, s - h)) / (2 * h), abs=1e-6)

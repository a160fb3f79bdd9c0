"""Summaries published without patient data: SE from a printed CI, landmark pooling on
log(-log S), approximate curves through milestones."""

import numpy as np
import pytest

from cartpool.stats.meta import meta_generic
from cartpool.stats.summaries import approximate_curve, pool_landmark, se_from_ci


def test_se_from_a_log_ci_matches_r_survival_greenwood():
    # R survival tests/doaml.Rout.save, aml Maintained at t = 23 (conf.type "log"): survival 0.614,
    # std.err 0.1526, 95% CI 0.3769-0.999. On the log scale SE(log S) = std.err / S = 0.2485.
    assert se_from_ci(0.614, 0.3769, 0.999, scale="log") == pytest.approx(0.1526 / 0.614, abs=2e-3)
    # one-sided: the upper limit was truncated at 1 in R's print at t = 13 (0.818, 0.6192-1.000);
    # the lower side alone gives SE(log S) = 0.1163 / 0.818 = 0.1422
    assert se_from_ci(0.818, 0.6192, None, scale="log") == pytest.approx(0.1163 / 0.818, abs=2e-3)


def test_se_from_a_median_ci_with_an_upper_limit_not_reached():
    # "8.9 months (95% CI: 4.6, not reached)": only the lower side is informative
    se = se_from_ci(8.9, 4.6, None, scale="log")
    assert se == pytest.approx(np.log(8.9 / 4.6) / 1.959964, rel=1e-6)


def test_landmark_pooling_is_inverse_variance_on_cloglog_and_back_transformed():
    s, lo, hi = [0.333, 0.40], [0.078, 0.1227], [0.623, 0.6702]
    r = pool_landmark(s, lo, hi)
    y = np.log(-np.log(np.array(s)))
    se = [se_from_ci(a, b, c, scale="log-log") for a, b, c in zip(s, lo, hi, strict=True)]
    m = meta_generic(y, np.square(se))
    assert r.estimate == pytest.approx(np.exp(-np.exp(m.mu)))
    assert r.ci_low == pytest.approx(np.exp(-np.exp(m.ci_high)))  # the transform reverses the order
    assert r.ci_low < r.estimate < r.ci_high


def test_approximate_curve_passes_through_its_milestones_and_says_what_it_is():
    c = approximate_curve([(12, 0.333, "1 year"), (24, 0.222, "2 years"), (8.9, 0.5, "median")], horizon=30)
    for t, s, _ in c.points:
        assert np.interp(t, c.times, c.survival) == pytest.approx(s, rel=2e-2)
    assert c.survival[0] == 1.0 and np.all(np.diff(c.survival) <= 1e-12)
    assert "approximate" in c.label and [p[2] for p in c.points] == ["median", "1 year", "2 years"]
    # a milestone that no survival curve can pass through (later and higher) is dropped
    c2 = approximate_curve([(6, 0.5, "median"), (12, 0.6, "1 year")])
    assert [p[2] for p in c2.points] == ["median"]

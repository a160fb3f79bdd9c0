"""Meta-analysis against published outputs of R's metafor (and the papers metafor reproduces).

Tolerances follow the printed digits: a value printed to 4 decimals must agree to within
half a unit in the 4th decimal (5e-5), and so on.
"""

import numpy as np
import pytest

from cartpool.stats.meta import (
    estimate_tau2,
    ft_escalc,
    ipft,
    leave_one_out,
    meta_generic,
    pool_proportions,
)

from .reference_data import BCG, NIELWEISE2007


def digits(n):
    return 0.5 * 10 ** (-n)


@pytest.fixture(scope="module")
def bcg():
    a, b, c, d = (np.array(col, float) for col in zip(*BCG, strict=True))
    yi = np.log((a / (a + b)) / (c / (c + d)))  # escalc(measure="RR")
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return yi, vi


def test_reml_matches_metafor_bcg(bcg):
    # metafor: rma(yi, vi, data=escalc("RR", ..., data=dat.bcg)) -> REML; printed output in the
    # metafor documentation and RoBMA's vignette: estimate -0.7145, se 0.1798, tau^2 0.3132,
    # I^2 92.22%, Q 152.2330; predict(): ci -1.0669 .. -0.3622, pi -1.8667 .. 0.4376.
    r = meta_generic(*bcg, tau2="REML")
    assert r.mu == pytest.approx(-0.7145, abs=digits(4))
    assert r.se == pytest.approx(0.1798, abs=digits(4))
    assert r.tau2 == pytest.approx(0.3132, abs=digits(4))
    assert r.i2 == pytest.approx(92.22, abs=digits(2))
    assert r.q == pytest.approx(152.2330, abs=digits(4))
    assert (r.ci_low, r.ci_high) == pytest.approx((-1.0669, -0.3622), abs=digits(4))
    assert (r.pi_low, r.pi_high) == pytest.approx((-1.8667, 0.4376), abs=digits(4))
    assert r.q_p < 1e-4


def test_dl_matches_metafor_bcg(bcg):
    # metafor tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r: rma(yi, vi, method="DL")
    # estimate -0.7141, ci -1.0644 .. -0.3638 (also Stata metan). tau^2 0.3088, I^2 92.12%
    # as printed by rma() for the same model.
    r = meta_generic(*bcg, tau2="DL")
    assert r.mu == pytest.approx(-0.7141, abs=digits(4))
    assert (r.ci_low, r.ci_high) == pytest.approx((-1.0644, -0.3638), abs=digits(4))
    assert r.tau2 == pytest.approx(0.3088, abs=digits(4))
    assert r.i2 == pytest.approx(92.12, abs=digits(2))


def test_knapp_hartung_matches_metafor_bcg(bcg):
    # metafor: rma(yi, vi, data=dat, test="knha"): se 0.1808, ci -1.1084 .. -0.3206 (t, 12 df)
    r = meta_generic(*bcg, tau2="REML", knha=True)
    assert r.se == pytest.approx(0.1808, abs=digits(4))
    assert (r.ci_low, r.ci_high) == pytest.approx((-1.1084, -0.3206), abs=digits(4))


def test_tau2_is_truncated_at_zero():
    # Identical studies: every estimator must give exactly 0 rather than a negative value
    # (statsmodels' combine_effects DL can return a negative tau^2).
    y, v = np.array([0.1, 0.1, 0.1]), np.array([0.04, 0.05, 0.06])
    for m in ("REML", "ML", "DL", "PM"):
        assert estimate_tau2(y, v, m) == 0.0


def _niel(arm):
    ci, n2i, ai, n1i = (np.array(c) for c in zip(*NIELWEISE2007, strict=True))
    return (ci, n2i) if arm == "control" else (ai, n1i)


@pytest.mark.parametrize("arm, coef, se, tau2, pred, lo, hi", [
    # metafor tests/testthat/test_analysis_example_stijnen2010.r, normal-normal model:
    # rma(measure="PLO", xi=ci, ni=n2i) and xi=ai, ni=n1i; Stijnen et al. (2010) Table II.
    ("control", -3.30, 0.24, 0.663, 0.036, 0.023, 0.055),
    ("treated", -4.26, 0.26, 0.393, 0.014, 0.008, 0.023),
])
def test_logit_inverse_variance_with_zero_event_studies(arm, coef, se, tau2, pred, lo, hi):
    r = pool_proportions(*_niel(arm), method="logit", tau2="REML")
    assert round(r.mu, 2) == coef and round(r.se, 2) == se and round(r.tau2, 3) == tau2
    assert (round(r.estimate, 3), round(r.ci_low, 3), round(r.ci_high, 3)) == (pred, lo, hi)


@pytest.mark.parametrize("arm, coef, se, tau2, pred, lo, hi", [
    # Same source, binomial-normal model: rma.glmm(measure="PLO", ...) (ML, nAGQ = 7).
    ("control", -3.50, 0.26, 0.81, 0.029, 0.018, 0.048),
    ("treated", -4.81, 0.36, 0.83, 0.008, 0.004, 0.016),
])
def test_glmm_matches_rma_glmm(arm, coef, se, tau2, pred, lo, hi):
    r = pool_proportions(*_niel(arm), method="glmm")
    assert round(r.mu, 2) == coef and round(r.se, 2) == se and round(r.tau2, 2) == tau2
    assert (round(r.estimate, 3), round(r.ci_low, 3), round(r.ci_high, 3)) == (pred, lo, hi)
    assert r.tau2_method == "ML"


def test_freeman_tukey_transform_matches_miller_1978():
    # metafor tests/testthat/test_analysis_example_miller1978.r (Miller 1978, p. 138):
    # escalc("PFT", xi=c(3,6,10,1), ni=c(11,17,21,6)); yi*2 and vi*4 as printed.
    y, v = ft_escalc([3, 6, 10, 1], [11, 17, 21, 6])
    assert 2 * y == pytest.approx([1.1391, 1.2888, 1.5253, 0.9515], abs=digits(4))
    assert 4 * v == pytest.approx([0.0870, 0.0571, 0.0465, 0.1538], abs=digits(4))


def test_freeman_tukey_with_zero_and_full_studies_matches_metafor():
    # Same file: xi = c(0,4,9,16,20), ni = c(10,10,15,20,20) (a 0% and a 100% study),
    # rma(method="EE") then predict(transf=transf.ipft.hm): 0.6886 (0.5734, 0.7943).
    x, n = np.array([0, 4, 9, 16, 20]), np.array([10, 10, 15, 20, 20])
    y, v = ft_escalc(x, n)
    w = 1 / v
    mu, se = np.sum(w * y) / np.sum(w), np.sqrt(1 / np.sum(w))
    nhm = len(n) / np.sum(1 / n)
    z = 1.959963984540054
    assert ipft(mu, nhm)[0] == pytest.approx(0.6886, abs=digits(4))
    assert ipft(mu - z * se, nhm)[0] == pytest.approx(0.5734, abs=digits(4))
    assert ipft(mu + z * se, nhm)[0] == pytest.approx(0.7943, abs=digits(4))
    # and each study's own back-transform at its own n: transf.ipft(yi, ni) = 0, .4, .6, .8, 1
    assert [float(ipft(yi, ni)[0]) for yi, ni in zip(y, n, strict=True)] == pytest.approx(
        [0.0, 0.4, 0.6, 0.8, 1.0], abs=1e-9)


def test_ft_random_effects_pools_through_the_same_back_transform():
    # With tau^2 = 0 (identical studies) the random-effects FT estimate is the EE estimate.
    r = pool_proportions([0, 4, 9, 16, 20], [10, 10, 15, 20, 20], method="ft", tau2="DL")
    assert 0 < r.ci_low < r.estimate < r.ci_high < 1
    assert r.k == 5 and r.events == 49 and r.total == 75


def test_all_events_and_no_events_studies_do_not_break_any_method():
    # 8/8 and 11/11 and 0/9: the extreme small studies of this field.
    x, n = [8, 11, 0, 5], [8, 11, 9, 10]
    for m in ("glmm", "logit", "ft", "raw"):
        r = pool_proportions(x, n, method=m)
        assert 0 <= r.ci_low <= r.estimate <= r.ci_high <= 1, m
        assert np.isfinite([r.tau2, r.i2, r.q]).all(), m


def test_single_study_has_no_heterogeneity_or_prediction_interval():
    r = pool_proportions([9], [12], method="logit")
    assert r.k == 1 and r.tau2 == 0 and np.isnan(r.pi_low)
    assert r.estimate == pytest.approx(0.75)


def test_leave_one_out_names_each_omission():
    x, n = np.array([9, 11, 8, 127, 8]), np.array([12, 11, 8, 134, 11])
    loo = leave_one_out(x, n, labels=list("abcde"), method="logit")
    assert list(loo["omitted"]) == list("abcde") and (loo["k"] == 4).all()


def test_fast_leave_one_out_equals_refitting_each_subset():
    x, n = np.array([9, 11, 8, 127, 8, 0, 5]), np.array([12, 11, 8, 134, 11, 9, 20])
    fast = leave_one_out(x, n, method="logit")
    for i, row in fast.iterrows():
        m = np.arange(len(x)) != i
        r = pool_proportions(x[m], n[m], method="logit")
        assert row["estimate"] == pytest.approx(r.estimate) and row["ci_high"] == pytest.approx(r.ci_high)
        assert row["tau2"] == pytest.approx(r.tau2) and row["i2"] == pytest.approx(r.i2)


def test_q_between_matches_metafor_common_effect_q():
    """The test for subgroup differences is Cochran's Q of the subgroup estimates; reference values
    from R metafor 3.8.1: rma(yi, sei = ses, method = "EE") -> QE, k - 1, QEp."""
    from cartpool.stats.meta import q_between

    q, df, p = q_between([0.5, 1.2, -0.3], [0.4, 0.5, 0.6])
    assert (q, df, p) == pytest.approx((3.712153518124, 2, 0.156284571215), abs=1e-9)
    q, df, p = q_between([2.1, 1.4], [0.7, 0.3])
    assert (q, df, p) == pytest.approx((0.844827586207, 1, 0.358019718823), abs=1e-9)

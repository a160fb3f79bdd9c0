"""Kaplan-Meier against R survival's published test output (tests/doaml.Rout.save) and R's
documented quantile rule."""

import numpy as np
import pytest

from cartpool.stats.kaplan_meier import kaplan_meier, logrank_test

from .reference_data import AML_MAINTAINED, AML_NONMAINTAINED


def test_aml_maintained_table_matches_r_summary():
    # R survival tests/doaml.Rout.save: summary(survfit(Surv(time, status) ~ x, aml)),
    # x=Maintained (conf.type "log", R's default): time, n.risk, survival, std.err, CI.
    km = kaplan_meier(*AML_MAINTAINED, conf_type="log")
    ev = km.table[km.table["n_event"] > 0]
    assert list(ev["time"]) == [9, 13, 18, 23, 31, 34, 48]
    assert list(ev["n_risk"]) == [11, 10, 8, 7, 5, 4, 2]
    assert list(ev["survival"].round(3)) == [0.909, 0.818, 0.716, 0.614, 0.491, 0.368, 0.184]
    assert list(ev["std_err"].round(4)) == [0.0867, 0.1163, 0.1397, 0.1526, 0.1642, 0.1627, 0.1535]
    assert list(ev["ci_low"].round(4)) == [0.7541, 0.6192, 0.4884, 0.3769, 0.2549, 0.1549, 0.0359]
    assert list(ev["ci_high"].round(3)) == [1.000, 1.000, 1.000, 0.999, 0.946, 0.875, 0.944]


def test_median_not_reached_upper_limit():
    # Same file: print(survfit(...)): Maintained median 31, 0.95LCL 18, 0.95UCL NA;
    # Nonmaintained 23 (8, NA). NA is "not reached", returned as None.
    assert kaplan_meier(*AML_MAINTAINED, conf_type="log").median() == (31, 18, None)
    assert kaplan_meier(*AML_NONMAINTAINED, conf_type="log").median() == (23, 8, None)


def test_median_bounded_on_both_sides():
    # survfit(Surv(time, status) ~ 1, data = aml): print() shows median 27 (18, 45), as published R
    # tutorials do, but quantile(fit, 0.5), which we follow, gives 27 (18, 48) (R 4.2.2, survival
    # 3.5.3): the upper band is not monotone (0.4588 at 45, 0.4623 at 48), print's survmean() takes
    # the first crossing of 0.5 and quantile()'s approx() sorts the band first.
    t = AML_MAINTAINED[0] + AML_NONMAINTAINED[0]
    e = AML_MAINTAINED[1] + AML_NONMAINTAINED[1]
    assert kaplan_meier(t, e, conf_type="log").median() == (27, 18, 48)


def test_flat_stretch_quantile_uses_the_midpoint():
    # R survival quantile.survfit: "once in a while the survival curve has a flat spot exactly
    # at the requested quantile. Then we use the median of the flat." Four deaths at 1..4:
    # S = 0.5 on [2, 3), so the median is 2.5; S = 0.75 on [1, 2) gives the 25th percentile 1.5.
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1], conf_type="log")
    assert km.median()[0] == 2.5
    assert km.quantile(0.25)[0] == 1.5
    # a flat at the end of the curve: midpoint between its start and the last follow-up time
    km = kaplan_meier([1, 3, 3, 7], [1, 1, 0, 0], conf_type="log")  # S = 0.5 from t = 3 on
    assert km.median()[0] == pytest.approx((3 + 7) / 2)


def test_log_rank_matches_survdiff():
    # doaml.Rout.save: survdiff(Surv(time, status) ~ x): Chisq = 3.4 on 1 df, p = 0.0653
    t = AML_MAINTAINED[0] + AML_NONMAINTAINED[0]
    e = AML_MAINTAINED[1] + AML_NONMAINTAINED[1]
    lr = logrank_test(t, e, [0] * 11 + [1] * 12)
    assert round(lr.chisq, 1) == 3.4 and round(lr.p_value, 4) == 0.0653 and lr.df == 1


def test_log_log_band_matches_scikit_survival():
    # scikit-survival's kaplan_meier_estimator(conf_type="log-log") is the external reference
    # for the log-log band (the same formula as R's conf.type="log-log").
    from sksurv.nonparametric import kaplan_meier_estimator

    t, e = AML_NONMAINTAINED
    km = kaplan_meier(t, e, conf_type="log-log")
    tt, s, ci = kaplan_meier_estimator(np.array(e, bool), np.array(t, float), conf_type="log-log")
    ours = km.table.set_index("time")
    for i, ti in enumerate(tt):
        if 0 < s[i] < 1:
            assert ours.loc[ti, "ci_low"] == pytest.approx(ci[0][i], abs=1e-9)
            assert ours.loc[ti, "ci_high"] == pytest.approx(ci[1][i], abs=1e-9)


def test_survival_at_landmark_and_numbers_at_risk():
    km = kaplan_meier(*AML_MAINTAINED, conf_type="log")
    s, lo, hi = km.survival_at(20)
    assert round(s, 3) == 0.716 and round(lo, 4) == 0.4884 and hi == 1.0
    assert km.survival_at(1000) == (None, None, None)
    assert km.n_at_risk([0, 10, 30, 50]) == [11, 10, 5, 1]


def test_no_events_gives_flat_curve_and_median_not_reached():
    km = kaplan_meier([3, 5, 8], [0, 0, 0])
    assert list(km.table["survival"]) == [1.0, 1.0, 1.0]
    assert km.median() == (None, None, None)

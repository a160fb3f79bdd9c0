"""The rules that decide what a number is about (issue 25): the primary denominator (everyone enrolled,
then everyone infused; never evaluable only), bounds kept as ranges, two studies side by side rather
than one common rate, and survival where no event was reported. Every case is built from data in a
temporary folder; no test names a real study."""

import math

import pytest

from cartpool.analysis.pooling import Rule, common_effect, pool
from cartpool.domain import counts as count_rules
from cartpool.domain import record_counts
from cartpool.domain.population import primary_population
from cartpool.domain.survival_rules import zero_event_points

from .study_factory import make_study

ENROLLED_INFUSED = {"enrolled": {"label": "Enrolled patients", "kind": "enrolled"},
                    "infused": {"label": "Infused patients", "kind": "infused"}}


def _n(pop: str, n: int) -> dict:
    return {"id": f"n_{pop}", "population": pop, "endpoint": "patients", "statistic": "count", "value": n}


def test_everyone_enrolled_is_the_denominator_of_response_and_the_infused_of_toxicity(tmp_path):
    sd = make_study(tmp_path, [_n("enrolled", 10), _n("infused", 8),
                               {"id": "orr", "population": "infused", "endpoint": "orr", "statistic": "count",
                                "value": 8, "denominator": 8},
                               {"id": "crs", "population": "infused", "endpoint": "crs", "grade": "any",
                                "statistic": "count", "value": 5, "denominator": 8}],
                    populations=ENROLLED_INFUSED)
    assert primary_population(sd, "efficacy") == "enrolled" and primary_population(sd, "safety") == "infused"
    orr = count_rules.outcome_count(sd, "orr")
    assert (orr.events, orr.total, orr.how) == (8, 10, record_counts.HOW_ITT)  # 2 never infused count as not responding
    assert "2 enrolled but not infused" in orr.detail
    crs = count_rules.outcome_count(sd, "crs_any")
    assert (crs.events, crs.total, crs.population) == (5, 8, "infused")
    # the secondary analysis: those infused
    assert count_rules.outcome_count(sd, "orr", population="infused").text() == "8/8"


def test_a_rate_among_evaluable_patients_is_a_range_among_all(tmp_path):
    pops = {"all": {"label": "All infused", "kind": "infused"}, "evaluable": {"label": "Evaluable", "kind": "evaluable"}}
    sd = make_study(tmp_path, [_n("all", 20), _n("evaluable", 18),
                               {"id": "orr", "population": "evaluable", "endpoint": "orr", "statistic": "count",
                                "value": 16, "denominator": 18}], populations=pops)
    assert primary_population(sd, "efficacy") == "all"  # evaluable only is never primary
    c = count_rules.outcome_count(sd, "orr")
    assert (c.events, c.events_high, c.total, c.is_range) == (16, 18, 20, True)
    assert c.how == record_counts.HOW_EVALUABLE and c.text() == "16–18/20"
    assert count_rules.outcome_count(sd, "orr", population="evaluable").text() == "16/18"


def test_a_bound_is_a_range_never_a_count(tmp_path):
    sd = make_study(tmp_path, [_n("all", 8),
                               {"id": "cr", "population": "all", "endpoint": "cr_or_better", "statistic": "proportion",
                                "value": 87.5, "unit": "percent",
                                "bound": {"low": 7, "high": 8, "reason": "only sCR is printed"}}])
    c = count_rules.outcome_count(sd, "cr_or_better")
    assert (c.events, c.events_high, c.is_range, c.how) == (7, 8, True, record_counts.HOW_RANGE)
    assert c.uninformative_end == "high"  # 8 of 8 is only the logical limit
    assert count_rules.outcome_count(sd, "orr").available is False  # a bound of CR says nothing of response


def test_a_joined_category_across_the_threshold_makes_a_range(tmp_path):
    sd = make_study(tmp_path, [_n("all", 11)] + [
        {"id": f"best_{c.lower().replace('/', '_')}", "population": "all", "endpoint": "best_response", "category": c,
         "statistic": "count", "value": v, "denominator": 11} for c, v in (("CR", 6), ("VGPR/PR", 2), ("SD", 3))])
    vgpr = count_rules.outcome_count(sd, "vgpr_or_better")
    assert (vgpr.events, vgpr.events_high) == (6, 8) and vgpr.uninformative_end is None
    cr = count_rules.outcome_count(sd, "cr_or_better")
    assert (cr.events, cr.is_range) == (6, False)


def test_two_studies_are_shown_side_by_side_with_their_heterogeneity():
    r = pool([1, 7], [12, 11])
    assert r.rule == Rule.TWO and math.isnan(r.estimate) and not r.pooled
    # metafor rma.glmm(measure="PLO", method="ML"): QE.LRT 8.4155 (p 0.0037), tau^2 1.856, I^2 71.44%
    assert r.het_lrt == pytest.approx(8.4155, abs=1e-3) and r.het_lrt_p == pytest.approx(0.00372, abs=1e-4)
    assert r.tau2 == pytest.approx(1.856, rel=5e-3) and r.i2 == pytest.approx(71.44, abs=0.1)
    assert r.bayes_estimate is not None  # the Bayesian estimate, a sensitivity analysis
    ce = common_effect([1, 7], [12, 11])
    assert ce.rule == Rule.COMMON and ce.estimate == pytest.approx(8 / 23)


def test_three_studies_with_ranges_are_run_at_both_ends():
    r = pool([5, 6, 7], [10, 10, 10], events_high=[7, 6, 7])
    lo = pool([5, 6, 7], [10, 10, 10])
    hi = pool([7, 6, 7], [10, 10, 10])
    assert r.rule == Rule.RANDOM and r.estimate == pytest.approx(lo.estimate)
    assert r.estimate_high == pytest.approx(hi.estimate)
    assert r.ci_low == pytest.approx(min(lo.ci_low, hi.ci_low)) and r.ci_high == pytest.approx(max(lo.ci_high, hi.ci_high))
    assert r.studies["ci_high"].iloc[0] >= lo.studies["ci_high"].iloc[0]  # the study's own interval widened too


def test_no_events_during_follow_up_gives_100_percent_on_the_patients_provably_at_risk(tmp_path):
    sd = make_study(tmp_path, [
        _n("all", 8),
        {"id": "fu", "population": "all", "endpoint": "follow_up", "statistic": "median", "value": 15.4,
         "unit": "months"},
        {"id": "rel", "population": "all", "endpoint": "progression", "statistic": "count", "value": 0},
        {"id": "dead", "population": "all", "endpoint": "death", "statistic": "count", "value": 0},
        {"id": "dor", "population": "all", "endpoint": "dor", "statistic": "maximum", "value": 26.7, "unit": "months"}])
    pts = {(p.endpoint, p.time_months): p for p in zero_event_points(sd, (12.0, 24.0, 36.0))}
    twelve = pts[("pfs", 12.0)]
    assert twelve.value == 1.0 and twelve.at_risk_min == 4  # half of 8 followed at least the median
    assert twelve.ci_low == pytest.approx(0.025 ** 0.25, abs=1e-9) and twelve.ci_low == pytest.approx(0.3976, abs=1e-4)
    assert "assuming follow-up is counted from the infusion" in twelve.basis
    assert pts[("os", 24.0)].at_risk_min == 1 and pts[("os", 24.0)].ci_low == pytest.approx(0.025)
    assert ("pfs", 36.0) not in pts  # beyond every printed follow-up: nothing is shown


def test_a_death_alone_gives_no_zero_event_progression_free_survival(tmp_path):
    sd = make_study(tmp_path, [
        _n("all", 8),
        {"id": "fu", "population": "all", "endpoint": "follow_up", "statistic": "median", "value": 15.4,
         "unit": "months"},
        {"id": "dead", "population": "all", "endpoint": "death", "statistic": "count", "value": 0}])
    pts = zero_event_points(sd, (12.0,))
    assert {p.endpoint for p in pts} == {"os"}  # relapses are not reported, so PFS is not known

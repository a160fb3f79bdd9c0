"""The GRADE proposals (cartpool.domain.certainty), one rule per test; the summary of findings and its
ranking by the analysis plan; and properties of the real evidence that hold for any set of studies."""

import pytest

from cartpool.domain import certainty as grade


def test_rates_among_treated_patients_start_high_and_never_go_below_very_low():
    none = grade.Domain("imprecision", grade.NOT_SERIOUS, 0, "")
    assert grade.START == "high" and grade.rate([none]).rating == "high"
    assert grade.rate([grade.Domain("x", grade.SERIOUS, 1, "")]).rating == "moderate"
    five = [grade.Domain(d, grade.VERY_SERIOUS, 2, "") for d in ("a", "b", "c")]
    assert grade.rate(five).rating == "very low"
    assert grade.rate([none], start="low").rating == "low"


def test_risk_of_bias_by_share_of_patients_and_judgement():
    assert grade.risk_of_bias([("A", 10, "low"), ("B", 10, "low")]).downgrade == 0
    minority = grade.risk_of_bias([("A", 30, "low"), ("B", 10, "some_concerns")])
    assert minority.downgrade == 0 and "low risk: 30 patients (75%)" in minority.evidence
    concerns = grade.risk_of_bias([("A", 10, "low"), ("B", 10, "no_information")])
    assert concerns.judgement == grade.SERIOUS
    high = grade.risk_of_bias([("A", 10, "some_concerns"), ("B", 10, "high")])
    assert high.judgement == grade.VERY_SERIOUS and high.downgrade == 2
    assert grade.risk_of_bias([("A", 12, "some_concerns"), ("B", 11, "high")]).judgement == grade.SERIOUS  # 48% high
    assert "not appraised" in grade.risk_of_bias([("A", 10, None)]).reason


def test_inconsistency_is_not_assessable_with_one_study():
    one = grade.inconsistency([(0.5, 0.5)], [(0.2, 0.8)])
    assert one.judgement == grade.NOT_ASSESSABLE and one.downgrade == 0


def test_inconsistency_reads_the_test_i2_overlap_and_thresholds():
    agree = grade.inconsistency([(0.40, 0.40), (0.45, 0.45)], [(0.2, 0.6), (0.25, 0.65)], lrt_p=0.7, i2=0,
                            thresholds=[0.3, 0.6])
    assert agree.downgrade == 0
    assert grade.inconsistency([(0.4, 0.4), (0.45, 0.45)], [(0.2, 0.6), (0.25, 0.65)], lrt_p=0.05).downgrade == 1
    assert grade.inconsistency([(0.4, 0.4), (0.45, 0.45)], [(0.2, 0.6), (0.25, 0.65)], i2=60).downgrade == 1
    apart = grade.inconsistency([(0.1, 0.1), (0.8, 0.8)], [(0.05, 0.3), (0.6, 0.95)])
    assert apart.downgrade == 1 and "do not overlap" in apart.reason
    # two studies, 1/12 against 7/11 (complete response): p 0.004, either side of both thresholds
    cr = grade.inconsistency([(1 / 12, 1 / 12), (7 / 11, 7 / 11)], [(0.002, 0.385), (0.308, 0.891)], lrt_p=0.004,
                         i2=71, thresholds=[0.3, 0.5])
    assert cr.judgement == grade.VERY_SERIOUS and "opposite sides" in cr.reason
    # a range that straddles a threshold counts for neither side
    assert grade.inconsistency([(0.2, 0.6), (0.7, 0.7)], [(0.1, 0.8), (0.4, 0.9)], thresholds=[0.5]).downgrade == 0


def test_indirectness_counts_kinds_of_concern():
    assert grade.indirectness({"population": [], "surrogate outcome": []}).downgrade == 0
    one = grade.indirectness({"surrogate outcome": ["response stands in for survival"]})
    assert one.judgement == grade.SERIOUS and "Surrogate outcome" in one.reason
    two = grade.indirectness({"population": ["PCL definition not stated"], "co-interventions": ["transplant"]})
    assert two.downgrade == 1
    three = grade.indirectness({"population": ["x"], "co-interventions": ["y"], "surrogate outcome": ["z"]})
    assert three.judgement == grade.VERY_SERIOUS


@pytest.mark.parametrize("lo, hi, thresholds, down", [
    (0.40, 0.55, [0.3], 0),           # on one side of the threshold
    (0.25, 0.55, [0.3, 0.6], 1),      # crosses one threshold
    (0.10, 0.70, [0.3, 0.6], 2),      # crosses two
    (0.40, 0.55, [], 0),              # no threshold: 15 points wide
    (0.30, 0.60, [], 1),              # 30 points
    (0.10, 0.60, [], 2),              # 50 points
    (None, None, [0.3], 2),           # not estimable
])
def test_imprecision_against_the_plans_thresholds(lo, hi, thresholds, down):
    assert grade.imprecision(lo, hi, 20, thresholds=thresholds).downgrade == down


def test_publication_bias_is_judged_on_the_body_of_evidence():
    assert grade.publication_bias([200, 300], systematic_search=True).downgrade == 0
    assert grade.publication_bias([20, 30], systematic_search=True).downgrade == 1
    known = grade.publication_bias([200], systematic_search=True, known_not_included=["Smith 2025"])
    assert known.downgrade == 1 and "Smith 2025" in known.reason
    linked = grade.publication_bias([200], systematic_search=True, industry_links=["an author works for the maker"])
    assert linked.downgrade == 1 and "maker" in linked.reason


def test_statements_follow_grade_guidance_26():
    assert grade.statement("very low", "the complete response rate", "relapsed/refractory PCL", "8% and 64%").startswith(
        "In relapsed/refractory PCL, the evidence is very uncertain about the complete response rate")
    assert " may be " in grade.statement("low", "x", "p", "10%")
    assert " is probably " in grade.statement("moderate", "x", "p", "10%")


# --- on the real studies: properties that hold for any set of studies ----------------------------------


@pytest.fixture(scope="module")
def appraisal():
    from cartpool.analysis.appraisal import Appraisal
    from cartpool.analysis.pooled_analysis import PooledAnalysis

    pa = PooledAnalysis.load()
    return pa, Appraisal(pa)


def test_summary_of_findings_is_pcl_with_the_plans_ranked_outcomes(appraisal):
    pa, ap = appraisal
    s = ap.summary
    pcl_groups = set(pa.studies.loc[pa.studies["role"] == "primary", "group"])
    assert set(s["population"]) == pcl_groups  # MM is context, never a summary-of-findings population
    shown = s[s["in_summary"]]
    for _pop, rows in shown.groupby("population"):
        assert len(rows) <= pa.plan.summary_of_findings.max_outcomes
        assert list(rows["outcome"]) == [o.outcome for o in pa.plan.summary_outcomes()]  # the plan's order
    # a critical outcome with no data keeps its row
    assert set(shown["outcome"]) == {o.outcome for o in pa.plan.summary_outcomes()}


def test_every_reported_row_has_a_rating_a_status_and_footnotes(appraisal):
    _, ap = appraisal
    s = ap.summary
    reported = s[s["k"] > 0]
    assert reported["certainty"].isin(grade.LEVELS).all() and reported["proposed"].isin(grade.LEVELS).all()
    assert reported["status"].isin(["reviewed", "evidence changed", "not reviewed"]).all()
    assert (s.loc[s["k"] == 0, "certainty"] == "").all()
    assert (reported["fingerprint"].str.len() == 12).all()


def test_no_common_rate_is_given_for_two_studies(appraisal):
    _, ap = appraisal
    s = ap.summary
    two = s[(s["k"] == 2)]
    assert (two["display"] == "side by side").all()
    assert two["estimate"].isna().all()


def test_every_study_behind_a_row_belongs_to_its_population(appraisal):
    pa, ap = appraisal
    label_group = dict(zip(pa.studies["study"], pa.studies["group"], strict=True))
    for r in ap.summary[ap.summary["k"] > 0].itertuples():
        assert {label_group[x] for x in r.studies.split("; ")} == {r.population}

"""The GRADE rules (cartpool.domain.certainty), one behaviour per test, and the summary of
findings on the real studies: framing (PCL by setting) and agreement with its CSV columns."""

import pytest

from cartpool.domain import certainty as G


def test_single_arm_evidence_starts_low_and_never_goes_below_very_low():
    none = G.Domain("imprecision", G.NOT_SERIOUS, 0, "")
    assert G.rate([none]).rating == "low"
    three = [G.Domain("risk of bias", G.VERY_SERIOUS, 2, ""), G.Domain("imprecision", G.VERY_SERIOUS, 2, "")]
    assert G.rate(three).rating == "very low"
    assert G.rate([none], start="high").rating == "high"
    assert G.rate([G.Domain("x", G.SERIOUS, 1, "")], start="high").rating == "moderate"


def test_risk_of_bias_by_share_of_patients():
    assert G.risk_of_bias([("A", 10, "low"), ("B", 10, "low")]).downgrade == 0
    minority = G.risk_of_bias([("A", 30, "low"), ("B", 10, "high")])
    assert minority.downgrade == 0 and "25%" in minority.reason
    half = G.risk_of_bias([("A", 10, "low"), ("B", 10, "high")])
    assert half.judgement == G.SERIOUS and half.downgrade == 1
    everyone = G.risk_of_bias([("A", 10, "unclear"), ("B", 10, None)])
    assert everyone.judgement == G.VERY_SERIOUS and everyone.downgrade == 2
    assert "not appraised" in everyone.reason
    # one study at high risk: one level (there is nothing else to weigh it against)
    assert G.risk_of_bias([("A", 10, "high")]).downgrade == 1


def test_inconsistency_needs_two_studies_and_flags_heterogeneity():
    one = G.inconsistency([(0.2, 0.6)])
    assert one.judgement == G.NOT_ASSESSABLE and one.downgrade == 0
    assert G.inconsistency([(0.2, 0.6), (0.3, 0.7)], i2=10).downgrade == 0
    assert G.inconsistency([(0.2, 0.6), (0.3, 0.7)], i2=55).downgrade == 1
    apart = G.inconsistency([(0.05, 0.30), (0.60, 0.95)])
    assert apart.downgrade == 1 and "do not overlap" in apart.reason
    wide_pi = G.inconsistency([(0.2, 0.6), (0.3, 0.7), (0.25, 0.65)], i2=20, pi=(0.05, 0.9))
    assert wide_pi.downgrade == 1 and "prediction interval" in wide_pi.reason


def test_indirectness_from_definitions_and_bounds():
    same = G.indirectness({"CRS grading scale": ["ASTCT", "ASTCT"]})
    assert same.downgrade == 0
    differ = G.indirectness({"CRS grading scale": ["ASTCT", "Lee 2014"]})
    assert differ.downgrade == 1 and "ASTCT, Lee 2014" in differ.reason
    unknown = G.indirectness({"CRS grading scale": ["not reported"]})
    assert unknown.downgrade == 1 and "not reported" in unknown.reason
    bound = G.indirectness({}, bounded=["CAREMM-002"])
    assert bound.downgrade == 1 and "CAREMM-002" in bound.reason
    # several reasons still rate down one level only
    assert G.indirectness({"CRS grading scale": ["ASTCT", "Lee 2014", "not reported"]}, bounded=["X"]).downgrade == 1


@pytest.mark.parametrize("lo, hi, n, down", [
    (0.40, 0.55, 150, 0),   # 15 points, 150 patients
    (0.40, 0.55, 60, 1),    # fewer than 100 patients
    (0.30, 0.60, 150, 1),   # 30 points
    (0.10, 0.60, 150, 2),   # 50 points
    (None, None, 20, 2),    # not estimable
])
def test_imprecision_thresholds(lo, hi, n, down):
    assert G.imprecision(lo, hi, n).downgrade == down


def test_publication_bias_for_curated_or_small_studies():
    assert G.publication_bias([200, 300], systematic_search=True).downgrade == 0
    assert G.publication_bias([20, 30], systematic_search=True).downgrade == 1
    curated = G.publication_bias([200, 300], systematic_search=False)
    assert curated.downgrade == 1 and "systematic search" in curated.reason


def test_reasons_name_each_domain_that_rated_down():
    c = G.rate([G.risk_of_bias([("A", 10, "high")]), G.imprecision(0.1, 0.6, 10),
                G.inconsistency([(0.1, 0.6)])])
    assert c.rating == "very low"
    assert c.reasons.startswith("Risk of bias (serious)") and "Imprecision (very serious)" in c.reasons
    assert "Inconsistency" not in c.reasons
    assert c.short_reasons.startswith("risk of bias −1") and "imprecision −2 (10 patients" in c.short_reasons


# --- on the real studies ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sof():
    from cartpool.analysis.appraisal import Appraisal
    from cartpool.analysis.pooled import PooledAnalysis

    pa = PooledAnalysis.load()
    return pa, Appraisal(pa).summary


def test_summary_of_findings_is_pcl_by_setting_with_a_rating_on_every_reported_row(sof):
    pa, s = sof
    pcl_groups = set(pa.studies.loc[pa.studies["disease"] == "PCL", "group"])
    assert set(s["population"]) == pcl_groups  # MM is context, never a summary-of-findings population
    reported = s[s["k"] > 0]
    assert reported["certainty"].isin(G.LEVELS).all()
    assert (reported["reasons"] != "").all()
    assert (s.loc[s["k"] == 0, "certainty"] == "").all()
    # every study behind a row belongs to the row's population
    label_group = dict(zip(pa.studies["study"], pa.studies["group"], strict=True))
    for r in reported.itertuples():
        assert {label_group[x] for x in r.studies.split("; ")} == {r.population}


def test_summary_of_findings_rows_cover_the_key_outcomes(sof):
    from cartpool.domain import registry

    _, s = sof
    keys = [o.key for o in registry.OUTCOMES if o.headline and o.pooled]
    for k in keys:
        assert k in set(s["outcome"])
    assert {"pfs_12m", "os_12m"} <= set(s["outcome"])
    # an interval always contains its estimate and has width
    rated = s[s["k"] > 0]
    assert (rated["ci_low"] <= rated["estimate"]).all() and (rated["estimate"] <= rated["ci_high"]).all()
    assert (rated["ci_high"] > rated["ci_low"]).all()

"""Each domain rule pinned once (cartpool.domain): IMWG order and thresholds, grade bands, counts
from printed records, the main population, follow-up, headline median, approximate-curve rule."""

from decimal import Decimal

import pandas as pd
import pytest

from cartpool.domain import counts as count_rules
from cartpool.domain import grades, record_counts, survival_rules
from cartpool.domain.population import follow_up, main_population
from cartpool.domain.printed import consistent_fractions, numerators_for, rounds_to
from cartpool.domain.registry import OUTCOMES, outcome
from cartpool.domain.response import RESPONSE_ORDER, at_least, rank

from .study_factory import make_study, n_all

# --- IMWG response ---------------------------------------------------------------------------


def test_imwg_order_and_thresholds():
    assert RESPONSE_ORDER == ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
    assert at_least("sCR", "CR") and at_least("CR", "CR") and not at_least("VGPR", "CR")
    assert at_least("PR", "PR") and not at_least("MR", "PR")
    assert at_least("VGPR/PR", "PR") and not at_least("VGPR/PR", "VGPR")  # joined: every part must qualify
    assert at_least("XX", "PR") is None and at_least(None, "PR") is None
    assert rank("sCR") < rank("CR") < rank("VGPR/PR") < rank("SD") < rank("unknown")


# --- grade bands -----------------------------------------------------------------------------


def test_grade_bands():
    assert grades.span(">=3") == (3, 5) and grades.span("1-2") == (1, 2) and grades.span("any") == (1, 5)
    assert grades.printed_bands_for(">=3") == (">=3", "3-4", "3-5")
    assert grades.display(">=3") == "≥3" and grades.display("3-4") == "3–4"
    g = pd.Series([0, 1, 3, 4, None], dtype="float")
    assert grades.flags(g, ">=3").tolist()[:4] == [False, False, True, True] and pd.isna(grades.flags(g, ">=3")[4])
    assert grades.tile(["1", "2"]) and grades.tile(["1-2", ">=3"]) and not grades.tile(["1", "3"])


# --- printed numbers -------------------------------------------------------------------------


def test_printed_percentages():
    assert rounds_to(1 / 3, Decimal("33.3")) == "exact"
    assert rounds_to(5 / 11, Decimal("45.4")) == "truncated"
    assert numerators_for(Decimal("84"), 128) == [107, 108]  # 83.6% and 84.4% both print as 84%
    assert numerators_for(Decimal("39.6"), 141) == []
    assert (10, 12) in consistent_fractions(Decimal("83.3"), range(1, 13))


# --- counts from printed records -------------------------------------------------------------


def test_counts_from_printed_records(tmp_path):
    sd = make_study(tmp_path, [
        n_all(128),
        {"id": "a", "population": "all", "endpoint": "orr", "statistic": "count", "value": 9, "denominator": 12},
        {"id": "b", "population": "all", "endpoint": "cr_or_better", "statistic": "proportion", "value": 84,
         "unit": "percent"},
        {"id": "c", "population": "all", "endpoint": "mrd_negative", "statistic": "proportion", "value": 39.6,
         "unit": "percent"},
        {"id": "d", "population": "all", "endpoint": "crs", "grade": "any", "statistic": "proportion", "value": 50.0,
         "unit": "percent", "numerator": 64, "denominator": 128},
    ])
    a = record_counts.resolve_record(sd, sd.result("a"))
    assert (a.events, a.total, a.how) == (9, 12, record_counts.HOW_PRINTED)
    b = record_counts.resolve_record(sd, sd.result("b"))  # ambiguous: the nearest to p x N is used, the other kept
    assert (b.events, b.total, b.alternatives, b.how) == (108, 128, (107,), record_counts.HOW_PERCENT_AMBIGUOUS)
    assert "107 or 108 fit; 108 used" in b.detail
    c = record_counts.resolve_record(sd, sd.result("c"))
    assert not c.available and "no whole number of 128" in c.detail
    d = record_counts.resolve_record(sd, sd.result("d"))
    assert (d.events, d.total) == (64, 128)


def test_outcome_counts_by_derivation(tmp_path):
    sd = make_study(tmp_path, [
        n_all(12),
        {"id": "orr", "population": "all", "endpoint": "orr", "statistic": "count", "value": 9, "denominator": 12},
        {"id": "pr", "population": "all", "endpoint": "best_response", "category": "PR", "statistic": "count",
         "value": 4},
        {"id": "vgpr", "population": "all", "endpoint": "best_response", "category": "VGPR", "statistic": "count",
         "value": 4},
        {"id": "cr", "population": "all", "endpoint": "best_response", "category": "CR", "statistic": "count",
         "value": 1},
        {"id": "crs12", "population": "all", "endpoint": "crs", "grade": "1-2", "statistic": "count", "value": 8},
        {"id": "crs34", "population": "all", "endpoint": "crs", "grade": "3-4", "statistic": "count", "value": 2},
        {"id": "deaths", "population": "all", "endpoint": "death", "statistic": "count", "value": 3},
        {"id": "d1", "population": "all", "endpoint": "death", "category": "disease progression",
         "statistic": "count", "value": 2},
        {"id": "d2", "population": "all", "endpoint": "death", "category": "infection", "statistic": "count",
         "value": 1},
    ])
    cr = count_rules.outcome_count(sd, "cr_or_better")
    assert (cr.events, cr.total, cr.how, cr.is_range) == (1, 12, record_counts.HOW_CATEGORIES, False)  # categories cover the ORR
    crs = count_rules.outcome_count(sd, "crs_any")
    assert (crs.events, crs.how) == (10, record_counts.HOW_GRADES)
    ge3 = count_rules.outcome_count(sd, "crs_ge3")
    assert ge3.events == 2 and "printed as grade 3–4" in ge3.detail
    nrm = count_rules.outcome_count(sd, "nrm")
    assert (nrm.events, nrm.total, nrm.how) == (1, 12, record_counts.HOW_DEATH_CAUSES)
    assert count_rules.outcome_count(sd, "mrd_negative").how == record_counts.HOW_NOT_REPORTED


def test_a_single_printed_category_is_a_range(tmp_path):
    # "87.5% achieving stringent complete response": CR or better is 7 to 8 of 8
    sd = make_study(tmp_path, [n_all(8), {"id": "scr", "population": "all", "endpoint": "best_response",
                                          "category": "sCR", "statistic": "proportion", "value": 87.5,
                                          "unit": "percent"}])
    c = count_rules.outcome_count(sd, "cr_or_better")
    assert (c.events, c.events_high, c.total, c.is_range) == (7, 8, 8, True)
    orr = count_rules.outcome_count(sd, "orr")  # the 7 in sCR responded; the eighth patient's response is not printed
    assert (orr.events, orr.events_high) == (7, 8)


def test_deaths_in_a_subgroup_are_not_non_relapse_mortality_of_the_cohort(tmp_path):
    # a paper prints "among [the 6 complete responders] ... 2 had died", both not relapse-related. That is
    # not NRM of 2 in 6; of all 11 patients it is 2 to 5 (say), which the curator records as a range.
    records = [
        n_all(11),
        {"id": "n_cr", "population": "cr", "endpoint": "patients", "statistic": "count", "value": 6},
        {"id": "deaths_cr", "population": "cr", "endpoint": "death", "statistic": "count", "value": 2},
        {"id": "d1", "population": "cr", "endpoint": "death", "category": "liver failure", "relapse_related": False,
         "statistic": "count", "value": 1},
        {"id": "d2", "population": "cr", "endpoint": "death", "category": "cardiac arrest", "relapse_related": False,
         "statistic": "count", "value": 1},
    ]
    pops = {"all": {"label": "All patients", "kind": "infused"},
            "cr": {"label": "Patients in complete response", "kind": "responders"}}
    sd = make_study(tmp_path / "a", records, populations=pops)
    assert not count_rules.outcome_count(sd, "nrm").available
    sd = make_study(tmp_path / "b", [*records, {"id": "nrm", "population": "all", "endpoint": "non_relapse_mortality",
                                                "statistic": "count", "value": 2, "denominator": 11,
                                                "bound": {"low": 2, "high": 5, "reason": "others unknown"}}],
                    populations=pops)
    nrm = count_rules.outcome_count(sd, "nrm")
    assert (nrm.events, nrm.events_high, nrm.total) == (2, 5, 11)


# --- populations, follow-up, survival --------------------------------------------------------


def test_main_population_and_follow_up(tmp_path):
    pops = {"enrolled": {"label": "Enrolled patients"}, "responders": {"label": "Responders", "where": {"x": 1}}}
    sd = make_study(tmp_path, [
        n_all(9, "enrolled"),
        {"id": "fu", "population": "responders", "endpoint": "follow_up", "statistic": "median", "value": 23,
         "unit": "months"}], populations=pops)
    assert main_population(sd) == "enrolled"
    (f,) = follow_up(sd)
    assert f.population_label == "Responders" and not f.is_main_population and f.months == 23


def test_headline_median_rule(tmp_path):
    pops = {"all": {"label": "All"}, "ppcl": {"label": "Primary PCL", "where": {"pcl_type": "pPCL"}}}
    sd = make_study(tmp_path, [
        n_all(11),
        {"id": "sub", "population": "ppcl", "endpoint": "pfs", "statistic": "median", "value": 9, "unit": "months"},
        {"id": "main", "population": "all", "endpoint": "pfs", "statistic": "median", "value": 182.625,
         "unit": "days"}], populations=pops)
    pts = survival_rules.reported_points(sd)
    assert survival_rules.headline_median(sd, pts, "pfs").result_id == "main"  # main population, converted to months
    assert survival_rules.headline_median(sd, pts, "pfs").value == pytest.approx(6.0)
    km = survival_rules.SurvivalPoint("t", "pfs", "median", 7.0, 7.0, None, None, True, survival_rules.SOURCE_KM, "all")
    assert survival_rules.headline_median(sd, [km, *pts], "pfs").result_id == "main"  # the printed value first
    only_sub = [p for p in pts if p.result_id == "sub"]
    assert survival_rules.headline_median(sd, [km, *only_sub], "pfs") is km  # else the recomputed one
    assert survival_rules.headline_median(sd, only_sub, "pfs") is None  # never a subgroup's median


def test_approximate_curve_needs_two_milestones_and_stops_at_the_last(tmp_path):
    sd = make_study(tmp_path, [
        n_all(12),
        {"id": "m", "population": "all", "endpoint": "pfs", "statistic": "median", "value": 8.9, "unit": "months"},
        {"id": "l", "population": "all", "endpoint": "pfs", "statistic": "landmark_rate", "value": 22.2,
         "unit": "percent", "timepoint": {"value": 2, "unit": "years"}},
        {"id": "o", "population": "all", "endpoint": "os", "statistic": "landmark_rate", "value": 63.2,
         "unit": "percent", "timepoint": {"value": 4, "unit": "years"}}])
    pts = survival_rules.reported_points(sd)
    pfs = survival_rules.curve_milestones(pts, "pfs", "all")
    assert [m[0] for m in pfs] == [8.9, 24.0] and survival_rules.approximate_curve_allowed(pfs)
    assert not survival_rules.approximate_curve_allowed(survival_rules.curve_milestones(pts, "os", "all"))  # one point: no curve
    from cartpool.analysis.survival_curves import approximate_curves

    curves = approximate_curves(sd, pts, "all")
    assert set(curves) == {"pfs"} and curves["pfs"].times.max() == pytest.approx(24.0)


# --- the registry ----------------------------------------------------------------------------


def test_registry_is_consistent():
    keys = [o.key for o in OUTCOMES]
    assert len(keys) == len(set(keys))
    for o in OUTCOMES:
        assert o.section in ("efficacy", "safety") and o.label and o.short and o.definition
        assert o.grade in (None, "any", ">=3")
    with pytest.raises(KeyError, match="known outcomes"):
        outcome("cr_or_beter")


def test_the_index_columns_are_headline_outcomes_flagged_in_the_registry(real_copy):
    from cartpool.data.load import load_all
    from cartpool.domain.registry import at_a_glance
    from cartpool.report.index import index_page

    assert [o.key for o in at_a_glance()] == ["orr", "cr_or_better", "crs_ge3"]
    assert all(o.headline for o in at_a_glance())
    page = index_page(load_all(real_copy, sources=False), with_pdf=False)
    assert all(f">{o.short}<" in page for o in at_a_glance())


@pytest.mark.parametrize("cell, category, inside", [
    ("Light chain κ", "light_chain", True),  # a per-patient table against the paper's "light chain" row
    ("λ Light chain", "light_chain_λ", True),  # a supplementary table against the main one
    ("Nonsecretory", "non_secretory", True),
    ("IgG kappa", "IgG", True),
    ("IgG-κ", "IgA", False),
    ("Light chain κ", "light_chain_λ", False),
    ("IgD-λ", "light_chain", False),
])
def test_paraprotein_spellings_fall_in_their_printed_category(cell, category, inside):
    from cartpool.analysis.baseline import category_match

    assert category_match(cell, category) is inside


def test_non_relapse_death_is_death_without_progression_before_it(tmp_path):
    from cartpool.domain.counts import outcome_count

    table = ("Patient,Target,Progression (months),Survival (months)\n"
             "1,BCMA,No,11\n2,GPRC5D,2.5,5.5\n3,BCMA,No,14 +\n4,BCMA,No,4\n5,GPRC5D,3,6\n")
    sd = make_study(tmp_path, [n_all(5)], patients={
        "population": "all",
        "tables": {"t": {"file": "t.csv", "location": "Table 1", "id_column": "Patient"}},
        "fields": {"target": {"table": "t", "column": "Target", "parse": "text"},
                   "progression": {"table": "t", "column": "Progression (months)", "parse": "time_or_no",
                                   "unit": "months"},
                   "os": {"table": "t", "column": "Survival (months)", "parse": "time_plus", "unit": "months"}}},
        files={"t.csv": table}, targets={"value": ["BCMA", "GPRC5D"], "location": "Methods", "quote": "BCMA GPRC5D"})
    # patients 1 and 4 died without progression; 2 and 5 died after it; 3 is alive
    nrm = outcome_count(sd, "nrm")
    assert (nrm.events, nrm.total) == (2, 5)
    bcma = outcome_count(sd, "nrm", subgroup=("target", "BCMA-directed"))
    assert (bcma.events, bcma.total, bcma.subset) == (2, 3, "BCMA-directed")


def test_one_rule_picks_the_count_of_a_rounded_share():
    from cartpool.domain.printed import count_detail, count_for, nearest_count

    assert count_for(Decimal("84"), 128) == (108, (107,))  # 0.84 x 128 = 107.52
    assert count_for(Decimal("50"), 3) == (None, ())
    assert count_for(Decimal("0.84"), 128, scale=1.0) == (108, (107,))  # a proportion printed as a fraction
    assert nearest_count([1, 2], Decimal("37.5"), 4) == 2  # 1.5 patients: equally near, the larger is used
    assert count_detail(Decimal("84"), 128, 108, (107,)) == \
        "84% of 128: 107 or 108 fit; 108 used, the nearest to 84% of 128"
    assert count_detail(Decimal("75.0"), 12, 9, ()) == "75.0% of 12"


# --- per-patient tables as published and the endpoints derived from them ------------------------


def test_endpoints_derived_from_tables_as_published(tmp_path):
    """Two tables as a paper prints them: one with a patient per row whose id cell carries a footnote
    mark ("2*": soft tissue involvement), one with a patient per column ("2*": a second infusion); OS
    "+" is alive; PFS is progression or death."""
    from cartpool.domain.derive import derive_endpoints

    s1 = ("Patient,Best response,Response (Day 28),Progression (months),Survival (months)\n"
          "1,sCR,CR,No,14 +\n2*,CR,PR,2.5,5.5\n3,VGPR,PR,No,4\n4*,PR,PR,6,9 +\n")
    t2 = "Patient no.,1,2*,3,4\nCRS,1,2,0,3\n"
    patients = {"population": "all",
                "tables": {"s1": {"file": "s1.csv", "location": "Table S1", "orientation": "rows",
                                  "id_column": "Patient", "id_pattern": r"^(?P<patient>\d+)(?P<soft_tissue>\*?)$"},
                           "t2": {"file": "t2.csv", "location": "Table 2", "orientation": "columns",
                                  "id_column": "Patient no.",
                                  "id_pattern": r"^(?P<patient>\d+)(?P<second_infusion>\*?)$"}},
                "fields": {"best_response": {"table": "s1", "column": "Best response", "parse": "response"},
                           "early_response": {"table": "s1", "column": "Response (Day 28)", "parse": "response"},
                           "progression": {"table": "s1", "column": "Progression (months)", "parse": "time_or_no",
                                           "unit": "months"},
                           "os": {"table": "s1", "column": "Survival (months)", "parse": "time_plus",
                                  "unit": "months"},
                           "soft_tissue": {"table": "s1", "column": "@soft_tissue", "parse": "flag"},
                           "second_infusion": {"table": "t2", "column": "@second_infusion", "parse": "flag"},
                           "crs_grade": {"table": "t2", "column": "CRS", "parse": "grade"}}}
    sd = make_study(tmp_path, [n_all(4)], files={"s1.csv": s1, "t2.csv": t2}, patients=patients,
                    document_type="full_article")
    assert sd.tables["t2"].published == [["Patient no.", "1", "2*", "3", "4"], ["CRS", "1", "2", "0", "3"]]
    assert sd.tables["t2"].by_patient["2"]["CRS"] == "2"
    d = derive_endpoints(sd)
    # patient 2: progression at 2.5 months, died at 5.5
    assert (d.loc["2", "pfs_time"], d.loc["2", "pfs_event"], d.loc["2", "os_time"], d.loc["2", "os_event"]) == \
        (2.5, True, 5.5, True)
    # patient 3: no progression, died at 4 months: a PFS event at death
    assert (d.loc["3", "pfs_time"], d.loc["3", "pfs_event"], d.loc["3", "progressed"]) == (4.0, True, False)
    # patient 1: no progression, alive at 14+ months: censored for both
    assert (d.loc["1", "pfs_time"], d.loc["1", "pfs_event"], d.loc["1", "os_event"]) == (14.0, False, False)
    # patient 4: progression at 6, alive at 9+
    assert (d.loc["4", "pfs_time"], d.loc["4", "pfs_event"], d.loc["4", "os_event"]) == (6.0, True, False)
    assert list(d.index[d["soft_tissue"]]) == ["2", "4"] and list(d.index[d["second_infusion"]]) == ["2"]
    assert list(d["cr_or_better"]) == [True, True, False, False] and d["responder"].all()
    assert list(d["crs_grade"]) == [1, 2, 0, 3]

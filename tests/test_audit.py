"""The reproduction audit finds planted inconsistencies and raises no false alarms."""

import numpy as np
import pytest

from cartpool.analysis.audit import (
    CONSISTENT,
    INCONSISTENT,
    READING,
    ROUNDING,
    STATUSES,
    audit_frame,
    audit_study,
)
from cartpool.data.errors import StudyDataError
from cartpool.data.load import load_study, study_ids
from cartpool.synthetic import generate

from .helpers import DATA
from .study_factory import make_study, n_all, per_patient_study


def _append(root, sid, text):
    p = root / "studies" / sid / "results.yaml"
    p.write_text(p.read_text(encoding="utf-8") + text, encoding="utf-8")
    src = root / "sources" / f"{sid}.txt"
    src.write_text(src.read_text(encoding="utf-8") + "planted quote\n", encoding="utf-8")


def _audit(root, sid):
    # sources=None: planted records cite a placeholder quote; provenance is tested in test_data_*
    return audit_frame(audit_study(load_study(root / "studies" / sid, sources=None)))


def test_no_false_alarms_on_correct_synthetic_studies(tmp_path):
    generate(12, tmp_path / "studies", tmp_path / "sources")
    checked = 0
    for i in range(12):
        df = _audit(tmp_path, f"syn{i:03d}")
        checked += len(df)
        if i % 2 == 0:  # per-patient studies: every printed count is rechecked against the rows
            assert len(df) >= 5
        assert (df["status"] != INCONSISTENT).all(), df[df["status"] == INCONSISTENT].to_string()
    assert checked >= 30


def test_wrong_percentage_is_found(synthetic):
    _append(synthetic, "syn001", """
- {id: planted_pct, population: infused, endpoint: mrd_negative, statistic: proportion, value: 50.0,
   unit: percent, numerator: 7, denominator: 30, location: Results, quote: "planted quote"}
""")
    row = _audit(synthetic, "syn001").set_index("result_id").loc["planted_pct"]
    assert row["status"] == INCONSISTENT and "7/30 = 23.333%, not 50.0%" in row["note"]


def test_rounding_is_not_an_error(synthetic):
    _append(synthetic, "syn001", """
- {id: third, population: infused, endpoint: mrd_negative, statistic: proportion, value: 33.3,
   unit: percent, numerator: 1, denominator: 3, location: Results, quote: "planted quote"}
- {id: truncated, population: infused, endpoint: emd, statistic: proportion, value: 45.4,
   unit: percent, numerator: 5, denominator: 11, location: Results, quote: "planted quote"}
""")
    df = _audit(synthetic, "syn001").set_index("result_id")
    assert df.loc["third", "status"] == CONSISTENT
    assert df.loc["truncated", "status"] == ROUNDING


def test_ci_from_a_different_n_is_found(synthetic):
    # 10/34 printed with the Clopper-Pearson interval of 10/20 (29.2-73.7 would need n = 20)
    _append(synthetic, "syn001", """
- {id: planted_ci, population: infused, endpoint: mrd_negative, statistic: proportion, value: 29.4,
   unit: percent, numerator: 10, denominator: 34, ci: {low: 27.2, high: 72.8}, location: Results,
   quote: "planted quote"}
""")
    row = _audit(synthetic, "syn001")
    row = row[(row["result_id"] == "planted_ci") & (row["check"] == "proportion_ci")].iloc[0]
    assert row["status"] == INCONSISTENT and "no standard method reproduces" in row["note"]


def test_ci_method_identified_on_a_published_clopper_pearson_interval(synthetic):
    # CARTITUDE-1 (Berdeja et al., Lancet 2021;398:314-24): ORR 97% (95% CI 91.2-99.4), 94 of 97
    # patients, with exact Clopper-Pearson intervals as stated in its statistical methods.
    _append(synthetic, "syn001", """
- {id: cartitude, population: infused, endpoint: orr, statistic: proportion, value: 96.9, unit: percent,
   numerator: 94, denominator: 97, ci: {low: 91.2, high: 99.4, method: Clopper-Pearson}, location: Results,
   quote: "planted quote"}
""")
    df = _audit(synthetic, "syn001")
    row = df[(df["result_id"] == "cartitude") & (df["check"] == "proportion_ci")].iloc[0]
    assert row["status"] == CONSISTENT
    assert "Clopper-Pearson exact" in row["note"] and "Wilson" not in row["note"]


def test_median_contradicted_by_patient_rows_is_found(synthetic):
    _append(synthetic, "syn000", """
- {id: planted_median, population: infused, endpoint: os, statistic: median, value: 99, unit: months,
   location: Results, quote: "planted quote"}
""")
    row = _audit(synthetic, "syn000").set_index("result_id").loc["planted_median"]
    assert row["status"] == INCONSISTENT and "paper 99 months" in row["note"]


def test_sub_counts_that_do_not_add_up_are_found(synthetic):
    _append(synthetic, "syn001", """
- {id: n_dead, population: infused, endpoint: death, statistic: count, value: 5, location: Results,
   quote: "planted quote"}
- {id: dead_pd, population: infused, endpoint: death, category: progression, statistic: count, value: 3,
   location: Results, quote: "planted quote"}
- {id: dead_inf, population: infused, endpoint: death, category: infection, statistic: count, value: 1,
   location: Results, quote: "planted quote"}
""")
    df = _audit(synthetic, "syn001")
    row = df[df["item"].str.startswith("causes of death")].iloc[0]
    assert row["status"] == INCONSISTENT and "3 + 1 = 4, but the whole is 5" in row["note"]


def _patients(survival: list[str], best: list[str] | None = None, day28: list[str] | None = None) -> list[dict]:
    n = len(survival)
    best, day28 = best or ["PR"] * n, day28 or ["PR"] * n
    return [{"Patient": i + 1, "Best response": best[i], "Response (Day 28)": day28[i], "Survival (months)": s}
            for i, s in enumerate(survival)]


def test_a_median_that_fits_only_another_order_of_tied_times_is_a_reading(tmp_path):
    # printed in half-months, "3+" censored: by the usual order the median is 6 months; it is 4 if the
    # censoring came before the death at 3 (it may have: 3+ lies within a half-month of 3) and the
    # median is read as the first time the curve reaches 50%
    sd = per_patient_study(tmp_path, _patients(["3", "3+", "3.5", "4", "6", "10", "12"]), [
        {"id": "os_median", "population": "all", "endpoint": "os", "statistic": "median", "value": 4,
         "unit": "months"}])
    row = audit_frame(audit_study(sd)).set_index("result_id").loc["os_median"]
    assert row["status"] == READING
    assert "earlier" in row["note"] and "first time" in row["note"] and "standard reading the median is 6.0" in row["note"]


def test_a_median_ci_whose_limits_need_two_ci_types_is_a_finding(tmp_path):
    # 12 deaths at months 1..12. R survival, quantile(survfit(Surv(1:12, rep(1, 12)) ~ 1, conf.type=...), 0.5):
    # log 6.5 (4, NA), log-log 6.5 (2, 10), plain 6.5 (4, 9). "6.5 (95% CI 2, not reached)" takes its lower
    # limit from log-log and its upper from log
    sd = per_patient_study(tmp_path, _patients([str(t) for t in range(1, 13)]), [
        {"id": "os_median", "population": "all", "endpoint": "os", "statistic": "median", "value": 6.5,
         "unit": "months", "ci": {"low": 2, "high": "NR"}}])
    df = audit_frame(audit_study(sd))
    row = df[df["item"].str.endswith("95% CI")].iloc[0]
    assert row["status"] == INCONSISTENT and "no one CI type gives both limits" in row["note"]
    assert "lower limit matches the log-log CI" in row["note"] and "upper the log CI" in row["note"]


def test_a_response_count_that_fits_only_the_early_response_is_a_reading(tmp_path):
    # 3 of 4 reach CR or better as best response; 1 of 4 by day 28: the paper's "1 of 4" is the early one
    sd = per_patient_study(tmp_path, _patients(["10", "12+", "14+", "9"], best=["CR", "CR", "sCR", "PR"],
                                               day28=["CR", "PR", "PR", "PR"]), [
        {"id": "cr", "population": "all", "endpoint": "cr_or_better", "statistic": "count", "value": 1}])
    row = audit_frame(audit_study(sd)).set_index("result_id").loc["cr"]
    assert row["status"] == READING and "day 28" in row["note"] and "the count is 3 of 4" in row["note"]


def test_a_landmark_ci_that_fits_fewer_patients_than_stated_is_a_reading(tmp_path):
    from scipy import stats

    # S(12) = 3/9 with the log-log interval of 9 uncensored patients, printed for a population of 12 with
    # no follow-up stated: only 9 patients can give that interval
    s, n, z = 3 / 9, 9, stats.norm.ppf(0.975)
    se = np.sqrt((1 - s) / (n * s)) / abs(np.log(s))
    lo, hi = (np.exp(-np.exp(np.log(-np.log(s)) + k * z * se)) for k in (1, -1))
    sd = make_study(tmp_path, [n_all(12), {
        "id": "pfs12", "population": "all", "endpoint": "pfs", "statistic": "landmark_rate", "value": 33.3,
        "unit": "percent", "timepoint": {"value": 12, "unit": "months"},
        "ci": {"low": float(round(100 * lo, 1)), "high": float(round(100 * hi, 1))}}])
    row = audit_frame(audit_study(sd)).set_index("result_id").loc["pfs12"]
    assert row["status"] == READING and "only 9 patients, not the stated 12" in row["note"]


def test_a_declared_sum_that_does_not_add_up_is_found(tmp_path):
    sd = make_study(tmp_path, [n_all(11), *[
        {"id": rid, "population": "all", "endpoint": "x_cytopenia_course", "category": cat, "statistic": "count",
         "value": v} for rid, cat, v in (("resolved", "resolved by day 31", 6), ("prolonged", "prolonged", 4))]],
        sum_checks=[{"parts": ["resolved", "prolonged"], "whole": "n_all",
                     "label": "Cytopenia resolved by day 31 plus prolonged cytopenia"}])
    row = audit_frame(audit_study(sd)).set_index("item").loc["Cytopenia resolved by day 31 plus prolonged cytopenia"]
    assert row["status"] == INCONSISTENT and "6 + 4 = 10, but the whole is 11" in row["note"]


def test_a_tie_within_the_printed_resolution_decides_a_median():
    from cartpool.analysis.audit import median_readings

    # printed in half-months; "3+" censored: by the usual order (events first at a tie) the median
    # is 6; if the censoring came first (it may have: 3+ lies within a half-month of 3), S reaches
    # exactly 50% at 4, and the first time S <= 50% is 4
    time = [3, 3, 3.5, 4, 6, 10, 12]
    event = [True, False, True, True, True, True, True]
    readings = median_readings(time, event, resolution=0.5)
    assert readings[0].standard and readings[0].value == pytest.approx(6.0)
    earlier = [r for r in readings if "earlier" in r.ties and "first time" in r.rule]
    assert earlier and earlier[0].value == pytest.approx(4.0)
    assert "earlier" in earlier[0].differs() and "first time" in earlier[0].differs()


def test_percentages_printed_together_that_fit_only_another_population(tmp_path):
    # 39.6%, 43.3% and 52.2% of "patients": 141 fits only 43.3% (61/141); 134 fits all three
    pops = {"all": {"label": "All infused patients", "kind": "infused"},
            "evaluable": {"label": "Patients evaluable for response", "kind": "evaluable"}}
    sentence = "anemia in 39.6%, neutropenia (43.3%) and thrombocytopenia (52.2%)"
    sd = make_study(tmp_path, [
        n_all(141), n_all(134, "evaluable"),
        *[{"id": e, "population": "all", "endpoint": e, "grade": ">=3", "statistic": "proportion", "value": v,
           "unit": "percent", "quote": sentence} for e, v in (("anemia", 39.6), ("neutropenia", 43.3),
                                                               ("thrombocytopenia", 52.2))],
        {"id": "crs", "population": "all", "endpoint": "crs", "grade": "any", "statistic": "proportion",
         "value": 36.2, "unit": "percent", "quote": "CRS in 36.2%"}], populations=pops)
    df = audit_frame(audit_study(sd)).set_index("result_id")
    for rid in ("anemia", "neutropenia", "thrombocytopenia"):  # one group, one verdict, on every member
        assert df.loc[rid, "status"] == READING and "fit 134 patients" in df.loc[rid, "note"]
    assert "61/141 fits this one alone" in df.loc["neutropenia", "note"]
    assert df.loc["crs", "status"] == CONSISTENT  # another sentence: judged on its own, 51/141
    from cartpool.domain.record_counts import resolve_record

    assert not resolve_record(sd, sd.result("neutropenia")).available  # no count is taken from 141 either


def test_ci_whose_limits_need_two_methods_is_a_finding(tmp_path):
    from cartpool.stats.proportions import proportion_ci

    # lower limit of Clopper-Pearson, upper of Wilson, for 7/20
    cp, wi = proportion_ci(7, 20, "exact"), proportion_ci(7, 20, "wilson")
    sd = make_study(tmp_path, [n_all(20), {
        "id": "orr", "population": "all", "endpoint": "orr", "statistic": "proportion", "value": 35.0,
        "unit": "percent", "numerator": 7, "denominator": 20,
        "ci": {"low": round(100 * cp.ci_low, 1), "high": round(100 * wi.ci_high, 1)}}])
    row = audit_frame(audit_study(sd))
    row = row[row["check"] == "proportion_ci"].iloc[0]
    assert row["status"] == INCONSISTENT
    assert "no one method gives both limits" in row["note"] and "Clopper-Pearson" in row["note"] \
        and "Wilson" in row["note"]


def test_ci_that_fits_only_another_population_is_a_reading(tmp_path):
    from cartpool.stats.proportions import proportion_ci

    e = proportion_ci(8, 16, "exact")  # 50% printed for 20 patients with the interval of 8/16
    pops = {"all": {"label": "All patients", "kind": "infused"},
            "evaluable": {"label": "Evaluable patients", "kind": "evaluable"}}
    sd = make_study(tmp_path, [n_all(20), n_all(16, "evaluable"), {
        "id": "orr", "population": "all", "endpoint": "orr", "statistic": "proportion", "value": 50.0,
        "unit": "percent", "ci": {"low": round(100 * e.ci_low, 1), "high": round(100 * e.ci_high, 1)}}],
        populations=pops)
    df = audit_frame(audit_study(sd))
    row = df[df["check"] == "proportion_ci"].iloc[0]
    assert row["status"] == READING and "only with 8/16 (evaluable patients)" in row["note"]


def test_landmark_ci_under_censoring_gives_its_effective_n(tmp_path):
    from scipy import stats

    from cartpool.stats.kaplan_meier import landmark_effective_n

    # S(24) = 0.60 with a log-log interval whose Greenwood variance is that of 47 uncensored patients,
    # printed for a population of 80 followed for a median of 14 months: censoring explains the width
    s, n_eff, z = 0.60, 47, stats.norm.ppf(0.975)
    se = np.sqrt((1 - s) / (n_eff * s)) / abs(np.log(s))
    lo, hi = (np.exp(-np.exp(np.log(-np.log(s)) + k * z * se)) for k in (1, -1))
    assert landmark_effective_n(s, lo, hi, 0.95)["log-log"] == pytest.approx(n_eff, rel=1e-9)
    sd = make_study(tmp_path, [n_all(80), {
        "id": "pfs24", "population": "all", "endpoint": "pfs", "statistic": "landmark_rate", "value": 60.0,
        "unit": "percent", "timepoint": {"value": 24, "unit": "months"},
        "ci": {"low": float(round(100 * lo, 1)), "high": float(round(100 * hi, 1))}},
        {"id": "fu", "population": "all", "endpoint": "follow_up", "statistic": "median", "value": 14,
         "unit": "months"}])
    row = audit_frame(audit_study(sd)).set_index("result_id").loc["pfs24"]
    assert row["status"] == CONSISTENT and "effective sample size of about 47" in row["note"]
    assert "at most the 80" in row["note"]


def test_a_recorded_contradiction_is_a_finding(tmp_path):
    sd = make_study(tmp_path, [n_all(11)], contradictions=[{
        "label": "End of the treatment period",
        "first": {"location": "Methods", "quote": "between 2018 and December 31, 2021"},
        "second": {"location": "Results", "quote": "between 2018 and October 31, 2021"},
        "note": "The Methods and the Results give different end dates."}])
    row = audit_frame(audit_study(sd)).set_index("item").loc["End of the treatment period"]
    assert row["status"] == INCONSISTENT and "December 31" in row["reported"] and "October 31" in row["recomputed"]


def test_the_same_quantity_printed_twice_with_different_values_is_found(tmp_path):
    sd = make_study(tmp_path, [n_all(30), *[
        {"id": f"mrd_{i}", "population": "all", "endpoint": "mrd_negative", "statistic": "proportion", "value": v,
         "unit": "percent", "location": loc} for i, (v, loc) in enumerate(((40.0, "Table 2"), (50.0, "Results")))]])
    df = audit_frame(audit_study(sd))
    row = df[df["check"] == "contradiction"].iloc[0]
    assert row["status"] == INCONSISTENT and "40.0% in Table 2 and 50.0% in Results" in row["note"]


REAL = study_ids(DATA)


@pytest.mark.parametrize("sid", REAL)
def test_every_row_of_a_real_study_has_a_known_status_a_source_and_an_explained_finding(sid):
    sd = load_study(DATA / sid, sources=None)
    df = audit_frame(audit_study(sd))
    assert set(df["status"]) <= set(STATUSES)
    assert (df["study_id"] == sid).all() and (df["item"].str.len() > 0).all()
    # every row names the printed record it checks (or a population's stated size)
    ids = {r.id for r in sd.results}
    named = df.loc[df["result_id"] != "", "result_id"]
    assert (named.isin(ids) | named.str.startswith("population:")).all(), set(named) - ids
    # a finding says what was found, and a reading names the reading
    findings = df[df["status"].isin([INCONSISTENT, READING])]
    assert (findings["note"].str.len() > 10).all()
    # no check id, record key or file name in the words a reader sees
    from .page_text import offenders

    assert not offenders(" ".join(df["item"])), offenders(" ".join(df["item"]))


@pytest.mark.parametrize("sid", REAL)
def test_what_held_counts_reproduced_numbers_by_kind_in_a_readers_words(sid):
    from cartpool.analysis.audit import what_held

    df = audit_frame(audit_study(load_study(DATA / sid, sources=None)))
    held = what_held(df)
    reproduced = int(df["status"].isin([CONSISTENT, ROUNDING]).sum())
    assert sum(int(h.split()[0]) for h in held) == reproduced
    assert not any("_" in h for h in held)


def test_what_held_on_a_synthetic_audit():
    import pandas as pd

    from cartpool.analysis.audit import what_held

    df = pd.DataFrame({"check": ["percent", "percent", "sums", "per_patient", "per_patient"],
                       "status": [CONSISTENT, ROUNDING, INCONSISTENT, CONSISTENT, READING]})
    assert what_held(df) == ["2 printed percentages match a count of the stated population",
                             "1 number matches the per-patient table"]


def test_a_percentage_that_fits_two_counts_gives_one_count_on_every_page(tmp_path):
    # "CRS in 84%" of 128 patients: 107 (83.6%) and 108 (84.4%) both print as 84%. The audit, the
    # study's outcome table and the pooled analysis take the same one (the nearest to 0.84 x 128 =
    # 107.52) and say which; the other is kept only for the sensitivity analysis.
    from cartpool.analysis.pooled_analysis import PooledAnalysis
    from cartpool.analysis.study_analysis import StudyAnalysis
    from cartpool.stats.proportions import proportion_ci
    from cartpool.synthetic import write_plan

    write_plan(tmp_path)
    other = proportion_ci(107, 128)  # a CI printed for the count not used
    sd = make_study(tmp_path / "studies", [n_all(128), {
        "id": "crs", "population": "all", "endpoint": "crs", "grade": "any", "statistic": "proportion",
        "value": 84, "unit": "percent", "quote": "CRS occurred in 84% of patients",
        "ci": {"low": round(100 * other.ci_low, 1), "high": round(100 * other.ci_high, 1)}}])
    which = "107 or 108 fit; 108 used, the nearest to 84% of 128"
    df = audit_frame(audit_study(sd))
    pct = df[df["check"] == "percent"].set_index("result_id").loc["crs"]
    assert pct["status"] == CONSISTENT and pct["recomputed"].startswith("108/128") and which in pct["note"]
    ci = df[df["check"] == "proportion_ci"].set_index("result_id").loc["crs"]
    assert ci["status"] == READING and "only with 107/128" in ci["note"] and which in ci["note"]
    row = StudyAnalysis(sd).outcomes.set_index("outcome").loc["crs_any"]
    assert (row["events"], row["total"]) == (108, 128) and which in row["detail"]
    inputs = PooledAnalysis([sd]).inputs
    crs = inputs[inputs["outcome"] == "crs_any"]
    assert set(crs.loc[crs["view"] != "sensitivity", "events"]) == {108}
    assert set(crs.loc[crs["view"] == "sensitivity", "events"]) == {107}  # the other count, labelled as such


def test_a_printed_count_with_its_percentage_counts_against_its_population(tmp_path):
    """"107 patients (84%)" of 128: the printed count is the count (not re-derived from 84%, which
    fits 108), and the percentage is checked against it."""
    from cartpool.domain.record_counts import HOW_PRINTED, resolve_record

    sd = make_study(tmp_path, [n_all(128), {"id": "crs", "population": "all", "endpoint": "crs", "grade": "any",
                                            "statistic": "proportion", "value": 84, "unit": "percent",
                                            "numerator": 107}])
    c = resolve_record(sd, sd.result("crs"))
    assert (c.events, c.total, c.how) == (107, 128, HOW_PRINTED)
    row = audit_frame(audit_study(sd)).set_index("result_id").loc["crs"]
    assert row["reported"] == "84% (107/128)" and row["status"] == CONSISTENT


def test_a_printed_count_above_its_population_is_rejected(tmp_path):
    with pytest.raises(StudyDataError, match="numerator"):
        make_study(tmp_path, [n_all(128), {"id": "crs", "population": "all", "endpoint": "crs", "grade": "any",
                                           "statistic": "proportion", "value": 84, "unit": "percent",
                                           "numerator": 170}])

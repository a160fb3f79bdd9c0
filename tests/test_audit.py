"""The reproduction audit finds planted inconsistencies and raises no false alarms."""

import pytest

from cartpool.analysis.audit import (
    CONSISTENT,
    INCONSISTENT,
    NOT_CHECKABLE,
    ROUNDING,
    audit_frame,
    audit_study,
)
from cartpool.data.load import load_study
from cartpool.synthetic import generate

from .conftest import DATA


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


def test_real_findings_are_reported():
    # Known properties of the five sources, found by the audit:
    hu = audit_frame(audit_study(load_study(DATA / "hu2026", sources=None))).set_index("item")
    # "Median PFS ... 120 days for those with secondary PCL"; Table S1 gives 6.0 months = 183 days
    row = hu.loc["median PFS (Secondary PCL)"]
    assert row["status"] == INCONSISTENT and "183 days" in row["recomputed"]
    # "only 1 out of 4 patients with soft tissue involvement achieved CR": matches day-28 response
    row = hu.loc["CR or better (Soft tissue involvement)"]
    assert row["status"] == CONSISTENT and "day 28" in row["note"]
    guo = audit_frame(audit_study(load_study(DATA / "guo2026", sources=None)))
    lm = guo[guo["check"] == "landmark_ci"]
    assert (lm["status"] == CONSISTENT).all() and lm["note"].str.contains("n = 9").all()
    hao = audit_frame(audit_study(load_study(DATA / "hao2025", sources=None))).set_index("item")
    assert hao.loc["Cytopenia resolved by day 31 plus prolonged cytopenia", "status"] == INCONSISTENT
    jin = audit_frame(audit_study(load_study(DATA / "jin2025", sources=None)))
    assert (jin[jin["check"] == "landmark_ci"]["status"] == NOT_CHECKABLE).all()


@pytest.mark.parametrize("sid", ["caremm002", "guo2026", "hao2025", "hu2026", "jin2025"])
def test_every_row_has_a_known_status_and_inconsistent_rows_explain(sid):
    df = audit_frame(audit_study(load_study(DATA / sid, sources=None)))
    assert set(df["status"]) <= {CONSISTENT, ROUNDING, INCONSISTENT, NOT_CHECKABLE}
    bad = df[df["status"] == INCONSISTENT]
    assert (bad["note"].str.len() > 10).all()


def test_what_held_counts_reproduced_numbers_by_kind_in_a_readers_words():
    from cartpool.analysis.audit import what_held

    df = audit_frame(audit_study(load_study(DATA / "hu2026", sources=None)))
    held = what_held(df)
    reproduced = int(df["status"].isin([CONSISTENT, ROUNDING]).sum())
    assert sum(int(h.split()[0]) for h in held) == reproduced
    assert not any("_" in h for h in held)

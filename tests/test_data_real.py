"""The five extracted studies: they validate, every quote is in its source, per-patient tables
round-trip, and derived endpoints follow each paper's definitions."""

import pytest

from cartpool.data.load import load_all, load_study, study_ids
from cartpool.domain.derive import derive_endpoints

from .conftest import DATA, seeds_dir


def test_study_ids_are_the_folder_names():
    assert study_ids(DATA) == ["caremm002", "guo2026", "hao2025", "hu2026", "jin2025"]


def test_all_studies_validate_with_every_quote_found():
    src = seeds_dir()
    if src is None:
        pytest.skip("source documents (../shared/seeds) not present: quotes cannot be checked here")
    studies = load_all(DATA, sources=src)
    assert len(studies) == 5
    assert sum(len(s.results) for s in studies) > 150


def test_every_reported_value_has_provenance():
    for sd in load_all(DATA, sources=None):
        for r in sd.results:
            assert r.location and r.quote, r.id


def test_hu2026_table_s1_round_trips_cell_for_cell():
    # Hu et al. 2026, Online Supplementary Table S1, as printed in 001_bb6754b427db5e4b.txt
    sd = load_study(DATA / "hu2026", sources=None)
    s1 = sd.tables["s1"].published
    assert s1[0][0] == "Patient no./ Gender/Age"
    assert s1[3] == ["3/F/70", "pPCL", "IgG-κ", "BCMA", "1.6", "PR, MRD Neg", "PR", "No", "ND",
                     "No (PR, 14 +)", "14 +"]
    assert s1[9][8] == "GPRC5D-C (14)" and s1[11][10] == "3+"
    t2 = sd.tables["t2"].published
    assert t2[0][:3] == ["Patient no.", "1", "2*"]
    assert t2[2][8] == "2"  # ICANS grade 2 for patient 8
    assert sd.tables["t2"].by_patient["10"]["Any infection"] == "Fungal"


def test_hao2025_table_1_round_trips():
    sd = load_study(DATA / "hao2025", sources=None)
    t1 = sd.tables["t1"].published
    assert t1[1] == ["1", "57", "M", "Light chain κ", "I", "3", "No", "No", "63.58%", "1.34×10 ⁸", "21.14%"]
    assert bool(sd.patients.loc["10", "emd"]) is True
    assert sd.patients.loc["1", "dose_cells"] == pytest.approx(1.34e8)


def test_hu2026_derived_endpoints_follow_the_papers_definitions():
    # "Progression-free survival (PFS) was defined as the interval from CAR T-cell infusion to
    # progression or death from any cause. Survival was defined as the interval from CAR
    # T-cell infusion to death from any cause." "+, still alive".
    d = derive_endpoints(load_study(DATA / "hu2026", sources=None))
    # patient 2: progression at 2.5 months, died at 5.5
    assert (d.loc["2", "pfs_time"], d.loc["2", "pfs_event"]) == (2.5, True)
    assert (d.loc["2", "os_time"], d.loc["2", "os_event"]) == (5.5, True)
    # patient 6: no progression, died at 4 months (hemorrhage): a PFS event at death
    assert (d.loc["6", "pfs_time"], d.loc["6", "pfs_event"], d.loc["6", "progressed"]) == (4.0, True, False)
    # patient 3: no progression, alive at 14+ months: censored for both
    assert (d.loc["3", "pfs_time"], d.loc["3", "pfs_event"], d.loc["3", "os_event"]) == (14.0, False, False)
    # totals the paper states: 7 deaths, 7 progressions, all 11 responded, 7 CR or better
    assert d["os_event"].sum() == 7 and d["progressed"].sum() == 7
    assert d["responder"].all() and d["cr_or_better"].sum() == 7
    # Table S1 footnote "*" = soft tissue involvement; Table 2 footnote "*" = second infusion
    assert list(d.index[d["soft_tissue"]]) == ["2", "4", "9", "10"]
    assert list(d.index[d["second_infusion"]]) == ["2", "4", "5", "8", "9"]
    assert d["mrd_negative"].all()  # "All subjects had a bone marrow negative MRD-test by day 28"


def test_summary_only_studies_have_no_patient_data():
    for sid in ("guo2026", "caremm002", "jin2025"):
        sd = load_study(DATA / sid, sources=None)
        assert sd.patients is None and derive_endpoints(sd) is None

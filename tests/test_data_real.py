"""The extracted studies. Tests of the real data iterate over whatever studies exist (adding a
study never breaks them); checks specific to the five seed studies run only where those studies
exist. Every study validates, every quote is in its source, every result sentence of each source
is extracted or listed as left out, per-patient tables round-trip, and derived endpoints follow
each paper's definitions."""

import shutil

import pytest

from cartpool.data.appraisal import DOMAINS, proposed_overall
from cartpool.data.coverage import uncovered_sentences
from cartpool.data.known import load_known_studies
from cartpool.data.load import find_source, load_all, load_study, source_folders, study_ids
from cartpool.domain.derive import derive_endpoints

from .helpers import DATA, seeds_dir

STUDIES = study_ids(DATA)
SEED_STUDIES = ("caremm002", "guo2026", "hao2025", "hu2026", "jin2025")


def _seed(sid: str):
    """Skip a check that is about one of the seed studies when that study is not in the data."""
    if sid not in STUDIES:
        pytest.skip(f"seed study {sid} is not in data/studies")
    return load_study(DATA / sid, sources=None)


def test_study_ids_are_the_folder_names():
    assert STUDIES == sorted(p.name for p in DATA.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def test_all_studies_validate_with_every_quote_found():
    src = seeds_dir()
    if src is None:
        pytest.skip("source documents (../shared/seeds) not present: quotes cannot be checked here")
    studies = load_all(DATA, sources=src)
    assert [s.study.id for s in studies] == STUDIES
    for s in studies:
        if s.source is not None:
            assert s.quotes_verified, s.study.id


def _source_text(sid: str) -> str:
    sd = load_study(DATA / sid, sources=None)
    src = seeds_dir()
    doc = find_source(DATA / sid, sd.study.source_document, [src] if src else source_folders())
    if doc is None:
        pytest.skip(f"the source of {sid} is not available: its coverage cannot be checked here")
    return doc.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("sid", STUDIES)
def test_every_result_sentence_is_extracted_or_listed_as_left_out(sid):
    text = _source_text(sid)
    sd = load_study(DATA / sid, sources=None)
    gaps = uncovered_sentences(text, sd.quotes(), sd.coverage.left_out)
    assert not gaps, "\n".join(f"{g.numbers}: {g.sentence[:200]}" for g in gaps)


@pytest.mark.parametrize("sid", STUDIES)
def test_every_study_has_a_risk_of_bias_appraisal_by_domain(sid):
    sd = load_study(DATA / sid, sources=None)
    assert list(sd.appraisal.domains) == list(DOMAINS)
    # the recorded overall judgement is the proposal, or says why it departs
    assert sd.appraisal.overall.judgement == proposed_overall(sd.appraisal) or sd.appraisal.overall.departure_reason
    if sd.study.document_type in ("abstract", "summary"):
        # a silent source gets "no information", never "high" unless its words support it
        for j in [*sd.appraisal.domains.values(), *sd.appraisal.outcome_judgements]:
            if j.judgement in ("low", "high"):
                assert j.quote or j.registry, (sid, j.reason)


@pytest.mark.parametrize("sid", STUDIES)
def test_every_population_declares_its_kind_and_one_is_the_whole_cohort(sid):
    sd = load_study(DATA / sid, sources=None)
    kinds = {p.kind for p in sd.study.populations.values()}
    assert kinds & {"infused", "treated", "enrolled"}, sid


def test_known_studies_validate_with_their_quotes():
    src = seeds_dir()
    studies = load_all(DATA, sources=src if src else None)
    known = load_known_studies(DATA.parent, studies)
    assert all(k.known_from for k in known)


def test_a_synthetic_study_added_to_a_copy_of_the_data_validates(tmp_path):
    from cartpool.synthetic import generate

    data = tmp_path / "studies"
    shutil.copytree(DATA, data)
    generate(1, tmp_path / "new", tmp_path / "sources")
    shutil.move(tmp_path / "new" / "syn000", data / "syn000")
    shutil.move(tmp_path / "sources" / "syn000.txt", data / "syn000" / "syn000.txt")  # source beside it
    studies = load_all(data)  # configured source folders for the seeds, the study folder for the new one
    assert [s.study.id for s in studies] == sorted([*STUDIES, "syn000"])
    new = studies[[s.study.id for s in studies].index("syn000")]
    assert new.quotes_verified
    gaps = uncovered_sentences(new.source.read_text(encoding="utf-8"), new.quotes(), new.coverage.left_out)
    assert not gaps


def test_every_reported_value_has_provenance():
    for sd in load_all(DATA, sources=None):
        for r in sd.results:
            assert r.location and r.quote, r.id


def test_hu2026_table_s1_round_trips_cell_for_cell():
    # Hu et al. 2026, Online Supplementary Table S1, as printed in 001_bb6754b427db5e4b.txt
    sd = _seed("hu2026")
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
    sd = _seed("hao2025")
    t1 = sd.tables["t1"].published
    assert t1[1] == ["1", "57", "M", "Light chain κ", "I", "3", "No", "No", "63.58%", "1.34×10 ⁸", "21.14%"]
    assert bool(sd.patients.loc["10", "emd"]) is True
    assert sd.patients.loc["1", "dose_cells"] == pytest.approx(1.34e8)


def test_hu2026_derived_endpoints_follow_the_papers_definitions():
    # "Progression-free survival (PFS) was defined as the interval from CAR T-cell infusion to
    # progression or death from any cause. Survival was defined as the interval from CAR
    # T-cell infusion to death from any cause." "+, still alive".
    d = derive_endpoints(_seed("hu2026"))
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


@pytest.mark.parametrize("sid", ["guo2026", "caremm002", "jin2025"])
def test_summary_only_studies_have_no_patient_data(sid):
    sd = _seed(sid)
    assert sd.patients is None and derive_endpoints(sd) is None


def test_seed_study_facts_from_the_coverage_pass():
    caremm = _seed("caremm002")
    bound = caremm.result("cr_or_better_bound").bound
    assert caremm.study.title_descriptive and (bound.low, bound.high) == (7, 8)
    hu = _seed("hu2026")
    assert hu.study.icaht_grading.value == "EHA/EBMT 2023"
    assert hu.study.mrd_assessment.value.sensitivity == "10^-5"
    causes = {r.category: r.relapse_related for r in hu.results if r.endpoint == "death" and r.category}
    assert causes == {"disease progression": True, "GVHD after allotransplant": False, "hemorrhage": False}
    hao = _seed("hao2025")
    assert hao.study.populations[hao.result("follow_up_responders").population].kind == "responders"
    assert hao.result("nrm").derived == "course_of_every_patient"
    guo = _seed("guo2026")
    assert guo.study.disease.value == ["unspecified_pcl"] and "R/R PCL" in guo.study.disease.quote

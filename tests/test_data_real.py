"""The extracted studies. Tests of the real data iterate over whatever studies are in data/ and
assert properties that hold for any valid study (adding a study never breaks them, and no test
names one): every study validates, every quote is in its source, every result sentence of each
source is extracted or listed as left out, per-patient tables round-trip cell for cell into the
reports, and derived endpoints follow the definitions. Rules with specific numbers are tested on
fixtures built in a temporary folder (test_domain_rules, test_audit, test_data_curation)."""

import shutil

import pytest

from cartpool.data.coverage import uncovered_sentences
from cartpool.data.known import load_known_studies
from cartpool.data.load import load_all, load_study, study_ids
from cartpool.data.risk_of_bias import DOMAINS, proposed_overall
from cartpool.data.sources import find_source, source_folders
from cartpool.domain.derive import derive_endpoints

from .helpers import DATA, free_synthetic_specs, seeds_dir

STUDIES = study_ids(DATA)


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
    from cartpool.synthetic import write_study

    data = tmp_path / "studies"
    shutil.copytree(DATA, data)
    spec = free_synthetic_specs(data, 1)[0]  # an id and a label no study of the data uses
    write_study(spec, data, data / spec["id"])  # its source beside it, in its folder
    studies = load_all(data)  # configured source folders for the seeds, the study folder for the new one
    assert [s.study.id for s in studies] == sorted([*STUDIES, spec["id"]])
    new = studies[[s.study.id for s in studies].index(spec["id"])]
    assert new.quotes_verified
    gaps = uncovered_sentences(new.source.read_text(encoding="utf-8"), new.quotes(), new.coverage.left_out)
    assert not gaps


def test_every_reported_value_has_provenance():
    for sd in load_all(DATA, sources=None):
        for r in sd.results:
            assert r.location and r.quote, r.id


def _with_tables():
    return [sid for sid in STUDIES if load_study(DATA / sid, sources=None).study.patients is not None]


@pytest.mark.parametrize("sid", _with_tables())
def test_per_patient_tables_round_trip_cell_for_cell_into_the_reports(sid, tmp_path):
    """Each per-patient table is kept as published (every cell as typed from the paper) and the report
    writes it back unchanged beside the study page (tables/<id>-<table>-as-published.csv)."""
    import csv

    from cartpool.analysis.study_analysis import StudyAnalysis
    from cartpool.report.study_page import StudyPage

    sd = load_study(DATA / sid, sources=None)
    page = StudyPage(StudyAnalysis(sd), tmp_path)
    page.show("per_patient_tables")
    page.export(tmp_path)
    for name, table in sd.tables.items():
        with open(DATA / sid / table.file, encoding="utf-8", newline="") as fh:
            typed = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
        assert table.published == typed, name
        with open(tmp_path / "tables" / f"{sid}-{name}-as-published.csv", encoding="utf-8", newline="") as fh:
            written = list(csv.reader(fh))
        assert [[c.lstrip("'") for c in r] for r in written] == typed, name  # a leading ' guards a formula
        # every patient of the study is in every table, by the same id
        assert sorted(table.by_patient) == sorted(map(str, sd.patients.index)), name


@pytest.mark.parametrize("sid", STUDIES)
def test_derived_endpoints_follow_the_definitions(sid):
    """OS from infusion to death ("+": alive, censored); PFS from infusion to progression or death, an
    event at progression, else at death, else censored at the last follow-up; response levels nest."""
    sd = load_study(DATA / sid, sources=None)
    d = derive_endpoints(sd)
    assert (d is None) == (sd.study.patients is None) == (sd.patients is None)
    if d is None or "os_time" not in d.columns:  # a table of baseline characteristics only
        return
    assert (d["os_time"] >= 0).all()
    if "pfs_time" in d.columns:
        assert (d["pfs_time"] <= d["os_time"] + 1e-9).all()
        assert d.loc[d["progressed"], "pfs_event"].all()
        dead = d[~d["progressed"] & d["os_event"]]
        assert dead["pfs_event"].all() and (dead["pfs_time"] == dead["os_time"]).all()
        alive = d[~d["progressed"] & ~d["os_event"]]
        assert (~alive["pfs_event"]).all() and (alive["pfs_time"] == alive["os_time"]).all()
    for narrow, wide in (("cr_or_better", "vgpr_or_better"), ("vgpr_or_better", "responder"),
                         ("mrd_negative_cr", "cr_or_better"), ("mrd_negative_cr", "mrd_negative")):
        if {narrow, wide} <= set(d.columns):
            assert not (d[narrow].fillna(False).astype(bool) & ~d[wide].fillna(False).astype(bool)).any(), (narrow, wide)


@pytest.mark.parametrize("sid", STUDIES)
def test_bounds_and_stated_sizes_are_coherent(sid):
    """A bound keeps both ends within its population; a population's patients are counted once."""
    sd = load_study(DATA / sid, sources=None)
    for r in sd.results:
        if r.bound is not None:
            total = r.denominator or sd.population_size(r.population)
            assert 0 <= r.bound.low <= r.bound.high and (total is None or r.bound.high <= total), r.id
            assert r.bound.reason, r.id
    if sd.patients is not None:
        assert len(sd.patients) == sd.population_size(sd.study.patients.population)

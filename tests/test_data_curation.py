"""The curator workflow (issue 16): values checked against their quotes, sources found per study,
the template rejected until filled in, messages in curator words, the vocabulary, bounds, risk of
bias and the known-but-not-included studies. Every case starts from a valid synthetic study."""

import re
import shutil

import pytest
import yaml

from cartpool.data import endpoint_names
from cartpool.data import vocabulary as vocab
from cartpool.data.errors import StudyDataError
from cartpool.data.known import load_known_studies
from cartpool.data.load import load_all, load_study
from cartpool.data.risk_of_bias import Appraisal, overall_for, proposed_overall

from .test_data_bad_input import CASES, _edit


def _results(root, sid="syn000"):
    return root / "studies" / sid / "results.yaml"


def _add_record(root, rec: dict, sid="syn000", quote_in_source=True):
    p = _results(root, sid)
    recs = yaml.safe_load(p.read_text(encoding="utf-8"))
    recs.append(rec)
    p.write_text(yaml.safe_dump(recs, allow_unicode=True), encoding="utf-8")
    if quote_in_source:
        with open(root / "sources" / f"{sid}.txt", "a", encoding="utf-8") as fh:
            fh.write(rec["quote"] + "\n")


def _messages(root, sid="syn000") -> str:
    with pytest.raises(StudyDataError) as e:
        load_study(root / "studies" / sid, sources=root / "sources")
    return str(e.value)


# --- every value checked against its own quote ------------------------------------------------


def test_a_value_not_in_its_quote_is_rejected(synthetic):
    _add_record(synthetic, {"id": "pfs_median", "population": "infused", "endpoint": "pfs", "statistic": "median",
                            "value": 81.0, "unit": "months", "location": "Results",
                            "quote": "Median PFS 18.0 months."})
    msg = _messages(synthetic)
    assert "pfs_median" in msg and "81" in msg and "does not occur in its quote" in msg


@pytest.mark.parametrize("value, quote", [
    (12, "twelve patients responded"), (75, "an ORR of 75.0%"), (65770, "Cmax was 65,770 copies"),
    (8, "responses in 8/8"), (3, "three of them"), (0, "no cases were seen")])
def test_printed_forms_of_a_number_are_accepted(synthetic, value, quote):
    _add_record(synthetic, {"id": "x", "population": "infused", "endpoint": "x_custom", "statistic": "count",
                            "value": value, "location": "Results", "quote": quote})
    load_study(synthetic / "studies" / "syn000", sources=synthetic / "sources")


def test_all_patients_needs_a_declared_derivation(synthetic):
    rec = {"id": "mrd", "population": "infused", "endpoint": "mrd_negative", "statistic": "proportion",
           "value": 100, "unit": "percent", "location": "Results", "quote": "All patients were MRD negative"}
    _add_record(synthetic, rec)
    assert "derived" in _messages(synthetic)
    p = _results(synthetic)
    p.write_text(p.read_text(encoding="utf-8").replace("id: mrd\n", "id: mrd\n  derived: all_of_population\n"),
                 encoding="utf-8")
    load_study(synthetic / "studies" / "syn000", sources=synthetic / "sources")


def test_a_declared_derivation_must_fit_the_value(synthetic):
    _add_record(synthetic, {"id": "mrd", "population": "infused", "endpoint": "mrd_negative", "statistic": "proportion",
                            "value": 90, "unit": "percent", "derived": "all_of_population", "location": "Results",
                            "quote": "All patients were MRD negative"})
    assert "declared as all of the population" in _messages(synthetic)


# --- bounds, neurotoxicity, deaths ------------------------------------------------------------


def test_a_bound_is_stored_with_both_ends(synthetic):
    bound = {"low": 7, "high": 8, "reason": "only sCR is printed"}
    _add_record(synthetic, {"id": "cr_bound", "population": "infused", "endpoint": "cr_or_better",
                            "statistic": "proportion", "value": 87.5, "unit": "percent", "bound": bound,
                            "location": "Results", "quote": "with 87.5% achieving sCR"})
    sd = load_study(synthetic / "studies" / "syn000", sources=synthetic / "sources")
    assert (sd.result("cr_bound").bound.low, sd.result("cr_bound").bound.high) == (7, 8)


def test_a_bound_with_one_end_tells_the_curator_to_write_both(synthetic):
    _add_record(synthetic, {"id": "cr_bound", "population": "infused", "endpoint": "cr_or_better",
                            "statistic": "proportion", "value": 87.5, "unit": "percent", "bound": "at_least",
                            "location": "Results", "quote": "with 87.5% achieving sCR"})
    msg = _messages(synthetic)
    assert "results.yaml" in msg and "cr_bound" in msg and "bound: {low:" in msg, msg


def test_a_bound_above_its_population_is_rejected(synthetic):
    n = load_study(synthetic / "studies" / "syn000", sources=None).population_size("infused")
    _add_record(synthetic, {"id": "cr_bound", "population": "infused", "endpoint": "cr_or_better",
                            "statistic": "proportion", "value": 87.5, "unit": "percent",
                            "bound": {"low": 1, "high": n + 1, "reason": "too many"},
                            "location": "Results", "quote": "with 87.5% achieving sCR"})
    assert f"above the {n} patients" in _messages(synthetic)


def test_neurotoxicity_is_its_own_endpoint_and_relapse_flag_is_for_deaths(synthetic):
    assert vocab.ENDPOINTS["neurotoxicity"].kind == "safety" and "ICANS" in endpoint_names.endpoint_label("neurotoxicity")
    _add_record(synthetic, {"id": "neuro", "population": "infused", "endpoint": "crs", "statistic": "count",
                            "value": 2, "relapse_related": True, "location": "Results", "quote": "2 had neurotoxicity"})
    assert "death records only" in _messages(synthetic)


# --- vocabulary -------------------------------------------------------------------------------


def test_unknown_endpoint_names_the_nearest_known_one(synthetic):
    _edit(_results(synthetic), "endpoint: orr", "endpoint: orrr")
    msg = _messages(synthetic)
    assert "'orrr' is not a known endpoint" in msg and "'orr'" in msg and "x_" in msg


def test_custom_endpoint_and_labels():
    assert endpoint_names.known_endpoint("x_prior_cd38_exposure")
    assert endpoint_names.endpoint_label("x_prior_cd38_exposure") == "Prior CD38 exposure"
    assert endpoint_names.endpoint_label("orr") == "ORR" and endpoint_names.endpoint_label("emd") == "EMD (extramedullary disease)"
    assert endpoint_names.endpoint_label("ast_increased") == "AST increased" and endpoint_names.endpoint_label("prior_anti_cd38") == \
        "Prior anti-CD38 antibody"
    assert endpoint_names.category_label("r_iss_stage", "II") == "R-ISS stage II"
    assert endpoint_names.category_label("sex", "F") == "female"
    assert endpoint_names.category_label("paraprotein", "light_chain_λ") == "λ light chain only"
    assert endpoint_names.category_label("best_response", "VGPR/PR") == "VGPR/PR"
    assert vocab.RESPONSE_CATEGORIES == ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
    for name, spec in vocab.ENDPOINTS.items():
        assert spec.kind in vocab.KINDS, name
        assert spec.label and spec.label[0] == spec.label[0].upper() or spec.label[0] == "β", name


def test_closed_category_sets_are_enforced(synthetic):
    _add_record(synthetic, {"id": "sex", "population": "infused", "endpoint": "sex", "category": "female",
                            "statistic": "count", "value": 4, "location": "Results", "quote": "4 were women"})
    msg = _messages(synthetic)
    assert "'female' is not a category of sex" in msg and "F, M" in msg


# --- sources per study ------------------------------------------------------------------------


def test_source_found_in_the_study_folder_or_any_configured_folder(synthetic, tmp_path, monkeypatch):
    sources = synthetic / "sources"
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.move(sources / "syn001.txt", other / "syn001.txt")
    shutil.move(sources / "syn000.txt", synthetic / "studies" / "syn000" / "syn000.txt")
    import os

    monkeypatch.setenv("CARTPOOL_SOURCES", os.pathsep.join([str(tmp_path / "missing"), str(other)]))
    studies = load_all(synthetic / "studies")
    assert [s.quotes_verified for s in studies] == [True, True]
    assert studies[0].source.parent.name == "syn000" and studies[1].source.parent == other


def test_a_missing_source_affects_only_its_study(synthetic, monkeypatch):
    (synthetic / "sources" / "syn001.txt").unlink()
    monkeypatch.setenv("CARTPOOL_SOURCES", str(synthetic / "sources"))
    s0, s1 = load_all(synthetic / "studies")
    assert s0.quotes_verified and not s0.notices
    assert not s1.quotes_verified and "not verified" in str(s1.notices[0])


def test_a_quote_not_in_its_source_still_fails(synthetic):
    _edit(_results(synthetic), "patients of syn000 were infused", "patients of syn000 were treated")
    assert "does not occur in syn000.txt" in _messages(synthetic)


# --- the template -----------------------------------------------------------------------------


def test_the_untouched_template_is_rejected_with_what_to_fill_in(tmp_path):
    from cartpool.builder.scaffold import new_study

    assert new_study("smith2027", tmp_path) == 0
    with pytest.raises(StudyDataError) as e:
        load_study(tmp_path / "smith2027", sources=None)
    msg = str(e.value)
    for phrase in ("Author 2027", "placeholder", "0 patients", "FILE_NAME", "appraisal.yaml"):
        assert phrase in msg, phrase


# --- messages for curators --------------------------------------------------------------------

#: Things a curator should never read: regular expressions and Python/pydantic type names.
_PROGRAMMER = re.compile(r"\^\(|\$'|\[a-z|Decimal|Literal\[|Sourced\[|dict\[|list\[|instance of|"
                         r"\bstr\b|\bint\b|valid dictionary|Input should|model_type|NoneType", re.I)

MORE_CASES = [
    ("grade as printed", "results.yaml", "grade: '>=3'", "grade: ≥3", "results.yaml", "grade must be"),
    ("fact as plain text", "study.yaml", "phase: not reported", "phase: two", "study.yaml", "phase"),
    ("list expected", "study.yaml", "value:\n  - BCMA", "value: BCMA", "study.yaml", "targets"),
    ("bad id", "results.yaml", "id: orr\n", "id: ORR rate\n", "results.yaml", "lower-case"),
    ("bad population kind", "study.yaml", "kind: infused", "kind: everyone", "study.yaml", "kind"),
    ("count as text", "results.yaml", "value: 34\n", "value: many\n", "results.yaml", "number"),
    ("bool expected", "study.yaml", "doi: null", "doi: null\ntitle_descriptive: perhaps", "study.yaml", "true or false"),
    ("appraisal answer", "appraisal.yaml", "judgement: low", "judgement: probably", "appraisal.yaml", "judgement"),
    ("coverage reason", "coverage.yaml", "reason: front_matter", "reason: boring", "coverage.yaml", "reason"),
]


@pytest.mark.parametrize("case", CASES + MORE_CASES, ids=[c[0] for c in CASES + MORE_CASES])
def test_no_message_shows_a_pattern_or_a_type_name(synthetic, case):
    _, fname, old, new, named, *_ = case
    _edit(synthetic / "studies" / "syn000" / fname, old, new)
    msg = _messages(synthetic)
    assert named in msg, msg
    assert not _PROGRAMMER.search(msg), msg


# --- risk of bias -----------------------------------------------------------------------------


def _appraisal(*judgements: str, overall: str | None = None, departure: str | None = None,
               specific: list | None = None) -> Appraisal:
    domains = dict(zip(("selection", "ascertainment", "causality", "reporting"), judgements, strict=True))
    return Appraisal.model_validate({
        "tool": "murad_2018", "domains": {d: {"judgement": j, "reason": "because"} for d, j in domains.items()},
        "outcome_judgements": specific or [],
        "overall": {"judgement": overall or "high", "reason": "because",
                    **({"departure_reason": departure} if departure else {})}})


def test_the_proposed_overall_judgement_is_the_most_serious_domain():
    assert proposed_overall(_appraisal("low", "low", "low", "low", overall="low")) == "low"
    assert proposed_overall(_appraisal("low", "no_information", "low", "low", overall="no_information")) \
        == "no_information"
    assert proposed_overall(_appraisal("low", "no_information", "some_concerns", "low", overall="some_concerns")) \
        == "some_concerns"
    assert proposed_overall(_appraisal("high", "no_information", "some_concerns", "low")) == "high"


def test_an_overall_judgement_that_departs_from_the_proposal_needs_its_reason():
    with pytest.raises(ValueError, match="departure_reason"):
        _appraisal("low", "some_concerns", "low", "low", overall="low")
    a = _appraisal("low", "some_concerns", "low", "low", overall="low", departure="the concern is minor")
    assert a.overall.judgement == "low"


def test_an_outcome_specific_judgement_raises_the_overall_for_that_outcome_only():
    a = _appraisal("low", "low", "low", "low", overall="low",
                   specific=[{"outcomes": ["pfs", "os"], "domain": "causality", "judgement": "high",
                              "reason": "survival among responders only"}])
    assert overall_for(a, "pfs_12m") == "high" and overall_for(a, "os") == "high"
    assert overall_for(a, "orr") == "low" and overall_for(a) == "low"


def test_appraisal_needs_every_domain(synthetic):
    p = synthetic / "studies" / "syn000" / "appraisal.yaml"
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    del data["domains"]["reporting"]
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "missing: reporting" in _messages(synthetic)


def test_a_judgement_may_rest_on_the_study_registry_entry_it_names(synthetic):
    p = synthetic / "studies" / "syn000" / "appraisal.yaml"
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    data["domains"]["selection"]["registry"] = "NCT00000000"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "NCT00000000" in _messages(synthetic) and "registry_ids" in _messages(synthetic)


# --- known but not included -------------------------------------------------------------------


def test_known_studies_are_validated(tmp_path):
    (tmp_path / "known_studies.yaml").write_text(
        "- id: a\n  citation: A. 2025.\n  relevance: pcl\n  reason_not_included: maybe\n"
        "  known_from: [{study: x, location: Ref 1, quote: abc}]\n", encoding="utf-8")
    with pytest.raises(StudyDataError) as e:
        load_known_studies(tmp_path)
    assert "known_studies.yaml" in str(e.value) and "reason_not_included" in str(e.value)


def _known_record(sid: str, citation: str, cited_by: str = "syn001") -> dict:
    return {"id": sid, "citation": citation, "relevance": "pcl", "reason_not_included": "not_in_source_set",
            "known_from": [{"study": cited_by, "location": "Abstract", "quote": f"{cited_by} was a prospective study"}]}


@pytest.mark.parametrize("how", ["same id", "same DOI", "same title"])
def test_a_study_is_either_included_or_known_but_not_included(synthetic, how):
    """A known-but-not-included record that describes an included study (by its id, its DOI or its
    printed title) is a validation error naming the file, the record and what to do."""
    study_file = synthetic / "studies" / "syn000" / "study.yaml"
    study = yaml.safe_load(study_file.read_text(encoding="utf-8"))
    study["doi"] = "10.1000/xyz.2027.123"
    study_file.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False), encoding="utf-8")
    record = {"same id": _known_record("syn000", "Synthetic group. A later report. J Test. 2027."),
              "same DOI": _known_record("smith2027", "Smith A. Another title. J Test. 2027. doi:10.1000/XYZ.2027.123"),
              "same title": _known_record("smith2027", "Smith A. Synthetic CAR-T study 000. J Test. 2027;1:1-9.")}[how]
    known = synthetic / "known_studies.yaml"
    known.write_text(yaml.safe_dump([record], allow_unicode=True, sort_keys=False), encoding="utf-8")
    studies = load_all(synthetic / "studies", sources=synthetic / "sources")
    with pytest.raises(StudyDataError) as e:
        load_known_studies(synthetic, studies)
    msg = str(e.value)
    assert msg.startswith(f"known_studies.yaml (id {record['id']}): this study is included (data/studies/syn000/")
    assert "delete this record from known_studies.yaml" in msg
    # a study the included one cites, whose title only contains the included title, is another study
    record = _known_record("smith2027", "Smith A. Synthetic CAR-T study 000: five-year follow-up. J Test. 2030.")
    known.write_text(yaml.safe_dump([record], allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert [k.id for k in load_known_studies(synthetic, studies)] == ["smith2027"]


def test_the_build_names_the_data_folder_file_of_a_known_study_that_is_included(tmp_path):
    """Through `scripts/build.py validate`, as `make check` and `make reports` run it: the message
    sends the curator to data/known_studies.yaml (not under data/studies/)."""
    import os
    import subprocess
    import sys

    from .helpers import copy_project

    root = copy_project(tmp_path / "project")
    (root / "data" / "known_studies.yaml").write_text(yaml.safe_dump(
        [_known_record("syn001", "Synthetic group. Synthetic CAR-T study 001. 2027.", cited_by="syn000")]),
        encoding="utf-8")
    r = subprocess.run([sys.executable, "scripts/build.py", "validate"], cwd=root, capture_output=True, text=True,
                       env={**os.environ, "CARTPOOL_SOURCES": str(root / "sources")}, timeout=300)
    assert r.returncode == 1
    assert "  data/known_studies.yaml (id syn001): this study is included (data/studies/syn001/" in r.stderr, r.stderr

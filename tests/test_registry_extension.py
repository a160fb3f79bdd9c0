"""Adding an outcome is one registry entry: the walkthrough of docs/architecture.md (ICANS grade
>=3), pinned. Nothing outside `cartpool.domain.registry` is edited; the study pages, the pooled
analysis, the summary of findings and the methods text pick the new outcome up."""

import pytest

from cartpool.analysis.appraisal import Appraisal
from cartpool.analysis.pooled_analysis import PooledAnalysis
from cartpool.analysis.study_analysis import StudyAnalysis
from cartpool.domain import registry
from cartpool.report.pooled_page import PooledPage
from cartpool.report.study_page import StudyPage

ICANS_GE3 = registry.OutcomeSpec(
    "icans_ge3", "ICANS, grade ≥3", "ICANS grade ≥3", "safety", "icans", ">=3",
    per_patient=registry.PerPatientRule("grade", "icans_grade"), comparability=("icans_grading",),
    definition="immune effector cell-associated neurotoxicity syndrome of grade 3 or higher", headline=True)


@pytest.fixture
def with_icans_ge3(monkeypatch):
    monkeypatch.setattr(registry, "OUTCOMES", (*registry.OUTCOMES, ICANS_GE3))
    monkeypatch.setitem(registry.OUTCOME_BY_KEY, ICANS_GE3.key, ICANS_GE3)


def _studies_with_icans(root):
    """Synthetic studies (and their analysis plan) in `root`, and two more in relapsed/refractory PCL:
    one whose per-patient table grades ICANS (one grade 3 of 4), one that prints grade >=3 ICANS as a
    count (none of 120)."""
    from cartpool.data.load import load_all
    from cartpool.synthetic import generate

    from .study_factory import make_study, n_all

    generate(3, root / "studies", root / "sources")
    table = "Patient,Best response,Survival (months),ICANS\n1,CR,12 +,0\n2,PR,8,2\n3,CR,10 +,3\n4,PR,6,1\n"
    patients = {"population": "all", "tables": {"t1": {"file": "patients.csv", "location": "Table 1",
                                                       "orientation": "rows", "id_column": "Patient"}},
                "fields": {"best_response": {"table": "t1", "column": "Best response", "parse": "response"},
                           "os": {"table": "t1", "column": "Survival (months)", "parse": "time_plus", "unit": "months"},
                           "icans_grade": {"table": "t1", "column": "ICANS", "parse": "grade"}}}
    make_study(root / "studies", [n_all(4)], study_id="graded", files={"patients.csv": table}, patients=patients,
               document_type="full_article", label="Graded 2027")
    make_study(root / "studies", [n_all(120), {"id": "icans3", "population": "all", "endpoint": "icans",
                                               "grade": ">=3", "statistic": "count", "value": 0}],
               study_id="printed", label="Printed 2027")
    return {sd.study.id: sd for sd in load_all(root / "studies", sources=None)}


@pytest.mark.slow  # renders every page with the new outcome
def test_a_new_registry_entry_reaches_every_rendering(with_icans_ge3, tmp_path):
    studies = _studies_with_icans(tmp_path)
    # per-patient: counted from the table's grades
    graded = StudyAnalysis(studies["graded"]).outcomes.set_index("outcome").loc["icans_ge3"]
    assert (graded["events"], graded["total"]) == (1, 4)
    # printed: "grade >=3 ICANS" as a count
    printed = StudyAnalysis(studies["printed"]).outcomes.set_index("outcome").loc["icans_ge3"]
    assert (printed["events"], printed["total"]) == (0, 120)
    pa = PooledAnalysis(list(studies.values()))
    assert "icans_ge3" in set(pa.estimates["outcome"])
    page = str(PooledPage(pa).render_all())
    assert 'id="outcome-icans_ge3"' in page and "ICANS, grade ≥3" in page
    assert ICANS_GE3.definition in page  # the generated methods text
    # ranking it in the analysis plan (a new dated entry) puts it among the summary-of-findings outcomes
    import yaml

    from cartpool.data.plan import load_plan

    plan_file = tmp_path / "analysis_plan.yaml"
    doc = yaml.safe_load(plan_file.read_text(encoding="utf-8"))
    ranked = [o for e in doc["entries"] if e.get("outcomes") for o in e["outcomes"]][-len(pa.plan.outcomes):]
    doc["entries"].append({"date": "2099-01-01", "summary": "Rank ICANS of grade 3 or higher.",
                           "outcomes": [{"outcome": "icans_ge3", "importance": "critical", "thresholds": [0.05]},
                                        *ranked]})
    plan_file.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    plan = load_plan(tmp_path, known_outcomes=registry.analysis_outcome_keys())
    assert [e.summary for e in plan.history][-1] == "Rank ICANS of grade 3 or higher."
    sof = Appraisal(PooledAnalysis(list(studies.values()), plan), tmp_path).summary
    rows = sof[sof["outcome"] == "icans_ge3"]
    assert set(rows["outcome_label"]) == {"ICANS, grade ≥3"} and rows["in_summary"].all()
    assert rows["certainty"].iloc[0] in ("very low", "low")
    study_page = str(StudyPage(StudyAnalysis(studies["printed"])).render_all())
    assert "ICANS" in study_page

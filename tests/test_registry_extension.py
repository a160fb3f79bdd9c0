"""Adding an outcome is one registry entry: the walkthrough of docs/architecture.md (ICANS grade
>=3), pinned. Nothing outside `cartpool.domain.registry` is edited; the study pages, the pooled
analysis, the summary of findings and the methods text pick the new outcome up."""

import pytest

from cartpool.analysis.appraisal import Appraisal
from cartpool.analysis.pooled import PooledAnalysis
from cartpool.analysis.study import StudyAnalysis
from cartpool.data.load import load_all
from cartpool.domain import registry
from cartpool.report.pooled import PooledPage
from cartpool.report.study import StudyPage

ICANS_GE3 = registry.OutcomeSpec(
    "icans_ge3", "ICANS, grade ≥3", "ICANS grade ≥3", "safety", "icans", ">=3",
    per_patient=registry.PerPatientRule("grade", "icans_grade"), comparability=("icans_grading",),
    definition="immune effector cell-associated neurotoxicity syndrome of grade 3 or higher", headline=True)


@pytest.fixture
def with_icans_ge3(monkeypatch):
    monkeypatch.setattr(registry, "OUTCOMES", (*registry.OUTCOMES, ICANS_GE3))
    monkeypatch.setitem(registry.OUTCOME_BY_KEY, ICANS_GE3.key, ICANS_GE3)


def test_a_new_registry_entry_reaches_every_rendering(with_icans_ge3, real_copy):
    studies = {sd.study.id: sd for sd in load_all(real_copy, sources=False)}
    # per-patient: Hu 2026's table grades ICANS (one grade 2, none >=3)
    hu = StudyAnalysis(studies["hu2026"]).outcomes.set_index("outcome").loc["icans_ge3"]
    assert (hu["events"], hu["total"]) == (0, 11)
    # printed: Jin 2025 prints "grade >=3 ICANS" as a count
    jin = StudyAnalysis(studies["jin2025"]).outcomes.set_index("outcome").loc["icans_ge3"]
    assert jin["events"] == 0 and jin["total"] > 100
    pa = PooledAnalysis(list(studies.values()))
    assert "icans_ge3" in set(pa.estimates["outcome"])
    page = str(PooledPage(pa).render_all())
    assert 'id="outcome-icans_ge3"' in page and "ICANS, grade ≥3" in page
    assert ICANS_GE3.definition in page  # the generated methods text
    # ranking it in the analysis plan (a new dated entry) puts it among the summary-of-findings outcomes
    import yaml

    from cartpool.data.plan import load_plan

    plan_file = real_copy.parent / "analysis_plan.yaml"
    doc = yaml.safe_load(plan_file.read_text(encoding="utf-8"))
    ranked = [o for e in doc["entries"] if e.get("outcomes") for o in e["outcomes"]][-len(pa.plan.outcomes):]
    doc["entries"].append({"date": "2099-01-01", "summary": "Rank ICANS of grade 3 or higher.",
                           "outcomes": [{"outcome": "icans_ge3", "importance": "important", "thresholds": [0.05]},
                                        *ranked]})
    plan_file.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    plan = load_plan(real_copy.parent, known_outcomes=registry.analysis_outcome_keys())
    assert [e.summary for e in plan.history][-1] == "Rank ICANS of grade 3 or higher."
    sof = Appraisal(PooledAnalysis(list(studies.values()), plan), real_copy.parent).summary
    rows = sof[sof["outcome"] == "icans_ge3"]
    assert set(rows["outcome_label"]) == {"ICANS, grade ≥3"} and rows["in_summary"].all()
    assert rows["certainty"].iloc[0] in ("very low", "low")
    study_page = str(StudyPage(StudyAnalysis(studies["jin2025"])).render_all())
    assert "ICANS" in study_page

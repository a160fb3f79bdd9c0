"""The living review (issue 29): releases as data, What's new computed from the data against the
latest release, the cumulative meta-analysis and the update triggers.

The cases that need a change to the data (a study added, corrected or removed) are made on
synthetic study folders in temporary copies; the tests of real data assert properties that hold
for any valid study. No test names a study of the real data.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

from cartpool.analysis import living
from cartpool.analysis.appraisal import Appraisal
from cartpool.analysis.cumulative import cumulative, key_rows, main_row, publication_order
from cartpool.analysis.pooled_analysis import PooledAnalysis
from cartpool.analysis.synthesis import Synthesis
from cartpool.analysis.triggers import FOUND, _landmark_ci, update_triggers
from cartpool.data import releases
from cartpool.data.errors import StudyDataError
from cartpool.domain import certainty
from cartpool.report.pooled_page import PooledPage
from cartpool.report.render import Citations, Figures
from cartpool.synthetic import generate

from .helpers import free_synthetic_specs, own_sources

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 1, 2)
#: Synthetic studies 0, 3, 4 and 6 are relapsed/refractory PCL (`cartpool.synthetic.study_spec`), so
#: seven studies give that population four; the eighth (7) is a fifth, 3 is summary-only.
N_BASE, ADDED, CORRECTED, REMOVED = 7, "syn007", "syn003", "syn006"


def _show(section: str, result, study_data=()) -> str:
    """A living-review section rendered as the pooled page renders it (the renderer needs only the
    page's figures, its citations and, where it cites the studies' records, their data)."""
    page = PooledPage.__new__(PooledPage)  # the lookup and the CSV links need no analysis
    page.figures = Figures()
    page.cites = Citations("", several=True)
    page.study_data = {sd.study.id: sd for sd in study_data}
    return str(page.renderer(section)(page, result))


def _state(data_dir: Path):
    synthesis = Synthesis(PooledAnalysis.load(str(data_dir / "studies")))
    return synthesis.analysis, synthesis.appraisal, synthesis.bottom_line.frame


def _record(data_dir: Path, date: dt.date = DAY) -> Path:
    a, ap, bottom = _state(data_dir)
    done = releases.release_files(data_dir)
    rel = living.new_release(a, ap, bottom, number=len(done) + 1, date=date, version="test",
                        previous=releases.file_fingerprint(done[-1]) if done else None)
    return releases.write_release(releases.next_release_path(data_dir, date), rel)


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A synthetic data folder with one release recorded."""
    data = tmp_path_factory.mktemp("living") / "data"
    generate(N_BASE, data / "studies", data.parent / "sources")
    (data.parent / "no-sources").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        own_sources(mp, data.parent / "no-sources")
        _record(data)
    return data


@pytest.fixture(autouse=True)
def _no_sources(released, monkeypatch):
    """The tests edit studies' printed values without their source documents: quotes are not checked
    here (they are in test_data_curation), and no curator's document of the same name is read."""
    own_sources(monkeypatch, released.parent / "no-sources")


@pytest.fixture
def data(released, tmp_path) -> Path:
    """A writable copy of the released data folder."""
    dst = tmp_path / "data"
    shutil.copytree(released, dst)
    return dst


def _news(data_dir: Path) -> living.WhatsNewResult:
    a, ap, bottom = _state(data_dir)
    return living.whats_new(a, ap, bottom)


def _citation(data_dir: Path, study: str) -> str:
    raw = yaml.safe_load((data_dir / "studies" / study / "study.yaml").read_text(encoding="utf-8"))
    return " ".join(raw["citation"].split())


# --- releases are data ---------------------------------------------------------------------------------


def test_a_release_records_every_study_and_primary_estimate_and_is_never_rewritten(released, tmp_path):
    [rel] = releases.load_releases(released)
    path = releases.release_files(released)[0]
    assert path.name == f"{DAY.isoformat()}.yaml" and rel.release == 1 and rel.previous is None
    assert sorted(s.id for s in rel.studies) == sorted(p.name for p in (released / "studies").iterdir())
    for s in rel.studies:
        assert s.fingerprint == releases.study_fingerprint(released / "studies" / s.id)
        assert any(k.startswith("result:") for k in s.parts) and "fact:citation" in s.parts
    a, ap, _ = _state(released)
    sof = ap.summary
    keys = {e.key for e in rel.estimates}
    for r in sof.itertuples():  # every summary-of-findings row, with its certainty
        assert (r.outcome, r.population_id) in keys
    for e in rel.estimates:
        if e.in_summary and e.k:
            assert e.certainty in certainty.LEVELS and e.sentence
        if e.rule in ("random effects", "single study"):
            assert e.ci_low <= e.estimate <= e.ci_high
    with pytest.raises(FileExistsError):
        releases.write_release(path, rel)
    assert releases.next_release_path(released, DAY).name == f"{DAY.isoformat()}-2.yaml"


def test_a_release_changed_after_the_next_one_recorded_it_is_caught(data):
    _record(data)  # release 2 records release 1's fingerprint
    first, second = releases.release_files(data)
    assert second.name == f"{DAY.isoformat()}-2.yaml" and len(releases.load_releases(data)) == 2
    first.write_text(first.read_text(encoding="utf-8").replace("version: test", "version: edited"), encoding="utf-8")
    with pytest.raises(StudyDataError) as e:
        releases.load_releases(data)
    assert any(i.file == f"releases/{first.name}" and "never rewritten" in i.problem for i in e.value.issues)


@pytest.mark.parametrize("edit, where, words", [
    (lambda t: t.replace("release: 1\n", "release: one\n"), "release", "whole number"),
    (lambda t: t.replace("version: test\n", ""), "version", "required field is missing"),
    (lambda t: t.replace(f"date: '{DAY.isoformat()}'", "date: '2026-01-05'"), "date", "file's name"),
])
def test_a_bad_release_file_gets_a_message_naming_file_field_and_what_to_do(data, edit, where, words):
    path = releases.release_files(data)[0]
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(StudyDataError) as e:
        releases.load_releases(data)
    issue = next(i for i in e.value.issues if i.where == where)
    assert issue.file == f"releases/{path.name}" and words in issue.problem


def test_a_file_that_is_not_a_release_is_named(data):
    (data / "releases" / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(StudyDataError) as e:
        releases.load_releases(data)
    assert "releases/notes.txt" in str(e.value) and "2026-12-08.yaml" in str(e.value)


# --- What's new ----------------------------------------------------------------------------------------


def test_with_no_change_whats_new_says_so_in_one_line(released):
    news = _news(released)
    assert not news.changed and news.studies.empty and news.estimates.empty
    table = news.table()
    assert len(table) == 1 and (table["section"].iloc[0], table["change"].iloc[0]) == ("none", "no change")
    html = _show("whats_new", news)
    assert "No change since release 1 of 2 Jan 2026" in html
    assert "Version history" in html and "2 Jan 2026" in html and "Headline estimates" not in html


def _check_moved(news: living.WhatsNewResult):
    """Every moved estimate has before and after, and is flagged by the stated rule."""
    one = ("random effects", "single study")
    for e in news.estimates.itertuples():
        why = e.why.split(";") if e.why else []
        if e.change == "moved":
            assert e.before_k and e.after_k
            if e.before_rule in one and e.after_rule in one:
                outside = not (e.before_ci_low - living.TOLERANCE <= e.after_estimate <= e.before_ci_high + living.TOLERANCE)
                assert ("outside" in why) == outside
            changed = bool(e.before_certainty and e.after_certainty and e.before_certainty != e.after_certainty)
            assert ("certainty" in why) == changed
            assert ("conclusion" in why) == (e.before_sentence != e.after_sentence)
            assert ("poolable" in why) == ((e.before_rule == "random effects") != (e.after_rule == "random effects"))
        assert e.matters == bool(why)


def test_whats_new_after_a_study_is_added(data):
    generate(N_BASE + 1, data / "studies", data.parent / "sources")  # adds one study; the others are unchanged
    news = _news(data)
    assert news.changed
    assert list(news.studies["change"]) == ["added"]
    assert news.studies["citation"].iloc[0] == _citation(data, ADDED)
    pcl = news.estimates[news.estimates["population"] == "rr_pcl"]
    assert len(pcl) and (pcl["after_k"] == pcl["before_k"] + 1).all()
    pooled = pcl[pcl["after_rule"] == "random effects"]
    assert len(pooled) and pooled["before_estimate"].notna().all() and pooled["after_ci_low"].notna().all()
    _check_moved(news)
    assert set(news.table()["section"]) >= {"study", "estimate"}
    assert list(news.history["release"].drop_duplicates()) == [1, living.NOW]


def test_whats_new_after_a_study_is_corrected(data):
    path = data / "studies" / CORRECTED / "results.yaml"
    records = yaml.safe_load(path.read_text(encoding="utf-8"))
    orr = next(r for r in records if r["id"] == "orr")
    orr["quote"] = orr["quote"].replace(f"{orr['value']} of", f"{orr['value'] - 1} of")  # the correction, as printed
    orr["value"] -= 1
    path.write_text(yaml.safe_dump(records, sort_keys=False, allow_unicode=True), encoding="utf-8")
    news = _news(data)
    [row] = news.studies.itertuples()
    assert row.change == "updated" and row.results_changed == "orr" and row.citation == _citation(data, CORRECTED)
    orr_rows = news.estimates[news.estimates["outcome"] == "orr"]
    assert len(orr_rows) == 1 and orr_rows["after_events"].iloc[0] == orr_rows["before_events"].iloc[0] - 1
    _check_moved(news)
    html = _show("whats_new", news)
    assert "printed results changed: " in html and "Overall response" in html


def test_whats_new_after_a_study_is_removed(data):
    citation = _citation(data, REMOVED)
    shutil.rmtree(data / "studies" / REMOVED)
    news = _news(data)
    assert list(news.studies["change"]) == ["removed"] and news.studies["citation"].iloc[0] == citation
    pcl = news.estimates[news.estimates["population"] == "rr_pcl"]
    assert len(pcl) and (pcl["after_k"] == pcl["before_k"] - 1).all()
    _check_moved(news)


def test_a_changed_certainty_matters_and_its_judgement_awaits_review(tmp_path):
    """A reviewer's rating made on the evidence of the release; a study added since makes it stale, so the
    page shows the analysis's proposal instead: the certainty changed, and What's new says so."""
    data = tmp_path / "data"
    generate(N_BASE, data / "studies", tmp_path / "sources")
    a, ap, _ = _state(data)
    block = ap.proposal_block("orr", "rr_pcl")
    assert block["certainty"] != "low"  # the proposal; the reviewer records low
    down = {"imprecision": "serious"}
    domains = {k: {"rating": down.get(k, "not serious"), "footnote": "Synthetic footnote.",
                   **({"departure": "Synthetic departure."} if down.get(k, "not serious") != d["rating"] else {})}
               for k, d in block["domains"].items()}
    (data / "grade_judgements.yaml").write_text(yaml.safe_dump({
        "publication_bias": {"rating": "serious", "footnote": "Synthetic footnote.",
                             "evidence": ap.publication_bias_fingerprint, "reviewed": "2026-01-01"},
        "judgements": [{"id": "orr_rr_pcl", "outcomes": ["orr"], "populations": ["rr_pcl"], "certainty": "low",
                        "domains": domains, "evidence": {"orr@rr_pcl": block["fingerprint"]},
                        "reviewed": "2026-01-01"}]}, sort_keys=False), encoding="utf-8")
    _record(data)
    [rel] = releases.load_releases(data)
    assert next(e for e in rel.estimates if e.key == ("orr", "rr_pcl")).certainty == "low"
    generate(N_BASE + 1, data / "studies", tmp_path / "sources")
    news = _news(data)
    row = news.estimates[(news.estimates["outcome"] == "orr") & (news.estimates["population"] == "rr_pcl")].iloc[0]
    assert (row["before_certainty"], row["after_certainty"]) == ("low", "very low")
    assert "certainty" in row["why"].split(";") and row["matters"]
    waiting = news.judgements
    assert ((waiting["outcome"] == "orr") & (waiting["status"] == "evidence changed")).any()
    html = _show("whats_new", news)
    assert "Judgements awaiting review" in html and "the certainty changed from low to very low" in html


def _estimate(rule="random effects", k=3, estimate=0.5, ci=(0.4, 0.6), certainty="low", sentence="s"):
    return releases.ReleasedEstimate(outcome="orr", outcome_label="Overall response", population="rr_pcl",
                              population_label="Relapsed/refractory PCL", role="primary", in_summary=True,
                              rule=rule, k=k, patients=30, estimate=estimate, ci_low=ci[0], ci_high=ci[1],
                              certainty=certainty, sentence=sentence)


@pytest.mark.parametrize("after, why", [
    (_estimate(estimate=0.55, ci=(0.45, 0.65)), []),  # moved within the old interval: does not matter
    (_estimate(estimate=0.65, ci=(0.55, 0.75)), ["outside"]),
    (_estimate(certainty="very low"), ["certainty"]),
    (_estimate(rule="two studies, not pooled", k=2, estimate=None, ci=(None, None)), ["poolable"]),
    (_estimate(sentence="another"), ["conclusion"]),
    (_estimate(estimate=0.7, ci=(0.6, 0.8), certainty="moderate", sentence="t"), ["outside", "certainty",
                                                                                  "conclusion"]),
])
def test_the_stated_rule_of_when_a_change_matters(after, why):
    """Each clause of the rule (synthetic estimates: the real data cannot show every case)."""
    before = _estimate()
    assert living.matters(before, after) == why
    assert living.moved(before, after) or why == []
    assert living.matters(None, after) == ["first"] and living.matters(before, None) == ["gone"]


# --- cumulative meta-analysis -----------------------------------------------------------------------


def _assert_last_step_is_the_main_analysis(a: PooledAnalysis):
    c = cumulative(a)
    rows = key_rows(a)
    assert rows
    for outcome, population in rows:
        steps = c.outcome_steps(outcome, population)
        main = main_row(a, outcome, population)
        if main is None:
            assert steps.empty
            continue
        last = steps.iloc[-1]
        assert (last["k"], last["rule"], int(last["step"])) == (main.k, main.rule, len(steps))
        for f in ("estimate", "ci_low", "ci_high"):
            x, y = last[f], getattr(main, f)
            assert (y is None and (x is None or x != x)) or math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9), \
                (outcome, population, f, x, y)
    return c


def test_the_cumulative_analysis_ends_with_the_main_analysis_on_the_real_data():
    _assert_last_step_is_the_main_analysis(PooledAnalysis.load(str(ROOT / "data" / "studies")))


def test_the_cumulative_analysis_ends_with_the_main_analysis_and_follows_publication_dates(data):
    dates = {"syn000": "2025-06-01", "syn003": "2024-02-10", "syn006": "2025-01"}  # syn004: no date
    for sid, date in dates.items():
        path = data / "studies" / sid / "study.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["published"] = {"value": date, "location": "Header", "quote": f"{sid} published {date}"}
        path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    a = PooledAnalysis.load(str(data / "studies"))
    order = publication_order(a)
    assert list(order["study_id"][:3]) == ["syn003", "syn006", "syn000"] and not order["dated"].iloc[-1]
    c = _assert_last_step_is_the_main_analysis(a)
    steps = c.outcome_steps("orr", "Relapsed/refractory PCL")
    assert list(steps["study_id"]) == ["syn003", "syn006", "syn000", "syn004"]
    assert list(steps["rule"][:3]) == ["single study", "two studies, not pooled", "random effects"]
    reading = c.readings[(c.readings["outcome"] == "orr") & (c.readings["population"] == "Relapsed/refractory PCL")]
    assert reading["reading"].iloc[0] in ("stable", "moved")
    html = _show("cumulative", c)
    assert "Cumulative meta-analysis" in html and "<svg" in html and "added last" in html


# --- when would the answer change ---------------------------------------------------------------------


def test_a_new_landmark_study_enters_with_the_interval_r_survival_prints():
    """Reference: tests/reference/landmark_ci.json, from make_landmark_ci_reference.R (survival 3.5)."""
    ref = json.loads((ROOT / "tests" / "reference" / "landmark_ci.json").read_text(encoding="utf-8"))
    for r in ref["rows"]:
        lo, hi = _landmark_ci(r["surv"], r["n"])
        assert lo == pytest.approx(r["lower"], abs=1e-10) and hi == pytest.approx(r["upper"], abs=1e-10)


def test_update_triggers_say_what_the_model_gives(released):
    a = PooledAnalysis.load(str(released / "studies"))
    t = update_triggers(a)
    assert len(t.rows) == sum(main_row(a, o, p) is not None for o, p in key_rows(a))
    found = t.rows[t.rows["certainty_status"] == FOUND]
    assert len(found)
    for r in found.itertuples():  # the interval it gives is clear of every threshold, and a study no larger is named
        thresholds = [float(x) for x in r.thresholds.split(";") if x]
        assert not any(r.certainty_ci_low < x < r.certainty_ci_high for x in thresholds)
    moves = t.rows[t.rows["below_rate"].notna() | t.rows["above_rate"].notna()]
    assert len(moves)
    for r in moves.itertuples():
        if r.below_rate == r.below_rate and r.below_rate is not None:
            assert r.below_estimate < r.ci_low
        if r.above_rate == r.above_rate and r.above_rate is not None:
            assert r.above_estimate > r.ci_high
    html = _show("update_triggers", t, a.study_data)
    assert "When would the answer change?" in html and "patients" in html


@pytest.mark.slow  # analyses and appraises a copy of the real data twice
def test_a_study_added_by_data_alone_leaves_the_recorded_judgements_valid(real_copy, tmp_path):
    """Judgements made on the old evidence await review (and the page shows the proposal); they are
    not compared with the new proposal, so validation does not stop a curator who only adds data."""
    from cartpool.analysis.appraisal import check_judgements
    from cartpool.synthetic import write_study

    # relapsed/refractory PCL, where judgements are recorded (disease i % 3 == 0, setting i % 4 != 1)
    for spec in free_synthetic_specs(real_copy, 3, keep=lambda i: i % 3 == 0 and i % 4 != 1):
        write_study(spec, real_copy, tmp_path / "sources")
    a = PooledAnalysis.load(str(real_copy))
    ap = Appraisal(a, real_copy.parent)
    assert check_judgements(ap) == []
    assert (ap.awaiting_review["status"] == "evidence changed").any()

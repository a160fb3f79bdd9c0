"""GRADE judgements as data (issue 25): the reviewer's ratings are validated, the page shows them only
while the evidence they were made on is unchanged, and the build names a judgement whose evidence
has changed. Built on synthetic studies in a temporary folder."""

import copy

import pytest
import yaml

from cartpool.analysis.appraisal import NOT_REVIEWED, REVIEWED, STALE, Appraisal, check_judgements
from cartpool.analysis.pooled_analysis import PooledAnalysis
from cartpool.builder.judgements import print_proposals
from cartpool.builder.pipeline import review_notices
from cartpool.data.errors import StudyDataError
from cartpool.data.grade import load_judgements
from cartpool.data.load import load_all
from cartpool.synthetic import generate

from .helpers import own_sources


def _analyse(root):
    studies = load_all(root / "studies", sources=root / "sources")
    return Appraisal(PooledAnalysis(studies), root)


def _record_every_proposal(root) -> dict:
    """Judgements for every reported outcome and population, exactly as the analysis proposes them."""
    ap = _analyse(root)
    doc = {"publication_bias": {"rating": ap.publication_bias_proposal.judgement, "footnote": "as proposed",
                                "evidence": ap.publication_bias_fingerprint, "reviewed": "2026-12-06"},
           "judgements": []}
    for r in ap.summary[ap.summary["k"] > 0].itertuples():
        b = ap.proposal_block(r.outcome, r.population_id)
        doc["judgements"].append({
            "id": f"{r.outcome}_{r.population_id}", "outcomes": [r.outcome], "populations": [r.population_id],
            "certainty": b["certainty"],
            "domains": {k: {"rating": d["rating"], "footnote": "as proposed"} for k, d in b["domains"].items()},
            "evidence": {f"{r.outcome}@{r.population_id}": b["fingerprint"]}, "reviewed": "2026-12-06"})
    (root / "grade_judgements.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return doc


@pytest.fixture
def reviewed(tmp_path, monkeypatch):
    generate(8, tmp_path / "studies", tmp_path / "sources")
    own_sources(monkeypatch, tmp_path / "sources")
    doc = _record_every_proposal(tmp_path)
    return tmp_path, doc


def test_recorded_judgements_on_the_current_evidence_are_shown(reviewed):
    root, _ = reviewed
    ap = _analyse(root)
    assert check_judgements(ap) == []
    reported = ap.summary[ap.summary["k"] > 0]
    assert (reported["status"] == REVIEWED).all()
    assert ap.awaiting_review.empty and review_notices(ap) == []


def test_a_corrected_count_makes_its_judgements_await_review(reviewed):
    root, _ = reviewed
    ap = _analyse(root)
    counts = ap.pooled.counts
    printed = counts[(counts["outcome"] == "orr") & (counts["count_kind"] == "primary")
                     & (counts["how"] == "printed count") & (counts["role"] == "primary")].iloc[0]
    study_id = printed["study_id"]
    row = ap.summary[(ap.summary["outcome"] == "orr") & (ap.summary["population"] == printed["group"])].iloc[0]
    path = root / "studies" / study_id / "results.yaml"
    records = yaml.safe_load(path.read_text(encoding="utf-8"))
    orr = next(r for r in records if r["id"] == "orr")
    old = orr["value"]
    orr["value"] = old - 1 if old > 0 else old + 1
    orr["quote"] = orr["quote"].replace(f"{old} of", f"{orr['value']} of")
    path.write_text(yaml.safe_dump(records, sort_keys=False), encoding="utf-8")
    (root / "sources" / f"{study_id}.txt").write_text(
        (root / "sources" / f"{study_id}.txt").read_text(encoding="utf-8") + orr["quote"] + "\n", encoding="utf-8")
    after = _analyse(root)
    changed = after.summary[(after.summary["outcome"] == "orr") & (after.summary["population"] == row["population"])]
    assert (changed["status"] == STALE).all()
    # the page shows the analysis's proposal until the judgement is reviewed
    assert (changed["certainty"] == changed["proposed"]).all()
    notices = review_notices(after)
    assert any(f"orr_{row['population_id']}" in n and "awaits review" in n for n in notices), notices
    others = after.summary[(after.summary["outcome"] != "orr") & (after.summary["k"] > 0)]
    assert (others["status"] == REVIEWED).any()


def test_a_missing_judgement_shows_the_proposal(reviewed):
    root, doc = reviewed
    doc = copy.deepcopy(doc)
    dropped = doc["judgements"].pop(0)
    (root / "grade_judgements.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    ap = _analyse(root)
    row = ap.summary[(ap.summary["outcome"] == dropped["outcomes"][0])
                     & (ap.summary["population_id"] == dropped["populations"][0])].iloc[0]
    assert row["status"] == NOT_REVIEWED and row["certainty"] == row["proposed"]


def test_make_judgements_prints_the_blocks_awaiting_review(reviewed, capsys):
    root, doc = reviewed
    doc = copy.deepcopy(doc)
    dropped = doc["judgements"].pop(0)
    (root / "grade_judgements.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    import io

    out = io.StringIO()
    assert print_proposals(root, out=out) == 0
    text = out.getvalue()
    assert f"{dropped['outcomes'][0]}@{dropped['populations'][0]}" in text and "not reviewed" in text
    block = yaml.safe_load(text.split("# Judgements awaiting review")[1].split("\n", 1)[1])
    assert block and block[0]["domains"]["imprecision"]["rating"] in ("not serious", "serious", "very serious")


def _edit_first(root, doc, change):
    doc = copy.deepcopy(doc)
    change(doc["judgements"][0])
    (root / "grade_judgements.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return doc


def test_a_certainty_must_follow_from_its_ratings(reviewed):
    root, doc = reviewed
    _edit_first(root, doc, lambda j: j.update(certainty="high"))
    msgs = check_judgements(_analyse(root))
    assert any("does not follow from the ratings" in m and doc["judgements"][0]["id"] in m for m in msgs), msgs


def test_a_rating_that_departs_from_the_proposal_needs_its_reason(reviewed):
    root, doc = reviewed
    first = doc["judgements"][0]
    current = first["domains"]["imprecision"]["rating"]
    other = "serious" if current != "serious" else "very serious"

    def change(j):
        j["domains"]["imprecision"]["rating"] = other
        down = {"not serious": 0, "serious": 1, "very serious": 2}
        total = sum(down[d["rating"]] for d in j["domains"].values()) + down[doc["publication_bias"]["rating"]]
        j["certainty"] = ("very low", "low", "moderate", "high")[max(0, 3 - total)]

    _edit_first(root, doc, change)
    msgs = check_judgements(_analyse(root))
    assert any("departs from the proposal" in m and "departure:" in m for m in msgs), msgs
    _edit_first(root, doc, lambda j: (change(j), j["domains"]["imprecision"].update(departure="a reason")))
    assert check_judgements(_analyse(root)) == []


def test_judgements_name_known_outcomes_and_populations_once(reviewed):
    root, doc = reviewed
    _edit_first(root, doc, lambda j: j.update(outcomes=["nonsense"], evidence={
        f"nonsense@{p}": "abcdefabcdef" for p in j["populations"]}))
    assert any("'nonsense' is not an outcome" in m for m in check_judgements(_analyse(root)))
    twice = copy.deepcopy(doc)
    twice["judgements"].append({**twice["judgements"][0], "id": "again"})
    (root / "grade_judgements.yaml").write_text(yaml.safe_dump(twice, sort_keys=False), encoding="utf-8")
    with pytest.raises(StudyDataError, match="judged twice"):
        load_judgements(root)


def test_a_judgement_without_its_fingerprint_is_rejected_with_what_to_do(reviewed):
    root, doc = reviewed
    _edit_first(root, doc, lambda j: j.update(evidence={}))
    with pytest.raises(StudyDataError) as e:
        load_judgements(root)
    assert "grade_judgements.yaml" in str(e.value) and "make judgements" in str(e.value)

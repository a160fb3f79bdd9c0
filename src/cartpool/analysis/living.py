"""The review as a living review: its state as a release records it, and "What's new" since the latest
release, computed from the data.

`release_studies` and `release_estimates` give the review's state now, in the form a release
records (`cartpool.data.releases`); `new_release` makes a release of it (``make release``).
`whats_new` compares the state now with the latest release:

* **studies** added, removed or updated (with the parts that changed: printed results, facts,
  per-patient tables, the appraisal), each by citation;
* **estimates**: every primary estimate (each outcome in each population of the plan, by the main
  analysis) that moved, before and after, and whether the change matters by the rule
  `MATTERS` states;
* **judgements** awaiting review because their evidence changed (`Appraisal.awaiting_review` with
  status "evidence changed": GRADE judgements the reviewer made on evidence that is no longer the
  evidence now);
* the **version history**: every release with its date, version and studies, and the headline
  estimates (the summary of findings) of each release and of the review now.

An estimate *moved* when its studies, patients, events or rule changed, when its estimate or
either end of its interval changed by more than `TOLERANCE` (0.05 percentage points: the
precision the pages print), or when its certainty or its bottom-line sentence changed.

References
----------
.. [1] Cochrane. Guidance for the production and publication of Cochrane living systematic reviews:
   Cochrane Reviews in living mode, version December 2019, section 4.4.1 (the What's New table,
   and whether an update changed the conclusions).
.. [2] Cumpston M, Chandler J. Chapter IV: Updating a review. In: Higgins JPT, et al., eds. Cochrane
   Handbook for Systematic Reviews of Interventions, version 6.4. Cochrane; 2023.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data import endpoint_names
from ..data.releases import (
    Release,
    ReleasedEstimate,
    ReleasedStudy,
    StudyValue,
    load_releases,
    part_fingerprints,
    study_fingerprint,
)
from ..domain import registry
from ..frames import frame_rows
from .appraisal import STALE
from .cumulative import ONE_ESTIMATE_RULES, POOLED_RULES, main_row
from .cumulative import values_text as cumulative_values_text
from .pooled_rows import A_LANDMARK, A_MAIN, CONTEXT, PRIMARY
from .study_analysis import FACTS

#: An estimate or an end of its interval has moved when it changed by more than this (a proportion).
TOLERANCE = 0.0005

#: The rule by which a change matters, one reason per code, in the order they are checked.
MATTERS = {
    "outside": "the new estimate lies outside the old 95% interval",
    "certainty": "the certainty of the evidence changed",
    "poolable": "the studies became poolable, or stopped being poolable",
    "conclusion": "the bottom line's sentence changed",
    "first": "there was no estimate before",
    "gone": "there is no estimate now",
}

#: Parts of a study folder other than its facts and printed results, in a reader's words.
FILE_WORDS = {"appraisal.yaml": "the risk-of-bias appraisal", "coverage.yaml": "the passages left out",
              "study.yaml": "the study's facts", "results.yaml": "the printed results"}


# --- the review's state, as a release records it ------------------------------------------------


def release_studies(analysis) -> list[ReleasedStudy]:
    """Every included study with its label, citation, publication date and data fingerprints."""
    out = []
    for sd in sorted(analysis.study_data, key=lambda s: s.study.id):
        s = sd.study
        published = getattr(s.published, "value", None)
        out.append(ReleasedStudy(id=s.id, label=s.label, citation=" ".join(s.citation.split()),
                                   published=published if isinstance(published, str) else None,
                                   fingerprint=study_fingerprint(sd.folder), parts=part_fingerprints(sd.folder)))
    return out


def release_estimates(analysis, appraisal, bottom_line: pd.DataFrame | None = None) -> list[ReleasedEstimate]:
    """Every primary estimate: each outcome (and survival landmark) in each population of the plan
    that has a study, by the main analysis, with the summary of findings' certainty and the bottom
    line's sentence where the row is in the summary of findings.

    Parameters
    ----------
    analysis : PooledAnalysis
    appraisal : Appraisal
    bottom_line : DataFrame, optional
        The bottom line (columns population, outcome, sentence), as the pooled page writes it.
    """
    plan = analysis.plan
    pops = {p.label: p for p in plan.populations}
    sof = appraisal.summary
    sof_rows = {(r.outcome, r.population): r for r in frame_rows(sof)}
    sentences = {} if bottom_line is None or bottom_line.empty else {
        (r.outcome, r.population): r.sentence for r in frame_rows(bottom_line)}
    est = analysis.estimates
    main = est[est["view"].isin([PRIMARY, CONTEXT]) & est["analysis"].isin([A_MAIN, A_LANDMARK])
               & est["subgroup"].isin(list(pops))]
    keys = list(dict.fromkeys(zip(main["outcome"], main["subgroup"], strict=True)))
    keys += [k for k in sof_rows if k not in keys]
    out = []
    for outcome, population in keys:
        pop = pops[population]
        s = sof_rows.get((outcome, population))
        row = main_row(analysis, outcome, population)
        base = {"outcome": outcome, "outcome_label": registry.outcome_label(outcome), "population": pop.id,
                "population_label": population, "role": pop.role,
                "in_summary": bool(s.in_summary) if s is not None else False,
                "certainty": (s.certainty if isinstance(s.certainty, str) else "") if s is not None else "",
                "sentence": sentences.get((outcome, population), "")}
        if row is None:
            out.append(ReleasedEstimate(**base, rule="not reported", k=0, patients=0))
            continue
        values = [] if row.one_estimate else [StudyValue(
            study=v["study"], events=v["events"], events_high=v["events_high"], patients=v["patients"],
            estimate=v["estimate"], ci_low=v["ci_low"], ci_high=v["ci_high"]) for v in row.values]
        out.append(ReleasedEstimate(**base, rule=row.rule, k=row.k, patients=row.patients, events=row.events,
                                      events_high=row.events_high, estimate=row.estimate,
                                      estimate_high=row.estimate_high, ci_low=row.ci_low, ci_high=row.ci_high,
                                      studies=values))
    order = {p.id: i for i, p in enumerate(plan.populations)}
    return sorted(out, key=lambda e: (order.get(e.population, len(order)), plan.rank(e.outcome),
                                      registry_order(e.outcome)))


def registry_order(outcome: str) -> int:
    keys = [o.key for o in registry.OUTCOMES] + list(registry.LANDMARK_BY_KEY)
    return keys.index(outcome) if outcome in keys else len(keys)


def new_release(analysis, appraisal, bottom_line: pd.DataFrame | None, *, number: int, date: _dt.date,
                version: str, previous: str | None, note: str = "") -> Release:
    """A release of the review as it is now (`cartpool.data.releases.Release`)."""
    return Release(release=number, date=date, version=version, plan_date=analysis.plan.version_date,
                     previous=previous, note=note, studies=release_studies(analysis),
                     estimates=release_estimates(analysis, appraisal, bottom_line))


# --- comparing two states ------------------------------------------------------------------------


def _differs(a, b) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > TOLERANCE


def _values(e: ReleasedEstimate) -> tuple:
    return tuple((v.study, v.events, v.events_high, v.patients, None if v.estimate is None else round(v.estimate, 4))
                 for v in e.studies)


def moved(before: ReleasedEstimate, after: ReleasedEstimate) -> bool:
    """Whether an estimate moved (see the module docstring)."""
    if (before.rule, before.k, before.patients, before.events, before.events_high) != \
            (after.rule, after.k, after.patients, after.events, after.events_high):
        return True
    if any(_differs(getattr(before, f), getattr(after, f)) for f in ("estimate", "estimate_high", "ci_low",
                                                                       "ci_high")):
        return True
    return _values(before) != _values(after) or before.certainty != after.certainty or before.sentence != after.sentence


def _one(e: ReleasedEstimate) -> bool:
    return e.rule in ONE_ESTIMATE_RULES and e.estimate is not None


def matters(before: ReleasedEstimate | None, after: ReleasedEstimate | None) -> list[str]:
    """Why a change of one estimate matters, by the stated rule (`MATTERS`): the codes that apply,
    in `MATTERS`'s order; empty where it does not matter.

    References
    ----------
    Cochrane living systematic review guidance (2019), section 4.4.1: each update says whether it
    changed the review's conclusions.
    """
    if before is None or before.k == 0:
        return ["first"] if after is not None and after.k > 0 else []
    if after is None or after.k == 0:
        return ["gone"]
    out = []
    if _one(before) and _one(after) and before.ci_low is not None and before.ci_high is not None:
        ends = [after.estimate] + ([after.estimate_high] if after.estimate_high is not None else [])
        if any(x < before.ci_low - TOLERANCE or x > before.ci_high + TOLERANCE for x in ends):
            out.append("outside")
    if before.certainty and after.certainty and before.certainty != after.certainty:
        out.append("certainty")
    if (before.rule in POOLED_RULES) != (after.rule in POOLED_RULES):
        out.append("poolable")
    if (before.sentence or after.sentence) and before.sentence != after.sentence:
        out.append("conclusion")
    return out


# --- What's new ----------------------------------------------------------------------------------


STUDY_COLUMNS = ["change", "study_id", "study", "citation", "published", "results_changed", "results_added",
                 "results_removed", "facts_changed", "files_changed", "other_changes", "detail"]
ESTIMATE_COLUMNS = ["outcome", "outcome_label", "population", "population_label", "role", "in_summary", "change",
                    *[f"{w}_{f}" for w in ("before", "after") for f in ("rule", "k", "patients", "events",
                                                                         "events_high", "estimate", "estimate_high",
                                                                         "ci_low", "ci_high", "values", "certainty",
                                                                         "sentence")],
                    "matters", "why", "why_text"]
HISTORY_COLUMNS = ["release", "date", "version", "plan_date", "note", "n_studies", "studies", "outcome",
                   "outcome_label", "population", "population_label", "rule", "k", "patients", "events",
                   "events_high", "estimate", "estimate_high", "ci_low", "ci_high", "values", "certainty"]
JUDGEMENT_COLUMNS = ["outcome", "outcome_label", "population", "population_label", "status", "judgement_id",
                     "recorded_fingerprint", "fingerprint", "proposed"]
#: The columns of whats-new.csv: the release compared with, the section and change, then every field of
#: the studies', estimates' and judgements' rows.
TABLE_COLUMNS = list(dict.fromkeys(["since_release", "since_date", "section", "change", "subject", *STUDY_COLUMNS,
                                    *ESTIMATE_COLUMNS, *JUDGEMENT_COLUMNS]))
#: The release column of the history's rows for the review now (not yet released).
NOW = "now"


@dataclass(frozen=True)
class WhatsNewResult:
    """What changed since the latest release (`since`; None where no release has been recorded):
    studies, estimates that moved (with `matters` and the reasons), judgements awaiting review, and
    the version history (`history`: one row per release and headline estimate, the review now
    last where it differs from the latest release)."""

    since: Release | None
    releases: tuple[Release, ...]
    studies: pd.DataFrame
    estimates: pd.DataFrame
    judgements: pd.DataFrame
    history: pd.DataFrame
    study_data: dict = field(default_factory=dict, compare=False, repr=False)  # id -> StudyData (labels)

    @property
    def changed(self) -> bool:
        """Whether any study or estimate changed since the latest release."""
        return not (self.studies.empty and self.estimates.empty)

    def table(self) -> pd.DataFrame:
        """Every row of What's new as one tidy table (whats-new.csv): studies, estimates and
        judgements; one row saying there was no change where there was none."""
        since = {"since_release": self.since.release if self.since else None,
                 "since_date": self.since.date.isoformat() if self.since else ""}
        frames = [self.studies.assign(section="study", subject=self.studies["citation"]),
                  self.estimates.assign(section="estimate", subject=self.estimates["outcome_label"]),
                  self.judgements.assign(section="judgement", subject=self.judgements["outcome_label"],
                                         change=self.judgements["status"])]
        rows = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
            not f.empty for f in frames) else pd.DataFrame(
            [{"section": "none", "change": "no release yet" if self.since is None else "no change",
              "subject": ""}])
        return rows.assign(**since).reindex(columns=TABLE_COLUMNS)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"whats-new": self.table(), "release-history": self.history}


def _record_words(part: str, sd) -> str:
    kind, _, name = part.partition(":")
    if kind == "fact":
        return dict(FACTS).get(name, endpoint_names.humanise(name)).lower() if name not in ("id", "label") else name
    if kind == "file":
        if sd is not None and sd.study.patients is not None:
            for t in sd.study.patients.tables.values():
                if t.file == name:
                    return f"the per-patient table ({t.location})"
        return FILE_WORDS.get(name, "a per-patient table")
    return name


def study_changes(before: list[ReleasedStudy], analysis) -> pd.DataFrame:
    """Studies added, removed or updated since `before` (a release's studies); an updated study
    lists the printed results added, removed and changed (by id), the facts and the other parts
    that changed, and a summary (`detail`)."""
    now = {s.id: s for s in release_studies(analysis)}
    old = {s.id: s for s in before}
    by_id = {sd.study.id: sd for sd in analysis.study_data}
    rows = []
    for sid in sorted(set(now) | set(old), key=lambda i: (now.get(i) or old[i]).label):
        a, b = old.get(sid), now.get(sid)
        base = {"study_id": sid, "study": (b or a).label, "citation": (b or a).citation,
                "published": (b or a).published or ""}
        if a is None:
            rows.append({**base, "change": "added", "detail": "added"})
            continue
        if b is None:
            rows.append({**base, "change": "removed", "detail": "removed"})
            continue
        if a.fingerprint == b.fingerprint:
            continue
        keys = set(a.parts) | set(b.parts)
        changed = sorted(k for k in keys if k in a.parts and k in b.parts and a.parts[k] != b.parts[k])
        added = sorted(k for k in keys if k not in a.parts)
        removed = sorted(k for k in keys if k not in b.parts)
        res = {w: [k.split(":", 1)[1] for k in ks if k.startswith("result:")]
               for w, ks in (("changed", changed), ("added", added), ("removed", removed))}
        facts = [k for k in changed + added + removed if k.startswith("fact:")]
        files = [k for k in changed + added + removed if k.startswith("file:")]
        sd = by_id.get(sid)
        bits = []
        for w in ("changed", "added", "removed"):
            if res[w]:
                n = len(res[w])
                bits.append(f"{n} printed result{'s' if n != 1 else ''} {w}")
        other = (["facts changed: " + ", ".join(_record_words(k, sd) for k in facts)] if facts else []) + \
            [f"{_record_words(k, sd)} changed" for k in files]
        bits += other
        rows.append({**base, "change": "updated", "other_changes": "; ".join(other),
                     "results_changed": ";".join(res["changed"]),
                     "results_added": ";".join(res["added"]), "results_removed": ";".join(res["removed"]),
                     "facts_changed": ";".join(k.split(":", 1)[1] for k in facts),
                     "files_changed": ";".join(k.split(":", 1)[1] for k in files),
                     "detail": "; ".join(bits) or "comments or layout only (no value changed)"})
    return pd.DataFrame([{c: r.get(c, "") for c in STUDY_COLUMNS} for r in rows], columns=STUDY_COLUMNS)


def _fields(prefix: str, e: ReleasedEstimate | None) -> dict:
    if e is None:
        return {f"{prefix}_{f}": None for f in ("rule", "k", "patients", "events", "events_high", "estimate",
                                                "estimate_high", "ci_low", "ci_high", "values", "certainty",
                                                "sentence")}
    return {f"{prefix}_rule": e.rule, f"{prefix}_k": e.k, f"{prefix}_patients": e.patients,
            f"{prefix}_events": e.events, f"{prefix}_events_high": e.events_high,
            f"{prefix}_estimate": e.estimate, f"{prefix}_estimate_high": e.estimate_high,
            f"{prefix}_ci_low": e.ci_low, f"{prefix}_ci_high": e.ci_high,
            f"{prefix}_values": values_text(e), f"{prefix}_certainty": e.certainty, f"{prefix}_sentence": e.sentence}


def values_text(e: ReleasedEstimate) -> str:
    """Each study's own value of a row that is not pooled: "Guo 2026 9/12; Hu 2026 11/11"."""
    return cumulative_values_text([v.model_dump() for v in e.studies])


def reason(code: str, before: ReleasedEstimate | None, after: ReleasedEstimate | None) -> str:
    """Why one change matters, in a reader's words, for the row it is about (`MATTERS`)."""
    if code == "certainty":
        return f"the certainty changed from {before.certainty} to {after.certainty}"
    if code == "poolable":
        return ("the studies can now be pooled" if after.rule in POOLED_RULES else
                "the studies can no longer be pooled")
    return MATTERS[code]


def estimate_changes(before: list[ReleasedEstimate], after: list[ReleasedEstimate]) -> pd.DataFrame:
    """Every estimate that moved between two states, with before and after and why it matters."""
    old = {e.key: e for e in before}
    rows = []
    now = {e.key: e for e in after}
    keys = [e.key for e in after] + [k for k in old if k not in now]
    for key in keys:
        a, b = old.get(key), now.get(key)
        if a is not None and b is not None and not moved(a, b):
            continue
        if (a is None or a.k == 0) and (b is None or b.k == 0):
            continue
        e = b or a
        why = matters(a, b)
        change = "new" if a is None or a.k == 0 else "no longer reported" if b is None or b.k == 0 else "moved"
        rows.append({"outcome": e.outcome, "outcome_label": e.outcome_label, "population": e.population,
                     "population_label": e.population_label, "role": e.role, "in_summary": e.in_summary,
                     "change": change, **_fields("before", a), **_fields("after", b), "matters": bool(why),
                     "why": ";".join(why), "why_text": "; ".join(reason(w, a, b) for w in why)})
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def history(releases: list[Release], now: list[ReleasedEstimate] | None, now_studies: list[str]) -> pd.DataFrame:
    """The version history: one row per release and headline estimate (the summary of findings), and
    the review now (release `NOW`) where `now` is given."""
    rows = []
    states = [(r.release, r.date.isoformat(), r.version, r.plan_date.isoformat(), r.note,
               [s.label for s in r.studies], r.estimates) for r in releases]
    if now is not None:
        states.append((NOW, "", "", "", "", now_studies, now))
    for number, date, version, plan_date, note, studies, estimates in states:
        for e in estimates:
            if not e.in_summary:
                continue
            rows.append({"release": number, "date": date, "version": version, "plan_date": plan_date, "note": note,
                         "n_studies": len(studies), "studies": "; ".join(sorted(studies)), "outcome": e.outcome,
                         "outcome_label": e.outcome_label, "population": e.population,
                         "population_label": e.population_label, "rule": e.rule, "k": e.k, "patients": e.patients,
                         "events": e.events, "events_high": e.events_high, "estimate": e.estimate,
                         "estimate_high": e.estimate_high, "ci_low": e.ci_low, "ci_high": e.ci_high,
                         "values": values_text(e), "certainty": e.certainty})
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def whats_new(analysis, appraisal, bottom_line: pd.DataFrame | None = None, *,
              data_dir: Path | str | None = None) -> WhatsNewResult:
    """What changed since the latest release (see the module docstring).

    Parameters
    ----------
    analysis : PooledAnalysis
    appraisal : Appraisal
    bottom_line : DataFrame, optional
        The bottom line (columns population, outcome, sentence): the conclusion sentences compared.
    data_dir : path, optional
        The data folder with ``releases/`` (by default the one the studies were loaded from).

    Returns
    -------
    WhatsNewResult

    References
    ----------
    Cochrane living systematic review guidance (2019), section 4.4.1.
    """
    data_dir = Path(data_dir) if data_dir is not None else appraisal.data_dir
    releases = load_releases(data_dir) if data_dir is not None else []
    since = releases[-1] if releases else None
    now = release_estimates(analysis, appraisal, bottom_line)
    studies = study_changes(since.studies if since else [], analysis) if since else pd.DataFrame(
        columns=STUDY_COLUMNS)
    estimates = estimate_changes(since.estimates, now) if since else pd.DataFrame(columns=ESTIMATE_COLUMNS)
    waiting = appraisal.awaiting_review
    waiting = waiting[waiting["status"] == STALE].rename(columns={"population": "population_label"}).rename(
        columns={"population_id": "population"}).reindex(columns=JUDGEMENT_COLUMNS)
    changed = not (studies.empty and estimates.empty)
    labels = [sd.study.label for sd in analysis.study_data]
    hist = history(releases, now if (changed or since is None) else None, labels)
    return WhatsNewResult(since, tuple(releases), studies, estimates, waiting.reset_index(drop=True), hist,
                          {sd.study.id: sd for sd in analysis.study_data})

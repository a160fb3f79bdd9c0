"""The analysis plan: the question, its populations, the outcomes ranked by importance before the
data, the subgroups named in advance and the rules of the synthesis, written down as data.

``data/analysis_plan.yaml`` holds dated entries. The first entry states the whole plan; a later
entry states only what it changes (top-level fields replace the earlier ones) and why, so that the
plan in force is the first entry with every later change applied in date order, and the methods
appendix can show the history. An entry is never edited once a later one exists.

The analysis reads the plan in force (`load_plan`): which populations answer the question and which
are context, which denominator is primary for each kind of outcome, which outcomes the summary of
findings shows (the first `summary_of_findings.max_outcomes` ranked outcomes of each population),
the decision thresholds that imprecision is judged against, the pooling rule by number of studies,
and the prior of the Bayesian sensitivity analysis.

References
----------
Schünemann HJ, Higgins JPT, Vist GE, et al. Chapter 14: Completing 'Summary of findings' tables and
grading the certainty of the evidence. Cochrane Handbook for Systematic Reviews of Interventions,
version 6.4, 2023 (up to seven outcomes, chosen and ranked before the data are seen).
Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 2: framing the question and deciding on
important outcomes. J Clin Epidemiol 2011;64:395-400.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import DataIssue, StudyDataError
from .yamlio import pydantic_issues, read_yaml

PLAN_FILE = "analysis_plan.yaml"

IMPORTANCE = {"critical": "critical", "important": "important but not critical",
              "limited": "of limited importance"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanPopulation(_Strict):
    """A population the question is asked of (primary) or shown beside it (context)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    disease: Literal["PCL", "MM"]
    setting: Literal["relapsed_refractory", "frontline"]
    role: Literal["primary", "context"]


class RankedOutcome(_Strict):
    """One outcome in the order of importance, with what a decision turns on."""

    outcome: str = Field(min_length=1)  # a registry outcome key, or a survival landmark such as os_12m
    importance: Literal["critical", "important", "limited"]
    # Proportions (0-1) at which a clinician's reading of the result would change; imprecision is
    # judged by how many of them the (widened) 95% interval crosses.
    thresholds: list[float] = []
    why: str = ""  # why these thresholds, in a reader's words

    @field_validator("thresholds")
    @classmethod
    def _unit(cls, v: list[float]) -> list[float]:
        if any(not (0 < t < 1) for t in v):
            raise ValueError("thresholds are proportions between 0 and 1, for example [0.3, 0.5]")
        return sorted(v)


class Subgroup(_Strict):
    field: str = Field(min_length=1)  # a per-patient field or study fact, e.g. target
    label: str = Field(min_length=1)
    why: str = Field(min_length=3)


class Denominators(_Strict):
    """Which population is the denominator of each kind of outcome, in order of preference."""

    efficacy: list[Literal["enrolled", "infused", "treated"]]
    safety: list[Literal["enrolled", "infused", "treated"]]
    survival: list[Literal["enrolled", "infused", "treated"]]
    rule: str = Field(min_length=10)  # the rule in a reader's words


class Pooling(_Strict):
    random_effects_min_k: int = Field(ge=3)
    two_studies: Literal["not_pooled"]
    rule: str = Field(min_length=10)


class BayesPrior(_Strict):
    mu_prior_sd: float = Field(gt=0)
    tau_prior_scale: float = Field(gt=0)
    tau_prior_scale_sensitivity: float = Field(gt=0)
    justification: str = Field(min_length=10)


class Bounds(_Strict):
    rule: str = Field(min_length=10)


class SummaryOfFindings(_Strict):
    max_outcomes: int = Field(ge=1, le=7)


class PlanEntry(_Strict):
    """One dated entry: the first states every field; later ones only what they change."""

    date: _dt.date
    summary: str = Field(min_length=3)  # what this entry sets or changes, and why
    question: str | None = None
    report_type: str | None = None  # what the report is (and is not), in a reader's words
    populations: list[PlanPopulation] | None = None
    denominators: Denominators | None = None
    outcomes: list[RankedOutcome] | None = None
    subgroups: list[Subgroup] | None = None
    pooling: Pooling | None = None
    bayes: BayesPrior | None = None
    bounds: Bounds | None = None
    summary_of_findings: SummaryOfFindings | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _iso(cls, v):
        if isinstance(v, str):
            try:
                return _dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"write the date as year-month-day, for example 2026-12-06; found {v!r}") from None
        return v

    @model_validator(mode="after")
    def _unique_outcomes(self) -> PlanEntry:
        if self.outcomes is not None:
            seen = [o.outcome for o in self.outcomes]
            dup = sorted({o for o in seen if seen.count(o) > 1})
            if dup:
                raise ValueError(f"outcome(s) ranked twice: {', '.join(dup)}")
        return self


#: The denominator rule used when a study folder is loaded outside a data folder that holds the
#: plan (single-study tests); the build always reads the rule from the plan file.
DEFAULT_DENOMINATORS = {"efficacy": ("enrolled", "infused", "treated"),
                        "survival": ("enrolled", "infused", "treated"),
                        "safety": ("infused", "treated", "enrolled")}

PLAN_FIELDS = ("question", "report_type", "populations", "denominators", "outcomes", "subgroups", "pooling",
               "bayes", "bounds", "summary_of_findings")


@dataclass(frozen=True)
class Plan:
    """The plan in force: the first entry with every later change applied, and the history."""

    question: str
    report_type: str
    populations: tuple[PlanPopulation, ...]
    denominators: Denominators
    outcomes: tuple[RankedOutcome, ...]
    subgroups: tuple[Subgroup, ...]
    pooling: Pooling
    bayes: BayesPrior
    bounds: Bounds
    summary_of_findings: SummaryOfFindings
    history: tuple[PlanEntry, ...]

    @property
    def version_date(self) -> _dt.date:
        return self.history[-1].date

    def population(self, disease: str, setting: str) -> PlanPopulation | None:
        return next((p for p in self.populations if p.disease == disease and p.setting == setting), None)

    def ranked(self, key: str) -> RankedOutcome | None:
        return next((o for o in self.outcomes if o.outcome == key), None)

    def rank(self, key: str) -> int:
        """The position of an outcome in the ranking (unranked outcomes last)."""
        keys = [o.outcome for o in self.outcomes]
        return keys.index(key) if key in keys else len(keys)

    def summary_outcomes(self) -> tuple[RankedOutcome, ...]:
        """The outcomes of the summary of findings: the most important, up to the plan's maximum."""
        return self.outcomes[: self.summary_of_findings.max_outcomes]


def _issues(e: ValidationError, where: str) -> list[DataIssue]:
    return [DataIssue(PLAN_FILE, f"{where}, {x.where}" if x.where else where, x.problem)
            for x in pydantic_issues(PLAN_FILE, e)]


def load_plan(data_dir: Path | str, *, known_outcomes: set[str] | None = None) -> Plan:
    """Read, validate and apply ``analysis_plan.yaml`` in `data_dir` (the folder above ``studies/``).

    Parameters
    ----------
    data_dir : path
        The data folder.
    known_outcomes : set of str, optional
        Outcome keys the analysis knows (registry outcomes and survival landmarks); every ranked
        outcome must be one of them.

    Returns
    -------
    Plan

    Raises
    ------
    StudyDataError
        With every problem, each naming the entry and field.
    """
    path = Path(data_dir) / PLAN_FILE
    if not path.is_file():
        raise StudyDataError([DataIssue(PLAN_FILE, "", f"is missing from {Path(data_dir).name}/: it holds the "
                                        "analysis plan (question, populations, ranked outcomes, rules)")])
    issues: list[DataIssue] = []
    raw = read_yaml(path, issues)
    if issues:
        raise StudyDataError(issues)
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list) or not raw["entries"]:
        raise StudyDataError([DataIssue(PLAN_FILE, "", "must hold 'entries:', a list of dated plan entries")])
    entries: list[PlanEntry] = []
    for i, rec in enumerate(raw["entries"], start=1):
        try:
            entries.append(PlanEntry.model_validate(rec))
        except ValidationError as e:
            issues += _issues(e, f"entry {i}")
    if issues:
        raise StudyDataError(issues)
    for i, (a, b) in enumerate(zip(entries, entries[1:], strict=False), start=2):
        if b.date < a.date:
            issues.append(DataIssue(PLAN_FILE, f"entry {i}, date",
                                    f"{b.date} is earlier than the entry before it ({a.date}); entries are in date "
                                    "order, and a change is a new entry at the end"))
    first = entries[0]
    missing = [f for f in PLAN_FIELDS if getattr(first, f) is None]
    if missing:
        issues.append(DataIssue(PLAN_FILE, "entry 1", "the first entry states the whole plan; missing: "
                                + ", ".join(missing)))
    if issues:
        raise StudyDataError(issues)
    merged = {f: getattr(first, f) for f in PLAN_FIELDS}
    for e in entries[1:]:
        for f in PLAN_FIELDS:
            v = getattr(e, f)
            if v is not None:
                merged[f] = v
    if known_outcomes is not None:
        for o in merged["outcomes"]:
            if o.outcome not in known_outcomes:
                issues.append(DataIssue(PLAN_FILE, f"outcomes, {o.outcome}",
                                        f"{o.outcome!r} is not an outcome of the analysis; use one of "
                                        + ", ".join(sorted(known_outcomes))))
    ids = [p.id for p in merged["populations"]]
    if len(set(ids)) != len(ids):
        issues.append(DataIssue(PLAN_FILE, "populations", "a population id is used twice"))
    if not any(p.role == "primary" for p in merged["populations"]):
        issues.append(DataIssue(PLAN_FILE, "populations", "no population answers the question (role: primary)"))
    if issues:
        raise StudyDataError(issues)
    return Plan(merged["question"], merged["report_type"], tuple(merged["populations"]), merged["denominators"],
                tuple(merged["outcomes"]), tuple(merged["subgroups"]), merged["pooling"], merged["bayes"],
                merged["bounds"], merged["summary_of_findings"], tuple(entries))


_CACHE: dict = {}


def plan_for_study_folder(folder: Path | str) -> Plan | None:
    """The plan of the data folder a study folder sits in (``<data>/studies/<id>``), or None when
    that data folder holds no plan file. Read once per file version."""
    data_dir = Path(folder).resolve().parent.parent
    path = data_dir / PLAN_FILE
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load_plan(data_dir)
    return _CACHE[key]

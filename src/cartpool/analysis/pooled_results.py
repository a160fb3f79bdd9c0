"""The results of the pooled page's sections, as `Synthesis` computes them: typed, tidy frames and
dataclasses that `cartpool.report.pooled_renderers` and its sibling modules only format (as
`cartpool.analysis.study_results` holds those of a study page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from ..data.plan import Plan
from ..domain import registry
from . import pooled_rows
from .study_results import SectionResult


@dataclass(frozen=True)
class BottomLineResult(SectionResult):
    frame: pd.DataFrame  # population, outcome, certainty, status, sentence
    pending: int  # summary-of-findings ratings that are proposals, not reviewed judgements
    min_k: int  # the plan's fewest studies pooled by random effects

    def frames(self):
        return {"bottom-line": self.frame}


@dataclass(frozen=True)
class ScopeResult(SectionResult):
    plan: Plan
    studies: pd.DataFrame
    groups: list  # (population, [studies], role), in the page's order
    known: pd.DataFrame  # relevant studies known but not included
    links: pd.DataFrame

    def frames(self):
        return {"study-links": self.links, "known-not-included": self.known}


@dataclass(frozen=True)
class SummaryResult(SectionResult):
    summary: pd.DataFrame  # every ranked outcome in every PCL population
    plan: Plan

    def frames(self):
        return {"summary-of-findings": self.summary}


@dataclass(frozen=True)
class RiskOfBiasResult(SectionResult):
    rob: pd.DataFrame
    sizes: dict  # study -> patients (the summary bars' weights)
    groups: list  # populations, in the page's order
    not_reproduced: dict = field(default_factory=dict)  # study id -> what each check not reproduced checked
    checked: dict = field(default_factory=dict)  # study id -> the number of its printed numbers checked

    def frames(self):
        return {"risk-of-bias": self.rob}


@dataclass(frozen=True)
class MethodsResult(SectionResult):
    n: int
    outcomes: list  # the pooled outcome specs
    plan: Plan
    itt: list  # studies whose primary counts carry patients enrolled but not infused
    evaluable: list  # studies whose primary counts are ranges over patients not evaluable
    subgroups: list
    confounded: str


@dataclass(frozen=True)
class OutcomeView:
    """One outcome of the page: its pooled result, and its certainty in each primary population."""

    spec: registry.OutcomeSpec
    result: object  # pooled_rows.OutcomeResult
    certainty: dict  # population -> certainty row (or None)
    rob: dict  # study label -> its risk-of-bias judgement in each domain for this outcome, then overall
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)  # its rows of `PooledAnalysis.inputs`

    def row_inputs(self, view, subgroup: str, analysis: str, level: str = "") -> pd.DataFrame:
        """The studies behind one of its rows (`pooled_rows.inputs_of`)."""
        return pooled_rows.inputs_of(self.inputs, self.spec.key, view, subgroup, analysis, level)


@dataclass(frozen=True)
class OutcomesResult(SectionResult):
    """The outcomes of one section (efficacy or safety): those with their own forest plot (two or more
    studies in a population), and those where every population has one study (one figure for all)."""

    section: str
    drawn: list[OutcomeView]
    single: list[OutcomeView]
    subgroup_labels: dict  # subgroup field -> label
    min_k: int  # the plan's fewest studies pooled by random effects


@dataclass(frozen=True)
class SurvivalSeries:
    """A study's survival in the overlay: its Kaplan-Meier fit (per-patient table), or its printed
    milestones with the approximate curve through them (two or more printed)."""

    study: str
    endpoint: str
    km: object | None = None
    points: list = field(default_factory=list)
    curve: object | None = None
    study_id: str = ""


#: The columns of `PooledSurvivalResult.curves`.
CURVE_COLUMNS = ["study_id", "study", "endpoint", "drawn_from", "patients", "kind", "time_months", "value", "ci_low",
                 "ci_high", "high_not_reached", "result_id"]


@dataclass(frozen=True)
class PooledSurvivalResult(SectionResult):
    medians: pd.DataFrame
    landmarks: pd.DataFrame
    landmark_rows: pd.DataFrame  # the landmark estimates, one per population
    follow_up: dict  # study -> median follow-up text
    series: list[SurvivalSeries]  # the curves drawn, by endpoint
    single: list  # (study, endpoint, printed point) of studies printing one milestone of an endpoint
    group_order: object  # population -> its rank on the page
    min_k: int
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)  # the landmark rows' studies

    def row_inputs(self, x) -> pd.DataFrame:
        """The studies behind a landmark row `x` (a row of `landmark_rows`)."""
        return pooled_rows.inputs_of(self.inputs, x.outcome, x.view, x.subgroup, x.analysis, x.level)

    @cached_property
    def curves(self) -> pd.DataFrame:
        """What each curve of the survival overlay is drawn from: a Kaplan-Meier fit of the per-patient
        table (one row, with its patients), or each printed milestone (its record)."""
        rows = []
        for x in self.series:
            base = {"study_id": x.study_id, "study": x.study, "endpoint": x.endpoint}
            if x.km is not None:
                rows.append({**base, "drawn_from": "per-patient table", "patients": x.km.n, "kind": "Kaplan-Meier"})
                continue
            rows += [{**base, "drawn_from": "printed milestones", "kind": p.kind, "time_months": p.time_months,
                      "value": p.value, "ci_low": p.ci_low, "ci_high": p.ci_high,
                      "high_not_reached": p.high_not_reached, "result_id": p.result_id or ""} for p in x.points]
        return pd.DataFrame(rows, columns=CURVE_COLUMNS)

    def frames(self):
        return {"medians": self.medians, "landmarks": self.landmarks, "survival-curves": self.curves}


@dataclass(frozen=True)
class LimitsResult(SectionResult):
    k: int
    max_k: int
    small: int
    abstracts: list
    links: bool
    min_k: int


@dataclass(frozen=True)
class JudgementsResult(SectionResult):
    rows: pd.DataFrame  # outcome, domain, proposed, recorded, departure
    waiting: pd.DataFrame  # judgements awaiting review
    publication_bias: object
    publication_bias_proposal: object

    def frames(self):
        return {"grade-judgements": self.rows, "grade-review": self.waiting}


@dataclass(frozen=True)
class SensitivityResult(SectionResult):
    blocks: list  # (outcome label, sensitivity rows, leave-one-out rows)
    inputs: pd.DataFrame  # the studies behind each row (for rows of two studies shown side by side)
    min_k: int

    def row_inputs(self, x) -> pd.DataFrame:
        """The studies behind a sensitivity analysis's row `x` (a row of `estimates`)."""
        return pooled_rows.inputs_of(self.inputs, x.outcome, x.view, x.subgroup, x.analysis, x.level)

    def left_in(self, x) -> pd.DataFrame:
        """The studies a leave-one-out row `x` refits: its population's main row's, but the one left out."""
        main = pooled_rows.inputs_of(self.inputs, x.outcome, pooled_rows.PRIMARY, x.subgroup, pooled_rows.A_MAIN)
        return main[main["study"] != x.omitted]


@dataclass(frozen=True)
class PlanResult(SectionResult):
    plan: Plan
    ranked: list  # (rank, outcome label, importance code, thresholds, why)

    def frames(self):
        return {"plan-outcomes": pd.DataFrame(
            [(i, label, importance, ";".join(f"{t:g}" for t in thresholds), why)
             for i, label, importance, thresholds, why in self.ranked],
            columns=["rank", "outcome", "importance", "thresholds", "why"])}


@dataclass(frozen=True)
class StatisticalMethodsResult(SectionResult):
    plan: Plan
    loo_min_k: int


@dataclass(frozen=True)
class EstimatesResult(SectionResult):
    """Every estimate and the inputs behind it: the machine-readable results."""

    estimates: pd.DataFrame
    inputs: pd.DataFrame
    leave_one_out: pd.DataFrame

    def frames(self):
        out = {"estimates": self.estimates, "inputs": self.inputs}
        if not self.leave_one_out.empty:
            out["leave-one-out"] = self.leave_one_out
        return out


# --- the synthesis ------------------------------------------------------------------------------

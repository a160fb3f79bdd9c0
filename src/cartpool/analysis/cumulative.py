"""The cumulative meta-analysis of each key outcome in each population that answers the question,
in the style of R meta's ``metacum``: the studies in the order they were published, and at each
step the estimate from every study published up to then.

Each step is refitted by the main analysis's own rule (`PooledAnalysis.primary_estimate`, and
`PooledAnalysis.landmark_estimate` for survival at a landmark), so that one study is shown alone,
two are shown side by side and never pooled, and three or more are pooled by the random-effects
model; the last step is the main analysis.

The order is each study's publication date (``published`` in ``study.yaml``). A study whose source
prints no date enters after the dated ones, in the order of its data cut-off where it has one,
and the page says so. Ties are broken by the study's label.

The reading of each outcome (`reading`) follows one stated rule: the estimate has been *stable
since* the earliest step from which every step has one estimate lying within the current 95%
interval; where only the last step does, the estimate *moved* from the step before it.

References
----------
.. [1] Lau J, Antman EM, Jimenez-Silva J, Kupelnick B, Mosteller F, Chalmers TC. Cumulative
   meta-analysis of therapeutic trials for myocardial infarction. N Engl J Med 1992;327:248-254.
.. [2] Schwarzer G. meta: General Package for Meta-Analysis, function ``metacum``. R package
   (https://CRAN.R-project.org/package=meta).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import dates
from ..domain import registry
from ..frames import frame_rows
from ..stats.proportions import study_cis
from .pooling import Rule

#: Rules under which a row shows one estimate for all of its studies (pooled, or the combined count
#: of studies without events or with events in every patient).
POOLED_RULES = (Rule.RANDOM, Rule.NO_EVENTS, Rule.ALL_EVENTS)
#: Rules under which a row shows one estimate (a single study, or pooled).
ONE_ESTIMATE_RULES = (Rule.SINGLE, *POOLED_RULES)


def _finite(x) -> bool:
    return x is not None and isinstance(x, int | float | np.floating | np.integer) and bool(np.isfinite(x))


@dataclass(frozen=True)
class RowEstimate:
    """What one row shows for a set of studies, whichever kind of outcome it is (a count, or
    survival at a landmark): its rule, the number of studies and patients, and its estimate."""

    rule: str
    k: int
    patients: int
    events: int | None
    events_high: int | None
    estimate: float | None
    estimate_high: float | None
    ci_low: float | None
    ci_high: float | None
    note: str
    studies: tuple[str, ...]
    values: tuple[dict, ...]  # each study's own value: study, events, events_high, patients, estimate, ci

    @property
    def one_estimate(self) -> bool:
        """Whether the row shows one estimate (a single study, or pooled) with a finite value."""
        return self.rule in ONE_ESTIMATE_RULES and _finite(self.estimate)

    @property
    def pooled(self) -> bool:
        return self.rule in POOLED_RULES


# --- the studies of a row -----------------------------------------------------------------------


def population_id(analysis, label: str) -> str:
    """The plan population's id for its label."""
    return next(p.id for p in analysis.plan.populations if p.label == label)


def key_rows(analysis) -> list[tuple[str, str]]:
    """The key outcomes in each population that answers the question, in the plan's order: the
    summary of findings' outcomes (`Plan.summary_outcomes`) for every primary population with a
    study. Returns (outcome, population label) pairs."""
    return [(o.outcome, g) for g in analysis.primary_groups for o in analysis.plan.summary_outcomes()]


def publication_order(analysis) -> pd.DataFrame:
    """Every study with its publication date, in the cumulative analysis's order: dated studies by
    date, then studies without a date by their data cut-off; ties by label. Columns: study_id,
    study, published (ISO text or ""), dated, order."""
    rows = []
    for sd in analysis.study_data:
        s = sd.study
        value = getattr(s.published, "value", None)
        first = None
        if isinstance(value, str):
            try:
                first = dates.parse_date(value)[0]
            except dates.DateText:
                first = None
        cutoff = getattr(s.data_cutoff, "value", None)
        cut = None
        if isinstance(cutoff, str):
            try:
                cut = dates.parse_date(cutoff)[0]
            except dates.DateText:
                cut = None
        key = (0, first, s.label) if first is not None else (1, cut or _dt.date.max, s.label)
        rows.append({"study_id": s.id, "study": s.label, "published": value if first is not None else "",
                     "dated": first is not None, "_key": key})
    rows.sort(key=lambda r: r["_key"])
    return pd.DataFrame([{**{k: v for k, v in r.items() if k != "_key"}, "order": i}
                         for i, r in enumerate(rows, start=1)],
                        columns=["study_id", "study", "published", "dated", "order"])


def row_studies(analysis, outcome: str, population: str) -> pd.DataFrame:
    """The studies of one outcome's main row in one population, in publication order: rows of
    `PooledAnalysis.available` (counts) or of `PooledAnalysis.landmarks` (survival at a landmark)."""
    if outcome in registry.LANDMARK_BY_KEY:
        spec = registry.LANDMARK_BY_KEY[outcome]
        lm = analysis.landmarks
        t = lm[(lm["endpoint"] == spec.endpoint) & (lm["months"] == spec.months) & (lm["group"] == population)
               & (lm["kind"] == "all patients")]
    else:
        t = analysis.available(outcome)
        t = t[t["group"] == population]
    order = publication_order(analysis).set_index("study_id")["order"]
    return t.assign(_order=t["study_id"].map(order)).sort_values("_order", kind="stable").drop(columns="_order")


def study_values(t: pd.DataFrame, *, landmark: bool) -> tuple[dict, ...]:
    """Each study's own value in a row: its count (both ends of a range) and exact interval, or its
    survival rate at the landmark (`landmark`) and printed interval."""
    if landmark:
        return tuple({"study": s.study, "events": None, "events_high": None, "patients": int(s.n),
                      "estimate": float(s.value), "estimate_high": None,
                      "ci_low": None if pd.isna(s.ci_low) else float(s.ci_low),
                      "ci_high": None if pd.isna(s.ci_high) else float(s.ci_high)} for s in frame_rows(t))
    lo, _ = study_cis(t["events"], t["total"])
    _, hi = study_cis(t["events_high"], t["total"])
    return tuple({"study": s.study, "events": int(s.events), "events_high": int(s.events_high),
                  "patients": int(s.total), "estimate": s.events / s.total,
                  "estimate_high": s.events_high / s.total if s.events_high != s.events else None,
                  "ci_low": float(a), "ci_high": float(b)}
                 for s, a, b in zip(frame_rows(t), lo, hi, strict=True))


def _landmark_row(r, t: pd.DataFrame) -> RowEstimate:
    """A landmark row (a row of `estimates`, or what `landmark_estimate` returns) as a `RowEstimate`;
    its patients are those of the studies in its estimate."""
    pooled_in = set(str(r.get("studies") or "").split(";")) if r["rule"] == Rule.RANDOM else set(t["study"])
    patients = int(t.loc[t["study"].isin(pooled_in), "n"].sum())
    note = r.get("note")
    return RowEstimate(str(r["rule"]), int(r.get("k") or len(t)), patients, None, None, _num(r.get("estimate")),
                       None, _num(r.get("ci_low")), _num(r.get("ci_high")), note if isinstance(note, str) else "",
                       tuple(t["study"]), study_values(t, landmark=True))


def _count_row(p, t: pd.DataFrame) -> RowEstimate:
    """A count row (a `Pooled`) as a `RowEstimate`."""
    return RowEstimate(str(p.rule), int(p.k), int(p.total), int(p.events),
                       int(p.events_high) if p.events_high is not None else None, _num(p.estimate),
                       _num(p.estimate_high), _num(p.ci_low), _num(p.ci_high), p.note, tuple(t["study"]),
                       study_values(t, landmark=False))


def refit(analysis, outcome: str, t: pd.DataFrame, *, detail: bool = True) -> RowEstimate:
    """The row the main analysis would show for the studies in `t` (rows of `row_studies`), by its
    own rule (`detail` False: the estimate and its interval only, see
    `PooledAnalysis.primary_estimate`)."""
    if outcome in registry.LANDMARK_BY_KEY:
        return _landmark_row(analysis.landmark_estimate(t), t)
    return _count_row(analysis.primary_estimate(t, detail=detail), t)


def main_row(analysis, outcome: str, population: str) -> RowEstimate | None:
    """The main analysis's row of one outcome in one population, as a `RowEstimate` (None where no
    study reports it), read from the analysis without refitting it."""
    t = row_studies(analysis, outcome, population)
    if t.empty:
        return None
    if outcome in registry.LANDMARK_BY_KEY:
        return _landmark_row(analysis.main_row(outcome, population), t)
    return _count_row(analysis.outcome(outcome).groups[population], t)


def _num(x) -> float | None:
    return float(x) if _finite(x) else None


def values_text(values) -> str:
    """Each study's own count (or, for survival at a landmark, its rate) of a row whose studies are
    not pooled: "Guo 2026 0–2/12; Hu 2026 0/11", "Guo 2026 55.6%; Hu 2026 40.0%"."""
    out = []
    for v in values:
        if v.get("events") is not None:
            high = v.get("events_high")
            count = f"{v['events']}–{high}" if high not in (None, v["events"]) else f"{v['events']}"
            out.append(f"{v['study']} {count}/{v['patients']}")
        elif v.get("estimate") is not None:
            out.append(f"{v['study']} {100 * v['estimate']:.1f}%")
    return "; ".join(out)


# --- the cumulative analysis ---------------------------------------------------------------------


STEP_COLUMNS = ["outcome", "outcome_label", "population", "population_id", "step", "study_added", "study_id",
                "published", "dated", "k", "patients", "events", "events_high", "rule", "estimate", "estimate_high",
                "ci_low", "ci_high", "studies", "values", "note"]
READING_COLUMNS = ["outcome", "outcome_label", "population", "population_id", "k", "reading", "since_step",
                   "since_study", "since_published", "from_step", "to_step"]

#: The kinds of reading, by the rule in the module's docstring.
SINGLE, NOT_POOLED, STABLE, MOVED = "one study", "not pooled", "stable", "moved"


@dataclass(frozen=True)
class CumulativeResult:
    """The cumulative meta-analysis of every key outcome in every population that answers the
    question: one row per step (`steps`), one reading per outcome and population (`readings`), and
    the studies without a publication date, which enter last (`undated`)."""

    steps: pd.DataFrame
    readings: pd.DataFrame
    undated: tuple[str, ...]
    min_k: int
    rows: dict = field(default_factory=dict, compare=False, repr=False)  # (outcome, population) -> [RowEstimate]

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"cumulative": self.steps, "cumulative-readings": self.readings}

    def outcome_steps(self, outcome: str, population: str) -> pd.DataFrame:
        s = self.steps
        return s[(s["outcome"] == outcome) & (s["population"] == population)]


def cumulative(analysis) -> CumulativeResult:
    """The cumulative meta-analysis (see the module docstring).

    Parameters
    ----------
    analysis : PooledAnalysis

    Returns
    -------
    CumulativeResult

    References
    ----------
    Lau J, et al. N Engl J Med 1992;327:248-254. R meta, ``metacum``.
    """
    order = publication_order(analysis)
    dated = dict(zip(order["study_id"], order["published"], strict=True))
    steps, readings, fitted = [], [], {}
    for outcome, population in key_rows(analysis):
        t = row_studies(analysis, outcome, population)
        if t.empty:
            continue
        label = registry.outcome_label(outcome)
        pid = population_id(analysis, population)
        rows: list[RowEstimate] = fitted.setdefault((outcome, population), [])
        for i in range(1, len(t) + 1):
            r = refit(analysis, outcome, t.iloc[:i])
            rows.append(r)
            added = t.iloc[i - 1]
            steps.append({"outcome": outcome, "outcome_label": label, "population": population, "population_id": pid,
                          "step": i, "study_added": added["study"], "study_id": added["study_id"],
                          "published": dated.get(added["study_id"], ""), "dated": bool(dated.get(added["study_id"])),
                          "k": r.k, "patients": r.patients, "events": r.events, "events_high": r.events_high,
                          "rule": r.rule, "estimate": r.estimate, "estimate_high": r.estimate_high,
                          "ci_low": r.ci_low, "ci_high": r.ci_high, "studies": ";".join(r.studies),
                          "values": "" if r.one_estimate else values_text(r.values), "note": r.note})
        readings.append({"outcome": outcome, "outcome_label": label, "population": population, "population_id": pid,
                         "k": len(t), **reading(rows, list(t["study"]),
                                                [dated.get(s, "") for s in t["study_id"]])})
    undated = tuple(order.loc[~order["dated"], "study"])
    return CumulativeResult(pd.DataFrame(steps, columns=STEP_COLUMNS), pd.DataFrame(readings, columns=READING_COLUMNS),
                            undated, analysis.plan.pooling.random_effects_min_k, fitted)


def reading(rows: list[RowEstimate], studies: list[str], published: list[str]) -> dict:
    """The reading of one cumulative analysis, by the rule in the module's docstring: "one study",
    "not pooled" (the last step shows its studies side by side), "stable" since a step, or "moved"
    at the last step from the step before it. Steps are numbered from 1."""
    last = rows[-1]
    out = {"reading": "", "since_step": None, "since_study": "", "since_published": "", "from_step": None,
           "to_step": len(rows)}
    if len(rows) == 1:
        return {**out, "reading": SINGLE}
    if not last.one_estimate:
        return {**out, "reading": NOT_POOLED}
    since = len(rows)
    for i in range(len(rows) - 1, -1, -1):
        r = rows[i]
        if r.one_estimate and last.ci_low is not None and last.ci_high is not None \
                and last.ci_low - 1e-12 <= r.estimate <= last.ci_high + 1e-12:
            since = i + 1
        else:
            break
    if since < len(rows):
        return {**out, "reading": STABLE, "since_step": since, "since_study": studies[since - 1],
                "since_published": published[since - 1]}
    return {**out, "reading": MOVED, "from_step": len(rows) - 1}

"""The synthesis across studies, computed once as tidy tables, by the analysis plan.

The question is CAR-T of any target in plasma cell leukemia (PCL); multiple myeloma (MM) cohorts are
context. Every registered outcome and every survival landmark is shown for each of the plan's
populations (relapsed/refractory PCL, frontline PCL; MM as context), with:

- the primary row: each study's count in its primary population by the plan's denominator rule
  (everyone enrolled for response and survival, everyone infused for toxicity), all of a study's
  patients whatever their CAR target; one study on its own, two side by side, three or more by
  the random-effects model (`cartpool.analysis.pooling`);
- subgroup rows for each subgroup the plan names in advance (CAR target; primary or secondary PCL);
- sensitivity rows: those infused only and those evaluable only where they differ from the primary
  denominator; the BCMA-directed patients only of cohorts that mix targets (confounded after
  relapse by a second CAR-T against the other target); the common-effect and Bayesian estimates of
  two studies; inverse-variance logit and Freeman-Tukey models; a wider prior; the same grading
  scale; the other count of an ambiguous rounded percentage; ranges left out; all studies mixed;
- leave-one-out in every primary group that is pooled.

`PooledAnalysis.estimates` has one row per (outcome, view, subgroup, analysis) and
`PooledAnalysis.inputs` one row per study of each of those rows, with the same keys; `in_fit` says
whether the study's count enters the row's model (False for a study shown beside a pooled row but
left out of it: a range with an uninformative end, a survival rate without an interval or with no
events), so that every row can be refitted from its inputs. Nothing is computed while drawing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .. import formatting as fmt
from ..data.known import REASONS, load_known_studies
from ..data.load import load_all
from ..data.model import NOT_IN_SOURCE, NOT_REPORTED
from ..data.plan import Plan, PlanPopulation, load_plan
from ..data.study_data import StudyData
from ..domain import counts as count_rules
from ..domain import registry, survival_rules
from ..domain.landmarks import landmark_fit
from ..domain.population import (
    follow_up,
    main_population,
    population_kind,
    population_label,
    primary_population,
)
from ..domain.subgroups import NOT_SEPARABLE, membership
from ..stats.proportions import proportion_ci
from ..stats.summaries import pool_landmark
from ..text import lower_first as _lower_first
from . import survival_curves as curves
from .audit import audit_frame, audit_study
from .pooling import (
    MIN_STUDIES_RANDOM_EFFECTS,
    PRIMARY_METHOD,
    Pooled,
    Rule,
    SubgroupTest,
    common_effect,
    pool,
    pool_leave_one_out,
    rule_for_k,
    subgroup_test,
)
from .store import ResultStore

PRIMARY, CONTEXT, SUBGROUP, SENSITIVITY = "primary", "context", "subgroup", "sensitivity"
ALL_STUDIES = "all studies"
SUBGROUP_TEST = "test for subgroup differences"

# analyses (the `analysis` column)
A_MAIN = "main"
A_COMMON = "common effect (two studies)"
A_BAYES = "Bayesian"
A_BAYES_WIDE = "Bayesian, wider prior"
A_LOGIT = "inverse-variance logit"
A_FT = "Freeman-Tukey"
A_INFUSED = "patients infused only"
A_EVALUABLE = "patients evaluable only"
A_BCMA_ONLY = "BCMA-directed patients only"
A_SAME_SCALE = "same grading scale"
A_OTHER_COUNT = "other fitting count"
A_NO_RANGES = "ranges left out"
A_MIXED = "PCL and MM mixed"
A_LANDMARK = "landmark, log(−log) scale"

#: Why the BCMA-directed subset of a mixed cohort is a sensitivity analysis, not the primary row.
BCMA_ONLY_CONFOUNDED = ("the question is about CAR-T of either target, and these are the patients whose first CAR-T "
                        "was BCMA-directed; after a first relapse some received a second CAR-T against the other "
                        "target, so their survival is not that of one target alone")

#: Leave-one-out needs a pooled group (the random-effects model, three or more studies).
LOO_MIN_K = MIN_STUDIES_RANDOM_EFFECTS

ESTIMATE_COLUMNS = ["outcome", "view", "subgroup", "level", "analysis", "method", "rule", "note", "k", "events",
                    "events_high", "total", "estimate", "estimate_high", "ci_low", "ci_high", "ci_how",
                    "small_ci_low", "small_ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_p", "het_lrt",
                    "het_lrt_p", "het_df", "het_fisher_p", "bayes_estimate", "bayes_low", "bayes_high", "bayes_tau",
                    "bayes_tau_low", "bayes_tau_high", "bayes_tau_prior_scale", "range_left_out", "studies"]
INPUT_COLUMNS = ["outcome", "view", "subgroup", "level", "analysis", "study", "study_id", "population", "events",
                 "events_high", "total", "estimate", "ci_low", "ci_high", "derived", "how", "detail", "zero_events",
                 "possibly_responders", "in_fit"]


SCALE_MISSING = ("not reported", "not in the source we have")


def _landmark_usable(sub: pd.DataFrame) -> pd.DataFrame:
    """The studies of a landmark row that can enter a model on the log(-log S) scale: a printed or
    recomputed interval, S strictly between 0 and 1, and all patients (a rate that may describe the
    responders only is never pooled with all-patient rates)."""
    return sub[sub["ci_low"].notna() & sub["ci_high"].notna() & (sub["value"] > 0) & (sub["value"] < 1)
               & ~sub["possibly_responders"].astype(bool)]


def scale_of(sd: StudyData, field: str) -> str:
    """A study fact as words: its value, or why it is missing (`SCALE_MISSING`)."""
    v = getattr(sd.study, field, NOT_REPORTED)
    if v is None or isinstance(v, str):
        return SCALE_MISSING[1] if v == NOT_IN_SOURCE else SCALE_MISSING[0]
    value = v.value
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class OutcomeResult:
    """One outcome's results: each plan population's row (primary and context), the subgroup rows,
    the sensitivity analyses, the test for subgroup differences, and leave-one-out."""

    key: str
    groups: dict[str, Pooled]  # population label -> the row (primary and context)
    roles: dict[str, str]
    subgroups: dict[tuple[str, str, str], Pooled]  # (population, subgroup field, level) -> row
    tests: dict[tuple[str, str], SubgroupTest]  # (population, field) -> test between levels
    test: SubgroupTest  # between the PCL populations
    sensitivity: pd.DataFrame  # rows of `estimates` with view == "sensitivity"
    leave_one_out: pd.DataFrame
    inputs: pd.DataFrame  # the studies' counts in the primary rows
    missing: list[str]  # labels of studies that do not report it


@dataclass(frozen=True)
class StudyResults:
    """One study's part of the pooled analysis: a function of the study's data, the plan and the code
    alone, so that it is computed once and kept (`cartpool.analysis.store`) for every step that
    needs it (the study's own step, the validation, the pooled step)."""

    counts: list[dict]  # rows of `PooledAnalysis.counts`
    points: list  # survival points (`survival_curves.study_points`)
    landmarks: list[dict]  # rows of `PooledAnalysis.landmarks`, before one is chosen per landmark
    km: dict  # Kaplan-Meier fits of the whole per-patient table, {(endpoint, "all"): KaplanMeier}
    audit: list  # audit rows (`cartpool.analysis.audit.audit_study`)


class PooledAnalysis:
    """All results across studies, each table computed once on first use.

    Parameters
    ----------
    studies : list of StudyData
        Every loaded study (`cartpool.data.load.load_all`).
    plan : Plan, optional
        The analysis plan; by default the plan the studies were loaded with.
    store : ResultStore, optional
        Where each study's results and the pooled rows' statistics are kept between build steps,
        keyed by the content of their inputs; None computes everything here.
    """

    def __init__(self, studies: list[StudyData], plan: Plan | None = None, store: ResultStore | None = None):
        self.study_data = studies
        self.store = store
        self._study_results: dict[str, StudyResults] = {}
        self._available_cache: dict[tuple, pd.DataFrame] = {}
        self.by_id = {s.study.id: s for s in studies}
        plan = plan or next((s.plan for s in studies if s.plan is not None), None)
        if plan is None:
            raise ValueError("the pooled analysis needs the analysis plan (data/analysis_plan.yaml)")
        self.plan = plan

    @classmethod
    def load(cls, data_dir: str = "data/studies", store: ResultStore | None = None) -> PooledAnalysis:
        studies = load_all(data_dir)
        return cls(studies, load_plan(Path(data_dir).parent, known_outcomes=registry.analysis_outcome_keys()), store)

    @property
    def memo(self) -> dict | None:
        """The pooled rows' statistics kept by their inputs (None without a store)."""
        return self.store.rows if self.store is not None else None

    # --- each study's own results -----------------------------------------------------------

    def study_results(self, sd: StudyData) -> StudyResults:
        """One study's counts, survival points, landmark rows, Kaplan-Meier fits and audit rows: kept
        ones where the store has them for this content, else computed (and kept)."""
        sid = sd.study.id
        if sid not in self._study_results:
            compute = lambda: self._compute_study_results(sd)  # noqa: E731
            self._study_results[sid] = (self.store.study_results(sd, compute) if self.store is not None
                                        else compute())
        return self._study_results[sid]

    def _compute_study_results(self, sd: StudyData) -> StudyResults:
        km = curves.km_fits(sd)
        points = curves.study_points(sd, km)
        return StudyResults(self._study_count_rows(sd), points, self._study_landmark_rows(sd, points), km,
                            audit_study(sd))

    def km_fits(self, sd: StudyData) -> dict:
        """Kaplan-Meier fits of a study's whole per-patient table, ``{(endpoint, "all"): KaplanMeier}``."""
        return self.study_results(sd).km

    # --- populations ---------------------------------------------------------------------------

    def population_of(self, sd: StudyData) -> PlanPopulation:
        """The plan population a study belongs to, by its disease and setting."""
        p = self.plan.population(sd.study.disease_group, sd.study.setting.value)
        if p is None:
            return PlanPopulation(id="other", label=f"{sd.study.setting_label} {sd.study.disease_group}",
                                  disease=sd.study.disease_group, setting=sd.study.setting.value, role="context")
        return p

    def group_order(self, label: str) -> int:
        labels = [p.label for p in self.plan.populations]
        return labels.index(label) if label in labels else len(labels)

    @property
    def primary_groups(self) -> list[str]:
        """The plan's primary populations that have at least one study, in the plan's order."""
        present = set(self.studies["group"])
        return [p.label for p in self.plan.populations if p.role == PRIMARY and p.label in present]

    # --- the studies -------------------------------------------------------------------------

    @cached_property
    def studies(self) -> pd.DataFrame:
        """One row per study: design, setting, disease, targets, population sizes (enrolled and
        infused), median follow-up, grading scales, PCL definition, co-interventions, document type,
        plan population and role."""
        rows = []
        for sd in self.study_data:
            s = sd.study
            pop = main_population(sd)
            fu = follow_up(sd)
            group = self.population_of(sd)
            sizes = {k: next((sd.population_size(p) for p in s.populations if population_kind(sd, p) == k
                              and sd.population_size(p) is not None), None) for k in ("enrolled", "infused")}
            rows.append({
                "study_id": s.id, "study": s.label, "design": scale_of(sd, "design"),
                "setting": s.setting_label, "disease": s.disease_group, "targets": ", ".join(s.targets.value),
                "n": sd.population_size(pop), "population": s.populations[pop].label,
                "enrolled": sizes["enrolled"], "infused": sizes["infused"],
                "safety_n": sd.population_size(primary_population(sd, "safety")),
                "follow_up_months": fu[0].months if fu else None,
                "follow_up": (f"{fu[0].value:g} {fu[0].unit}" + ("" if fu[0].is_main_population else
                                                                  f" in {_lower_first(fu[0].population_label)}")) if fu else "",
                "crs_grading": scale_of(sd, "crs_grading"), "icans_grading": scale_of(sd, "icans_grading"),
                "pcl_definition": scale_of(sd, "pcl_definition") if s.disease_group == "PCL" else "",
                "pcl_types": ", ".join(d.replace("_pcl", "") for d in s.disease.value if d.endswith("_pcl")),
                "co_interventions": "; ".join(c.description for c in s.co_interventions),
                "document_type": s.document_type, "group": group.label, "role": group.role,
                "mixed_targets": count_rules.mixed_targets(sd), "year": _year(s.citation),
            })
        return pd.DataFrame(rows)

    @cached_property
    def known_studies(self) -> pd.DataFrame:
        """Relevant studies known but not included (``known_studies.yaml`` beside the study folders),
        validated against the included studies' sources: citation, relevance, why not included, and
        which included study cites it where."""
        rows = []
        for data_dir in sorted({Path(sd.folder).resolve().parent.parent for sd in self.study_data}):
            for k in load_known_studies(data_dir, self.study_data):
                citation = " ".join(k.citation.split())
                year = re.search(r"\b(?:19|20)\d{2}\b", citation.split(".", 2)[-1])
                short = re.sub(r"\s+[A-Z]{1,3}$", "", citation.split(",")[0]) + (f" {year.group(0)}" if year else "")
                rows.append({"id": k.id, "short": short, "citation": citation, "relevance": k.relevance,
                             "reason": REASONS[k.reason_not_included],
                             "known_from": "; ".join(f"{self.by_id[p.study].study.label} ({p.location})"
                                                     for p in k.known_from),
                             "note": k.note or ""})
        return pd.DataFrame(rows, columns=["id", "short", "citation", "relevance", "reason", "known_from", "note"])

    # --- counts ------------------------------------------------------------------------------

    def _count_row(self, sd: StudyData, key: str, kind: str, c: count_rules.ResolvedCount, level: str = "") -> dict:
        info = self.studies.set_index("study_id").loc[sd.study.id]
        o = registry.outcome(key)
        return {
            "outcome": key, "count_kind": kind, "level": level, "study_id": sd.study.id, "study": sd.study.label,
            "events": c.events, "events_high": c.events_high, "total": c.total, "available": c.available,
            "is_range": c.is_range, "uninformative_end": c.uninformative_end or "", "how": c.how,
            "detail": c.detail, "derived": c.derived, "alternatives": ";".join(map(str, c.alternatives)),
            "subset": c.subset, "result_ids": ";".join(c.result_ids),
            "population": population_label(sd, c.population) if c.population else "",
            "population_kind": population_kind(sd, c.population) if c.population else "",
            "group": info["group"], "role": info["role"], "mixed_targets": bool(info["mixed_targets"]),
            **{f: scale_of(sd, f) for f in o.comparability},
        }

    @cached_property
    def counts(self) -> pd.DataFrame:
        """Every study's count of every outcome: in its primary population ("primary"), among those
        infused and those evaluable where they differ ("infused", "evaluable"), and in each level of
        each subgroup the plan names ("subgroup:<field>", with the level)."""
        return pd.DataFrame([row for sd in self.study_data for row in self.study_results(sd).counts])

    def _study_count_rows(self, sd: StudyData) -> list[dict]:
        rows = []
        fields = [g.field for g in self.plan.subgroups]
        kinds = {population_kind(sd, p): p for p in sd.study.populations if sd.population_size(p) is not None}
        for o in registry.OUTCOMES:
            if not o.pooled:
                continue
            main = count_rules.outcome_count(sd, o.key)
            rows.append(self._count_row(sd, o.key, "primary", main))
            for kind in ("infused", "evaluable"):
                pop = kinds.get(kind)
                if pop is not None and pop != main.population:
                    c = count_rules.outcome_count(sd, o.key, population=pop)
                    if c.available and c.population == pop:
                        rows.append(self._count_row(sd, o.key, kind, c))
            for f in fields:
                for level in membership(sd, f).levels:
                    rows.append(self._count_row(sd, o.key, f"subgroup:{f}", count_rules.outcome_count(
                        sd, o.key, subgroup=(f, level)), level))
        return rows

    @cached_property
    def _available_by_kind(self) -> dict[tuple[str, str], pd.DataFrame]:
        """The available counts split by (outcome, kind) once, each part in the table's order."""
        c = self.counts
        if c.empty:
            return {}
        c = c[c["available"]]
        return {k: part for k, part in c.groupby(["outcome", "count_kind"], sort=False)}

    def available(self, key: str, kind: str = "primary", level: str | None = None) -> pd.DataFrame:
        """The available counts of one outcome and kind (and level), with integer counts, in the page's
        order of populations, then by study."""
        found = self._available_cache.get((key, kind, level))
        if found is None:
            c = self.counts
            t = self._available_by_kind.get((key, kind), c.iloc[0:0] if c.empty else c[c["available"]].iloc[0:0])
            if level is not None:
                t = t[t["level"] == level]
            t = t.copy()
            for col in ("events", "events_high", "total"):
                t[col] = t[col].astype(int)
            t["_order"] = t["group"].map(self.group_order)
            found = self._available_cache[(key, kind, level)] = \
                t.sort_values(["_order", "study"], kind="stable").drop(columns="_order")
        return found.copy(deep=False)  # a new frame over the same values (those who change one copy it)

    # --- estimates ---------------------------------------------------------------------------

    @cached_property
    def _computed(self) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, OutcomeResult]]:
        est_rows: list[dict] = []
        in_rows: list[dict] = []
        results: dict[str, OutcomeResult] = {}
        for o in registry.OUTCOMES:
            if o.pooled:
                results[o.key] = self._outcome_kept(o, est_rows, in_rows)
        self._landmark_estimates(est_rows, in_rows)
        est = pd.DataFrame(est_rows, columns=ESTIMATE_COLUMNS)
        inputs = pd.DataFrame(in_rows, columns=INPUT_COLUMNS)
        if self.store is not None:
            self.store.save_rows()
        return est, inputs, results

    @property
    def estimates(self) -> pd.DataFrame:
        """One row per estimate: (outcome, view, subgroup, level, analysis) and the result."""
        return self._computed[0]

    @property
    def inputs(self) -> pd.DataFrame:
        """One row per study per row of `estimates`, with the same keys: refit any row from it."""
        return self._computed[1]

    def outcome(self, key: str) -> OutcomeResult:
        return self._computed[2][key]

    @property
    def outcome_results(self) -> dict[str, OutcomeResult]:
        return self._computed[2]

    def _record(self, est_rows, in_rows, key, view, subgroup, analysis, t: pd.DataFrame, r: Pooled,
                level: str = "") -> None:
        est_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level, "analysis": analysis,
                         **r.as_row(), "studies": ";".join(t["study"])})
        left_out = set(self._split_for_fit(t)[1].index)
        # the columns as itertuples would give them (each a Series iterated: Python scalars), without
        # building a tuple of every column for every row
        cols = ("study", "study_id", "population", "events", "events_high", "total", "derived", "how", "detail")
        for idx, (study, study_id, population, events, events_high, total, derived, how, detail) in zip(
                t.index, zip(*(t[c] for c in cols), strict=True), strict=True):
            est, lo, hi = _own_proportion(int(events), int(total))
            in_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level, "analysis": analysis,
                            "study": study, "study_id": study_id, "population": population,
                            "events": int(events), "events_high": int(events_high), "total": int(total),
                            "estimate": est, "ci_low": lo, "ci_high": hi, "derived": bool(derived),
                            "how": how, "detail": detail, "zero_events": False, "in_fit": idx not in left_out})

    def _split_for_fit(self, t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The studies of a row that enter its model, and those shown but left out: where the row
        combines studies (random effects), a range with an uninformative end is left out."""
        if len(t) < self.plan.pooling.random_effects_min_k:
            return t, t.iloc[0:0]
        out = (t["uninformative_end"] != "").to_numpy()
        if not out.any() or out.all():  # nothing left out, or nothing would be left: every study enters
            return t, t.iloc[0:0]
        return t[~out], t[out]

    def _pool(self, t: pd.DataFrame, method: str = PRIMARY_METHOD, *, tau_scale: float | None = None,
              bayes: bool = False, detail: bool = True) -> Pooled:
        """One row of studies by the plan's rule. Where the row combines studies (random effects), a
        range with an uninformative end is left out, and the row says so."""
        use, left_out = self._split_for_fit(t)
        labels = [row_label(st, sub, rng) for st, sub, rng in zip(use["study"], use["subset"], use["is_range"],
                                                                   strict=True)]
        r = pool(use["events"], use["total"], labels,
                 events_high=use["events_high"], method=method, min_k=self.plan.pooling.random_effects_min_k,
                 tau_prior_scale=tau_scale or self.plan.bayes.tau_prior_scale, bayes=bayes, detail=detail,
                 small_sample=detail, memo=self.memo if detail else None)
        if not left_out.empty:
            r = replace(r, range_left_out="; ".join(f"{x.study} ({x.events}–{x.events_high}/{x.total})"
                                                    for x in left_out.itertuples()))
        return r

    def primary_estimate(self, t: pd.DataFrame, *, detail: bool = True) -> Pooled:
        """A population's main row refitted on the studies in `t` (rows of `available`), by the same
        rule as the main analysis (for analyses that refit it on other sets of studies: the
        cumulative meta-analysis and the update triggers, `cartpool.analysis.cumulative`). With
        `detail` False, the estimate and its interval only (no heterogeneity, no small-sample
        interval)."""
        return self._pool(t, detail=detail)

    def landmark_estimate(self, sub: pd.DataFrame) -> dict:
        """The same for a landmark row (rows of `landmarks`): the fields of its row of `estimates`."""
        return self._landmark_row(sub)

    def _outcome_kept(self, o: registry.OutcomeSpec, est_rows, in_rows) -> OutcomeResult:
        """`_outcome`, read back from the store where it holds the outcome's result for the same inputs:
        every study's counts of this outcome (with their places in the counts table), the studies'
        labels and the plan (and the code, in the store's key). An edit that leaves an outcome's counts
        as they were leaves its rows, tests and leave-one-out as they were."""
        if self.store is None:
            return self._outcome(o, est_rows, in_rows)
        c = self.counts
        mine = c[c["outcome"] == o.key] if not c.empty else c

        def compute():
            est, inp = [], []
            return est, inp, self._outcome(o, est, inp)
        est, inp, res = self.store.kept("outcomes", o.key, (o.key, mine, self.studies["study"].tolist(), self.plan),
                                        compute)
        est_rows += est
        in_rows += inp
        return res

    def _outcome(self, o: registry.OutcomeSpec, est_rows, in_rows) -> OutcomeResult:
        key = o.key
        t = self.available(key)
        everyone = self.studies["study"].tolist()
        reporting = set(t["study"])
        missing = [s for s in everyone if s not in reporting]
        groups: dict[str, Pooled] = {}
        roles: dict[str, str] = {}
        for g, sub in t.groupby("group", sort=False):
            role = sub["role"].iloc[0]
            r = self._pool(sub, bayes=True)
            groups[g], roles[g] = r, role
            self._record(est_rows, in_rows, key, role, g, A_MAIN, sub, r)
        primary = {g: r for g, r in groups.items() if roles[g] == PRIMARY}
        test = subgroup_test(primary)
        if len(primary) > 1:
            est_rows.append({"outcome": key, "view": PRIMARY, "subgroup": SUBGROUP_TEST, "level": "",
                             "analysis": A_MAIN, "method": PRIMARY_METHOD,
                             "rule": "tested" if test.tested else "not tested", "note": test.note,
                             "k": int(sum(r.k for r in primary.values())), "q": test.q, "q_p": test.p,
                             "studies": f"df={test.df}" if test.tested else ""})
        subgroups, tests = self._subgroups(key, est_rows, in_rows)
        n_before = len(est_rows)
        self._sensitivity(o, t, groups, est_rows, in_rows)
        sens = pd.DataFrame(est_rows[n_before:], columns=ESTIMATE_COLUMNS)
        loo = self._leave_one_out(key, t)
        return OutcomeResult(key, groups, roles, subgroups, tests, test, sens, loo, t, missing)

    def _subgroups(self, key: str, est_rows, in_rows):
        """Rows for each level of each subgroup the plan names, within each primary population."""
        out: dict[tuple[str, str, str], Pooled] = {}
        tests: dict[tuple[str, str], SubgroupTest] = {}
        for sg in self.plan.subgroups:
            t = self.available(key, f"subgroup:{sg.field}")
            t = t[t["role"] == PRIMARY]
            for g, in_group in t.groupby("group", sort=False):
                levels = {}
                for level, sub in in_group.groupby("level", sort=True):
                    r = self._pool(sub)
                    out[(g, sg.field, level)] = levels[level] = r
                    self._record(est_rows, in_rows, key, SUBGROUP, g, sg.label, sub, r, level=level)
                if len(levels) > 1:
                    tests[(g, sg.field)] = subgroup_test(levels)
        return out, tests

    def _sensitivity(self, o: registry.OutcomeSpec, t: pd.DataFrame, groups: dict[str, Pooled], est_rows,
                     in_rows) -> None:
        key = o.key

        def offer(subgroup: str, analysis: str, frame: pd.DataFrame, method: str = PRIMARY_METHOD, *,
                  min_k: int = 2, tau_scale: float | None = None, note: str = "") -> None:
            if len(frame) >= min_k:
                r = self._pool(frame, method, tau_scale=tau_scale)
                if note:
                    r = replace(r, note=f"{r.note}; {note}" if r.note else note)
                self._record(est_rows, in_rows, key, SENSITIVITY, subgroup, analysis, frame, r)

        def replaced(sub: pd.DataFrame, kind: str) -> pd.DataFrame:
            """The group's counts with each study's count of another kind where it has one."""
            alt = self.available(key, kind)
            alt = alt[alt["study_id"].isin(sub["study_id"])]
            keep = sub[~sub["study_id"].isin(alt["study_id"])]
            out = pd.concat([keep, alt])
            return out.assign(_order=out["study_id"].map({s: i for i, s in enumerate(sub["study_id"])})) \
                .sort_values("_order").drop(columns="_order")

        for g, sub in t.groupby("group", sort=False):
            if sub["role"].iloc[0] != PRIMARY:
                continue
            k = len(sub)
            if k == 2:
                ce = sub[sub["uninformative_end"] == ""]
                if len(ce) == 2:
                    r = common_effect(ce["events"], ce["total"])
                    self._record(est_rows, in_rows, key, SENSITIVITY, g, A_COMMON, ce, r)
                r = groups[g]
                if r.bayes_estimate is not None:
                    self._record(est_rows, in_rows, key, SENSITIVITY, g, f"{A_BAYES} ({_prior(r.bayes_tau_prior_scale)})",
                                 sub, _bayes_row(r))
            if k >= self.plan.pooling.random_effects_min_k:
                offer(g, A_LOGIT, sub, "logit")
                offer(g, A_FT, sub, "ft")
            if k >= 2:
                wide = self.plan.bayes.tau_prior_scale_sensitivity
                r = self._pool(sub, tau_scale=wide, bayes=True)
                if r.bayes_estimate is not None:
                    self._record(est_rows, in_rows, key, SENSITIVITY, g, f"{A_BAYES_WIDE} ({_prior(wide)})", sub,
                                 _bayes_row(r))
            for kind, analysis in (("infused", A_INFUSED), ("evaluable", A_EVALUABLE)):
                if (self.available(key, kind)["group"] == g).any():
                    offer(g, analysis, replaced(sub, kind), min_k=1)
            if sub["mixed_targets"].any():
                bcma = self.available(key, "subgroup:target", "BCMA-directed")
                bcma = bcma[bcma["group"] == g]
                offer(g, A_BCMA_ONLY, bcma, min_k=1, note=f"confounded: {BCMA_ONLY_CONFOUNDED}")
            if registry.SAME_SCALE in o.sensitivity and o.comparability:
                scale_field = o.comparability[0]
                scales = sub.loc[~sub[scale_field].isin(SCALE_MISSING), scale_field].value_counts()
                if len(scales) > 1:
                    common = scales.index[0]
                    offer(g, f"{A_SAME_SCALE} ({common})", sub[sub[scale_field] == common])
            if (sub["alternatives"] != "").any():
                other = sub.copy()
                alt = other["alternatives"] != ""
                other.loc[alt, "events"] = [int(a.split(";")[0]) for a in other.loc[alt, "alternatives"]]
                other.loc[alt, "events_high"] = other.loc[alt, "events"]
                offer(g, A_OTHER_COUNT, other, min_k=1)
            if sub["is_range"].any():
                offer(g, A_NO_RANGES, sub[~sub["is_range"]], min_k=1)
        if t["group"].nunique() > 1 and len(t) >= self.plan.pooling.random_effects_min_k:
            offer(ALL_STUDIES, A_MIXED, t)

    def _leave_one_out(self, key: str, t: pd.DataFrame) -> pd.DataFrame:
        """The pooled estimate with each study left out, in every primary group that is pooled (the
        GLMM refitted each time)."""
        rows = []
        for g, sub in t.groupby("group", sort=False):
            if sub["role"].iloc[0] != PRIMARY or len(sub) < LOO_MIN_K:
                continue
            refits = pool_leave_one_out(sub["events"], sub["total"], events_high=sub["events_high"],
                                        min_k=self.plan.pooling.random_effects_min_k, memo=self.memo)
            for omitted, r in zip(sub["study"], refits, strict=True):
                row = {k: v for k, v in r.as_row().items() if not k.startswith(("bayes_", "het_"))}
                rows.append({"outcome": key, "subgroup": g, "omitted": omitted, **row})
        return pd.DataFrame(rows)

    @property
    def leave_one_out(self) -> pd.DataFrame:
        frames = [r.leave_one_out for r in self.outcome_results.values() if not r.leave_one_out.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # --- survival ----------------------------------------------------------------------------

    @cached_property
    def survival_points(self) -> dict[str, list]:
        return {sd.study.id: self.study_results(sd).points for sd in self.study_data}

    @cached_property
    def medians(self) -> pd.DataFrame:
        """Each study's headline median PFS and OS (as printed; recomputed where only the per-patient
        table gives one)."""
        rows = []
        for sd in self.study_data:
            group = self.population_of(sd)
            for spec in registry.SURVIVAL:
                p = survival_rules.headline_median(sd, self.survival_points[sd.study.id], spec.endpoint)
                if p is None:
                    continue
                rows.append({"study_id": sd.study.id, "study": sd.study.label, "endpoint": spec.endpoint,
                             "value": p.value, "ci_low": p.ci_low, "ci_high": p.ci_high,
                             "high_not_reached": p.high_not_reached, "source": p.source,
                             "population": population_label(sd, p.population),
                             "n": sd.population_size(p.population) if not p.recomputed
                             else len(curves.derive_endpoints(sd)),
                             "group": group.label, "role": group.role})
        return pd.DataFrame(rows, columns=["study_id", "study", "endpoint", "value", "ci_low", "ci_high",
                                           "high_not_reached", "source", "population", "n", "group", "role"])

    @cached_property
    def landmarks(self) -> pd.DataFrame:
        """Each study's survival at each landmark (12 and 24 months), for all its patients and in each
        level of each planned subgroup: recomputed by Kaplan-Meier from the per-patient table where
        it exists, else as printed for the whole cohort, else 100% where the study reports no events
        during follow-up (with the number provably at risk)."""
        rows = [row for sd in self.study_data for row in self.study_results(sd).landmarks]
        df = pd.DataFrame(rows, columns=["study_id", "study", "endpoint", "months", "value", "ci_low", "ci_high",
                                         "source", "kind", "level", "n", "population", "at_risk_min", "basis",
                                         "result_id", "group", "role", "n_stated", "n_fit_likely",
                                         "possibly_responders", "tie_events", "value_if_after"])
        # one value per study, endpoint, time and variant: recomputed, then printed, then zero events
        rank = {survival_rules.SOURCE_KM: 0, survival_rules.SOURCE_REPORTED: 1, survival_rules.SOURCE_ZERO_EVENTS: 2}
        df["_rank"] = df["source"].map(rank).fillna(3)
        return (df.sort_values(["study_id", "endpoint", "months", "kind", "level", "_rank"], kind="stable")
                .drop_duplicates(["study_id", "endpoint", "months", "kind", "level"]).drop(columns="_rank")
                .reset_index(drop=True))

    def _study_landmark_rows(self, sd: StudyData, points: list) -> list[dict]:
        """One study's rows of `landmarks`, before one is chosen per landmark (`points`: its survival
        points)."""
        rows = []
        group = self.population_of(sd)
        d = curves.derive_endpoints(sd)
        table_pop = len(d) if d is not None else None
        variants = [("all patients", "", None)]
        for sg in self.plan.subgroups:
            m = membership(sd, sg.field)
            if m.whole:
                variants.append((f"subgroup:{sg.field}", m.whole, None))
            for level, ids in m.rows.items():
                variants.append((f"subgroup:{sg.field}", level, ids))
        for kind, level, ids in variants:
            pts = points if ids is None else curves.km_points(sd, curves.km_fits(sd, rows=ids))
            for p in pts:
                if p.kind != "landmark" or p.value is None:
                    continue
                if not any(abs(p.time_months - t) < 0.01 for t in registry.LANDMARK_MONTHS):
                    continue
                if not p.recomputed and not survival_rules.whole_cohort(sd, p.population):
                    continue
                n = (len(ids) if ids is not None else table_pop) if p.recomputed \
                    else sd.population_size(p.population)
                # a printed rate whose interval fits fewer patients than stated is shown with the
                # number it fits, and named where that is another group (the responders)
                fit = landmark_fit(sd, sd.result(p.result_id)) if p.source == survival_rules.SOURCE_REPORTED \
                    and p.result_id else None
                fits_other = fit is not None and not fit.fits_stated
                rows.append({"n_stated": n, "n_fit_likely": fit.likely if fits_other else None,
                             "possibly_responders": bool(fit and fit.possibly_responders),
                             "tie_events": p.tie_events, "value_if_after": p.value_if_after})
                if fits_other:
                    n = fit.n
                rows[-1].update({"study_id": sd.study.id, "study": sd.study.label, "endpoint": p.endpoint,
                                 "months": p.time_months, "value": p.value, "ci_low": p.ci_low,
                                 "ci_high": p.ci_high, "source": p.source, "kind": kind, "level": level, "n": n,
                                 "population": population_label(sd, p.population) if p.population else "",
                                 "at_risk_min": p.at_risk_min, "basis": p.basis,
                                 "result_id": p.result_id or ";".join(p.result_ids),
                                 "group": group.label, "role": group.role})
        return rows

    def _landmark_row(self, sub: pd.DataFrame) -> dict:
        """One landmark row: one study, two side by side, or three or more pooled on the log(−log S)
        scale. A study with no events (100%) or without a printed interval is shown, never pooled."""
        usable = _landmark_usable(sub)
        base = {"analysis": A_LANDMARK, "method": "inverse variance, REML", "events": None, "total": None,
                "k": len(sub), "studies": ";".join(sub["study"])}
        if len(sub) == 1:
            r = sub.iloc[0]
            return {**base, "rule": Rule.SINGLE, "note": "single study" if r["source"] != survival_rules.SOURCE_ZERO_EVENTS
                    else "no events during follow-up; not pooled", "estimate": r["value"], "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"]}
        min_k = self.plan.pooling.random_effects_min_k
        het = {}
        if len(usable) >= 2:  # Cochran's Q of the studies' log(-log S), from their printed intervals
            ee = pool_landmark(usable["value"], usable["ci_low"], usable["ci_high"], tau2="EE")
            i2 = max(0.0, 100 * (ee.q - (len(usable) - 1)) / ee.q) if ee.q > 0 else 0.0
            het = {"q": ee.q, "q_p": ee.q_p, "i2": i2, "het_df": len(usable) - 1}
        if len(sub) < min_k or len(usable) < min_k:
            excluded = sub.drop(index=usable.index)
            note = f"{len(sub)} studies, not pooled: each shown" if len(sub) < min_k else \
                "not pooled: " + ", ".join(excluded["study"]) + " without a printed interval, with no events, or " \
                "possibly describing the responders only"
            return {**base, "rule": rule_for_k(len(sub), min_k) or Rule.NOT_POOLED, "note": note, **het}
        args = (usable["value"], usable["ci_low"], usable["ci_high"])
        res = pool_landmark(*args, pi_dist="t", labels=list(usable["study"]))
        small = pool_landmark(*args, knha=True, labels=list(usable["study"]))
        left = sub.drop(index=usable.index)
        return {**base, "rule": Rule.RANDOM, "note": ("" if left.empty else "not in the pooled estimate: "
                                                       + ", ".join(left["study"])), "k": res.k,
                "estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high, "ci_how": "z",
                "small_ci_low": small.ci_low, "small_ci_high": small.ci_high, "pi_low": res.pi_low,
                "pi_high": res.pi_high, "tau2": res.tau2, "i2": res.i2, "q": res.q, "q_p": res.q_p,
                "studies": ";".join(usable["study"])}

    def _landmark_estimates(self, est_rows, in_rows) -> None:
        lm = self.landmarks
        labels = {g.field: g.label for g in self.plan.subgroups}
        for (ep, months, group, kind, level), sub in lm.groupby(["endpoint", "months", "group", "kind", "level"],
                                                                sort=True):
            role = sub["role"].iloc[0]
            if kind != "all patients" and role != PRIMARY:
                continue
            key = registry.landmark_key(ep, months)
            view, subgroup = (role, group) if kind == "all patients" else (SUBGROUP, group)
            analysis_label = labels.get(kind.split(":", 1)[-1], "") if kind != "all patients" else A_MAIN
            row = self._landmark_row(sub)
            pooled_from = set(_landmark_usable(sub).index) if row["rule"] == Rule.RANDOM else set(sub.index)
            est_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level,
                             **{**row, "analysis": analysis_label if kind != "all patients" else A_LANDMARK}})
            for idx, r in zip(sub.index, sub.itertuples(), strict=True):
                in_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level,
                                "analysis": analysis_label if kind != "all patients" else A_LANDMARK,
                                "study": r.study, "study_id": r.study_id, "population": r.population,
                                "events": None, "events_high": None, "total": r.n, "estimate": r.value,
                                "ci_low": r.ci_low, "ci_high": r.ci_high, "derived": r.source != survival_rules.SOURCE_REPORTED,
                                "how": r.source, "detail": landmark_detail(r),
                                "zero_events": r.source == survival_rules.SOURCE_ZERO_EVENTS,
                                "possibly_responders": bool(r.possibly_responders), "in_fit": idx in pooled_from})

    def landmark_row(self, key: str, group: str) -> pd.Series | None:
        """The primary landmark row of one population, or None."""
        est = self.estimates
        r = est[(est["outcome"] == key) & (est["subgroup"] == group) & (est["view"].isin([PRIMARY, CONTEXT]))
                & (est["analysis"] == A_LANDMARK)]
        return r.iloc[0] if len(r) else None

    # --- checks ------------------------------------------------------------------------------

    @cached_property
    def audit(self) -> pd.DataFrame:
        """The audit rows of every study (`cartpool.analysis.audit`)."""
        frames = [audit_frame(self.study_results(sd).audit) for sd in self.study_data]
        return pd.concat(frames, ignore_index=True) if frames else audit_frame([])


def landmark_detail(r) -> str:
    """What a reader must know of one study's landmark rate: no events (with the number provably at
    risk), an interval that fits another number of patients, or an event at exactly the landmark."""
    parts = [r.basis] if isinstance(r.basis, str) and r.basis else []
    if isinstance(r.n_fit_likely, str) and r.n_fit_likely:
        parts.append(f"its interval fits {r.n} patients, not the stated {r.n_stated}: possibly {r.n_fit_likely} only")
    elif r.n_stated is not None and not pd.isna(r.n_stated) and r.n != r.n_stated:
        parts.append(f"its interval fits {r.n} patients, not the stated {r.n_stated}")
    if r.tie_events and not pd.isna(r.tie_events) and r.tie_events > 0:
        parts.append(f"{int(r.tie_events)} {'event' if int(r.tie_events) == 1 else 'events'} recorded at exactly {r.months:g} months count at the landmark; "
                     f"recorded just after, {fmt.pct(r.value_if_after)}")
    return "; ".join(parts)


@functools.lru_cache(maxsize=65536)
def _own_proportion(events: int, total: int) -> tuple[float, float, float]:
    e = proportion_ci(events, total)
    return e.estimate, e.ci_low, e.ci_high


def _prior(scale: float | None) -> str:
    return f"half-normal({scale:g}) prior on τ" if scale is not None else ""


#: Quantiles of the standard half-normal distribution (median, 2.5% and 97.5%).
_HN_MEDIAN, _HN_LOW, _HN_HIGH = 0.6744898, 0.0313376, 2.2414027
#: The credible interval of tau "mostly reflects the prior" when it is at least this share of the prior's width.
PRIOR_DOMINATES = 0.8


def tau_prior_note(r: Pooled) -> str:
    """τ's posterior beside its prior, and whether the posterior mostly reflects the prior."""
    s = r.bayes_tau_prior_scale
    if s is None or r.bayes_tau is None:
        return ""
    text = (f"τ posterior median {r.bayes_tau:.2f} (95% CrI {r.bayes_tau_low:.2f}–{r.bayes_tau_high:.2f}); prior "
            f"median {_HN_MEDIAN * s:.2f} ({_HN_LOW * s:.2f}–{_HN_HIGH * s:.2f})")
    if (r.bayes_tau_high - r.bayes_tau_low) >= PRIOR_DOMINATES * (_HN_HIGH - _HN_LOW) * s:
        text += ": the data say little about the spread between studies, so the credible interval mostly " \
                "reflects the prior"
    return text


def _bayes_row(r: Pooled) -> Pooled:
    """A row that shows the Bayesian estimate of `r` as its estimate (a sensitivity analysis)."""
    return replace(r, rule="Bayesian", note=f"{_prior(r.bayes_tau_prior_scale)}; posterior median and 95% "
                   f"credible interval; {tau_prior_note(r)}", estimate=r.bayes_estimate, ci_low=r.bayes_low,
                   ci_high=r.bayes_high,
                   ci_how="95% credible interval", estimate_high=None, small_ci_low=None, small_ci_high=None,
                   pi_low=None, pi_high=None)


def _year(citation: str) -> int | None:
    years = [int(y) for y in re.findall(r"\b(20\d{2}|19\d{2})\b", citation)]
    return max(years) if years else None


def row_label(study, subset, is_range) -> str:
    """A study's label in a forest plot or table of one outcome, saying when it enters with part of
    its cohort (`subset`) or with a range rather than a count (`is_range`)."""
    notes = []
    if subset and subset not in ("all patients", NOT_SEPARABLE):
        notes.append(str(subset))
    if is_range:
        notes.append("range")
    return f"{study} ({'; '.join(notes)})" if notes else str(study)


def finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and not np.isfinite(x))

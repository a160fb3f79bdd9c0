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

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..data.known import REASONS, load_known_studies
from ..data.load import load_all
from ..data.plan import Plan, PlanPopulation, load_plan
from ..data.study_data import StudyData
from ..domain import counts as count_rules
from ..domain import record_counts, registry, survival_rules
from ..domain.population import (
    follow_up,
    main_population,
    population_kind,
    population_label,
    primary_population,
)
from ..domain.subgroups import membership
from ..text import lower_first as _lower_first
from . import survival_curves as curves
from .audit import audit_frame, audit_study
from .landmark_rows import choose_landmarks, landmark_estimates, landmark_row, study_landmark_rows
from .outcome_rows import OutcomeRows
from .pooled_rows import (
    CONTEXT,
    ESTIMATE_COLUMNS,
    INPUT_COLUMNS,
    PRIMARY,
    OutcomeResult,
    main_analysis,
    scale_of,
)
from .pooling import Pooled
from .store import ResultStore


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

    @cached_property
    def _rows(self) -> OutcomeRows:
        """Computes an outcome's rows from this analysis's counts (`cartpool.analysis.outcome_rows`)."""
        return OutcomeRows(self.available, self.plan, self.memo, self.studies["study"].tolist())

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
        return StudyResults(self._study_count_rows(sd), points,
                            study_landmark_rows(sd, points, self.plan, self.population_of(sd)), km, audit_study(sd))

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
            stated = {k: next((sd.population_size_record(p) for p in s.populations if population_kind(sd, p) == k
                               and sd.population_size(p) is not None), None) for k in ("enrolled", "infused")}
            sizes = {k: None if r is None else int(r.value) for k, r in stated.items()}
            main_size = sd.population_size_record(pop)
            rows.append({
                "study_id": s.id, "study": s.label, "design": scale_of(sd, "design"),
                "setting": s.setting_label, "disease": s.disease_group, "targets": ", ".join(s.targets.value),
                "n": sd.population_size(pop), "population": s.populations[pop].label,
                "enrolled": sizes["enrolled"], "infused": sizes["infused"],
                "n_result_id": main_size.id if main_size is not None else "",
                "enrolled_result_id": stated["enrolled"].id if stated["enrolled"] is not None else "",
                "infused_result_id": stated["infused"].id if stated["infused"] is not None else "",
                "safety_n": sd.population_size(primary_population(sd, "safety")),
                "follow_up_months": fu[0].months if fu else None,
                "follow_up": (f"{fu[0].value:g} {fu[0].unit}" + ("" if fu[0].is_main_population else
                                                                  f" in {_lower_first(fu[0].population_label)}")) if fu else "",
                "follow_up_result_id": fu[0].result_id if fu else "",
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

    @cached_property
    def _study_info(self) -> dict[str, dict]:
        """Each study's plan population, role and whether it mixes CAR targets, by id (looked up for
        every count row)."""
        st = self.studies
        return {sid: {"group": g, "role": r, "mixed_targets": m}
                for sid, g, r, m in zip(st["study_id"], st["group"], st["role"], st["mixed_targets"], strict=True)}

    def _count_row(self, sd: StudyData, key: str, kind: str, c: record_counts.ResolvedCount, level: str = "") -> dict:
        info = self._study_info[sd.study.id]
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
        landmark_estimates(self.landmarks, self.plan, est_rows, in_rows)
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

    def primary_estimate(self, t: pd.DataFrame, *, detail: bool = True) -> Pooled:
        """A population's main row refitted on the studies in `t` (rows of `available`), by the same
        rule as the main analysis (for analyses that refit it on other sets of studies: the
        cumulative meta-analysis and the update triggers, `cartpool.analysis.cumulative`). With
        `detail` False, the estimate and its interval only (no heterogeneity, no small-sample
        interval)."""
        return self._rows.pool(t, detail=detail)

    def landmark_estimate(self, sub: pd.DataFrame) -> dict:
        """The same for a landmark row (rows of `landmarks`): the fields of its row of `estimates`."""
        return landmark_row(sub, self.plan.pooling.random_effects_min_k)

    def _outcome_kept(self, o: registry.OutcomeSpec, est_rows, in_rows) -> OutcomeResult:
        """`OutcomeRows.outcome`, read back from the store where it holds the outcome's result for the same inputs:
        every study's counts of this outcome (with their places in the counts table), the studies'
        labels and the plan (and the code, in the store's key). An edit that leaves an outcome's counts
        as they were leaves its rows, tests and leave-one-out as they were."""
        if self.store is None:
            return self._rows.outcome(o, est_rows, in_rows)
        c = self.counts
        mine = c[c["outcome"] == o.key] if not c.empty else c

        def compute():
            est, inp = [], []
            return est, inp, self._rows.outcome(o, est, inp)
        est, inp, res = self.store.kept("outcomes", o.key, (o.key, mine, self.studies["study"].tolist(), self.plan),
                                        compute)
        est_rows += est
        in_rows += inp
        return res

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
                             "group": group.label, "role": group.role, "result_id": p.result_id or ""})
        return pd.DataFrame(rows, columns=["study_id", "study", "endpoint", "value", "ci_low", "ci_high",
                                           "high_not_reached", "source", "population", "n", "group", "role",
                                           "result_id"])

    @cached_property
    def landmarks(self) -> pd.DataFrame:
        """Each study's survival at each landmark (12 and 24 months), for all its patients and in each
        level of each planned subgroup: recomputed by Kaplan-Meier from the per-patient table where
        it exists, else as printed for the whole cohort, else 100% where the study reports no events
        during follow-up (with the number provably at risk)."""
        return choose_landmarks([row for sd in self.study_data for row in self.study_results(sd).landmarks])

    @cached_property
    def _main_rows(self) -> tuple[dict[tuple[str, str], pd.Series], dict[tuple[str, str], pd.DataFrame]]:
        """Each (outcome, population)'s main row of `estimates` and its studies' rows of `inputs`: the
        row of all the population's patients (the landmark row for survival at a landmark)."""
        def main(frame: pd.DataFrame) -> pd.DataFrame:
            wanted = frame["analysis"] == frame["outcome"].map(main_analysis)
            return frame[frame["view"].isin([PRIMARY, CONTEXT]) & wanted]
        est, inp = main(self.estimates), main(self.inputs)
        rows = {k: g.iloc[0] for k, g in est.groupby(["outcome", "subgroup"], sort=False)}
        studies = {k: g for k, g in inp.groupby(["outcome", "subgroup"], sort=False)}
        return rows, studies

    def main_row(self, outcome: str, population: str) -> pd.Series | None:
        """One population's main row of an outcome in `estimates` (for survival at a landmark, its
        landmark row), or None."""
        return self._main_rows[0].get((outcome, population))

    def main_inputs(self, outcome: str, population: str) -> pd.DataFrame:
        """The studies' rows of `inputs` of that row (none where there is no row)."""
        found = self._main_rows[1].get((outcome, population))
        return found if found is not None else self.inputs.iloc[0:0]

    # --- checks ------------------------------------------------------------------------------

    @cached_property
    def audit(self) -> pd.DataFrame:
        """The audit rows of every study (`cartpool.analysis.audit`)."""
        frames = [audit_frame(self.study_results(sd).audit) for sd in self.study_data]
        return pd.concat(frames, ignore_index=True) if frames else audit_frame([])




def _year(citation: str) -> int | None:
    years = [int(y) for y in re.findall(r"\b(20\d{2}|19\d{2})\b", citation)]
    return max(years) if years else None


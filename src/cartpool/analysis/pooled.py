"""The pooled analysis across studies, computed once as tidy tables.

The clinical question is CAR-T in plasma cell leukemia (PCL); multiple myeloma (MM) cohorts are
context. Every registered outcome is therefore pooled by group (disease and setting):

- primary: relapsed/refractory PCL pooled, frontline PCL on its own (groups of PCL studies);
- context: MM groups, shown beside, never mixed into a PCL estimate;
- sensitivity analyses, each offered only when it has at least two studies: inverse-variance
  logit and Freeman-Tukey models, all patients of cohorts that mix CAR targets, studies graded on
  the same scale, the other count of an ambiguous rounded percentage, bounds left out, and all
  studies mixed (PCL with MM, frontline with relapsed/refractory);
- leave-one-out in every primary group with at least three studies.

`PooledAnalysis.estimates` has one row per (outcome, view, subgroup, analysis) and
`PooledAnalysis.inputs` one row per study of each of those rows, with the same keys. Nothing is
computed while drawing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..data.load import StudyData, load_all
from ..data.model import NOT_REPORTED
from ..domain import counts as C
from ..domain import registry
from ..domain import survival as srules
from ..domain.derive import derive_endpoints
from ..domain.population import follow_up, main_population
from ..text import lower_first as _lower_first
from . import survival as surv
from .audit import audit_frame, audit_study
from .pooling import (
    MIN_STUDIES_RANDOM_EFFECTS,
    PRIMARY_METHOD,
    Pooled,
    SubgroupTest,
    common_effect_note,
    pool,
    pool_leave_one_out,
    subgroup_test,
)

PRIMARY, CONTEXT, SENSITIVITY = "primary", "context", "sensitivity"
ALL_STUDIES = "all studies"
SUBGROUP_TEST = "test for subgroup differences"

# analyses (the `analysis` column)
A_MAIN = "GLMM"
A_LOGIT = "inverse-variance logit"
A_FT = "Freeman-Tukey"
A_ALL_TARGETS = "all CAR targets"
A_SAME_SCALE = "same grading scale"
A_OTHER_COUNT = "other fitting count"
A_NO_BOUNDS = "bounds left out"
A_MIXED = "PCL and MM mixed"

#: Leave-one-out needs at least this many studies in a group (with two, it is two single studies).
LOO_MIN_K = 3

ESTIMATE_COLUMNS = ["outcome", "view", "subgroup", "analysis", "method", "rule", "note", "k", "events", "total",
                    "estimate", "ci_low", "ci_high", "ci_how", "small_ci_low", "small_ci_high", "pi_low", "pi_high",
                    "tau2", "i2", "q", "q_p", "bayes_estimate", "bayes_low", "bayes_high", "bayes_tau",
                    "bayes_tau_low", "bayes_tau_high", "studies"]
INPUT_COLUMNS = ["outcome", "view", "subgroup", "analysis", "study", "study_id", "events", "total", "derived",
                 "how", "detail"]


def group_of(sd: StudyData) -> tuple[str, str]:
    """(group label, role) of a study: "Relapsed/refractory PCL" is primary, MM is context."""
    disease = sd.study.disease_group
    setting = "Frontline" if sd.study.setting.value == "frontline" else "Relapsed/refractory"
    return f"{setting} {disease}", (PRIMARY if disease == "PCL" else CONTEXT)


#: Order in which groups are shown: the question (R/R PCL, frontline PCL), then context.
GROUP_ORDER = ("Relapsed/refractory PCL", "Frontline PCL", "Relapsed/refractory MM", "Frontline MM")


def _group_key(g: str) -> int:
    return GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER)


def scale_of(sd: StudyData, field: str) -> str:
    v = getattr(sd.study, field, NOT_REPORTED)
    if v is None or isinstance(v, str):
        return "not reported"
    value = v.value
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class OutcomeResult:
    """One outcome's pooled results: the primary and context groups, the sensitivity analyses, the
    test for subgroup differences among the PCL groups, and leave-one-out."""

    key: str
    groups: dict[str, Pooled]  # group label -> GLMM result (primary and context)
    roles: dict[str, str]
    test: SubgroupTest
    sensitivity: pd.DataFrame  # rows of `estimates` with view == "sensitivity"
    leave_one_out: pd.DataFrame
    inputs: pd.DataFrame  # the studies' counts (primary subset)
    missing: list[str]  # labels of studies that do not report it


class PooledAnalysis:
    """All pooled results, computed once on construction of each table.

    Parameters
    ----------
    studies : list of StudyData
        Every loaded study (`cartpool.data.load.load_all`).
    """

    def __init__(self, studies: list[StudyData]):
        self.study_data = studies
        self.by_id = {s.study.id: s for s in studies}

    @classmethod
    def load(cls, data_dir: str = "data/studies") -> PooledAnalysis:
        return cls(load_all(data_dir))

    # --- the studies -------------------------------------------------------------------------

    @cached_property
    def studies(self) -> pd.DataFrame:
        """One row per study: design, setting, disease, targets, size of the main population,
        median follow-up and its population, grading scales, document type, group and role."""
        rows = []
        for sd in self.study_data:
            s = sd.study
            pop = main_population(sd)
            fu = follow_up(sd)
            group, role = group_of(sd)
            rows.append({
                "study_id": s.id, "study": s.label, "design": scale_of(sd, "design"),
                "setting": s.setting_label, "disease": s.disease_group, "targets": ", ".join(s.targets.value),
                "n": sd.population_size(pop), "population": s.populations[pop].label,
                "follow_up_months": fu[0].months if fu else None,
                "follow_up": (f"{fu[0].value:g} {fu[0].unit}" + ("" if fu[0].is_main_population else
                                                                  f" in {_lower_first(fu[0].population_label)}")) if fu else "",
                "crs_grading": scale_of(sd, "crs_grading"), "icans_grading": scale_of(sd, "icans_grading"),
                "document_type": s.document_type, "group": group, "role": role,
                "mixed_targets": C.mixed_targets(sd),
            })
        return pd.DataFrame(rows)

    @cached_property
    def known_studies(self) -> pd.DataFrame:
        """Relevant studies known but not included (``known_studies.yaml`` beside the study folders),
        validated against the included studies' sources: citation, relevance, why not included, and
        which included study cites it where."""
        from pathlib import Path

        from ..data.known import REASONS, load_known_studies

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
    def counts(self) -> pd.DataFrame:
        """Every study's count of every pooled outcome, in the primary subset (BCMA-directed
        patients where a cohort mixes targets) and for all patients."""
        rows = []
        info = self.studies.set_index("study_id")
        for sd in self.study_data:
            for o in registry.OUTCOMES:
                if not o.pooled:
                    continue
                for subset, bcma in (("primary", True), ("all patients", False)):
                    c = C.outcome_count(sd, o.key, bcma_only=bcma)
                    rows.append({
                        "outcome": o.key, "subset_kind": subset, "study_id": sd.study.id,
                        "study": sd.study.label, "events": c.events, "total": c.total,
                        "available": c.available, "how": c.how, "detail": c.detail, "derived": c.derived,
                        "bound": c.bound or "", "alternatives": ";".join(map(str, c.alternatives)),
                        "subset": c.subset, "result_ids": ";".join(c.result_ids),
                        "group": info.loc[sd.study.id, "group"], "role": info.loc[sd.study.id, "role"],
                        **{f: scale_of(sd, f) for f in o.comparability},
                    })
        return pd.DataFrame(rows)

    def available(self, key: str, subset_kind: str = "primary") -> pd.DataFrame:
        c = self.counts
        t = c[(c["outcome"] == key) & (c["subset_kind"] == subset_kind) & c["available"]].copy()
        t["events"], t["total"] = t["events"].astype(int), t["total"].astype(int)
        t["_order"] = t["group"].map(_group_key)
        return t.sort_values(["_order", "study"], kind="stable").drop(columns="_order")

    # --- estimates ---------------------------------------------------------------------------

    @cached_property
    def _computed(self) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, OutcomeResult]]:
        est_rows: list[dict] = []
        in_rows: list[dict] = []
        results: dict[str, OutcomeResult] = {}
        for o in registry.OUTCOMES:
            if o.pooled:
                results[o.key] = self._outcome(o, est_rows, in_rows)
        for row in self._landmark_rows():
            est_rows.append(row)
        est = pd.DataFrame(est_rows, columns=ESTIMATE_COLUMNS)
        inputs = pd.DataFrame(in_rows, columns=INPUT_COLUMNS)
        return est, inputs, results

    @property
    def estimates(self) -> pd.DataFrame:
        """One row per pooled estimate: (outcome, view, subgroup, analysis) and the result."""
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

    def _record(self, est_rows, in_rows, key, view, subgroup, analysis, t: pd.DataFrame, r: Pooled) -> None:
        est_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "analysis": analysis,
                         **r.as_row(), "studies": ";".join(t["study"])})
        for row in t.itertuples():
            in_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "analysis": analysis,
                            "study": row.study, "study_id": row.study_id, "events": int(row.events),
                            "total": int(row.total), "derived": bool(row.derived), "how": row.how,
                            "detail": row.detail})

    def _pool(self, t: pd.DataFrame, method: str = PRIMARY_METHOD) -> Pooled:
        return pool(t["events"], t["total"], [study_row_label(r) for r in t.itertuples()], method=method)

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
            r = self._pool(sub)
            groups[g], roles[g] = r, role
            self._record(est_rows, in_rows, key, role, g, A_MAIN, sub, r)
        primary = {g: r for g, r in groups.items() if roles[g] == PRIMARY}
        test = subgroup_test(primary)
        if len(primary) > 1:
            est_rows.append({"outcome": key, "view": PRIMARY, "subgroup": SUBGROUP_TEST, "analysis": A_MAIN,
                             "method": PRIMARY_METHOD, "rule": "tested" if test.tested else "not tested",
                             "note": test.note, "k": int(sum(r.k for r in primary.values())), "q": test.q,
                             "q_p": test.p, "studies": f"df={test.df}" if test.tested else ""})
        n_before = len(est_rows)
        self._sensitivity(o, t, est_rows, in_rows)
        sens = pd.DataFrame(est_rows[n_before:], columns=ESTIMATE_COLUMNS)
        loo = self._leave_one_out(key, t)
        return OutcomeResult(key, groups, roles, test, sens, loo, t, missing)

    def _sensitivity(self, o: registry.OutcomeSpec, t: pd.DataFrame, est_rows, in_rows) -> None:
        key = o.key

        def offer(subgroup: str, analysis: str, frame: pd.DataFrame, method: str = PRIMARY_METHOD) -> None:
            if len(frame) >= 2:  # a sensitivity analysis with fewer than two studies is not one
                self._record(est_rows, in_rows, key, SENSITIVITY, subgroup, analysis, frame,
                             self._pool(frame, method))

        for g, sub in t.groupby("group", sort=False):
            if sub["role"].iloc[0] != PRIMARY:
                continue
            offer(g, A_LOGIT, sub, "logit")
            offer(g, A_FT, sub, "ft")
            allp = self.available(key, "all patients")
            allp = allp[allp["group"] == g]
            if self._mixed(sub):
                offer(g, A_ALL_TARGETS, allp)
            if registry.SAME_SCALE in o.sensitivity and o.comparability:
                field = o.comparability[0]
                scales = sub[field].value_counts()
                if len(scales) > 1:
                    common = scales.index[0]
                    same = sub[sub[field] == common]
                    offer(g, f"{A_SAME_SCALE} ({common})", same)
            if (sub["alternatives"] != "").any():
                other = sub.copy()
                alt = other["alternatives"] != ""
                other.loc[alt, "events"] = [int(a.split(";")[0]) for a in other.loc[alt, "alternatives"]]
                offer(g, A_OTHER_COUNT, other)
            if (sub["bound"] != "").any():
                offer(g, A_NO_BOUNDS, sub[sub["bound"] == ""])
        if t["group"].nunique() > 1:
            offer(ALL_STUDIES, A_MIXED, t)

    def _mixed(self, sub: pd.DataFrame) -> bool:
        return any(C.mixed_targets(self.by_id[s]) for s in sub["study_id"])

    def _leave_one_out(self, key: str, t: pd.DataFrame) -> pd.DataFrame:
        rows = []
        for g, sub in t.groupby("group", sort=False):
            if sub["role"].iloc[0] != PRIMARY or len(sub) < LOO_MIN_K:
                continue
            # the estimate only, the primary model at any k (no Bayesian model per omitted study)
            for omitted, r in zip(sub["study"], pool_leave_one_out(sub["events"], sub["total"]), strict=True):
                row = {k: v for k, v in r.as_row().items() if not k.startswith("bayes_")}  # not fitted here
                rows.append({"outcome": key, "subgroup": g, "omitted": omitted, **row})
        return pd.DataFrame(rows)

    @property
    def leave_one_out(self) -> pd.DataFrame:
        frames = [r.leave_one_out for r in self.outcome_results.values() if not r.leave_one_out.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # --- survival ----------------------------------------------------------------------------

    @cached_property
    def survival_points(self) -> dict[str, list]:
        return {sd.study.id: surv.study_points(sd) for sd in self.study_data}

    @cached_property
    def medians(self) -> pd.DataFrame:
        """Each study's headline median PFS and OS (as printed; recomputed where only the per-patient
        table gives one)."""
        rows = []
        for sd in self.study_data:
            for spec in registry.SURVIVAL:
                p = srules.headline_median(sd, self.survival_points[sd.study.id], spec.endpoint)
                if p is None:
                    continue
                group, role = group_of(sd)
                rows.append({"study_id": sd.study.id, "study": sd.study.label, "endpoint": spec.endpoint,
                             "value": p.value, "ci_low": p.ci_low, "ci_high": p.ci_high,
                             "high_not_reached": p.high_not_reached, "source": p.source,
                             "population": sd.study.populations[p.population].label
                             if p.population in sd.study.populations else p.population,
                             "group": group, "role": role})
        return pd.DataFrame(rows, columns=["study_id", "study", "endpoint", "value", "ci_low", "ci_high",
                                           "high_not_reached", "source", "population", "group", "role"])

    @cached_property
    def landmarks(self) -> pd.DataFrame:
        """Each study's landmark survival at 12 and 24 months (printed, or Kaplan-Meier), in the
        primary subset: a cohort that mixes CAR targets contributes the Kaplan-Meier estimate of its
        BCMA-directed patients where its per-patient table tells them apart, as the counts do."""
        rows = []
        for sd in self.study_data:
            group, role = group_of(sd)
            points = self.survival_points[sd.study.id]
            subset = C.MIXED_SUBSET if C.mixed_targets(sd) else "all patients"
            table = derive_endpoints(sd)
            n_table = None if table is None else len(table)
            if C.mixed_targets(sd):
                bcma = surv.km_fits(sd, bcma_only=True)
                if bcma:
                    points, subset = surv.km_points(sd, bcma), C.BCMA_SUBSET
                    n_table = len(C.bcma_rows(sd, table))
            for p in points:
                if p.kind != "landmark" or p.value is None:
                    continue
                if not any(abs(p.time_months - t) < 0.01 for t in registry.LANDMARK_MONTHS):
                    continue
                if not srules.whole_cohort(sd, p.population):
                    continue
                rows.append({"study_id": sd.study.id, "study": sd.study.label, "endpoint": p.endpoint,
                             "months": p.time_months, "value": p.value, "ci_low": p.ci_low, "ci_high": p.ci_high,
                             "source": p.source, "subset": subset,
                             "n": n_table if p.recomputed else sd.population_size(p.population),
                             "group": group, "role": role})
        df = pd.DataFrame(rows, columns=["study_id", "study", "endpoint", "months", "value", "ci_low", "ci_high",
                                         "source", "subset", "n", "group", "role"])
        # one value per study, endpoint and time: the recomputed one where both exist
        df["_rank"] = (df["source"] == srules.SOURCE_REPORTED).astype(int)
        return (df.sort_values(["study_id", "endpoint", "months", "_rank"], kind="stable")
                .drop_duplicates(["study_id", "endpoint", "months"]).drop(columns="_rank").reset_index(drop=True))

    def _landmark_rows(self) -> list[dict]:
        """Landmark survival pooled on the log(-log S) scale within each group with >= 2 studies."""
        from ..stats.summaries import pool_landmark

        rows = []
        lm = self.landmarks
        for (ep, months, group), sub in lm.groupby(["endpoint", "months", "group"], sort=True):
            usable = sub[sub["ci_low"].notna() & sub["ci_high"].notna() & (sub["value"] > 0) & (sub["value"] < 1)]
            key = f"{ep}_{int(months)}m"
            role = sub["role"].iloc[0]
            base = {"outcome": key, "view": role, "subgroup": group, "analysis": "landmark, log(−log) scale",
                    "method": "inverse variance, REML", "events": None, "total": None}
            if len(usable) < 2:
                r = sub.iloc[0]
                rows.append({**base, "rule": "single study" if len(sub) == 1 else "not pooled",
                             "note": "single study" if len(sub) == 1 else
                             "not pooled (a rate of 0% or 100%, or a CI not printed)", "k": len(sub),
                             "estimate": r["value"] if len(sub) == 1 else None,
                             "ci_low": r["ci_low"] if len(sub) == 1 else None,
                             "ci_high": r["ci_high"] if len(sub) == 1 else None, "studies": ";".join(sub["study"])})
                continue
            args = (usable["value"], usable["ci_low"], usable["ci_high"])
            if len(usable) < MIN_STUDIES_RANDOM_EFFECTS:  # tau^2 is not estimable from two studies
                res = pool_landmark(*args, tau2="EE", labels=list(usable["study"]))
                rows.append({**base, "rule": "common effect", "note": common_effect_note(res.k), "k": res.k,
                             "estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high,
                             "q": res.q, "q_p": res.q_p, "studies": ";".join(usable["study"])})
                continue
            res = pool_landmark(*args, pi_dist="t", labels=list(usable["study"]))
            small = pool_landmark(*args, knha=True, labels=list(usable["study"]))
            rows.append({**base, "rule": "random effects", "note": "", "k": res.k, "estimate": res.estimate,
                         "ci_low": res.ci_low, "ci_high": res.ci_high, "ci_how": "z",
                         "small_ci_low": small.ci_low, "small_ci_high": small.ci_high,
                         "pi_low": res.pi_low, "pi_high": res.pi_high,
                         "tau2": res.tau2, "i2": res.i2, "q": res.q, "q_p": res.q_p,
                         "studies": ";".join(usable["study"])})
        return rows

    # --- checks ------------------------------------------------------------------------------

    @cached_property
    def audit(self) -> pd.DataFrame:
        """The audit rows of every study (`cartpool.analysis.audit`)."""
        frames = [audit_frame(audit_study(sd)) for sd in self.study_data]
        return pd.concat(frames, ignore_index=True) if frames else audit_frame([])

    def analyse_all(self) -> pd.DataFrame:
        """Every pooled estimate (the benchmark's entry point: no figure is drawn)."""
        return self.estimates


def study_row_label(row) -> str:
    """A study's label in a forest plot or table of one outcome, saying when it enters with part
    of its cohort (its BCMA-directed patients) or with a lower bound rather than a count."""
    notes = (["BCMA only"] * (getattr(row, "subset", "") == C.BCMA_SUBSET)
             + [str(getattr(row, "bound", "") or "")] * bool(getattr(row, "bound", "")))
    return f"{row.study} ({'; '.join(notes)})" if notes else str(row.study)


def finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and not np.isfinite(x))

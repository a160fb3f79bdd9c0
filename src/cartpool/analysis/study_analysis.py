"""The analysis of one study: every result its report shows, computed once as tidy tables.

`StudyAnalysis` is the fitted object; `cartpool.report.study_page` renders it (HTML through Jinja2
templates, CSV straight from the frames, figures from `cartpool.plots`). Each frame keeps the
ids of the printed records it came from (`result_ids`), so that a renderer can cite them.

    a = analyse_study("hu2026")
    a.outcomes          # registered outcomes: events, total, exact CI, how obtained
    a.survival_points   # medians and landmarks, printed and recomputed
"""

from __future__ import annotations

from functools import cached_property

import pandas as pd

from ..data.load import load_study_by_id
from ..data.model import NOT_REPORTED
from ..data.risk_of_bias import proposed_overall
from ..data.study_data import StudyData
from ..data.vocabulary import ENDPOINTS
from ..domain import counts as count_rules
from ..domain import record_counts, registry, survival_rules
from ..domain.deaths import all_cause_deaths
from ..domain.derive import derive_endpoints
from ..domain.population import follow_up, main_population, population_kind, population_label
from ..domain.response import rank
from ..units import convert
from . import study_records as records
from . import study_results as results
from . import study_safety as safety
from . import survival_curves as curves
from .audit import audit_frame, audit_study
from .baseline import recompute_baseline
from .patient_fields import summarise_patient_fields
from .pooled_analysis import PooledAnalysis, StudyResults
from .store import ResultStore
from .study_limitations import limitation_rows
from .study_safety import proportion_or_none

#: Study facts shown in the header, in order, with their labels.
FACTS = (
    ("design", "Design"), ("phase", "Phase"), ("setting", "Setting"), ("disease", "Disease"),
    ("targets", "CAR target(s)"), ("products", "Product(s)"), ("dose", "Dose"),
    ("lymphodepletion", "Lymphodepletion"), ("enrolment_period", "Enrolment"), ("data_cutoff", "Data cutoff"),
    ("published", "Published"),
    ("crs_grading", "CRS grading"), ("icans_grading", "ICANS grading"), ("ctcae_version", "CTCAE version"),
)


def is_baseline(endpoint: str) -> bool:
    """Whether an endpoint is a baseline characteristic (a custom x_prior_... name counts as one)."""
    spec = ENDPOINTS.get(endpoint)
    return spec.kind == "baseline" if spec is not None else endpoint.removeprefix("x_").startswith("prior_")


def count_row(sd: StudyData, key: str, c: record_counts.ResolvedCount) -> dict:
    """One registered outcome's count as a tidy row (with its exact 95% CI)."""
    spec = registry.outcome(key)
    est, lo, hi = proportion_or_none(c.events, c.total) if c.available else (None, None, None)
    est_high = None
    if c.is_range:  # a range: both ends, and the interval widened over them
        est_high, _, hi = proportion_or_none(c.events_high, c.total)
    notes = "; ".join(sd.result(i).note for i in c.result_ids if sd.result(i).note)
    return {
        "outcome": key, "label": spec.label, "short": spec.short, "section": spec.section,
        "events": c.events, "events_high": c.events_high if c.available else None, "total": c.total,
        "estimate": est, "estimate_high": est_high, "ci_low": lo, "ci_high": hi,
        "how": c.how, "detail": c.detail, "is_range": c.is_range, "alternatives": ";".join(map(str, c.alternatives)),
        "derived": c.derived, "population": c.population or "",
        "population_label": population_label(sd, c.population) if c.population else "",
        "subset": c.subset, "result_ids": ";".join(c.result_ids), "note": notes,
    }


class StudyAnalysis:
    """Every result of one study's report, computed once (each frame on first use).

    Parameters
    ----------
    sd : StudyData
        A loaded, validated study (`cartpool.data.load`).
    store : ResultStore, optional
        The build's result store: the study's part of the pooled analysis (its counts, survival
        points, landmark rows, Kaplan-Meier fits and audit rows) is read from it where kept for the
        same content, else computed once here and kept for the validation and the pooled step.
    """

    def __init__(self, sd: StudyData, store: ResultStore | None = None):
        self.sd = sd
        self.store = store
        self.study = sd.study
        self.id = sd.study.id
        self.derived = derive_endpoints(sd)
        self.main_population = main_population(sd)

    # --- the study and its populations -------------------------------------------------------

    @cached_property
    def risk_of_bias_rows(self) -> pd.DataFrame:
        """The study's risk-of-bias judgements by domain (and per outcome where the concern is
        outcome-specific), with the recorded and proposed overall judgement."""
        a = self.sd.appraisal
        cols = ["domain", "outcomes", "judgement", "reason", "location", "quote", "registry", "overall",
                "overall_reason", "proposed_overall", "departure"]
        if a is None:
            return pd.DataFrame(columns=cols)
        over = {"overall": a.overall.judgement, "overall_reason": a.overall.reason,
                "proposed_overall": proposed_overall(a), "departure": a.overall.departure_reason or ""}
        rows = [{"domain": d, "outcomes": "", "judgement": j.judgement, "reason": j.reason, "location": j.location or "",
                 "quote": j.quote or "", "registry": j.registry or "", **over} for d, j in a.domains.items()]
        rows += [{"domain": j.domain, "outcomes": ", ".join(j.outcomes), "judgement": j.judgement, "reason": j.reason,
                  "location": j.location or "", "quote": j.quote or "", "registry": j.registry or "", **over}
                 for j in a.outcome_judgements]
        return pd.DataFrame(rows, columns=cols)

    @cached_property
    def co_interventions(self) -> pd.DataFrame:
        """Treatments given with or after the CAR-T cells, with how many patients had them."""
        rows = []
        for c in self.study.co_interventions:
            pop = c.population or self.main_population
            who = ("all patients (by protocol)" if c.patients == "all" else
                   f"{c.patients} of {self.sd.population_size(pop)}" if c.patients is not None else "not reported")
            rows.append({"kind": c.kind, "description": c.description, "patients": who,
                         "population": population_label(self.sd, pop), "location": c.location, "quote": c.quote})
        return pd.DataFrame(rows, columns=["kind", "description", "patients", "population", "location", "quote"])

    @cached_property
    def facts(self) -> pd.DataFrame:
        """Study-level facts: value as recorded, or "not reported", with the source of each."""
        rows = []
        for name, label in FACTS:
            v = getattr(self.study, name, NOT_REPORTED)
            if v is None or isinstance(v, str):
                rows.append({"field": name, "label": label, "value": None, "status": str(v or NOT_REPORTED),
                             "location": "", "quote": ""})
            else:
                rows.append({"field": name, "label": label, "value": v.value, "status": "reported",
                             "location": v.location, "quote": v.quote})
        return pd.DataFrame(rows)

    @cached_property
    def populations(self) -> pd.DataFrame:
        """Each population with its stated size (the printed 'patients' count)."""
        rows = []
        for pid, p in self.study.populations.items():
            rec = next((r for r in self.sd.results if r.endpoint == "patients" and r.statistic == "count"
                        and r.population == pid), None)
            rows.append({"population": pid, "label": p.label, "kind": getattr(p, "kind", None) or "",
                         "size": int(rec.value) if rec else None, "result_id": rec.id if rec else "",
                         "main": pid == self.main_population})
        return pd.DataFrame(rows)

    @cached_property
    def follow_up(self) -> list:
        return follow_up(self.sd)

    @property
    def n_main(self) -> int | None:
        return self.sd.population_size(self.main_population)

    # --- baseline ----------------------------------------------------------------------------

    @cached_property
    def baseline(self) -> pd.DataFrame:
        """Baseline characteristics as printed, each recomputed from the per-patient table where
        it holds them."""
        rows = []
        for r in self.sd.results:
            if not is_baseline(r.endpoint):
                continue
            rec = recompute_baseline(self.sd, self.derived, r)
            rows.append({"endpoint": r.endpoint, "category": r.category or "", "population": r.population,
                         "population_label": population_label(self.sd, r.population), "result_id": r.id,
                         "recomputed": rec.text if rec else None, "matches": rec.matches if rec else None,
                         "note": r.note or ""})
        return pd.DataFrame(rows, columns=["endpoint", "category", "population", "population_label", "result_id",
                                           "recomputed", "matches", "note"])

    # --- efficacy ----------------------------------------------------------------------------

    @cached_property
    def response_distribution(self) -> pd.DataFrame:
        """Best response by IMWG category: from the per-patient table, else the printed categories
        of one population (every category printed; the rest of that population not reported)."""
        cols = ["category", "count", "total", "how", "result_id"]
        d = self.derived
        if d is not None and "best_response" in d.columns:
            counts = d["best_response"].value_counts()
            rows = [{"category": k, "count": int(v), "total": len(d), "how": record_counts.HOW_PER_PATIENT, "result_id": ""}
                    for k, v in counts.items()]
        else:
            cats = [r for r in self.sd.results if r.endpoint == "best_response"]
            if not cats:
                return pd.DataFrame(columns=cols)
            pop = cats[0].population
            rows = []
            for r in cats:
                if r.population != pop:
                    continue
                c = record_counts.resolve_record(self.sd, r)
                if c.available:
                    rows.append({"category": r.category, "count": c.events, "total": c.total, "how": c.how,
                                 "result_id": r.id})
        df = pd.DataFrame(rows, columns=cols)
        return df.iloc[sorted(range(len(df)), key=lambda i: rank(df["category"].iloc[i]))].reset_index(drop=True)

    def counts(self, *, population: str | None = None) -> dict[str, record_counts.ResolvedCount]:
        return {o.key: count_rules.outcome_count(self.sd, o.key, population=population) for o in registry.OUTCOMES}

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """Every registered outcome (efficacy and safety) in its primary population by the plan's rule:
        events (a range where the paper prints a bound), total, exact 95% CI, how obtained; with the
        count among those infused beside it where the primary population is everyone enrolled."""
        rows = [count_row(self.sd, k, c) for k, c in self.counts().items()]
        infused = next((p for p in self.study.populations if population_kind(self.sd, p) in ("infused", "treated")
                        and self.sd.population_size(p) is not None), None)
        for row in rows:
            row["infused_text"] = ""
            if infused is not None and row["population"] and row["population"] != infused:
                c = count_rules.outcome_count(self.sd, row["outcome"], population=infused)
                if c.available and c.population == infused:
                    row["infused_text"] = f"{c.text()} among those infused"
        return pd.DataFrame(rows)

    def outcomes_in(self, section: str) -> pd.DataFrame:
        """The rows of `outcomes` of one section ("efficacy" or "safety")."""
        return self.outcomes[self.outcomes["section"] == section]

    @cached_property
    def other_safety(self) -> pd.DataFrame:
        """Safety outcomes other than the syndromes shown grade by grade (`crs_icans`,
        `registry.GRADED_SYNDROMES`); an outcome with no count stays, to be named as not reported."""
        saf = self.outcomes_in("safety")
        by_grade = {o.key for o in registry.OUTCOMES if o.endpoint in registry.GRADED_SYNDROMES}
        return saf[~saf["outcome"].isin(by_grade) | saf["events"].isna()]

    @cached_property
    def subgroup_response(self) -> pd.DataFrame:
        """Response and CR or better by each declared subgroup, from the per-patient table."""
        cols = ["field", "field_label", "level", "outcome", "events", "total", "estimate", "ci_low", "ci_high"]
        d = self.derived
        if d is None or self.study.patients is None or "responder" not in d.columns:
            return pd.DataFrame(columns=cols)
        rows = []
        for sg in self.study.patients.subgroups:
            label = self.study.patients.fields[sg].label or sg
            for level, sub in d.groupby(sg, sort=True):
                for key, col in (("orr", "responder"), ("cr_or_better", "cr_or_better")):
                    k, n = int(sub[col].sum()), len(sub)
                    est, lo, hi = proportion_or_none(k, n)
                    rows.append({"field": sg, "field_label": label, "level": level, "outcome": key, "events": k,
                                 "total": n, "estimate": est, "ci_low": lo, "ci_high": hi})
        return pd.DataFrame(rows, columns=cols)

    # --- survival ----------------------------------------------------------------------------

    @cached_property
    def kept(self) -> StudyResults | None:
        """The study's part of the pooled analysis, through the result store (None without one)."""
        if self.store is None or self.sd.plan is None:
            return None
        return PooledAnalysis([self.sd], self.sd.plan, self.store).study_results(self.sd)

    @cached_property
    def km(self) -> dict:
        """Kaplan-Meier fits of the whole per-patient table, ``{(endpoint, "all"): KaplanMeier}``."""
        return self.kept.km if self.kept is not None else curves.km_fits(self.sd)

    @cached_property
    def km_comparisons(self) -> list:
        return curves.subgroup_comparisons(self.sd)

    @cached_property
    def points(self) -> list:
        return self.kept.points if self.kept is not None else curves.study_points(self.sd, self.km)

    @cached_property
    def survival_points(self) -> pd.DataFrame:
        return curves.points_frame(self.sd, self.points)

    @cached_property
    def approximate_curves(self) -> dict:
        """Approximate curves through the printed milestones of the main population (only where
        no per-patient table exists and at least two milestones are printed)."""
        if self.km:
            return {}
        return curves.approximate_curves(self.sd, self.points, self.main_population)

    def headline_median(self, endpoint: str):
        return survival_rules.headline_median(self.sd, self.points, endpoint)

    # --- safety ------------------------------------------------------------------------------

    @cached_property
    def crs_icans(self) -> pd.DataFrame:
        """CRS and ICANS by grade with the grading scale (`study_safety.crs_icans`)."""
        return safety.crs_icans(self.sd, self.derived)

    @cached_property
    def other_adverse_events(self) -> pd.DataFrame:
        """Printed adverse events of grade >=3 that no registered outcome covers (`study_safety`)."""
        return safety.other_adverse_events(self.sd)

    @cached_property
    def adverse_event_grid(self) -> pd.DataFrame | None:
        """Highest grade of each graded adverse event (rows) per patient (columns) (`study_safety`)."""
        return safety.adverse_event_grid(self.sd, self.derived)

    @cached_property
    def death_records(self) -> pd.DataFrame:
        """Deaths and their printed causes, plus deaths counted in the per-patient table (`study_safety`)."""
        return safety.death_records(self.sd, self.derived)

    @cached_property
    def death_total(self):
        """All-cause deaths by the rule of `cartpool.domain.deaths` (a total, a range, or "at least")."""
        return all_cause_deaths(self.sd)

    # --- every record in its section (issue 26) -----------------------------------------------

    @cached_property
    def patient_fields(self) -> pd.DataFrame:
        """Every column of the per-patient tables summarised, with the section it belongs to."""
        return summarise_patient_fields(self.sd)

    def records_in(self, home: str) -> pd.DataFrame:
        """Every record of one section (`vocabulary.HOMES`) as printed: durability, treatment,
        pharmacokinetics, prognostic, neurological, haematological_immune, other."""
        return records.records_frame(self.sd, records.records_of(self.sd, home))

    def patient_fields_in(self, home: str) -> pd.DataFrame:
        pf = self.patient_fields
        return pf[pf["home"] == home]

    def also_printed(self, home: str) -> pd.DataFrame:
        """The records of a computing section (efficacy, survival, safety, deaths, and the patients
        section for population sizes, follow-up and baseline) that its own tables do not use."""
        used = {
            "efficacy": lambda: records.ids_in(self.response_distribution, self.outcomes_in("efficacy")),
            "survival": lambda: records.ids_in(self.survival_points),
            "safety": lambda: records.ids_in(self.crs_icans, self.outcomes_in("safety"), self.other_adverse_events),
            "deaths": lambda: records.ids_in(self.death_records, self.outcomes[self.outcomes["outcome"] == "nrm"],
                                       self.death_total.result_ids if self.death_total else ()),
            "population": lambda: records.ids_in(self.populations),
            "follow_up": lambda: records.ids_in(f.result_id for f in self.follow_up),
            "baseline": lambda: records.ids_in(self.baseline),
        }[home]()
        # printed numbers recomputed from the per-patient table stand beside their recomputation in
        # the checks against the paper; the section shows the recomputed value
        if self.derived is not None and not self.audit_rows.empty:
            used |= records.ids_in(self.audit_rows[self.audit_rows["check"] == "per_patient"])
        return records.also_printed(self.sd, home, used)

    def contradictions_on(self, topic: str | None) -> pd.DataFrame:
        return records.contradictions_on(self.sd, topic)

    @cached_property
    def risk_factors(self) -> pd.DataFrame:
        return records.risk_factors(self.sd)

    @cached_property
    def checklist(self) -> pd.DataFrame:
        """What clinicians look for in a CAR-T series: given, not reported, or not in the source."""
        return records.checklist(self.sd)

    @cached_property
    def links(self) -> pd.DataFrame:
        """Links to other included studies (possible patient overlap), from data/study_links.yaml."""
        return records.links_of(self.sd)

    # --- checks and limitations --------------------------------------------------------------

    @cached_property
    def audit_rows(self) -> pd.DataFrame:
        """Every printed number the data allow recomputed and compared (`cartpool.analysis.audit`)."""
        return audit_frame(self.kept.audit if self.kept is not None else audit_study(self.sd))

    @cached_property
    def limitation_rows(self) -> pd.DataFrame:
        """The limitations that follow from the data (`study_limitations.limitation_rows`)."""
        return limitation_rows(self.sd, self.n_main, self.follow_up, self.derived, self.audit_rows)

    # --- at a glance -------------------------------------------------------------------------

    @cached_property
    def glance_rows(self) -> pd.DataFrame:
        """The few numbers of the study at a glance: size, headline outcomes, headline medians."""
        rows = []
        if self.n_main is not None:
            rows.append({"kind": "patients", "value": self.n_main, "events": None, "total": None,
                         "label": population_label(self.sd, self.main_population), "source": ""})
        out = self.outcomes.set_index("outcome")
        for spec in registry.at_a_glance():
            r = out.loc[spec.key]
            if r["events"] is not None and not pd.isna(r["events"]) and r["total"]:
                rows.append({"kind": "outcome", "value": r["estimate"], "value_high": r["estimate_high"],
                             "events": int(r["events"]), "events_high": int(r["events_high"]),
                             "total": int(r["total"]), "label": r["short"],
                             "source": "range" if r["is_range"] else ("derived" if r["derived"] else "")})
        for spec in registry.SURVIVAL:
            p = self.headline_median(spec.endpoint)
            if p is not None:
                rows.append({"kind": "median", "value": p.value, "events": None, "total": None,
                             "label": f"median {spec.short}", "population": population_label(self.sd, p.population),
                             "source": "recomputed" if p.recomputed else "reported", "result_id": p.result_id})
        # counts stay whole numbers: a column that also holds None would otherwise turn them into floats
        # (a study may print no headline outcome: then it has no events_high column)
        df = pd.DataFrame(rows)
        return df.astype({c: "Int64" for c in ("events", "events_high", "total") if c in df.columns})

    # --- the page's sections: one result each (`cartpool.analysis.study_results`) ----------------

    @cached_property
    def header(self) -> results.HeaderResult:
        return results.header(self)

    @cached_property
    def glance(self) -> results.FrameResult:
        """The few numbers of the study at a glance."""
        return results.FrameResult(self.glance_rows)

    @cached_property
    def efficacy(self) -> results.EfficacyResult:
        return results.efficacy(self)

    @cached_property
    def durability(self) -> results.RecordsResult:
        return results.durability(self)

    @cached_property
    def survival(self) -> results.SurvivalResult:
        return results.survival(self)

    @cached_property
    def treatment(self) -> results.TreatmentResult:
        return results.treatment(self)

    @cached_property
    def safety(self) -> results.SafetyResult:
        return results.safety(self)

    @cached_property
    def neurological(self) -> results.RecordsResult:
        return results.records_section(self, "neurological")

    @cached_property
    def haematological_immune(self) -> results.RecordsResult:
        return results.haematological_immune(self)

    @cached_property
    def deaths(self) -> results.DeathsResult:
        return results.deaths(self)

    @cached_property
    def pharmacokinetics(self) -> results.RecordsResult:
        return results.records_section(self, "pharmacokinetics")

    @cached_property
    def prognostic(self) -> results.PrognosticResult:
        return results.prognostic(self)

    @cached_property
    def other_numbers(self) -> results.RecordsResult:
        return results.records_section(self, "other")

    @cached_property
    def audit(self) -> results.FrameResult:
        """Every printed number the data allow, recomputed and compared."""
        return results.FrameResult(self.audit_rows, "audit")

    @cached_property
    def patients(self) -> results.PatientsResult:
        return results.patients(self)

    @cached_property
    def course(self) -> results.CourseResult:
        return results.course(self)

    @cached_property
    def coverage(self) -> results.FrameResult:
        """What clinicians look for in a CAR-T series: given, not reported, or not in the source."""
        return results.FrameResult(self.checklist, "coverage")

    @cached_property
    def risk_of_bias(self) -> results.FrameResult:
        return results.FrameResult(self.risk_of_bias_rows, "risk-of-bias")

    @cached_property
    def limitations(self) -> results.FrameResult:
        return results.FrameResult(self.limitation_rows, "limitations")

    @cached_property
    def per_patient_tables(self) -> results.PerPatientResult:
        return results.per_patient_tables(self)

    def months(self, value, unit) -> float:
        return convert(float(value), unit, "months")


def analyse_study(study_id: str, *, data_dir: str = "data/studies", results_dir: str | None = None) -> StudyAnalysis:
    """Load and validate one study by id and return its analysis; an unknown id raises with the
    list of known ids. With `results_dir` (the build's result store, `cartpool.analysis.store`), the
    study's part of the pooled analysis is computed now, once, and kept there for the pooled step."""
    analysis = StudyAnalysis(load_study_by_id(data_dir, study_id), ResultStore(results_dir) if results_dir else None)
    analysis.kept  # noqa: B018 (computed or read now: the study step keeps it)
    return analysis

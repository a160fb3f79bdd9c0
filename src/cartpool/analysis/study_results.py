"""The results of a study page's sections: one typed result per section, computed once from a
`cartpool.analysis.study_analysis.StudyAnalysis`, where every selection and statistic happens.

Each result holds tidy frames (and, where a figure needs it, the fitted object, as metafor's
`rma` object holds what `forest` draws); `frames()` gives the CSV exports by name. The renderers in
`cartpool.report.study_renderers` only format a result. Each function takes the study's
`StudyAnalysis` (which imports this module, so the type is named in words only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..data import endpoint_names
from ..data.model import Study
from ..data.patients_model import PatientData
from ..domain.deaths import DeathTotal
from ..frames import frame_rows


@dataclass(frozen=True)
class SectionResult:
    """A section's result; `frames()` names the CSV files it exports (``<study>-<name>.csv``)."""

    def frames(self) -> dict[str, pd.DataFrame]:
        return {}


@dataclass(frozen=True)
class HeaderResult(SectionResult):
    study: Study
    populations: pd.DataFrame
    follow_up: list
    co_interventions: pd.DataFrame
    links: pd.DataFrame

    def frames(self):
        return {"co-interventions": self.co_interventions, "links": self.links}


@dataclass(frozen=True)
class FrameResult(SectionResult):
    """A section whose result is one frame (glance, checks, coverage, risk of bias, limitations)."""

    frame: pd.DataFrame
    name: str = ""  # its CSV name; empty: not exported

    def frames(self):
        return {self.name: self.frame} if self.name else {}


@dataclass(frozen=True)
class EfficacyResult(SectionResult):
    distribution: pd.DataFrame  # best response by category
    outcomes: pd.DataFrame  # registered efficacy outcomes
    subgroups: pd.DataFrame  # response by planned subgroup (per-patient table)
    also_printed: pd.DataFrame
    mrd_definition: str
    has_patients: bool

    def frames(self):
        return {"efficacy": self.outcomes, "subgroups": self.subgroups, "efficacy-also-printed": self.also_printed}


@dataclass(frozen=True)
class RecordsResult(SectionResult):
    """A section that shows every record of its kind as printed (`vocabulary.HOMES`), with the
    per-patient columns of that kind and the contradictions the curator recorded about it."""

    home: str
    records: pd.DataFrame
    columns: pd.DataFrame
    contradictions: pd.DataFrame
    extra: dict = field(default_factory=dict)  # section-specific facts (a grading scale, a flag)

    def frames(self):
        return {self.home.replace("_", "-"): self.records}


@dataclass(frozen=True)
class TreatmentResult(SectionResult):
    co_interventions: pd.DataFrame
    records: pd.DataFrame
    columns: pd.DataFrame
    contradictions: pd.DataFrame

    def frames(self):
        return {"treatment": self.records}


@dataclass(frozen=True)
class SurvivalResult(SectionResult):
    points: pd.DataFrame  # medians and landmarks, printed and recomputed
    km: dict  # {(endpoint, "all"): KaplanMeier} from the per-patient table
    comparisons: list  # log-rank comparisons by subgroup
    milestones: list  # printed points of the main population (no per-patient table)
    curves: dict  # approximate curves through them
    definitions: dict  # endpoint -> Sourced definition
    patient_fields: PatientData | None
    follow_up: list
    also_printed: pd.DataFrame

    def frames(self):
        return {"survival": self.points, "survival-also-printed": self.also_printed}


@dataclass(frozen=True)
class SafetyResult(SectionResult):
    crs_icans: pd.DataFrame
    outcomes: pd.DataFrame  # every registered safety outcome (the CSV)
    shown: pd.DataFrame  # those with a count, other than CRS/ICANS by grade
    not_reported: list[str]
    other_events: pd.DataFrame  # other adverse events of grade >= 3 as printed
    grid: pd.DataFrame | None  # highest CTCAE grade per patient and event
    grid_scale: str
    columns: pd.DataFrame
    also_printed: pd.DataFrame

    def frames(self):
        return {"crs-icans": self.crs_icans, "safety": self.outcomes, "adverse-events": self.other_events,
                "safety-also-printed": self.also_printed}


@dataclass(frozen=True)
class DeathsResult(SectionResult):
    total: DeathTotal | None
    deaths: pd.DataFrame
    also_printed: pd.DataFrame

    def frames(self):
        return {"deaths": self.deaths, "deaths-also-printed": self.also_printed}


@dataclass(frozen=True)
class PrognosticResult(SectionResult):
    risk_factors: pd.DataFrame
    records: pd.DataFrame
    contradictions: pd.DataFrame

    def frames(self):
        return {"prognostic-factors": self.risk_factors, "prognostic-records": self.records}


@dataclass(frozen=True)
class PatientsResult(SectionResult):
    baseline: pd.DataFrame
    has_patients: bool
    also_printed: pd.DataFrame

    def frames(self):
        return {"baseline": self.baseline, "baseline-also-printed": self.also_printed}


def baseline_export(a) -> pd.DataFrame:
    """The baseline frame with each row's characteristic in words and its value as printed."""
    b = a.baseline
    return b.assign(characteristic=[endpoint_names.characteristic_label(e, c) for e, c in
                                    zip(b["endpoint"], b["category"], strict=True)],
                    published=[a.sd.result(i).as_printed() for i in b["result_id"]])


@dataclass(frozen=True)
class CourseResult(SectionResult):
    derived: pd.DataFrame | None  # per-patient endpoints, None without follow-up per patient
    events: dict  # patient -> [(time, "second CAR-T" | "allo-HSCT")]
    label_column: str | None


@dataclass(frozen=True)
class PerPatientResult(SectionResult):
    tables: dict  # name -> (location, published rows)
    columns: pd.DataFrame  # every column summarised
    summarised_elsewhere: tuple[str, ...]  # homes whose sections summarise their own columns

    def frames(self):
        out = {f"{name}-as-published": pd.DataFrame(rows[1:], columns=rows[0])
               for name, (_loc, rows) in self.tables.items()}
        out["per-patient-columns"] = self.columns
        return out


#: The sections that summarise their own per-patient columns; the others' columns are summarised
#: in the per-patient appendix.
SECTIONS_WITH_COLUMNS = ("durability", "treatment", "safety", "neurological", "haematological_immune",
                         "pharmacokinetics", "other")

#: Subsequent therapies in the per-patient course: labels that mean a transplant, the rest a CAR-T.
_TRANSPLANT_WORDS = ("hsct", "transplant")


def subsequent_kind(label: str) -> str:
    """What a subsequent therapy printed in a per-patient table is: "allo-HSCT" or "second CAR-T"."""
    return "allo-HSCT" if any(w in label.lower() for w in _TRANSPLANT_WORDS) else "second CAR-T"


# --- compute -------------------------------------------------------------------------------------


def header(a) -> HeaderResult:
    return HeaderResult(a.study, a.populations, a.follow_up, a.co_interventions, a.links)


def efficacy(a) -> EfficacyResult:
    v = getattr(a.study, "mrd_assessment", None)
    mrd = "" if v is None or isinstance(v, str) else str(v.value)
    return EfficacyResult(a.response_distribution, a.outcomes_in("efficacy"), a.subgroup_response,
                          a.also_printed("efficacy"), mrd, a.derived is not None)


def records_section(a, home: str, **extra) -> RecordsResult:
    return RecordsResult(home, a.records_in(home), a.patient_fields_in(home), a.contradictions_on(home), extra)


def durability(a) -> RecordsResult:
    readings = {"progression_free", "relapse_free", "alive_without_progression", "alive_without_relapse"}
    recs = a.records_in("durability")
    return records_section(a, "durability", two_readings=bool(readings & set(recs["endpoint"])))


def treatment(a) -> TreatmentResult:
    return TreatmentResult(a.co_interventions, a.records_in("treatment"), a.patient_fields_in("treatment"),
                           a.contradictions_on("treatment"))


def survival(a) -> SurvivalResult:
    milestones = [p for p in a.points if p.population == a.main_population and p.value is not None] \
        if not a.km else []
    defs = a.study.patients.definitions if a.study.patients is not None else {}
    return SurvivalResult(a.survival_points, a.km, a.km_comparisons, milestones,
                          a.approximate_curves if milestones else {}, dict(defs), a.study.patients, a.follow_up,
                          a.also_printed("survival"))


def safety(a) -> SafetyResult:
    other = a.other_safety
    shown = other[other["events"].notna()]
    not_reported = [r.label for r in frame_rows(other) if r.events is None or pd.isna(r.events)]
    s = a.study
    grid_scale = (f"CRS/ICANS: {getattr(s.crs_grading, 'value', 'scale not reported')}; others: CTCAE"
                  + (f" v{s.ctcae_version.value}" if not isinstance(s.ctcae_version, str) else ""))
    return SafetyResult(a.crs_icans, a.outcomes_in("safety"), shown, not_reported, a.other_adverse_events,
                        a.adverse_event_grid, grid_scale, a.patient_fields_in("safety"), a.also_printed("safety"))


def haematological_immune(a) -> RecordsResult:
    scale = a.study.icaht_grading
    return records_section(a, "haematological_immune", icaht_scale=not isinstance(scale, str))


def deaths(a) -> DeathsResult:
    return DeathsResult(a.death_total, a.death_records, a.also_printed("deaths"))


def prognostic(a) -> PrognosticResult:
    return PrognosticResult(a.risk_factors, a.records_in("prognostic"), a.contradictions_on("prognostic"))


def patients(a) -> PatientsResult:
    also = pd.concat([a.also_printed(h) for h in ("population", "follow_up", "baseline")])
    return PatientsResult(baseline_export(a), a.derived is not None, also)


def course(a) -> CourseResult:
    d = a.derived
    if d is None or "os_time" not in d.columns:
        return CourseResult(None, {}, None)
    events: dict[str, list] = {}
    raw = a.sd.patients
    if "subsequent" in raw.columns:
        for pid, v in raw["subsequent"].items():
            if v is not None and not (isinstance(v, float) and pd.isna(v)):
                events.setdefault(str(pid), []).append((v.time, subsequent_kind(v.label)))
    label_col = next((c for c in ("target", "pcl_type") if c in d.columns), None)
    return CourseResult(d, events, label_col)


def per_patient_tables(a) -> PerPatientResult:
    tables = {name: (t.location, t.published) for name, t in a.sd.tables.items()}
    return PerPatientResult(tables, a.patient_fields, SECTIONS_WITH_COLUMNS)


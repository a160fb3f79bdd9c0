"""Standard outcomes of a study as counts (events of total), and its survival milestones,
each saying how it was obtained.

Order of preference for a count:
1. computed from the per-patient table (the paper's own definitions, `cartpool.data.derive`);
2. a count the paper prints (numerator and denominator, or a count of a stated population);
3. derived, and labelled so: the only whole number of the stated N that prints as the
   paper's percentage; a sum of response categories or of grade bands that together cover
   the outcome.
Anything else is "not reported". Values with a timepoint (for example cytopenia persisting at
1 month) are not the same outcome as "ever grade >= 3" and are never used for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .data.derive import derive_endpoints
from .data.load import StudyData
from .stats.proportions import numerator_for
from .stats.survival import kaplan_meier
from .units import convert


@dataclass(frozen=True)
class OutcomeDef:
    key: str
    label: str
    endpoint: str
    grade: str | None
    kind: str  # efficacy | safety


OUTCOMES: tuple[OutcomeDef, ...] = (
    OutcomeDef("orr", "Overall response (PR or better)", "orr", None, "efficacy"),
    OutcomeDef("cr_or_better", "CR or better", "cr_or_better", None, "efficacy"),
    OutcomeDef("mrd_negative", "MRD negativity", "mrd_negative", None, "efficacy"),
    OutcomeDef("crs_any", "CRS, any grade", "crs", "any", "safety"),
    OutcomeDef("crs_ge3", "CRS grade ≥3", "crs", ">=3", "safety"),
    OutcomeDef("icans_any", "ICANS, any grade", "icans", "any", "safety"),
    OutcomeDef("neutropenia_ge3", "Neutropenia grade ≥3", "neutropenia", ">=3", "safety"),
    OutcomeDef("thrombocytopenia_ge3", "Thrombocytopenia grade ≥3", "thrombocytopenia", ">=3", "safety"),
    OutcomeDef("anemia_ge3", "Anaemia grade ≥3", "anemia", ">=3", "safety"),
)
OUTCOME_BY_KEY = {o.key: o for o in OUTCOMES}
GE3_ALIASES = (">=3", "3-4", "3-5")

SOURCE_PATIENTS = "computed from the per-patient table"
SOURCE_REPORTED = "reported count"
SOURCE_PERCENT = "derived: the only count of the stated N that prints as the reported percentage"
SOURCE_CATEGORIES = "derived: sum of reported response categories"
SOURCE_GRADES = "derived: sum of reported grade bands"


@dataclass
class OutcomeCount:
    study_id: str
    outcome: str
    events: int | None
    total: int | None
    source: str
    population: str | None = None
    result_ids: list[str] = field(default_factory=list)
    note: str = ""
    subset: str = "all patients"

    @property
    def available(self) -> bool:
        return self.events is not None and self.total not in (None, 0)

    @property
    def proportion(self) -> float | None:
        return self.events / self.total if self.available else None


def _ae_column(df: pd.DataFrame, name: str) -> str | None:
    aliases = {"anemia": ("anemia", "anaemia")}.get(name, (name,))
    for c in df.columns:
        if c.startswith("ae:") and c[3:].lower() in aliases:
            return c
    return None


def _from_patients(sd: StudyData, d: pd.DataFrame, o: OutcomeDef, subset: str) -> OutcomeCount | None:
    pop = sd.study.patients.population
    col = None
    if o.key in ("orr", "cr_or_better", "mrd_negative"):
        col = {"orr": "responder"}.get(o.key, o.key)
        if col not in d.columns:
            return None
        flags = d[col]
    elif o.endpoint in ("crs", "icans"):
        col = f"{o.endpoint}_grade"
        if col not in d.columns:
            return None
        flags = d[col] >= (1 if o.grade == "any" else 3)
    else:
        col = _ae_column(d, o.endpoint)
        if col is None:
            return None
        flags = d[col] >= 3
    known = flags.dropna()
    if len(known) == 0:
        return None
    return OutcomeCount(sd.study.id, o.key, int(known.astype(bool).sum()), int(len(known)), SOURCE_PATIENTS,
                        pop, note=f"column {col!r}", subset=subset)


def _resolve(sd: StudyData, r) -> tuple[int | None, int | None, str, str]:
    """(events, total, source, note) for one reported count or proportion."""
    n_pop = sd.population_size(r.population)
    if r.statistic == "count":
        total = r.denominator if r.denominator is not None else n_pop
        return int(r.value), total, SOURCE_REPORTED, ""
    if r.numerator is not None and r.denominator is not None:
        return r.numerator, r.denominator, SOURCE_REPORTED, ""
    total = r.denominator if r.denominator is not None else n_pop
    if total is None:
        return None, None, "", f"{r.value}% of a population whose size is not stated"
    k = numerator_for(r.value, total) if r.unit == "percent" else None
    if k is None:
        return None, total, "", f"no whole number of {total} patients prints as {r.value}%"
    return k, total, SOURCE_PERCENT, f"{r.value}% of {total} = {k}/{total}"


def _candidates(sd: StudyData, endpoint: str, grades: tuple[str | None, ...]):
    return [r for r in sd.results
            if r.endpoint == endpoint and r.grade in grades and r.category is None
            and r.timepoint is None and r.statistic in ("count", "proportion")]


def _best(sd: StudyData, o: OutcomeDef, rs) -> OutcomeCount | None:
    resolved = []
    notes = []
    for r in rs:
        e, t, src, note = _resolve(sd, r)
        if e is None:
            notes.append(f"{r.id}: {note}")
            continue
        resolved.append(OutcomeCount(sd.study.id, o.key, e, t, src, r.population, [r.id], note))
    if not resolved:
        if notes:
            return OutcomeCount(sd.study.id, o.key, None, None, "not derivable", note="; ".join(notes))
        return None
    # prefer printed counts, then the largest population
    resolved.sort(key=lambda c: (c.source != SOURCE_REPORTED, -(c.total or 0)))
    return resolved[0]


def _from_results(sd: StudyData, o: OutcomeDef) -> OutcomeCount | None:
    grades = (None, "any") if o.grade in (None, "any") else GE3_ALIASES
    found = _best(sd, o, _candidates(sd, o.endpoint, grades))
    if found is not None and found.available:
        if o.grade == ">=3":
            g = next(r.grade for r in sd.results if r.id == found.result_ids[0])
            if g != ">=3":
                found.note = (found.note + "; " if found.note else "") + f"grade {g} as printed"
        return found
    if o.key == "cr_or_better":
        derived = _cr_from_categories(sd)
        if derived is not None:
            return derived
    if o.key == "crs_any":
        derived = _any_from_grade_bands(sd, o)
        if derived is not None:
            return derived
    return found


def _cr_from_categories(sd: StudyData) -> OutcomeCount | None:
    """CR or better = CR + sCR, when the printed categories account for every responder."""
    orr = _best(sd, OUTCOME_BY_KEY["orr"], _candidates(sd, "orr", (None,)))
    if orr is None or not orr.available:
        return None
    cats = [r for r in sd.results if r.endpoint == "best_response" and r.population == orr.population]
    resolved = {}
    for r in cats:
        e, t, _, _ = _resolve(sd, r)
        if e is None:
            return None
        resolved[r.category] = (e, r.id)
    responders = sum(e for c, (e, _) in resolved.items() if all(p in ("sCR", "CR", "VGPR", "PR") for p in c.split("/")))
    if responders != orr.events:
        return None
    cr = sum(e for c, (e, _) in resolved.items() if c in ("sCR", "CR"))
    ids = [i for _, i in resolved.values()]
    return OutcomeCount(sd.study.id, "cr_or_better", cr, orr.total, SOURCE_CATEGORIES, orr.population, ids,
                        "categories " + ", ".join(f"{c} {e}" for c, (e, _) in resolved.items()))


def _any_from_grade_bands(sd: StudyData, o: OutcomeDef) -> OutcomeCount | None:
    low = _best(sd, o, _candidates(sd, o.endpoint, ("1-2",)))
    high = _best(sd, o, _candidates(sd, o.endpoint, GE3_ALIASES))
    if low and high and low.available and high.available and low.total == high.total:
        return OutcomeCount(sd.study.id, o.key, low.events + high.events, low.total, SOURCE_GRADES,
                            low.population, low.result_ids + high.result_ids, "grade 1–2 plus grade ≥3")
    return None


def mixed_targets(sd: StudyData) -> bool:
    return len(sd.study.targets.value) > 1


def outcome_count(sd: StudyData, key: str, *, bcma_only: bool = False) -> OutcomeCount:
    """The count for one standard outcome (see the module docstring); `bcma_only` restricts a
    cohort that mixes CAR targets to its BCMA-directed patients, from per-patient data."""
    o = OUTCOME_BY_KEY[key]
    d = derive_endpoints(sd)
    subset = "all patients"
    if bcma_only and mixed_targets(sd):
        if d is not None and "target" in d.columns:
            d = d[d["target"].astype(str).str.upper().str.startswith("BCMA")]
            subset = "BCMA-directed patients (per-patient table)"
        else:
            subset = "all patients (targets mixed; the source does not allow separating them)"
    if d is not None:
        got = _from_patients(sd, d, o, subset)
        if got is not None:
            return got
    if subset.startswith("BCMA-directed"):
        return OutcomeCount(sd.study.id, key, None, None, "not reported", subset=subset,
                            note="not in the per-patient table")
    got = _from_results(sd, o)
    if got is None:
        return OutcomeCount(sd.study.id, key, None, None, "not reported", subset=subset)
    got.subset = subset
    return got


def outcome_table(studies: list[StudyData], *, bcma_only: bool = False) -> pd.DataFrame:
    """One row per (study, outcome) with events, total and provenance."""
    rows = []
    for sd in studies:
        for o in OUTCOMES:
            c = outcome_count(sd, o.key, bcma_only=bcma_only)
            rows.append({
                "study_id": sd.study.id, "label": sd.study.label, "outcome": o.key, "outcome_label": o.label,
                "events": c.events, "total": c.total, "source": c.source, "population": c.population,
                "result_ids": ";".join(c.result_ids), "note": c.note, "subset": c.subset,
                "disease": sd.study.disease_group, "setting": sd.study.setting_label,
                "crs_grading": getattr(sd.study.crs_grading, "value", "not reported"),
            })
    return pd.DataFrame(rows)


# --- survival milestones --------------------------------------------------------------------


@dataclass
class SurvivalPoint:
    study_id: str
    endpoint: str  # pfs | os | dor
    kind: str  # median | landmark
    time_months: float | None  # the landmark time, or the median itself
    value: float | None  # median (months) or S(t) as a fraction
    ci_low: float | None
    ci_high: float | None
    high_not_reached: bool
    source: str  # "reported" | "Kaplan-Meier from per-patient table"
    population: str
    result_id: str | None = None
    label: str = ""


def _months(v, unit) -> float | None:
    if v is None or v == "NR":
        return None
    return convert(float(v), unit or "months", "months")


def reported_survival(sd: StudyData) -> list[SurvivalPoint]:
    """Medians and landmark rates as printed (converted to months with `cartpool.units`)."""
    out = []
    for r in sd.results:
        if r.endpoint not in ("pfs", "os", "dor"):
            continue
        if r.statistic == "median":
            lo = _months(r.ci.low, r.unit) if r.ci else None
            hi = _months(r.ci.high, r.unit) if r.ci else None
            out.append(SurvivalPoint(sd.study.id, r.endpoint, "median", _months(r.value, r.unit),
                                     _months(r.value, r.unit), lo, hi,
                                     bool(r.ci and r.ci.high == "NR") or r.value == "NR",
                                     "reported", r.population, r.id, "median"))
        elif r.statistic == "landmark_rate":
            t = convert(float(r.timepoint.value), r.timepoint.unit, "months")
            scale = 100.0 if r.unit == "percent" else 1.0
            lo = float(r.ci.low) / scale if r.ci and r.ci.low not in (None, "NR") else None
            hi = float(r.ci.high) / scale if r.ci and r.ci.high not in (None, "NR") else None
            out.append(SurvivalPoint(sd.study.id, r.endpoint, "landmark", t, r.fraction, lo, hi, False,
                                     "reported", r.population, r.id, f"{r.timepoint.value} {r.timepoint.unit}"))
    return out


KM_CONF_TYPE = "log-log"
LANDMARKS_MONTHS = (12.0, 24.0)


def km_curves(sd: StudyData, *, by: str | None = None) -> dict[tuple[str, str], object]:
    """Kaplan-Meier fits {(endpoint, group): KaplanMeier} from the per-patient table (months)."""
    d = derive_endpoints(sd)
    out = {}
    if d is None or "os_time" not in d.columns:
        return out
    unit = d["time_unit"].iloc[0]
    groups = [("all", d)] if by is None else [(str(g), s) for g, s in d.groupby(by, sort=True)]
    for g, s in groups:
        for ep in ("pfs", "os"):
            if f"{ep}_time" in s.columns:
                t = [convert(v, unit, "months") for v in s[f"{ep}_time"]]
                out[(ep, g)] = kaplan_meier(t, s[f"{ep}_event"].astype(bool), conf_type=KM_CONF_TYPE)
    return out


def km_survival(sd: StudyData) -> list[SurvivalPoint]:
    """Medians and 12/24-month landmarks from the per-patient Kaplan-Meier curves."""
    out = []
    pop = sd.study.patients.population if sd.study.patients else ""
    src = f"Kaplan-Meier from per-patient table ({KM_CONF_TYPE} CI)"
    for (ep, _group), km in km_curves(sd).items():
        est, lo, hi = km.median()
        out.append(SurvivalPoint(sd.study.id, ep, "median", est, est, lo, hi, hi is None, src, pop, None, "median"))
        for t in LANDMARKS_MONTHS:
            s, slo, shi = km.survival_at(t)
            if s is not None:
                out.append(SurvivalPoint(sd.study.id, ep, "landmark", t, s, slo, shi, False, src, pop, None,
                                         f"{t:g} months"))
    return out

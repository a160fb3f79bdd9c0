"""Survival milestones as printed (medians and landmark rates, in months), which one is a study's
headline median, and which milestones an approximate curve may be drawn through.

Kaplan-Meier fits from per-patient tables are computed in `cartpool.analysis.survival`; this
module knows only what the papers print and the rules for showing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.load import StudyData
from ..units import convert
from .population import main_population, population_kind

#: Kaplan-Meier CI transform used for every recomputed curve (as SAS, Stata and many papers).
KM_CONF_TYPE = "log-log"

#: Population kinds that are not the whole cohort: their medians are never a study's headline.
_SUBSET_KINDS = ("subgroup", "responders")

SOURCE_REPORTED = "reported"
SOURCE_KM = "Kaplan-Meier from the per-patient table"


@dataclass(frozen=True)
class SurvivalPoint:
    """A median (months) or a landmark rate S(t) (fraction), printed or recomputed."""

    study_id: str
    endpoint: str  # pfs | os | dor
    kind: str  # median | landmark
    time_months: float | None  # the landmark time, or the median itself
    value: float | None  # median (months; None = not reached) or S(t) as a fraction
    ci_low: float | None
    ci_high: float | None
    high_not_reached: bool
    source: str  # SOURCE_REPORTED | SOURCE_KM
    population: str
    result_id: str | None = None
    label: str = ""

    @property
    def recomputed(self) -> bool:
        return self.source != SOURCE_REPORTED


def _months(v, unit) -> float | None:
    if v is None or v == "NR":
        return None
    return convert(float(v), unit or "months", "months")


def reported_points(sd: StudyData) -> list[SurvivalPoint]:
    """Medians and landmark rates as printed, converted to months with `cartpool.units`."""
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
                                     SOURCE_REPORTED, r.population, r.id, "median"))
        elif r.statistic == "landmark_rate":
            t = convert(float(r.timepoint.value), r.timepoint.unit, "months")
            scale = 100.0 if r.unit == "percent" else 1.0
            lo = float(r.ci.low) / scale if r.ci and r.ci.low not in (None, "NR") else None
            hi = float(r.ci.high) / scale if r.ci and r.ci.high not in (None, "NR") else None
            out.append(SurvivalPoint(sd.study.id, r.endpoint, "landmark", t, r.fraction, lo, hi, False,
                                     SOURCE_REPORTED, r.population, r.id,
                                     f"{r.timepoint.value:g} {r.timepoint.unit}"))
    return out


def whole_cohort(sd: StudyData, population: str) -> bool:
    """Whether a population is a whole cohort (enrolled, infused, evaluable), not a subgroup."""
    kind = population_kind(sd, population)
    if kind is not None:
        return kind not in _SUBSET_KINDS
    p = sd.study.populations.get(population)
    return p is not None and not p.where


def headline_median(sd: StudyData, points: list[SurvivalPoint], endpoint: str) -> SurvivalPoint | None:
    """The median a study's summary shows for `endpoint`.

    Rule: the median as printed for the main population, so that the summary shows what the
    paper says (the recomputed value stands beside it in the survival section and the checks);
    else the Kaplan-Meier median recomputed from the per-patient table; else one printed for
    another whole cohort (the caller shows its population). Never a subgroup's median.
    """
    meds = [p for p in points if p.endpoint == endpoint and p.kind == "median"]
    main = main_population(sd)
    for pick in ([p for p in meds if not p.recomputed and p.population == main],
                 [p for p in meds if p.recomputed],
                 [p for p in meds if not p.recomputed and whole_cohort(sd, p.population)]):
        if pick:
            return pick[0]
    return None


def curve_milestones(points: list[SurvivalPoint], endpoint: str, population: str) -> list[tuple[float, float, str]]:
    """The printed milestones of one endpoint and population an approximate curve may pass
    through: (time in months, S, what it is), sorted by time.

    A median is the point (median, 0.5). The rule for drawing (`approximate_curve_allowed`):
    at least two milestones, and the curve ends at the last one.
    """
    ms = [(p.time_months, p.value, p.label) for p in points
          if p.endpoint == endpoint and p.population == population and p.kind == "landmark"
          and p.value is not None and not p.recomputed]
    ms += [(p.value, 0.5, "median") for p in points
           if p.endpoint == endpoint and p.population == population and p.kind == "median"
           and p.value is not None and not p.recomputed]
    return sorted(ms)


#: An approximate curve needs this many printed milestones; with fewer, the points alone are shown.
MIN_CURVE_MILESTONES = 2


def approximate_curve_allowed(milestones: list[tuple[float, float, str]]) -> bool:
    """Whether an approximate curve may be drawn: at least `MIN_CURVE_MILESTONES` printed
    milestones. The curve is drawn from time 0 (S = 1) to the last milestone, never beyond."""
    return len(milestones) >= MIN_CURVE_MILESTONES

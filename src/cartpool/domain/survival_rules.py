"""Survival milestones as printed (medians and landmark rates, in months), which one is a study's
headline median, and which milestones an approximate curve may be drawn through.

Kaplan-Meier fits from per-patient tables are computed in `cartpool.analysis.survival_curves`; this
module knows only what the papers print and the rules for showing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.study_data import StudyData
from ..units import convert
from .population import main_population, population_kind

#: Kaplan-Meier CI transform used for every recomputed curve (as SAS, Stata and many papers).
KM_CONF_TYPE = "log-log"
#: How a recomputed Kaplan-Meier interval is computed, in a reader's words (pointwise, around S(t)).
KM_CI_METHOD = f"{KM_CONF_TYPE} transform, Greenwood variance"
#: How a recomputed median's interval is computed, in a reader's words (`stats.kaplan_meier`).
KM_MEDIAN_CI_METHOD = "as R's survival package gives them (Brookmeyer and Crowley)"

#: Population kinds that are not the whole cohort: their medians are never a study's headline.
_SUBSET_KINDS = ("subgroup", "responders")

SOURCE_REPORTED = "reported"
SOURCE_KM = "Kaplan-Meier from the per-patient table"
SOURCE_ZERO_EVENTS = "no events reported during follow-up"


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
    # Where no event was reported: the number of patients provably at risk at the landmark, what that
    # number rests on, and the records behind it.
    at_risk_min: int | None = None
    basis: str = ""
    result_ids: tuple[str, ...] = ()
    # A Kaplan-Meier landmark with events recorded at exactly its time: how many, and the estimate
    # if they had fallen just after it (the table's time resolution cannot tell the two apart).
    tie_events: int = 0
    value_if_after: float | None = None

    @property
    def recomputed(self) -> bool:
        return self.source not in (SOURCE_REPORTED, SOURCE_ZERO_EVENTS)

    @property
    def zero_events(self) -> bool:
        return self.source == SOURCE_ZERO_EVENTS


def _months(v, unit) -> float | None:
    if v is None or v == "NR":
        return None
    return convert(float(v), unit or "months", "months")


def reported_points(sd: StudyData) -> list[SurvivalPoint]:
    """Medians and landmark rates as printed, converted to months with `cartpool.units`.

    Parameters
    ----------
    sd : StudyData
        The study.

    Returns
    -------
    list of SurvivalPoint
        One per printed median or landmark rate of PFS, OS or duration of response, in record
        order, with source "reported". A median's value and time are in months (None when "not
        reached", and `high_not_reached` set then or when its upper limit is "NR"); a landmark
        rate's value and limits are fractions (a "not reached" limit is None).

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc.
    1958;53:457-81.
    Brookmeyer R, Crowley J. A confidence interval for the median survival time. Biometrics
    1982;38:29-41.
    """
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
    """Whether a population is a whole cohort (enrolled, infused, evaluable), not a subgroup.

    Parameters
    ----------
    sd : StudyData
        The study.
    population : str
        A population id.

    Returns
    -------
    bool
        By the declared kind where there is one (False for "subgroup" and "responders"); else
        True for a declared population without a `where` mapping; False for an unknown one.

    References
    ----------
    None: a convention of this project (population kinds, data/README.md).
    """
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

    Parameters
    ----------
    sd : StudyData
        The study.
    points : list of SurvivalPoint
        Printed and recomputed survival points of the study.
    endpoint : {"pfs", "os", "dor"}
        The endpoint.

    Returns
    -------
    SurvivalPoint or None
        The first median found by the rule, in the order of `points`; None when there is none.

    References
    ----------
    None: a convention of this project (docs/architecture.md, "the headline median").
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

    Parameters
    ----------
    points : list of SurvivalPoint
        Survival points; recomputed ones and those without a value are left out.
    endpoint : {"pfs", "os", "dor"}
        The endpoint.
    population : str
        The population id.

    Returns
    -------
    list of (float, float, str)
        (time in months, S as a fraction, label), sorted by time, then S.

    References
    ----------
    Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
    reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
    2012;12:9 (survival data taken from what a paper prints).
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
    milestones. The curve is drawn from time 0 (S = 1) to the last milestone, never beyond.

    Parameters
    ----------
    milestones : list of (float, float, str)
        The printed milestones (`curve_milestones`).

    Returns
    -------
    bool
        True with at least `MIN_CURVE_MILESTONES` (2) milestones.

    References
    ----------
    None: a convention of this project (an approximate curve is drawn only between printed
    points, never extrapolated).
    """
    return len(milestones) >= MIN_CURVE_MILESTONES


def _zero_count(sd: StudyData, endpoints: tuple[str, ...], population: str):
    """A printed count of 0 for one of `endpoints` in `population` (no timepoint, no category)."""
    return next((r for r in sd.results if r.endpoint in endpoints and r.population == population
                 and r.statistic == "count" and r.category is None and r.timepoint is None and r.value == 0), None)


def zero_event_points(sd: StudyData, landmarks: tuple[float, ...]) -> list[SurvivalPoint]:
    """Landmark survival where a study reports no events during its follow-up.

    Where a population with a printed median follow-up F has no relapse or progression and no death
    (progression-free survival), or no death (overall survival), the Kaplan-Meier estimate is 100% at
    every landmark within follow-up. Its interval is the Clopper-Pearson interval of m of m, with m
    the smallest number of patients provably at risk at the landmark: half of them (rounded up) when
    the landmark is at most F, for at least half the patients were followed for F or longer; one when
    only the longest printed follow-up or remission reaches it. The assumption, stated with the point,
    is that follow-up is counted from the infusion. Such a point is shown, never pooled.

    Parameters
    ----------
    sd : StudyData
        The study.
    landmarks : tuple of float
        Landmark times in months.

    Returns
    -------
    list of SurvivalPoint
        For each population with a printed median follow-up and a size, and printed counts of 0
        deaths (OS) or of 0 deaths and 0 relapses or progressions (PFS): a point S = 1 with the
        interval (0.025^(1/m), 1) at each landmark that follow-up reaches, its at-risk minimum m,
        the basis in words and the records it rests on. Empty when no study population qualifies.

    References
    ----------
    Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the
    binomial. Biometrika 1934;26:404-413.
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc.
    1958;53:457-81.
    The rule is stated in docs/statistics.md ("No events during follow-up").
    """
    out = []
    for f in (r for r in sd.results if r.endpoint == "follow_up" and r.statistic == "median" and r.value != "NR"):
        pop, n = f.population, sd.population_size(f.population)
        if n is None:
            continue
        fu = convert(float(f.value), f.unit or "months", "months")
        longest = [r for r in sd.results if r.population == pop and r.statistic == "maximum"
                   and r.endpoint in ("dor", "follow_up") and r.value != "NR"]
        deaths = _zero_count(sd, ("death",), pop)
        relapses = _zero_count(sd, ("progression", "relapse"), pop)
        for endpoint, records in (("pfs", (relapses, deaths)), ("os", (deaths,))):
            if any(r is None for r in records):
                continue
            for t in landmarks:
                if t <= fu:
                    m, why, ids = (n + 1) // 2, (f"at least {(n + 1) // 2} of {n} patients were followed for the median "
                                                 f"follow-up of {f.value:g} {f.unit} or longer"), (f.id,)
                else:
                    reach = [r for r in longest if convert(float(r.value), r.unit or "months", "months") >= t]
                    if not reach:
                        continue
                    r = reach[0]
                    m, why, ids = 1, (f"one patient's {'remission' if r.endpoint == 'dor' else 'follow-up'} lasted "
                                      f"{r.value:g} {r.unit}"), (r.id,)
                lower = 0.025 ** (1 / m)  # Clopper-Pearson lower limit of m/m (upper limit 1)
                basis = (f"0 events in {n} patients during follow-up; {why}, assuming follow-up is counted from "
                         f"the infusion, so at least {m} {'was' if m == 1 else 'were'} at risk at {t:g} months")
                out.append(SurvivalPoint(sd.study.id, endpoint, "landmark", t, 1.0, lower, 1.0, False,
                                         SOURCE_ZERO_EVENTS, pop, None, f"{t:g} months", at_risk_min=m, basis=basis,
                                         result_ids=tuple(r.id for r in records) + ids))
    return out

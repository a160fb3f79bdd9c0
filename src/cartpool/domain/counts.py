"""The count of patients (events out of a total) that answers each registered outcome, from what a
study prints, each saying how it was obtained.

Order of preference for an outcome (each outcome lists its own in `cartpool.domain.registry`):

1. computed from the per-patient table with the paper's own definitions (`derive`);
2. printed: a count, a numerator with its denominator, or a percentage of a stated population
   turned into the count(s) of that population that print as it (`printed`);
3. derived from other printed counts: response categories that add up to the outcome, grade
   bands (1-2 plus >=3) that add up to any grade, deaths whose cause is not relapse;
4. a range: a printed number that bounds the outcome (sCR 7 of 8: CR or better in 7 to 8 of 8),
   kept with both of its ends and never turned into a count.

Every count is for one population, the primary population of its kind of outcome by the analysis
plan (`cartpool.domain.population.primary_population`) unless the caller names another. A count
printed for a narrower population is carried to it by the rule of `cartpool.domain.record_counts`
(intention to treat; a range where patients were not evaluable).

A rounded percentage can fit two counts (84% of 128 is 107 or 108). The count nearest to
p x N is used and the other is kept (`alternatives`) for a sensitivity analysis; the label says
"derived (107 or 108 fit; 108 used)". Anything else is "not reported". Values with a timepoint ("grade >=3 persisting at 1 month") are a different outcome and
never used for "ever".
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ..data.study_data import StudyData
from . import grades, registry
from .derive import derive_endpoints
from .population import primary_population
from .record_counts import (
    HOW_CATEGORIES,
    HOW_DEATH_CAUSES,
    HOW_GRADES,
    HOW_ITT,
    HOW_PER_PATIENT,
    HOW_PRINTED,
    ResolvedCount,
    carry_to,
    not_reported,
    record_total,
    resolve_record,
)
from .response import THRESHOLDS, at_least, is_response, straddles
from .subgroups import NOT_SEPARABLE, membership


def _records(sd: StudyData, endpoint: str, band: str | None):
    """Printed counts and proportions of an outcome: no category, no timepoint, a matching band."""
    printed = grades.printed_bands_for(band)
    return [r for r in sd.results
            if r.endpoint == endpoint and r.category is None and r.timepoint is None
            and r.statistic in ("count", "proportion") and (r.grade in printed if band is not None else True)]


def _best(cands: list[tuple[ResolvedCount, int]]) -> ResolvedCount | None:
    """Among counts carried to one population: a count before a range, the most direct first (the
    population's own, then intention to treat, then evaluable only), printed before derived, the
    narrower range, the larger N."""
    if not cands:
        return None
    return min(cands, key=lambda cd: (cd[0].is_range, cd[1], cd[0].how not in (HOW_PRINTED, HOW_ITT),
                                      (cd[0].events_high or 0) - (cd[0].events or 0), -(cd[0].total or 0)))[0]


def _best_printed(sd: StudyData, endpoint: str, band: str | None, population: str, *,
                  allow_range: bool) -> ResolvedCount | None:
    got, failed = [], []
    for r in _records(sd, endpoint, band):
        c = resolve_record(sd, r)
        if c.is_range and not allow_range:
            continue
        if not c.available:
            failed.append(c)
            continue
        carried = carry_to(sd, c, population)
        if carried is not None:
            got.append(carried)
    best = _best(got)
    if best is not None:
        printed_band = sd.result(best.result_ids[0]).grade
        if band == ">=3" and printed_band not in (None, ">=3"):
            best = replace(best, detail=(best.detail + "; " if best.detail else "") +
                           f"printed as grade {grades.display(printed_band)}")
        return best
    return failed[0] if failed else None


def _from_categories(sd: StudyData, threshold: str, population: str) -> ResolvedCount | None:
    """Patients at `threshold` or better as the sum of printed best-response categories of one
    population. Where the printed categories do not account for every patient, or a joined
    category ("VGPR/PR") straddles the threshold, the count is a range."""
    cands = []
    for pop in dict.fromkeys(r.population for r in sd.results if r.endpoint == "best_response"):
        cats = [r for r in sd.results if r.endpoint == "best_response" and r.population == pop]
        resolved = {}
        for r in cats:
            c = resolve_record(sd, r)
            if not c.available or c.alternatives or c.is_range:
                break
            resolved[r.category] = (c.events, r.id)
        else:
            total = sd.population_size(pop)
            if total is None or not resolved:
                continue
            if any(at_least(c, threshold) is None for c in resolved):
                continue
            across = {c for c in resolved if straddles(c, threshold)}
            covered = sum(e for e, _ in resolved.values())
            responders = sum(e for c, (e, _) in resolved.items() if is_response(c))
            orr = _best_printed(sd, "orr", None, pop, allow_range=False)
            complete = covered == total or (orr is not None and orr.available and orr.population == pop
                                            and responders == orr.events and at_least(threshold, "PR"))
            k = sum(e for c, (e, _) in resolved.items() if at_least(c, threshold))
            either = sum(e for c, (e, _) in resolved.items() if c in across)
            ids = tuple(i for _, i in resolved.values())
            detail = ", ".join(f"{c} {e}" for c, (e, _) in resolved.items())
            if across:
                detail += f"; {' and '.join(sorted(across))} not split at {threshold}"
            if complete:
                high = k + either if either else None
                c = ResolvedCount(k, total, HOW_CATEGORIES, detail, ids, pop, high=high)
            elif k > 0 or either:
                c = ResolvedCount(k, total, HOW_CATEGORIES, detail + "; other categories not printed", ids, pop,
                                  high=k + either + (total - covered))
            else:
                continue
            carried = carry_to(sd, c, population)
            if carried is not None:
                cands.append(carried)
    return _best(cands)


def _from_grade_bands(sd: StudyData, endpoint: str, population: str) -> ResolvedCount | None:
    """Any grade as grade 1-2 plus grade >=3, printed for the same population."""
    low = _best_printed(sd, endpoint, "1-2", population, allow_range=False)
    high = _best_printed(sd, endpoint, ">=3", population, allow_range=False)
    if low and high and low.available and high.available and low.total == high.total:
        return ResolvedCount(low.events + high.events, low.total, HOW_GRADES, "grade 1–2 plus grade ≥3",
                             low.result_ids + high.result_ids, population)
    return None


def _from_death_causes(sd: StudyData, population: str) -> ResolvedCount | None:
    """Non-relapse deaths: deaths in `population` whose printed cause is not relapse or progression,
    when the printed causes account for every death. Deaths counted in a subgroup (for example
    among complete responders) say nothing of the whole cohort."""
    deaths = [r for r in sd.results if r.endpoint == "death" and r.category is None and r.statistic == "count"
              and r.timepoint is None and r.bound is None and r.population == population]
    if not deaths:
        return None
    d = deaths[0]
    total = record_total(sd, d)
    causes = [r for r in sd.results if r.endpoint == "death" and r.category is not None
              and r.population == d.population and r.statistic == "count"]
    if int(d.value) == 0:
        return ResolvedCount(0, total, HOW_DEATH_CAUSES, "no deaths", (d.id,), d.population)
    if sum(int(r.value) for r in causes) != int(d.value):
        return None
    nrm = sum(int(r.value) for r in causes if not relapse_related(r))
    detail = ", ".join(f"{r.category} {r.value}" for r in causes)
    return ResolvedCount(nrm, total, HOW_DEATH_CAUSES, detail, (d.id, *(r.id for r in causes)), d.population)


def relapse_related(r) -> bool:
    """Whether a death record's cause is relapse or progression of the disease.

    Parameters
    ----------
    r : ReportedResult
        A death record with a cause (`category`).

    Returns
    -------
    bool
        The record's `relapse_related` flag where the curator set it; otherwise whether its cause
        mentions progression, relapse or disease (case-insensitive).

    References
    ----------
    Iacobelli S; EBMT Statistical Committee. Suggestions on the use of statistical methodologies
    in studies of the European Group for Blood and Marrow Transplantation. Bone Marrow
    Transplant. 2013;48 Suppl 1:S1-37 (non-relapse mortality: death without relapse or
    progression).
    """
    flag = getattr(r, "relapse_related", None)
    if flag is not None:
        return bool(flag)
    cause = (r.category or "").lower()
    return any(w in cause for w in ("progress", "relapse", "disease"))


def _per_patient_flags(d: pd.DataFrame, spec: registry.OutcomeSpec) -> tuple[pd.Series, str] | None:
    rule = spec.per_patient
    if rule is None:
        return None
    if rule.kind == "flag":
        return (d[rule.column], rule.column) if rule.column in d.columns else None
    if rule.kind == "grade":
        return (grades.flags(d[rule.column], spec.grade), rule.column) if rule.column in d.columns else None
    for c in d.columns:
        if c.startswith("ae:") and c[3:].strip().lower() in rule.names:
            col = d[c]
            known = col.dropna()
            if len(known) and known.map(lambda v: isinstance(v, bool)).all():
                return col, c
            return grades.flags(pd.to_numeric(col, errors="coerce"), spec.grade), c
    return None


def _from_patients(sd: StudyData, d: pd.DataFrame, spec: registry.OutcomeSpec, subset: str) -> ResolvedCount | None:
    got = _per_patient_flags(d, spec)
    if got is None:
        return None
    flags, _column = got
    known = flags.dropna()
    if len(known) == 0:
        return None
    return ResolvedCount(int(known.astype(bool).sum()), int(len(known)), HOW_PER_PATIENT, "", (),
                         sd.study.patients.population, subset=subset)


def mixed_targets(sd: StudyData) -> bool:
    """Whether the cohort mixes CAR target antigens (for example BCMA and GPRC5D).

    Parameters
    ----------
    sd : StudyData
        The study.

    Returns
    -------
    bool
        True when study.yaml lists more than one target.

    References
    ----------
    None: a convention of this project (the CAR target subgroup of data/analysis_plan.yaml).
    """
    return len(sd.study.targets.value) > 1


def outcome_count(sd: StudyData, key: str, *, population: str | None = None,
                  subgroup: tuple[str, str] | None = None) -> ResolvedCount:
    """The count of one registered outcome in one study (see the module docstring).

    Parameters
    ----------
    sd : StudyData
        The study.
    key : str
        An outcome key of `cartpool.domain.registry.OUTCOMES`.
    population : str, optional
        The population to count in; by default the primary population of the outcome's kind by the
        analysis plan (everyone enrolled for response, everyone infused for toxicity).
    subgroup : (field, level), optional
        Restrict to one level of a subgroup named in the plan, for example ("target",
        "BCMA-directed"). A study that mixes levels is split by its per-patient table; printed
        counts then cover all patients and are not used.

    Returns
    -------
    ResolvedCount
        With `subset` saying which patients it covers.

    References
    ----------
    International Conference on Harmonisation. E9: Statistical principles for clinical trials.
    1998 (intention to treat).
    Higgins JPT, Thomas J, Chandler J, et al., eds. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4. Cochrane; 2023, chapters 5 (collecting data) and 6 (dichotomous
    outcome data).
    The order of derivations and the denominators are stated in docs/statistics.md
    ("Denominators") and data/README.md.
    """
    spec = registry.outcome(key)
    population = population or primary_population(sd, spec.section)
    d = derive_endpoints(sd, copy=False)  # read only
    subset = "all patients"
    split = False
    if subgroup is not None:
        field, level = subgroup
        m = membership(sd, field)
        if m.whole != level:
            if level not in m.rows:
                return not_reported(detail=m.note or "not in this subgroup",
                                    subset=NOT_SEPARABLE if m.note == NOT_SEPARABLE else "none")
            d = d.loc[list(m.rows[level])]
            split = True
        subset = level
    for way in spec.derivations:
        got = None
        if way == registry.PER_PATIENT and d is not None:
            got = _from_patients(sd, d, spec, subset)
            if got is not None and not split:
                carried = carry_to(sd, got, population)
                got = carried[0] if carried else None
            if got is None and split:
                return not_reported(detail="not in the per-patient table", subset=subset)
        elif split:
            continue  # a printed count covers all patients, not one subgroup's
        elif way == registry.PRINTED:
            got = _best_printed(sd, spec.endpoint, spec.grade, population, allow_range=False)
        elif way == registry.RESPONSE_CATEGORIES and spec.endpoint in THRESHOLDS:
            got = _from_categories(sd, THRESHOLDS[spec.endpoint], population)
            if got is not None and got.is_range and registry.BOUND not in spec.derivations:
                got = None
        elif way == registry.GRADE_BANDS:
            got = _from_grade_bands(sd, spec.endpoint, population)
        elif way == registry.BOUND:
            got = _best_printed(sd, spec.endpoint, spec.grade, population, allow_range=True)
        elif way == registry.DEATH_CAUSES:
            got = _from_death_causes(sd, population)
        if got is not None and got.available:
            return replace(got, subset=subset)
    # nothing available: say why, from the first printed record that failed
    failed = None if split else _best_printed(sd, spec.endpoint, spec.grade, population, allow_range=True)
    if failed is not None:
        return replace(failed, subset=subset)
    return not_reported(subset=subset)

"""Counts of patients (events out of a total) from what a study prints, each saying how it was
obtained. This is the one place that turns a printed record into a count.

Order of preference for an outcome (each outcome lists its own in `cartpool.domain.registry`):

1. computed from the per-patient table with the paper's own definitions (`derive`);
2. printed: a count, a numerator with its denominator, or a percentage of a stated population
   turned into the count(s) of that population that print as it (`printed`);
3. derived from other printed counts: response categories that add up to the outcome, grade
   bands (1-2 plus >=3) that add up to any grade, deaths whose cause is not relapse;
4. a bound: a printed value that the outcome is at least (or at most).

A rounded percentage can fit two counts (84% of 128 is 107 or 108). The count nearest to
p x N is used and the other is kept (`alternatives`) for a sensitivity analysis; the label says
"derived (107 or 108 fit; 108 used)". Anything else is "not reported". Values with a timepoint
("grade >=3 persisting at 1 month") are a different outcome and never used for "ever".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from ..data.load import StudyData
from . import grades, registry
from .derive import derive_endpoints
from .population import main_population, population_kind
from .printed import numerators_for, rounds_to
from .response import THRESHOLDS, at_least, is_response

# How a count was obtained, in the words a reader sees.
HOW_PER_PATIENT = "computed from the per-patient table"
HOW_PRINTED = "printed count"
HOW_PERCENT = "derived from the printed percentage"
HOW_PERCENT_AMBIGUOUS = "derived from the printed percentage (more than one count fits)"
HOW_CATEGORIES = "derived: sum of printed response categories"
HOW_GRADES = "derived: sum of printed grade bands"
HOW_DEATH_CAUSES = "derived: deaths whose printed cause is not relapse or progression"
HOW_BOUND = "bound"
HOW_NOT_REPORTED = "not reported"
HOW_NOT_DERIVABLE = "not derivable from what is printed"

#: Population kinds whose counts answer "all treated patients", then the rest.
_POPULATION_PREFERENCE = {"infused": 0, "treated": 0, "enrolled": 1, None: 2, "evaluable": 3}


@dataclass(frozen=True)
class ResolvedCount:
    """A count of patients with its provenance.

    `events`/`total` are None when the count is not available; `how` then says why. `detail`
    adds what a reader needs to check it ("75.0% of 12"; "107 or 108 fit; 108 used").
    `alternatives` are other counts that fit an ambiguous rounded percentage. `bound` is
    "at least" or "at most" when the count bounds the outcome rather than measures it.
    """

    events: int | None
    total: int | None
    how: str
    detail: str = ""
    result_ids: tuple[str, ...] = ()
    population: str | None = None
    alternatives: tuple[int, ...] = ()
    bound: str | None = None
    subset: str = "all patients"

    @property
    def available(self) -> bool:
        return self.events is not None and self.total not in (None, 0)

    @property
    def proportion(self) -> float | None:
        return self.events / self.total if self.available else None

    @property
    def derived(self) -> bool:
        return self.how not in (HOW_PER_PATIENT, HOW_PRINTED, HOW_NOT_REPORTED, HOW_NOT_DERIVABLE)

    def describe(self) -> str:
        """How the count was obtained, with its detail, as one phrase."""
        text = self.how
        if self.bound:
            text = f"{self.bound} (bound from a printed value)"
        return f"{text} ({self.detail})" if self.detail else text


def not_reported(how: str = HOW_NOT_REPORTED, detail: str = "", subset: str = "all patients") -> ResolvedCount:
    return ResolvedCount(None, None, how, detail, subset=subset)


def record_total(sd: StudyData, r) -> int | None:
    """The denominator of a printed record: its own, else its population's stated size."""
    return r.denominator if r.denominator is not None else sd.population_size(r.population)


def resolve_record(sd: StudyData, r) -> ResolvedCount:
    """The count a printed count or proportion record stands for.

    Parameters
    ----------
    sd : StudyData
        The study the record belongs to.
    r : ReportedResult
        A record with statistic "count" or "proportion".

    Returns
    -------
    ResolvedCount
        Printed counts as printed; a percentage of a stated N as the count(s) of N that print as
        it, the nearest to p x N used and the others kept as `alternatives`; otherwise a
        not-available count whose `detail` says why.
    """
    total = record_total(sd, r)
    bound = getattr(r, "bound", None)
    bound = {"at_least": "at least", "at_most": "at most"}.get(bound, bound)
    if r.statistic == "count":
        return ResolvedCount(int(r.value), total, HOW_PRINTED, "", (r.id,), r.population, bound=bound)
    if r.numerator is not None and r.denominator is not None:
        return ResolvedCount(r.numerator, r.denominator, HOW_PRINTED, "", (r.id,), r.population, bound=bound)
    if total is None:
        return ResolvedCount(None, None, HOW_NOT_DERIVABLE,
                             f"{r.value}{'%' if r.unit == 'percent' else ''} of a population whose size is not "
                             "stated", (r.id,), r.population)
    if r.unit == "fraction":
        ks = [k for k in range(total + 1) if rounds_to(k / total, r.value, scale=1.0) == "exact"]
    else:
        other = other_population_fitting(sd, _group_of(sd, r))
        if other is not None:
            together = "the percentages printed with it fit" if len(_group_of(sd, r)) > 1 else "it fits"
            return ResolvedCount(None, total, HOW_NOT_DERIVABLE,
                                 f"{together} {other[0]} patients ({sd.study.populations[other[1]].label.lower()}), "
                                 f"not the stated {total}", (r.id,), r.population)
        ks = numerators_for(r.value, total)
    if not ks:
        return ResolvedCount(None, total, HOW_NOT_DERIVABLE,
                             f"no whole number of {total} patients prints as {r.value}%", (r.id,), r.population)
    target = float(r.value) / (100.0 if r.unit == "percent" else 1.0) * total
    chosen = min(ks, key=lambda k: (abs(k - target), -k))
    others = tuple(k for k in ks if k != chosen)
    if others:
        fits = " or ".join(map(str, ks))
        detail = f"{r.value}% of {total}: {fits} fit; {chosen} used"
        how = HOW_PERCENT_AMBIGUOUS
    else:
        detail, how = f"{r.value}% of {total}", HOW_PERCENT
    return ResolvedCount(chosen, total, how, detail, (r.id,), r.population, others, bound)


def _is_table(location: str) -> bool:
    return bool(location) and location.split()[0].lower() in ("table", "figure", "supplementary", "online")


def _same_place(a, b) -> bool:
    """Printed together: one table or figure block, or one sentence (a quote inside another)."""
    if a.population != b.population or a.location != b.location or a.timepoint != b.timepoint:
        return False
    return _is_table(a.location) or a.quote in b.quote or b.quote in a.quote


def printed_together(records: list) -> list[list]:
    """The percentages a paper prints together, as groups: one table or figure block, or one
    sentence, for one population and time point. A group never mixes populations."""
    groups: list[list] = []
    pending = list(records)
    while pending:
        group = [pending.pop(0)]
        grew = True
        while grew:
            grew = False
            for r in list(pending):
                if any(_same_place(r, g) for g in group):
                    group.append(r)
                    pending.remove(r)
                    grew = True
        groups.append(group)
    return groups


def joint_denominators(records: list, up_to: int) -> list[int]:
    """The denominators up to `up_to` that give every percentage of a group at its printed precision."""
    return [n for n in range(1, up_to + 1) if all(numerators_for(r.value, n) for r in records)]


def other_population_fitting(sd: StudyData, records: list) -> tuple[int, str] | None:
    """When the stated N does not fit every percentage of a group printed together but the size
    of another population of the study does: (its size, its id). Otherwise None.

    For example Jin 2025 prints grade ≥3 anaemia, neutropenia and thrombocytopenia at one month
    as 39.6%, 43.3% and 52.2% "of patients": no count of the 141 infused gives 39.6% or 52.2%,
    but 53, 58 and 70 of the 134 evaluable give all three.
    """
    pop = records[0].population
    stated = sd.population_size(pop)
    if stated is None or any(r.unit != "percent" for r in records):
        return None
    if all(numerators_for(r.value, stated) for r in records):
        return None
    for key in sd.study.populations:
        m = sd.population_size(key)
        if key != pop and m is not None and all(numerators_for(r.value, m) for r in records):
            return m, key
    return None


def _group_of(sd: StudyData, r) -> list:
    candidates = [x for x in sd.results if x.statistic == "proportion" and x.unit == "percent"
                  and x.numerator is None and x.population == r.population]
    return next((g for g in printed_together(candidates) if r in g), [r])


def count_of_record(sd: StudyData, rid: str) -> int | None:
    """The count a record (or ``population:<id>``, a population's stated size) stands for, when
    it is unambiguous; None otherwise. Used for sums a paper implies."""
    if rid.startswith("population:"):
        return sd.population_size(rid.split(":", 1)[1])
    c = resolve_record(sd, sd.result(rid))
    return c.events if c.available and not c.alternatives else None


# --- outcomes ----------------------------------------------------------------------------------


def _records(sd: StudyData, endpoint: str, band: str | None):
    """Printed counts and proportions of an outcome: no category, no timepoint, a matching band."""
    printed = grades.printed_bands_for(band)
    return [r for r in sd.results
            if r.endpoint == endpoint and r.category is None and r.timepoint is None
            and r.statistic in ("count", "proportion") and (r.grade in printed if band is not None else True)]


def _preference(sd: StudyData, c: ResolvedCount) -> tuple:
    """Order among several printed counts of one outcome: a measured count before a bound, then
    all treated patients before enrolled before evaluable, printed before derived, larger N."""
    return (c.bound is not None, _POPULATION_PREFERENCE.get(population_kind(sd, c.population), 2),
            c.how != HOW_PRINTED, -(c.total or 0))


def _best_printed(sd: StudyData, endpoint: str, band: str | None, *, allow_bound: bool) -> ResolvedCount | None:
    got, failed = [], []
    for r in _records(sd, endpoint, band):
        c = resolve_record(sd, r)
        if c.bound and not allow_bound:
            continue
        (got if c.available else failed).append(c)
    if got:
        best = min(got, key=lambda c: _preference(sd, c))
        printed_band = sd.result(best.result_ids[0]).grade
        if band == ">=3" and printed_band not in (None, ">=3"):
            best = replace(best, detail=(best.detail + "; " if best.detail else "") +
                           f"printed as grade {grades.display(printed_band)}")
        return best
    if failed:
        return failed[0]
    return None


def _from_categories(sd: StudyData, threshold: str) -> ResolvedCount | None:
    """Patients at `threshold` or better as the sum of printed best-response categories, when
    the categories printed for one population account for every responder (or every patient)."""
    for pop in dict.fromkeys(r.population for r in sd.results if r.endpoint == "best_response"):
        cats = [r for r in sd.results if r.endpoint == "best_response" and r.population == pop]
        resolved = {}
        for r in cats:
            c = resolve_record(sd, r)
            if not c.available or c.alternatives:
                break
            resolved[r.category] = (c.events, r.id)
        else:
            total = sd.population_size(pop)
            if total is None or not resolved:
                continue
            # each joined category (VGPR/PR) must lie wholly on one side of the threshold
            sides = [at_least(c, threshold) for c in resolved]
            if any(s is None for s in sides):
                continue
            covered = sum(e for e, _ in resolved.values())
            responders = sum(e for c, (e, _) in resolved.items() if is_response(c))
            orr = _best_printed(sd, "orr", None, allow_bound=False)
            complete = covered == total or (orr is not None and orr.available and orr.population == pop
                                            and responders == orr.events and at_least(threshold, "PR"))
            k = sum(e for c, (e, _) in resolved.items() if at_least(c, threshold))
            ids = tuple(i for _, i in resolved.values())
            detail = ", ".join(f"{c} {e}" for c, (e, _) in resolved.items())
            if complete:
                return ResolvedCount(k, total, HOW_CATEGORIES, detail, ids, pop)
            if k > 0:
                return ResolvedCount(k, total, HOW_CATEGORIES, detail + "; other categories not printed", ids, pop,
                                     bound="at least")
    return None


def _from_grade_bands(sd: StudyData, endpoint: str) -> ResolvedCount | None:
    """Any grade as grade 1-2 plus grade >=3, printed for the same population."""
    low = _best_printed(sd, endpoint, "1-2", allow_bound=False)
    high = _best_printed(sd, endpoint, ">=3", allow_bound=False)
    if low and high and low.available and high.available and low.total == high.total:
        return ResolvedCount(low.events + high.events, low.total, HOW_GRADES, "grade 1–2 plus grade ≥3",
                             low.result_ids + high.result_ids, low.population)
    return None


def _from_death_causes(sd: StudyData) -> ResolvedCount | None:
    """Non-relapse deaths: deaths in the main population whose printed cause is not relapse or
    progression, when the printed causes account for every death. Deaths counted in a subgroup (for
    example among complete responders) say nothing of the whole cohort: that is a bound, printed as
    such by the curator, never a count."""
    main = main_population(sd)
    deaths = [r for r in sd.results if r.endpoint == "death" and r.category is None and r.statistic == "count"
              and r.timepoint is None and r.population == main]
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
    """Whether a death record's cause is relapse or progression of the disease."""
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
    """Whether the cohort mixes CAR target antigens (for example BCMA and GPRC5D)."""
    return len(sd.study.targets.value) > 1


def bcma_rows(sd: StudyData, d: pd.DataFrame | None) -> pd.DataFrame | None:
    """The per-patient rows of BCMA-directed patients, or None when the table cannot tell."""
    if d is None or "target" not in d.columns:
        return None
    return d[d["target"].astype(str).str.upper().str.startswith("BCMA")]


BCMA_SUBSET = "BCMA-directed patients (per-patient table)"
MIXED_SUBSET = "all patients (targets mixed; the source does not allow separating them)"


def outcome_count(sd: StudyData, key: str, *, bcma_only: bool = False) -> ResolvedCount:
    """The count of one registered outcome in one study (see the module docstring).

    Parameters
    ----------
    sd : StudyData
        The study.
    key : str
        An outcome key of `cartpool.domain.registry.OUTCOMES`.
    bcma_only : bool
        Restrict a cohort that mixes CAR targets to its BCMA-directed patients, from the
        per-patient table; without one the count says that the targets could not be separated.

    Returns
    -------
    ResolvedCount
    """
    spec = registry.outcome(key)
    d = derive_endpoints(sd)
    subset = "all patients"
    if bcma_only and mixed_targets(sd):
        rows = bcma_rows(sd, d)
        if rows is not None:
            d, subset = rows, BCMA_SUBSET
        else:
            subset = MIXED_SUBSET
    for way in spec.derivations:
        got = None
        if way == registry.PER_PATIENT and d is not None:
            got = _from_patients(sd, d, spec, subset)
            if got is None and subset == BCMA_SUBSET:
                return not_reported(detail="not in the per-patient table", subset=subset)
        elif subset == BCMA_SUBSET:
            continue  # a printed count covers all patients, not the BCMA-directed subset
        elif way == registry.PRINTED:
            got = _best_printed(sd, spec.endpoint, spec.grade, allow_bound=False)
        elif way == registry.RESPONSE_CATEGORIES and spec.endpoint in THRESHOLDS:
            got = _from_categories(sd, THRESHOLDS[spec.endpoint])
            if got is not None and got.bound and registry.BOUND not in spec.derivations:
                got = None
        elif way == registry.GRADE_BANDS:
            got = _from_grade_bands(sd, spec.endpoint)
        elif way == registry.BOUND:
            got = _best_printed(sd, spec.endpoint, spec.grade, allow_bound=True)
        elif way == registry.DEATH_CAUSES:
            got = _from_death_causes(sd)
        if got is not None and got.available:
            return replace(got, subset=subset)
    # nothing available: say why, from the first printed record that failed
    failed = _best_printed(sd, spec.endpoint, spec.grade, allow_bound=True) if subset != BCMA_SUBSET else None
    if failed is not None:
        return replace(failed, subset=subset)
    return not_reported(subset=subset)


def main_total(sd: StudyData) -> int | None:
    """The stated size of the study's main population."""
    return sd.population_size(main_population(sd))

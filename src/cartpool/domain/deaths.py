"""All-cause deaths of a study: the one rule for the total a study page states.

A paper may print a total, print only causes, print deaths in a subgroup (among responders), or
name single patients. The total is, in this order of preference:

1. counted from the per-patient table (a survival time without "+" is a death);
2. a printed all-cause count of the study's main population (a range where the curator recorded
   a bound, for example "at least 5: 4 of the 8 responders and patient 10; the other 2
   non-responders not reported");
3. otherwise a lower bound: the larger of the sum of the printed causes in the main population and
   the largest all-cause count printed for a part of it. It is said as "at least", never as a total.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data.study_data import StudyData
from .derive import derive_endpoints
from .population import main_population, nests_within, population_kind
from .record_counts import HOW_PER_PATIENT, HOW_RANGE, resolve_record

HOW_AT_LEAST = "at least: the paper prints no total"


@dataclass(frozen=True)
class DeathTotal:
    """All-cause deaths: `events` (the low end), `high` (None when the upper end is unknown and the
    total is only a lower bound), `total` patients, how it was obtained, and the records used."""

    events: int
    high: int | None
    total: int | None
    how: str
    detail: str
    result_ids: tuple[str, ...]
    population: str

    @property
    def at_least(self) -> bool:
        return self.how in (HOW_AT_LEAST, HOW_RANGE) and self.high != self.events


def _part_of(sd: StudyData, population: str, main: str) -> bool:
    """Whether every patient of `population` is one of the main population's (a subgroup, the
    responders, those evaluable), so that its deaths are a lower bound of the main population's."""
    if nests_within(sd, population, main):
        return True
    n, n_main = sd.population_size(population), sd.population_size(main)
    return (population_kind(sd, population) in ("responders", "subgroup", "evaluable") and n is not None
            and n_main is not None and n <= n_main)


def all_cause_deaths(sd: StudyData) -> DeathTotal | None:
    """All-cause deaths in the main population by the rule of this module; None if nothing is printed.

    Parameters
    ----------
    sd : StudyData
        A loaded study.

    Returns
    -------
    DeathTotal or None
        The count from the per-patient table, else the printed all-cause count (or range) of the
        main population, else a lower bound ("at least", `high` None) from the printed causes and
        parts; None when nothing about deaths is printed.

    References
    ----------
    Higgins JPT, Thomas J, Chandler J, et al., eds. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4. Cochrane; 2023, chapter 5 (collecting data from reports).
    The order of preference is a convention of this project, stated in this module's docstring.
    """
    main = main_population(sd)
    d = derive_endpoints(sd, copy=False)  # read only
    if d is not None and "os_event" in d.columns:
        k = int(d["os_event"].sum())
        return DeathTotal(k, k, len(d), HOW_PER_PATIENT, "", (), sd.study.patients.population)
    deaths = [r for r in sd.results if r.endpoint == "death" and r.statistic == "count" and r.timepoint is None]
    whole = [r for r in deaths if r.category is None and r.population == main]
    if whole:
        r = max(whole, key=lambda x: x.bound is None)  # a plain count before a bound
        c = resolve_record(sd, r)
        return DeathTotal(c.events, c.high if c.high is not None else c.events, c.total, c.how,
                          c.detail, c.result_ids, main)
    causes = [r for r in deaths if r.category is not None and r.population == main]
    parts = [r for r in deaths if r.category is None and r.population != main and _part_of(sd, r.population, main)]
    candidates = []
    if causes:
        candidates.append((sum(int(r.value) for r in causes), tuple(r.id for r in causes),
                           "the printed causes of death add up to this"))
    for r in parts:
        label = sd.study.populations[r.population].label
        candidates.append((int(r.value), (r.id,),
                           f"deaths are printed for {label[0].lower() + label[1:]} only: {int(r.value)} of "
                           f"{sd.population_size(r.population)}"))
    if not candidates:
        return None
    k, ids, why = max(candidates, key=lambda c: c[0])
    return DeathTotal(k, None, sd.population_size(main), HOW_AT_LEAST, why, ids, main)


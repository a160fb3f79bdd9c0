"""A printed record as a count of patients (events out of a total), saying how it was obtained:
the one place that turns a printed record into a count (`resolve_record`), and carries a count
printed for a narrower population to a wider one (`carry_to`).

A count printed for a narrower population answers for the wider one as the plan's rule says:
patients enrolled but never infused count as not having responded (intention to treat); patients
infused but not evaluable have an unknown outcome, so the count among all of them is a range.

A rounded percentage can fit two counts (84% of 128 is 107 or 108). The count nearest to
p x N is used and the other is kept (`alternatives`) for a sensitivity analysis; the label says
"derived (107 or 108 fit; 108 used)". The rule and its words live in `printed.count_for` and
`printed.count_detail`; the audit takes its counts by the same rule.

`cartpool.domain.counts` chooses among these counts the one that answers an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..data.study_data import StudyData
from .population import nests_within, population_kind
from .printed import count_detail, count_for
from .printed_groups import other_population_fitting, printed_group_of

# How a count was obtained, in the words a reader sees.
HOW_PER_PATIENT = "computed from the per-patient table"
HOW_PRINTED = "printed count"
HOW_PERCENT = "derived from the printed percentage"
HOW_PERCENT_AMBIGUOUS = "derived from the printed percentage (more than one count fits)"
HOW_CATEGORIES = "derived: sum of printed response categories"
HOW_GRADES = "derived: sum of printed grade bands"
HOW_DEATH_CAUSES = "derived: deaths whose printed cause is not relapse or progression"
HOW_RANGE = "range from a printed bound"
HOW_ITT = "intention to treat: patients enrolled but not infused count as without the event"
HOW_EVALUABLE = "range: the outcome of patients not evaluable is not reported"
HOW_NOT_REPORTED = "not reported"
HOW_NOT_DERIVABLE = "not derivable from what is printed"

#: How directly a count answers for its population: the population's own count first, then one
#: carried over from patients infused (intention to treat), then one among evaluable patients only.
_DIRECT, _ITT, _EVALUABLE = 0, 1, 2


@dataclass(frozen=True)
class ResolvedCount:
    """A count of patients with its provenance.

    `events`/`total` are None when the count is not available; `how` then says why. For a range,
    `events` is its low end and `high` its high end (None for a plain count). `detail` adds what a
    reader needs to check it ("75.0% of 12"; "107 or 108 fit; 108 used"). `alternatives` are other
    counts that fit an ambiguous rounded percentage.
    """

    events: int | None
    total: int | None
    how: str
    detail: str = ""
    result_ids: tuple[str, ...] = ()
    population: str | None = None
    alternatives: tuple[int, ...] = ()
    high: int | None = None
    subset: str = "all patients"

    @property
    def available(self) -> bool:
        return self.events is not None and self.total not in (None, 0)

    @property
    def is_range(self) -> bool:
        """Whether the count is a range with two different ends (a bound), not a count."""
        return self.high is not None and self.events is not None and self.high != self.events

    @property
    def events_high(self) -> int | None:
        """The high end of a range; the count itself otherwise."""
        return self.high if self.is_range else self.events

    @property
    def uninformative_end(self) -> str | None:
        """For a range, the end that is only the logical limit (none, or all of the patients) and so
        carries no information: "low", "high", or None."""
        if not self.is_range:
            return None
        if self.events == 0:
            return "low"
        if self.high == self.total:
            return "high"
        return None

    @property
    def proportion(self) -> float | None:
        """events/total (the low end of a range)."""
        return self.events / self.total if self.available else None

    @property
    def derived(self) -> bool:
        return self.how not in (HOW_PER_PATIENT, HOW_PRINTED, HOW_NOT_REPORTED, HOW_NOT_DERIVABLE)

    def text(self) -> str:
        """The count as a reader sees it: "7/11", "10–12/12"."""
        if not self.available:
            return "—"
        return f"{self.events}–{self.high}/{self.total}" if self.is_range else f"{self.events}/{self.total}"

    def describe(self) -> str:
        """How the count was obtained, with its detail, as one phrase."""
        return f"{self.how} ({self.detail})" if self.detail else self.how


def not_reported(how: str = HOW_NOT_REPORTED, detail: str = "", subset: str = "all patients") -> ResolvedCount:
    """A count that is not available, saying why.

    Parameters
    ----------
    how : str
        Why there is no count (`HOW_NOT_REPORTED` by default, or `HOW_NOT_DERIVABLE`).
    detail : str
        What a reader needs to know beyond `how`.
    subset : str
        Which patients the count was asked for ("all patients" or a subgroup level).

    Returns
    -------
    ResolvedCount
        With `events` and `total` None, so `available` is False.

    References
    ----------
    None: a convention of this project ("Missing is missing, and says which kind",
    data/README.md).
    """
    return ResolvedCount(None, None, how, detail, subset=subset)


def record_total(sd: StudyData, r) -> int | None:
    """The denominator of a printed record: its own, else its population's stated size.

    Parameters
    ----------
    sd : StudyData
        The study the record belongs to.
    r : ReportedResult
        A printed record.

    Returns
    -------
    int or None
        The record's `denominator`; else the size stated for its population; None when neither
        is given.

    References
    ----------
    Higgins JPT, Thomas J, Chandler J, et al., eds. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4. Cochrane; 2023, chapters 5 (collecting data) and 6 (dichotomous
    outcome data).
    """
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
        A record with a bound as its range (both ends); printed counts as printed; a percentage of
        a stated N as the count(s) of N that print as it, the nearest to p x N used and the others
        kept as `alternatives`; otherwise a not-available count whose `detail` says why.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    Higgins JPT, Thomas J, Chandler J, et al., eds. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4. Cochrane; 2023, chapters 5 (collecting data) and 6 (dichotomous
    outcome data).
    """
    total = record_total(sd, r)
    if getattr(r, "bound", None) is not None:
        return ResolvedCount(r.bound.low, total, HOW_RANGE, r.bound.reason, (r.id,), r.population,
                             high=r.bound.high)
    if r.statistic == "count":
        return ResolvedCount(int(r.value), total, HOW_PRINTED, "", (r.id,), r.population)
    if r.numerator is not None and r.denominator is not None:
        return ResolvedCount(r.numerator, r.denominator, HOW_PRINTED, "", (r.id,), r.population)
    if r.numerator is not None and total is not None:  # "107 patients (84%)": the count of its population
        return ResolvedCount(r.numerator, total, HOW_PRINTED, "", (r.id,), r.population)
    if total is None:
        return ResolvedCount(None, None, HOW_NOT_DERIVABLE,
                             f"{r.value}{'%' if r.unit == 'percent' else ''} of a population whose size is not "
                             "stated", (r.id,), r.population)
    if r.unit != "fraction":
        other = other_population_fitting(sd, printed_group_of(sd, r))
        if other is not None:
            together = "the percentages printed with it fit" if len(printed_group_of(sd, r)) > 1 else "it fits"
            return ResolvedCount(None, total, HOW_NOT_DERIVABLE,
                                 f"{together} {other[0]} patients ({sd.study.populations[other[1]].label.lower()}), "
                                 f"not the stated {total}", (r.id,), r.population)
    percent = r.unit == "percent"
    chosen, others = count_for(r.value, total, scale=100.0 if percent else 1.0)
    if chosen is None:
        return ResolvedCount(None, total, HOW_NOT_DERIVABLE,
                             f"no whole number of {total} patients prints as {r.value}{'%' if percent else ''}",
                             (r.id,), r.population)
    how = HOW_PERCENT_AMBIGUOUS if others else HOW_PERCENT
    return ResolvedCount(chosen, total, how, count_detail(r.value, total, chosen, others, percent=percent),
                         (r.id,), r.population, others)


def carry_to(sd: StudyData, c: ResolvedCount, population: str) -> tuple[ResolvedCount, int] | None:
    """A count printed for one population, as the count of `population` the plan's rule gives, with
    how directly it answers (0: the population's own; 1: carried from those infused to those
    enrolled; 2: a range from those evaluable). None when it says nothing about `population`.

    Patients enrolled but never infused count as without the event (intention to treat); patients
    infused but not evaluable have an unknown outcome, which widens the count to a range.

    Parameters
    ----------
    sd : StudyData
        The study.
    c : ResolvedCount
        An available count, with the population it was printed for.
    population : str
        The population it should answer for.

    Returns
    -------
    (ResolvedCount, int) or None
        The count unchanged with 0 for its own population; for an infused population nested in
        `population`, the same events out of the wider N with 1 (`HOW_ITT`); for an evaluable
        population, the range [x, x_high + (N - n)] out of N with 2 (`HOW_EVALUABLE`). None when
        the count is not available, has no population, or its population does not nest within
        `population` (`nests_within`).

    References
    ----------
    International Conference on Harmonisation. E9: Statistical principles for clinical trials.
    1998 (intention to treat).
    Higgins JPT, Thomas J, Chandler J, et al., eds. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4. Cochrane; 2023, chapter 10 (missing outcome data).
    The rule is stated in docs/statistics.md ("Denominators").
    """
    if not c.available or c.population is None:
        return None
    if c.population == population:
        return c, _DIRECT
    if not nests_within(sd, c.population, population):
        return None
    n_wide, n_narrow = sd.population_size(population), sd.population_size(c.population)
    others = n_wide - n_narrow
    if population_kind(sd, c.population) == "evaluable":
        return replace(c, total=n_wide, high=c.events_high + others, how=HOW_EVALUABLE, population=population,
                       detail=f"{c.text()} among the evaluable, {c.describe()}; the other {others} not evaluable"), \
            _EVALUABLE
    return replace(c, total=n_wide, population=population, how=HOW_ITT,
                   detail=f"{c.text()} among those infused, {c.describe()}; {others} enrolled but not infused"), _ITT


def count_of_record(sd: StudyData, rid: str) -> int | None:
    """The count a record (or ``population:<id>``, a population's stated size) stands for, when
    it is unambiguous; None otherwise. Used for sums a paper implies.

    Parameters
    ----------
    sd : StudyData
        The study.
    rid : str
        A record id, or ``population:<id>``.

    Returns
    -------
    int or None
        The population's stated size, or the record's count (`resolve_record`) when it is
        available and no other count fits; None otherwise. The low end for a range.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    if rid.startswith("population:"):
        return sd.population_size(rid.split(":", 1)[1])
    c = resolve_record(sd, sd.result(rid))
    return c.events if c.available and not c.alternatives else None

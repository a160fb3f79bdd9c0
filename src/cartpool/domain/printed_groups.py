"""Percentages a paper prints together (one table or figure block, or one sentence, for one
population and time point), which share a denominator: the groups, the denominators that fit all
of a group's percentages at once, and another stated population whose size fits them where the
one named does not. The audit and the count of a record read them.
"""

from __future__ import annotations

from ..data.study_data import StudyData
from .printed import numerators_for


def _is_table(location: str) -> bool:
    return bool(location) and location.split()[0].lower() in ("table", "figure", "supplementary", "online")


def _same_place(a, b) -> bool:
    """Printed together: one table or figure block, or one sentence (a quote inside another)."""
    if a.population != b.population or a.location != b.location or a.timepoint != b.timepoint:
        return False
    return _is_table(a.location) or a.quote in b.quote or b.quote in a.quote


def printed_together(records: list) -> list[list]:
    """The percentages a paper prints together, as groups: one table or figure block, or one
    sentence, for one population and time point. A group never mixes populations.

    Two records are printed together when they share population, location and time point and
    either the location is a table, figure or supplement, or one quote contains the other; groups
    are closed under that relation.

    Parameters
    ----------
    records : list of ReportedResult
        Printed records, usually percentages of one population.

    Returns
    -------
    list of list of ReportedResult
        The groups, in the order of their first record; every record in exactly one group.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
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
    """The denominators up to `up_to` that give every percentage of a group at its printed precision.

    Parameters
    ----------
    records : list of ReportedResult
        Percentages printed together (`printed_together`).
    up_to : int
        The largest denominator tried.

    Returns
    -------
    list of int
        Every n in 1..`up_to`, ascending, for which each percentage is k/n for some whole k.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    return [n for n in range(1, up_to + 1) if all(numerators_for(r.value, n) for r in records)]


def other_population_fitting(sd: StudyData, records: list) -> tuple[int, str] | None:
    """When the stated N does not fit every percentage of a group printed together but the size
    of another population of the study does: (its size, its id). Otherwise None.

    For example Jin 2025 prints grade ≥3 anaemia, neutropenia and thrombocytopenia at one month
    as 39.6%, 43.3% and 52.2% "of patients": no count of the 141 infused gives 39.6% or 52.2%,
    but 53, 58 and 70 of the 134 evaluable give all three.

    Parameters
    ----------
    sd : StudyData
        The study.
    records : list of ReportedResult
        Percentages printed together for one population (non-empty).

    Returns
    -------
    (int, str) or None
        The size and id of the first other population, in study.yaml order, whose size fits every
        percentage; None when the stated size is unknown, a record is not a percentage, the
        stated size fits, or no other population does.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
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


def printed_group_of(sd: StudyData, r) -> list:
    candidates = [x for x in sd.results if x.statistic == "proportion" and x.unit == "percent"
                  and x.numerator is None and x.population == r.population]
    return next((g for g in printed_together(candidates) if r in g), [r])

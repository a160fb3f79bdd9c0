"""Which patients a number is about: the primary population of each kind of outcome by the analysis
plan's denominator rule, a population's rows in the per-patient table, how populations nest, and
the median follow-up with the population it refers to.

The rule (``denominators`` in ``data/analysis_plan.yaml``): response and survival count everyone
enrolled wherever the paper gives their number (intention to treat), else everyone infused;
toxicity counts everyone infused (the safety population). Patients "evaluable" for an outcome are
never the primary denominator. Populations nest: everyone enrolled includes everyone infused, who
includes everyone evaluable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data.plan import DEFAULT_DENOMINATORS
from ..data.study_data import StudyData
from ..units import convert

#: How populations nest, widest first: a count among a narrower population says something about a
#: wider one (`cartpool.domain.counts` turns it into the wider population's count or range).
NESTING = {"enrolled": 0, "infused": 1, "treated": 1, "evaluable": 2}


def population_kind(sd: StudyData, population: str) -> str | None:
    """The declared kind of a population (infused, enrolled, evaluable, subgroup ...), if any.

    Parameters
    ----------
    sd : StudyData
        The study.
    population : str
        A population id of the study.

    Returns
    -------
    str or None
        The population's `kind` as declared in study.yaml; None for an unknown population or
        one without a kind.

    References
    ----------
    International Conference on Harmonisation. E9: Statistical principles for clinical trials.
    1998 (the full analysis set, as close as possible to intention to treat, and the safety set).
    """
    p = sd.study.populations.get(population)
    return getattr(p, "kind", None) if p is not None else None


def denominator_kinds(sd: StudyData, section: str) -> tuple[str, ...]:
    """The population kinds, in order of preference, that the plan names as the denominator of
    one kind of outcome ("efficacy", "safety" or "survival").

    Parameters
    ----------
    sd : StudyData
        The study; its analysis plan (`sd.plan`) when it carries one, else the default plan.
    section : {"efficacy", "safety", "survival"}
        The kind of outcome.

    Returns
    -------
    tuple of str
        Population kinds, most preferred first (e.g. ("enrolled", "infused") for efficacy).

    References
    ----------
    International Conference on Harmonisation. E9: Statistical principles for clinical trials.
    1998 (the full analysis set, as close as possible to intention to treat, and the safety set).
    The denominator rule is stated in docs/statistics.md ("Denominators").
    """
    plan = getattr(sd, "plan", None)
    if plan is not None:
        return tuple(getattr(plan.denominators, section))
    return DEFAULT_DENOMINATORS[section]


def primary_population(sd: StudyData, section: str = "efficacy") -> str:
    """The population whose count is primary for one kind of outcome, by the plan's rule.

    Parameters
    ----------
    sd : StudyData
    section : {"efficacy", "safety", "survival"}

    Returns
    -------
    str
        The first population, in the plan's order of kinds, that has a stated size; else the
        population of the per-patient table; else the first population with a stated size (never
        an evaluable-only population while another exists).

    References
    ----------
    International Conference on Harmonisation. E9: Statistical principles for clinical trials.
    1998 (the full analysis set, as close as possible to intention to treat, and the safety set).
    The denominator rule is stated in docs/statistics.md ("Denominators").
    """
    pops = list(sd.study.populations)
    sized = [p for p in pops if sd.population_size(p) is not None]
    for kind in denominator_kinds(sd, section):
        for p in sized:
            if population_kind(sd, p) == kind:
                return p
    if sd.study.patients is not None:
        return sd.study.patients.population
    not_evaluable = [p for p in sized if population_kind(sd, p) != "evaluable"]
    return (not_evaluable or sized or pops)[0]


def main_population(sd: StudyData) -> str:
    """The population a study's headline numbers refer to: the primary population of response and
    survival (`primary_population` for "efficacy"). Every page, table and figure uses it, so a study
    is never described two ways.

    Parameters
    ----------
    sd : StudyData
        The study.

    Returns
    -------
    str
        The population id.

    References
    ----------
    International Conference on Harmonisation. E9: Statistical principles for clinical trials.
    1998 (the full analysis set, as close as possible to intention to treat, and the safety set).
    The denominator rule is stated in docs/statistics.md ("Denominators").
    """
    return primary_population(sd, "efficacy")


def nests_within(sd: StudyData, narrow: str, wide: str) -> bool:
    """Whether population `narrow` is part of population `wide` by their kinds (evaluable within
    infused within enrolled), with sizes that agree.

    Parameters
    ----------
    sd : StudyData
        The study.
    narrow, wide : str
        Population ids.

    Returns
    -------
    bool
        True when both kinds are in `NESTING`, `narrow`'s kind is strictly narrower ("treated"
        ranks with "infused"), and both sizes are stated with narrow <= wide.

    References
    ----------
    International Conference on Harmonisation. E9: Statistical principles for clinical trials.
    1998 (the full analysis set, as close as possible to intention to treat, and the safety set).
    The denominator rule is stated in docs/statistics.md ("Denominators").
    """
    kn, kw = population_kind(sd, narrow), population_kind(sd, wide)
    if kn not in NESTING or kw not in NESTING or NESTING[kn] <= NESTING[kw]:
        return False
    n_narrow, n_wide = sd.population_size(narrow), sd.population_size(wide)
    return n_narrow is not None and n_wide is not None and n_narrow <= n_wide


def population_label(sd: StudyData, population: str) -> str:
    """A population's label as study.yaml gives it, for a reader.

    Parameters
    ----------
    sd : StudyData
        The study.
    population : str
        A population id.

    Returns
    -------
    str
        The declared label; the id itself for a population the study does not declare.

    References
    ----------
    None: a convention of this project (study.yaml declares each population with its label).
    """
    p = sd.study.populations.get(population)
    return p.label if p is not None else population


def population_rows(sd: StudyData, d: pd.DataFrame, population: str) -> pd.DataFrame | None:
    """The rows of the per-patient table (derived endpoints `d`) that make up `population`.

    The table's own population is every row; another population needs a `where` mapping in
    study.yaml (for example ``{pcl_type: pPCL}``). None when the table cannot identify it.

    Parameters
    ----------
    sd : StudyData
        The study.
    d : pandas.DataFrame
        The per-patient table with derived endpoints, one row per patient.
    population : str
        A population id.

    Returns
    -------
    pandas.DataFrame or None
        `d` itself for the table's own population; else the rows whose columns equal every value
        of the population's `where` mapping; None for an unknown population, one without
        `where`, or a `where` naming a column `d` lacks.

    References
    ----------
    None: a convention of this project (study.yaml's `where`, described in data/README.md).
    """
    if sd.study.patients and population == sd.study.patients.population:
        return d
    p = sd.study.populations.get(population)
    if p is None or not p.where:
        return None
    m = pd.Series(True, index=d.index)
    for field, value in p.where.items():
        if field not in d.columns:
            return None
        m &= d[field] == value
    return d[m]


@dataclass(frozen=True)
class FollowUp:
    """A median follow-up as printed, with the population it refers to."""

    result_id: str
    value: float
    unit: str
    months: float
    population: str
    population_label: str
    is_main_population: bool


def follow_up(sd: StudyData) -> list[FollowUp]:
    """Every printed median follow-up, main population first.

    Parameters
    ----------
    sd : StudyData
        The study.

    Returns
    -------
    list of FollowUp
        One per `follow_up` record with statistic "median" and a value other than "NR", with the
        value in its printed unit (months when none is given) and in months; those of the main
        population first, otherwise in record order.

    References
    ----------
    Schemper M, Smith TL. A note on quantifying follow-up in studies of failure time. Control Clin
    Trials. 1996;17:343-6 (what a printed median follow-up can mean; this reads it as printed).
    """
    main = main_population(sd)
    out = [FollowUp(r.id, float(r.value), r.unit or "months", convert(float(r.value), r.unit or "months", "months"),
                    r.population, population_label(sd, r.population), r.population == main)
           for r in sd.results if r.endpoint == "follow_up" and r.statistic == "median" and r.value != "NR"]
    return sorted(out, key=lambda f: not f.is_main_population)



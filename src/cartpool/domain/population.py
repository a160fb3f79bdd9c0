"""Which patients a number is about: the study's main population, a population's rows in the
per-patient table, and the median follow-up with the population it refers to."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data.load import StudyData
from ..units import convert

#: Population kinds in order of preference for the main population: all treated (infused)
#: patients answer the clinical question; enrolled patients include some never treated.
MAIN_KINDS = ("infused", "treated", "enrolled")


def population_kind(sd: StudyData, population: str) -> str | None:
    """The declared kind of a population (infused, enrolled, evaluable, subgroup ...), if any."""
    p = sd.study.populations.get(population)
    return getattr(p, "kind", None) if p is not None else None


def main_population(sd: StudyData) -> str:
    """The population a study's headline numbers refer to.

    Rule, in order: the population of all treated (infused) patients with a stated size; the
    population of the per-patient table; the first population with a stated size; the first
    population. Used by every page, table and figure, so a study is never described two ways.
    """
    pops = list(sd.study.populations)
    sized = [p for p in pops if sd.population_size(p) is not None]
    for kind in MAIN_KINDS:
        for p in sized:
            if population_kind(sd, p) == kind:
                return p
    if sd.study.patients is not None:
        return sd.study.patients.population
    return sized[0] if sized else pops[0]


def population_label(sd: StudyData, population: str) -> str:
    p = sd.study.populations.get(population)
    return p.label if p is not None else population


def population_rows(sd: StudyData, d: pd.DataFrame, population: str) -> pd.DataFrame | None:
    """The rows of the per-patient table (derived endpoints `d`) that make up `population`.

    The table's own population is every row; another population needs a `where` mapping in
    study.yaml (for example ``{pcl_type: pPCL}``). None when the table cannot identify it.
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
    """Every printed median follow-up, main population first."""
    main = main_population(sd)
    out = [FollowUp(r.id, float(r.value), r.unit or "months", convert(float(r.value), r.unit or "months", "months"),
                    r.population, population_label(sd, r.population), r.population == main)
           for r in sd.results if r.endpoint == "follow_up" and r.statistic == "median" and r.value != "NR"]
    return sorted(out, key=lambda f: not f.is_main_population)

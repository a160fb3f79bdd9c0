"""The limitations of one study that follow from its data, each with the rule that raised it, and
the words for a fact the paper does not give."""

from __future__ import annotations

import pandas as pd

from ..data.model import NOT_IN_SOURCE
from ..data.study_data import StudyData
from ..domain import counts as count_rules
from ..text import lower_first as _lower_first
from .audit import INCONSISTENT

SMALL_SAMPLE = 20  # below this many patients, the limitations say exact CIs are wide


def missing_words(status: str) -> str:
    """"not reported" (the paper does not give it) or "not in the source we have" (an abstract or
    summary, whose full report may give it), as the end of a sentence."""
    return ("not in the source we have (an abstract or summary; the full report may give it)"
            if status == NOT_IN_SOURCE else "not reported")


def limitation_rows(sd: StudyData, n_main: int | None, follow_up: list, derived: pd.DataFrame | None,
                    audit_rows: pd.DataFrame) -> pd.DataFrame:
    """The limitations that follow from the data, each with the rule that raised it.

    Parameters
    ----------
    sd : StudyData
        The study.
    n_main : int or None
        The size of its main population.
    follow_up : list
        Its median follow-up values (`cartpool.domain.population.follow_up`).
    derived : DataFrame or None
        Its per-patient table with the endpoints derived, if it has one.
    audit_rows : DataFrame
        Its checks against the paper (`cartpool.analysis.audit`).

    Returns
    -------
    DataFrame
        One row per limitation: ``rule`` and ``text``.
    """
    s, items = sd.study, []

    def add(rule: str, text: str) -> None:
        items.append({"rule": rule, "text": text})

    n = n_main
    if n is not None and n < SMALL_SAMPLE:
        add("small_sample", f"Small sample: {n} patients; exact confidence intervals are wide and subgroup "
                            "results are descriptive.")
    if s.document_type != "full_article":
        add("not_full_article", "The source is not a full article: methods, denominators and definitions are "
                                "incompletely reported, and several outcomes are not available.")
    if count_rules.mixed_targets(sd):
        add("mixed_targets", f"Mixed CAR targets ({', '.join(s.targets.value)}): the pooled analysis counts all "
                             "patients; results by target are a subgroup, and survival by target is confounded by "
                             "second CAR-T infusions against the other target after relapse.")
    if isinstance(s.crs_grading, str):  # not reported, or not in source
        add("crs_scale", f"The CRS grading scale is {missing_words(s.crs_grading)}, so CRS rates are not "
                         "comparable with confidence.")
    elif s.crs_grading.value != "ASTCT":
        add("crs_scale", f"CRS graded by {s.crs_grading.value}, not ASTCT: grade ≥3 rates are not directly "
                         "comparable with ASTCT-graded studies.")
    fu = follow_up
    if fu and all(f.months < 24 for f in fu):
        f = fu[0]
        add("short_follow_up", f"Short follow-up (median {f.value:g} {f.unit}"
                               + ("" if f.is_main_population else f", {_lower_first(f.population_label)}")
                               + "): late relapses and deaths are not captured.")
    elif fu and not fu[0].is_main_population:
        add("follow_up_population", f"The median follow-up is reported for {_lower_first(fu[0].population_label)} "
                                    "only, not for all patients.")
    if not fu and derived is None:
        add("no_follow_up", f"The median follow-up is {missing_words(s.missing)}.")
    if isinstance(s.design, str):  # not reported, or not in source
        add("design", f"The study design (prospective or retrospective) is {missing_words(s.design)}.")
    elif s.design.value == "retrospective":
        add("design", "Retrospective design: selection and reporting bias are possible.")
    k = int((audit_rows["status"] == INCONSISTENT).sum()) if not audit_rows.empty else 0
    if k:
        add("audit", f"{k} printed number(s) could not be reproduced (see Checks against the paper).")
    return pd.DataFrame(items, columns=["rule", "text"])

"""Checks of one study's records beyond their schema (values, bounds, co-interventions, the
appraisal's questions, readable dates) and of the data folder as a whole (folder names, links,
labels shared by two studies). Each returns or collects `DataIssue`s in words a curator can act on."""

from __future__ import annotations

import os
from pathlib import Path

from . import dates, endpoint_names
from .errors import DataIssue
from .model import RESPONSE_CATEGORIES, ReportedResult, Study
from .names import folder_name_problem, study_ids
from .quotes import value_problems
from .study_data import StudyData, appraisal_places
from .yamlio import APPRAISAL_FILE, RESULTS_FILE, STUDY_FILE


def check_appraisal_registry(sd: StudyData, issues: list[DataIssue]) -> None:
    """A judgement may rest on the study's trial registry entry: it must be one the study names."""
    if sd.appraisal is None:
        return
    for where, j in appraisal_places(sd.appraisal):
        if j.registry is not None and j.registry not in sd.study.registry_ids:
            issues.append(DataIssue(APPRAISAL_FILE, f"{where}.registry",
                                    f"{j.registry!r} is not among the study's registry_ids "
                                    f"({', '.join(sd.study.registry_ids) or 'none'}); add it to study.yaml or "
                                    "correct it"))


def check_values(sd: StudyData, issues: list[DataIssue]) -> None:
    for r in sd.results:
        for problem in value_problems(r, sd.population_size(r.population)):
            issues.append(DataIssue(RESULTS_FILE, f"id {r.id}", problem))


def check_bounds_and_cointerventions(sd: StudyData, issues: list[DataIssue]) -> None:
    """A bound's high end, and a count printed without its denominator, within its population; a
    co-intervention's population is declared."""
    for r in sd.results:
        n = sd.population_size(r.population)
        if r.numerator is not None and r.denominator is None and n is not None and r.numerator > n:
            issues.append(DataIssue(RESULTS_FILE, f"id {r.id}, numerator",
                                    f"{r.numerator} is above the {n} patients of population {r.population!r}; "
                                    "type the count the paper prints, and its denominator if it is not that "
                                    "population"))
        if r.bound is not None and r.denominator is None:
            n = sd.population_size(r.population)
            if n is not None and r.bound.high > n:
                issues.append(DataIssue(RESULTS_FILE, f"id {r.id}, bound",
                                        f"the high end {r.bound.high} is above the {n} patients of population "
                                        f"{r.population!r}"))
    for i, c in enumerate(sd.study.co_interventions):
        if c.population is not None and c.population not in sd.study.populations:
            issues.append(DataIssue(STUDY_FILE, f"co_interventions[{i}].population",
                                    f"{c.population!r} is not one of the populations "
                                    f"({', '.join(sorted(sd.study.populations))})"))


def check_results(study: Study, results: list[ReportedResult], issues: list[DataIssue]) -> None:
    ids = {r.id for r in results}
    for i, chk in enumerate(study.sum_checks):
        for ref in [*chk.parts, chk.whole]:
            if ref.startswith("population:"):
                if ref.split(":", 1)[1] not in study.populations:
                    issues.append(DataIssue(STUDY_FILE, f"sum_checks[{i}]", f"{ref!r} names no population"))
            elif ref not in ids:
                issues.append(DataIssue(STUDY_FILE, f"sum_checks[{i}]", f"{ref!r} is not a result id in results.yaml"))
    seen: set[str] = set()
    for r in results:
        where = f"id {r.id}"
        if r.id in seen:
            issues.append(DataIssue(RESULTS_FILE, where, "this id is used by more than one record"))
        seen.add(r.id)
        if r.population not in study.populations:
            issues.append(DataIssue(RESULTS_FILE, f"{where}, population",
                                    f"{r.population!r} is not one of the populations in study.yaml "
                                    f"({', '.join(sorted(study.populations))})"))
        if not endpoint_names.known_endpoint(r.endpoint):
            near = endpoint_names.nearest_endpoint(r.endpoint, r.statistic)
            hint = f"did you mean {near!r} ({endpoint_names.endpoint_label(near)})? " if near else ""
            issues.append(DataIssue(RESULTS_FILE, f"{where}, endpoint",
                                    f"{r.endpoint!r} is not a known endpoint for {endpoint_names.STATISTIC_WORDS[r.statistic]}; "
                                    f"{hint}Use a name listed in data/README.md, or start a deliberately custom "
                                    "one with x_"))
            continue
        mismatch = endpoint_names.statistic_mismatch(r.endpoint, r.statistic)
        if mismatch:
            issues.append(DataIssue(RESULTS_FILE, f"{where}, statistic", mismatch))
            continue
        parts = (r.category or "").split("/")
        if r.endpoint in ("best_response", "early_response"):
            if not all(p in RESPONSE_CATEGORIES for p in parts):
                issues.append(DataIssue(RESULTS_FILE, f"{where}, category",
                                        f"a response must be one of {', '.join(RESPONSE_CATEGORIES)} "
                                        "(or several joined by '/', where the paper does not split them), "
                                        f"not {r.category!r}"))
            continue
        allowed = endpoint_names.allowed_categories(r.endpoint)
        if r.category is not None and allowed is not None and not all(p in allowed for p in parts):
            issues.append(DataIssue(RESULTS_FILE, f"{where}, category",
                                    f"{r.category!r} is not a category of {r.endpoint}; use one of "
                                    f"{', '.join(allowed)}"))


def link_issues(folder: Path) -> list[DataIssue]:
    """A link in a study folder that resolves outside it (data are read only from inside their
    study folder: a link elsewhere would publish a file nobody reviewed)."""
    out = []
    base = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            if not p.is_symlink():
                continue
            target = p.resolve()
            if not target.is_relative_to(base):
                out.append(DataIssue(str(p.relative_to(folder)), "",
                                     f"is a link to {target}, outside the study folder; data are read only "
                                     f"from inside data/studies/{folder.name}/. Copy the file into the folder "
                                     "in place of the link"))
    return out


def label_issues(studies: list[StudyData]) -> list[DataIssue]:
    """Two studies with one label: readers tell studies apart by label in every pooled table and
    figure, so labels are unique (two papers by one first author in one year are common)."""
    by_label: dict[str, list[str]] = {}
    for sd in studies:
        key = " ".join(sd.study.label.split()).casefold()
        by_label.setdefault(key, []).append(sd.study.id)
    out = []
    for sd in studies:
        others = [i for i in by_label[" ".join(sd.study.label.split()).casefold()] if i != sd.study.id]
        if others:
            label = sd.study.label
            out.append(DataIssue(f"{sd.study.id}/{STUDY_FILE}", "label",
                                 f"{label!r} is also the label of {', '.join(others)}; each study needs its own "
                                 f"label, as readers see only labels in the pooled tables and figures. Add a "
                                 f"letter to each, for example {label + 'a'!r} and {label + 'b'!r}"))
    return out


def duplicate_issues(studies: list[StudyData]) -> list[DataIssue]:
    """Two study folders with one DOI: the same paper entered twice, whose patients the pooled
    analysis would count twice."""
    by_doi: dict[str, list[str]] = {}
    for sd in studies:
        if sd.study.doi:
            by_doi.setdefault(sd.study.doi.strip().casefold().removeprefix("https://doi.org/"), []).append(sd.study.id)
    out = []
    for ids in by_doi.values():
        for sid in ids[1:]:
            out.append(DataIssue(f"{sid}/{STUDY_FILE}", "doi", (
                f"the same DOI as {ids[0]}: this paper is already included, and its patients would be counted "
                f"twice. Keep one folder; if this is a later report of the same study, put its new results in "
                f"{ids[0]}/ or, to show it without pooling it, record it in known_studies.yaml with the reason "
                f"overlapping_cohort")))
    return out


def date_issues(sd: StudyData, today=None) -> list[DataIssue]:
    """The data cut-off, the enrolment period and the publication date, read from the text the source
    prints: a cut-off or publication not after the build's date (`dates.build_date`), a publication
    not before the cut-off, an enrolment period that starts before it ends and neither after the
    cut-off, and per-patient follow-up no longer than enrolment start to cut-off allows. Text that
    is not a readable date says what to type."""
    today = today or dates.build_date()
    study, out = sd.study, []
    cutoff = period = None
    value = getattr(study.data_cutoff, "value", None)
    if isinstance(value, str):
        try:
            cutoff = dates.parse_date(value)
        except dates.DateText:
            out.append(DataIssue(STUDY_FILE, "data_cutoff.value", f"{value!r} is not a date cartpool can read; "
                                 f"type it as the source prints it, in one of these forms: {dates.FORMS}"))
    value = getattr(study.enrolment_period, "value", None)
    if isinstance(value, str):
        try:
            period = dates.parse_period(value)
        except dates.DateText:
            out.append(DataIssue(STUDY_FILE, "enrolment_period.value",
                                 f"{value!r} is not a period cartpool can read; type {dates.PERIOD_FORMS}, "
                                 f"each date in one of these forms: {dates.FORMS}"))
    value = getattr(study.published, "value", None)
    if isinstance(value, str):
        try:
            published = dates.parse_date(value)
        except dates.DateText:
            out.append(DataIssue(STUDY_FILE, "published.value", f"{value!r} is not a date cartpool can read; type "
                                 "the publication date as year-month-day, for example 2026-03-19 (or 2026-03, or "
                                 "2026, where the source prints no more)"))
        else:
            if published[0] > today:
                out.append(DataIssue(STUDY_FILE, "published.value",
                                     f"{value!r} is after the build's date ({today.isoformat()}): check the year "
                                     "against the source"))
            elif cutoff and published[1] < cutoff[0]:
                out.append(DataIssue(STUDY_FILE, "published.value",
                                     f"{value!r} is before the data cut-off ({study.data_cutoff.value}): a study is "
                                     "published after its data cut-off; check both against the source"))
    if cutoff and cutoff[0] > today:
        out.append(DataIssue(STUDY_FILE, "data_cutoff.value",
                             f"{study.data_cutoff.value!r} is after the build's date ({today.isoformat()}): a data "
                             "cut-off cannot lie in the future; check the year against the source"))
    if period:
        (start, end) = period
        if start[0] > end[1]:
            out.append(DataIssue(STUDY_FILE, "enrolment_period.value",
                                 f"{study.enrolment_period.value!r} starts after it ends; check the order and the "
                                 "years against the source"))
        if cutoff and start[0] > cutoff[1]:
            out.append(DataIssue(STUDY_FILE, "enrolment_period.value",
                                 f"{study.enrolment_period.value!r} starts after the data cut-off "
                                 f"({study.data_cutoff.value}); check both against the source"))
        elif cutoff and end[0] > cutoff[1]:
            out.append(DataIssue(STUDY_FILE, "enrolment_period.value",
                                 f"{study.enrolment_period.value!r} ends after the data cut-off "
                                 f"({study.data_cutoff.value}); check both against the source"))
        df = sd.patients
        if cutoff and df is not None and "os" in getattr(df, "columns", ()):
            days_per = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
            span = (cutoff[1] - start[0]).days + 1
            for pid, os_ in df["os"].items():
                t = getattr(os_, "time", None)
                if t is not None and float(t) * days_per.get(study.time_unit, 1.0) > span + 31:
                    out.append(DataIssue(STUDY_FILE, f"patient {pid}",
                                         f"follow-up of {t} {study.time_unit} is longer than the time from the start "
                                         f"of enrolment ({study.enrolment_period.value.split(' to ')[0]}) to the "
                                         f"data cut-off ({study.data_cutoff.value}); check the times, the unit "
                                         "(time_unit) and the dates against the source"))
    return out


def folder_issues(data_dir: Path | str) -> list[DataIssue]:
    """Study folders whose name is not a valid study id, or that are links leaving data/studies."""
    d = Path(data_dir)
    out = []
    for sid in study_ids(d):
        problem = folder_name_problem(sid)
        if problem:
            out.append(DataIssue(f"{sid}/", "", problem))
        p = d / sid
        if p.is_symlink() and not p.resolve().is_relative_to(d.resolve()):
            out.append(DataIssue(f"{sid}/", "", f"is a link to {p.resolve()}, outside data/studies/; "
                                 "move the study folder into data/studies/ in place of the link"))
    return out

"""Load and validate a study folder: ``study.yaml``, ``results.yaml`` and per-patient CSV tables.

`load_study` returns a `StudyData` or raises `StudyDataError` listing every problem with its
file, field or row, in words a curator can act on. It never lets a parser's traceback through.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from . import dates
from . import vocabulary as vocab
from .coverage import Coverage, normalise_ws
from .errors import DataIssue, StudyDataError, UnknownStudyError
from .model import RESPONSE_CATEGORIES, PatientData, ReportedResult, Study
from .names import folder_name_problem
from .parse import PARSE, CellError
from .plan import plan_for_study_folder
from .quotes import value_problems
from .risk_of_bias import Appraisal
from .study_data import PatientTableData, StudyData, appraisal_places
from .yamlio import STUDY_FILE, pydantic_issues, read_text, read_yaml

RESULTS_FILE = "results.yaml"
APPRAISAL_FILE = "appraisal.yaml"
COVERAGE_FILE = "coverage.yaml"
MAX_FILE_BYTES = 5_000_000


def _read_csv(path: Path, issues: list[DataIssue]) -> list[list[str]] | None:
    text = read_text(path, issues)
    if text is None:
        return None
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as e:
        issues.append(DataIssue(path.name, "", f"is not valid CSV: {e}"))
        return None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        issues.append(DataIssue(path.name, "", "is empty: it needs a header row and one row per patient"))
        return None
    width = len(rows[0])
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != width:
            issues.append(DataIssue(path.name, f"row {i}", f"has {len(r)} cells but the header has {width}"))
            return None
    return rows


def _patient_table(folder: Path, name: str, spec, issues: list[DataIssue]) -> PatientTableData | None:
    path = folder / spec.file
    if not path.is_file():
        issues.append(DataIssue(STUDY_FILE, f"patients.tables.{name}.file",
                                f"names {spec.file!r}, which is not in the study folder"))
        return None
    rows = _read_csv(path, issues)
    if rows is None:
        return None
    if spec.orientation == "rows":
        header, body = rows[0], rows[1:]
        records = [dict(zip(header, r, strict=True)) for r in body]
        if spec.id_column not in header:
            issues.append(DataIssue(spec.file, "header", f"has no column {spec.id_column!r} (the id column)"))
            return None
    else:  # published with patients as columns: first column holds the row labels
        labels = [r[0] for r in rows]
        if spec.id_column not in labels:
            issues.append(DataIssue(spec.file, "first column",
                                    f"has no row {spec.id_column!r} (the row of patient ids)"))
            return None
        id_row = labels.index(spec.id_column)
        records = []
        for j in range(1, len(rows[0])):
            records.append({labels[i]: rows[i][j] for i in range(len(rows)) if labels[i].strip()})
        header = [lab for lab in labels if lab.strip()]
        del id_row
    dup_cols = {h for h in header if header.count(h) > 1 and h.strip()}
    if dup_cols:
        issues.append(DataIssue(spec.file, "header", f"repeats the column(s) {', '.join(sorted(dup_cols))}"))
        return None
    rx = re.compile(spec.id_pattern)
    by_patient: dict[str, dict[str, str]] = {}
    groups: dict[str, dict[str, str]] = {}
    ok = True
    for i, rec in enumerate(records, start=2):
        raw_id = rec[spec.id_column]
        place = f"row {i}" if spec.orientation == "rows" else f"column {i}"
        m = rx.fullmatch(raw_id.strip())
        if not m:
            issues.append(DataIssue(spec.file, place,
                                    f"patient id {raw_id!r} does not match the pattern {spec.id_pattern!r}"))
            ok = False
            continue
        pid = m.group("patient")
        if pid in by_patient:
            issues.append(DataIssue(spec.file, place, f"patient {pid} appears more than once"))
            ok = False
            continue
        by_patient[pid] = rec
        groups[pid] = {k: (v or "") for k, v in m.groupdict().items()}
    if not ok:
        return None
    return PatientTableData(name, spec.file, spec.location, rows, by_patient, groups)


def _parse_patients(pdata: PatientData, tables: dict[str, PatientTableData], issues: list[DataIssue]):
    ids = None
    for t in tables.values():
        these = list(t.by_patient)
        if ids is None:
            ids = these
        elif set(these) != set(ids):
            missing = sorted(set(ids) ^ set(these), key=lambda s: (len(s), s))
            issues.append(DataIssue(t.file, "patient ids",
                                    f"do not match the other per-patient tables (differ in: {', '.join(missing)})"))
            return None
    ids = ids or []
    cols: dict[str, list] = {}
    ok = True
    specs = {**pdata.fields, **{f"ae:{k}": v for k, v in pdata.adverse_events.items()}}
    for fname, spec in specs.items():
        table = tables[spec.table]
        parser = PARSE[spec.parse]
        values = []
        for pid in ids:
            if spec.column.startswith("@"):
                group = spec.column[1:]
                if group not in table.id_groups[pid]:
                    issues.append(DataIssue(STUDY_FILE, f"patients.fields.{fname}.column",
                                            f"the id pattern of table {spec.table!r} has no group {group!r}"))
                    return None
                cell = table.id_groups[pid][group]
            else:
                if spec.column not in table.by_patient[pid]:
                    issues.append(DataIssue(table.file, "header", f"has no column {spec.column!r} "
                                            f"(named by patients.fields.{fname.removeprefix('ae:')})"))
                    return None
                cell = table.by_patient[pid][spec.column]
            try:
                values.append(parser(cell))
            except CellError as e:
                issues.append(DataIssue(table.file, f"patient {pid}, column {spec.column!r}", str(e)))
                ok = False
                values.append(None)
        cols[fname] = values
    if not ok:
        return None
    df = pd.DataFrame(cols, index=pd.Index(ids, name="patient"))
    return df


def _check_patient_times(df, pdata: PatientData, file_of: dict[str, str], issues: list[DataIssue]) -> None:
    if "os" not in df.columns:
        return
    f_os = file_of.get("os", STUDY_FILE)
    for pid, row in df.iterrows():
        os_ = row["os"]
        if os_ is None:
            issues.append(DataIssue(f_os, f"patient {pid}", "has no survival time; every patient needs one"))
            continue
        if os_.time < 0:
            issues.append(DataIssue(f_os, f"patient {pid}", f"has a negative survival time {os_.time}"))
        prog = row.get("progression") if "progression" in df.columns else None
        if prog is not None and (prog < 0 or prog > os_.time):
            issues.append(DataIssue(file_of.get("progression", STUDY_FILE), f"patient {pid}",
                                    f"progression at {prog} lies outside the follow-up 0-{os_.time}"))


# --- the study folder -------------------------------------------------------------------------


def source_folders() -> list[Path]:
    """The folders searched for source documents: every folder in $CARTPOOL_SOURCES (several
    separated by the system's path separator, ':' on Linux), else ../shared/seeds beside the project."""
    env = os.environ.get("CARTPOOL_SOURCES")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    here = Path(__file__).resolve().parents[3] / ".." / "shared" / "seeds"
    return [here] if here.is_dir() else []


def sources_dir() -> Path | None:
    """The first existing source folder (kept for callers that want one folder)."""
    return next((p for p in source_folders() if p.is_dir()), None)


def find_source(folder: Path, name: str, folders: list[Path]) -> Path | None:
    """A study's source document, by its own file name: in the study folder itself, else in the
    first of `folders` that holds it."""
    for d in [folder, *folders]:
        p = Path(d) / name
        if p.is_file():
            return p
    return None


def _check_quotes(sd: StudyData, doc: Path, issues: list[DataIssue]) -> None:
    text = normalise_ws(doc.read_text(encoding="utf-8", errors="replace"))

    def check(file: str, where: str, quote: str | None) -> None:
        if quote is not None and normalise_ws(quote) not in text:
            issues.append(DataIssue(file, where, f"the quote {quote[:70]!r} does not occur in {doc.name}"))

    for r in sd.results:
        check(RESULTS_FILE, f"id {r.id}", r.quote)
    for name in type(sd.study).model_fields:
        v = getattr(sd.study, name)
        if hasattr(v, "quote"):
            check(STUDY_FILE, name, v.quote)
    if sd.study.patients:
        for name, v in sd.study.patients.definitions.items():
            check(STUDY_FILE, f"patients.definitions.{name}", v.quote)
    for i, rf in enumerate(sd.study.risk_factors):
        check(STUDY_FILE, f"risk_factors[{i}]", rf.quote)
    for i, ci in enumerate(sd.study.co_interventions):
        check(STUDY_FILE, f"co_interventions[{i}]", ci.quote)
    if sd.appraisal:
        for where, item in appraisal_places(sd.appraisal):
            check(APPRAISAL_FILE, where, item.quote)
    if sd.coverage:
        for i, lo in enumerate(sd.coverage.left_out, start=1):
            for part in (lo.quote, lo.starts, lo.ends):
                check(COVERAGE_FILE, f"left_out entry {i}", part)


def _check_appraisal_registry(sd: StudyData, issues: list[DataIssue]) -> None:
    """A judgement may rest on the study's trial registry entry: it must be one the study names."""
    if sd.appraisal is None:
        return
    for where, j in appraisal_places(sd.appraisal):
        if j.registry is not None and j.registry not in sd.study.registry_ids:
            issues.append(DataIssue(APPRAISAL_FILE, f"{where}.registry",
                                    f"{j.registry!r} is not among the study's registry_ids "
                                    f"({', '.join(sd.study.registry_ids) or 'none'}); add it to study.yaml or "
                                    "correct it"))


def _check_values(sd: StudyData, issues: list[DataIssue]) -> None:
    for r in sd.results:
        for problem in value_problems(r, sd.population_size(r.population)):
            issues.append(DataIssue(RESULTS_FILE, f"id {r.id}", problem))


def _check_bounds_and_cointerventions(sd: StudyData, issues: list[DataIssue]) -> None:
    """A bound's high end within its population; a co-intervention's population is declared."""
    for r in sd.results:
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


def _check_results(study: Study, results: list[ReportedResult], issues: list[DataIssue]) -> None:
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
        if not vocab.known_endpoint(r.endpoint):
            near = vocab.nearest_endpoint(r.endpoint, r.statistic)
            hint = f"did you mean {near!r} ({vocab.endpoint_label(near)})? " if near else ""
            issues.append(DataIssue(RESULTS_FILE, f"{where}, endpoint",
                                    f"{r.endpoint!r} is not a known endpoint for {vocab.STATISTIC_WORDS[r.statistic]}; "
                                    f"{hint}Use a name listed in data/README.md, or start a deliberately custom "
                                    "one with x_"))
            continue
        mismatch = vocab.statistic_mismatch(r.endpoint, r.statistic)
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
        allowed = vocab.allowed_categories(r.endpoint)
        if r.category is not None and allowed is not None and not all(p in allowed for p in parts):
            issues.append(DataIssue(RESULTS_FILE, f"{where}, category",
                                    f"{r.category!r} is not a category of {r.endpoint}; use one of "
                                    f"{', '.join(allowed)}"))


def load_study(folder: Path | str, *, sources: Path | None | bool = True) -> StudyData:
    """Load and validate one study folder.

    `sources`: where to look for the source document (a folder or a list of folders; the study
    folder itself is always searched first); True means the configured folders (`source_folders`);
    None or False skips the provenance checks (values in quotes, quotes in the source). A source
    document that is not found is a notice (`StudyData.notices`), not a failure: the study's
    `quotes_verified` stays False so that its report can say so.
    """
    folder = Path(folder)
    issues: list[DataIssue] = []
    if not folder.is_dir():
        raise UnknownStudyError([DataIssue(str(folder), "", "is not a study folder")])
    issues.extend(link_issues(folder))
    if issues:  # nothing is read through a link that leaves the folder
        raise StudyDataError(issues)
    raw_study = read_yaml(folder / STUDY_FILE, issues) if (folder / STUDY_FILE).is_file() else None
    if raw_study is None and not issues:
        issues.append(DataIssue(STUDY_FILE, "", f"is missing from {folder.name}/"))
    raw_results = read_yaml(folder / RESULTS_FILE, issues) if (folder / RESULTS_FILE).is_file() else None
    if raw_results is None and (folder / RESULTS_FILE).is_file() is False:
        issues.append(DataIssue(RESULTS_FILE, "", f"is missing from {folder.name}/"))
    if issues:
        raise StudyDataError(issues)

    study = None
    if not isinstance(raw_study, dict):
        issues.append(DataIssue(STUDY_FILE, "", "must be a mapping of fields (key: value), "
                                f"not {type(raw_study).__name__}"))
    else:
        try:
            study = Study.model_validate(raw_study)
        except ValidationError as e:
            issues.extend(pydantic_issues(STUDY_FILE, e))
        except RecursionError:
            issues.append(DataIssue(STUDY_FILE, "", "is nested too deeply"))
        if study is not None and study.id != folder.name:
            issues.append(DataIssue(STUDY_FILE, "id", f"is {study.id!r} but the folder is named {folder.name!r}"))

    results: list[ReportedResult] = []
    if not isinstance(raw_results, list):
        issues.append(DataIssue(RESULTS_FILE, "", "must be a list of records (each starting with '- id:'), "
                                f"not {type(raw_results).__name__}"))
    else:
        for i, rec in enumerate(raw_results):
            if not isinstance(rec, dict):
                issues.append(DataIssue(RESULTS_FILE, f"record {i + 1}", "must be a mapping of fields"))
                continue
            rid = rec.get("id")
            label = f"record {i + 1}" + (f" (id {rid})" if isinstance(rid, str) else "")
            if rec.get("endpoint") == "patients" and rec.get("value") == 0:
                issues.append(DataIssue(RESULTS_FILE, f"{label}, value",
                                        "a population of 0 patients: type the number of patients the source states"))
                continue
            try:
                results.append(ReportedResult.model_validate(rec))
            except ValidationError as e:
                for iss in pydantic_issues(RESULTS_FILE, e):
                    issues.append(DataIssue(RESULTS_FILE, f"{label}, {iss.where}" if iss.where else label,
                                            iss.problem))
            except RecursionError:
                issues.append(DataIssue(RESULTS_FILE, f"record {i + 1}", "is nested too deeply"))
    if study is not None:
        _check_results(study, results, issues)
    appraisal = _load_side_file(folder, APPRAISAL_FILE, Appraisal, issues,
                                "the risk-of-bias appraisal (copy the template from data/README.md)")
    coverage = _load_side_file(folder, COVERAGE_FILE, Coverage, issues,
                               "the coverage list of passages left out (see data/README.md)")
    if issues:
        raise StudyDataError(issues)

    sd = StudyData(folder=folder, study=study, results=results, appraisal=appraisal, coverage=coverage,
                   plan=plan_for_study_folder(folder))
    _check_appraisal_registry(sd, issues)
    _check_bounds_and_cointerventions(sd, issues)

    referenced = {STUDY_FILE, RESULTS_FILE, APPRAISAL_FILE, COVERAGE_FILE}
    if study.patients is not None:
        pdata = study.patients
        for name, spec in pdata.tables.items():
            referenced.add(spec.file)
            t = _patient_table(folder, name, spec, issues)
            if t is not None:
                sd.tables[name] = t
        if not issues:
            df = _parse_patients(pdata, sd.tables, issues)
            if df is not None:
                stated = sd.population_size(pdata.population)
                if stated is None:
                    issues.append(DataIssue(RESULTS_FILE, "",
                                            f"has no 'patients' count for population {pdata.population!r}, "
                                            "which the per-patient tables need to check their row count"))
                elif stated != len(df):
                    issues.append(DataIssue(next(iter(pdata.tables.values())).file, "rows",
                                            f"has {len(df)} patients but results.yaml states "
                                            f"{stated} for population {pdata.population!r}"))
                file_of = {k: pdata.tables[v.table].file for k, v in pdata.fields.items()}
                _check_patient_times(df, pdata, file_of, issues)
                sd.patients = df
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in (".csv", ".yaml", ".yml") and p.name not in referenced:
            issues.append(DataIssue(p.name, "", "is not used: study.yaml names no such table "
                                    "(remove it, or add it under patients.tables)"))

    if not issues:
        issues.extend(date_issues(sd))
    if sources is not None and sources is not False and not issues:
        _check_values(sd, issues)
        folders = source_folders() if sources is True else [Path(p) for p in (
            sources if isinstance(sources, list | tuple) else [sources])]
        doc = find_source(folder, study.source_document, folders)
        if doc is None:
            where = ", ".join(str(f) for f in folders) or "no source folder is configured"
            sd.notices.append(DataIssue(STUDY_FILE, "source_document",
                                        f"{study.source_document!r} was not found (looked in the study folder "
                                        f"and in: {where}); its quotes were not verified"))
        else:
            sd.source = doc
            _check_quotes(sd, doc, issues)
            sd.quotes_verified = not issues
    if issues:
        raise StudyDataError(issues)
    return sd


def _load_side_file(folder: Path, name: str, model, issues: list[DataIssue], what: str):
    path = folder / name
    if not path.is_file():
        issues.append(DataIssue(name, "", f"is missing from {folder.name}/: it holds {what}"))
        return None
    n_before = len(issues)
    raw = read_yaml(path, issues)
    if raw is None:
        if len(issues) == n_before:
            issues.append(DataIssue(name, "", f"is empty: it holds {what}"))
        return None
    if not isinstance(raw, dict):
        issues.append(DataIssue(name, "", "must be a block of fields (key: value)"))
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        issues.extend(pydantic_issues(name, e))
    except RecursionError:
        issues.append(DataIssue(name, "", "is nested too deeply"))
    return None


def study_ids(data_dir: Path | str) -> list[str]:
    """Study ids are the folder names under data/studies, sorted."""
    d = Path(data_dir)
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def load_study_by_id(data_dir: Path | str, study_id: object, **kw) -> StudyData:
    """Load a study by id; an id that names no folder is an error listing the known ids."""
    ids = study_ids(data_dir)
    if not isinstance(study_id, str) or study_id not in ids:
        raise UnknownStudyError([DataIssue("study_id", "", f"{study_id!r} is not a known study; "
                                           f"known studies are: {', '.join(ids) or '(none)'}")])
    return load_study(Path(data_dir) / study_id, **kw)


def load_all(data_dir: Path | str, **kw) -> list[StudyData]:
    """Load every study; raises one StudyDataError naming each failing study's files."""
    out, issues = [], folder_issues(data_dir)
    if issues:
        raise StudyDataError(issues)
    for sid in study_ids(data_dir):
        try:
            out.append(load_study(Path(data_dir) / sid, **kw))
        except StudyDataError as e:
            issues.extend(DataIssue(f"{sid}/{i.file}", i.where, i.problem) for i in e.issues)
    issues.extend(label_issues(out))
    if issues:
        raise StudyDataError(issues)
    return out


# --- checks that keep inputs inside their folder and apart from each other (issue 27) ---------


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

"""Load and validate a study folder: ``study.yaml``, ``results.yaml`` and per-patient CSV tables.

`load_study` returns a `StudyData` or raises `StudyDataError` listing every problem with its
file, field or row, in words a curator can act on. It never lets a parser's traceback through.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .coverage import Coverage
from .errors import DataIssue, StudyDataError, UnknownStudyError
from .model import ReportedResult, Study
from .names import study_ids
from .patient_tables import check_patient_times, parse_patients, read_patient_table
from .plan import plan_for_study_folder
from .risk_of_bias import Appraisal
from .sources import check_quotes, find_source, source_folders
from .study_checks import (
    check_appraisal_registry,
    check_bounds_and_cointerventions,
    check_results,
    check_values,
    date_issues,
    duplicate_issues,
    folder_issues,
    label_issues,
    link_issues,
)
from .study_data import StudyData
from .yamlio import APPRAISAL_FILE, COVERAGE_FILE, RESULTS_FILE, STUDY_FILE, pydantic_issues, read_yaml


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
        check_results(study, results, issues)
    appraisal = _load_side_file(folder, APPRAISAL_FILE, Appraisal, issues,
                                "the risk-of-bias appraisal (copy the template from data/README.md)")
    coverage = _load_side_file(folder, COVERAGE_FILE, Coverage, issues,
                               "the coverage list of passages left out (see data/README.md)")
    if issues:
        raise StudyDataError(issues)

    sd = StudyData(folder=folder, study=study, results=results, appraisal=appraisal, coverage=coverage,
                   plan=plan_for_study_folder(folder))
    check_appraisal_registry(sd, issues)
    check_bounds_and_cointerventions(sd, issues)

    referenced = {STUDY_FILE, RESULTS_FILE, APPRAISAL_FILE, COVERAGE_FILE}
    if study.patients is not None:
        pdata = study.patients
        for name, spec in pdata.tables.items():
            referenced.add(spec.file)
            t = read_patient_table(folder, name, spec, issues)
            if t is not None:
                sd.tables[name] = t
        if not issues:
            df = parse_patients(pdata, sd.tables, issues)
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
                check_patient_times(df, pdata, file_of, issues)
                sd.patients = df
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in (".csv", ".yaml", ".yml") and p.name not in referenced:
            issues.append(DataIssue(p.name, "", "is not used: study.yaml names no such table "
                                    "(remove it, or add it under patients.tables)"))

    if not issues:
        issues.extend(date_issues(sd))
    if sources is not None and sources is not False and not issues:
        check_values(sd, issues)
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
            check_quotes(sd, doc, issues)
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
    issues.extend(duplicate_issues(out))
    if issues:
        raise StudyDataError(issues)
    return out


# --- checks that keep inputs inside their folder and apart from each other (issue 27) ---------

"""The source documents of the studies: where they are searched (`source_folders`) and the check
that every verbatim quote in a study's data appears in its source document."""

from __future__ import annotations

import os
from pathlib import Path

from .coverage import normalise_ws
from .errors import DataIssue
from .study_data import StudyData, appraisal_places
from .yamlio import APPRAISAL_FILE, COVERAGE_FILE, RESULTS_FILE, STUDY_FILE


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


def check_quotes(sd: StudyData, doc: Path, issues: list[DataIssue]) -> None:
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

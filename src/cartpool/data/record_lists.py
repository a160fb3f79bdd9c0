"""Reading a curator's list of records beside the study folders (``study_links.yaml``,
``known_studies.yaml``): a YAML list, each record validated by its model, and each quote checked
against the included study's source it names. One home for the curator-facing errors of both.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .coverage import normalise_ws
from .errors import DataIssue, StudyDataError
from .yamlio import pydantic_issues, read_yaml

Record = TypeVar("Record", bound=BaseModel)


def read_record_list(path: Path, model: type[Record], *, what: str,
                     label: Callable[[int, str | None], str]) -> tuple[list[Record], list[DataIssue]]:
    """The valid records of a YAML list, and an issue for each invalid one.

    Parameters
    ----------
    path : Path
        The file (it must exist).
    model : pydantic model class
        Each record's model.
    what : str
        What the list holds, for the error when the file is not a list ("links", "studies").
    label : callable
        ``label(position, id)``: how an error names a record (position from 1; its id where it has one).

    Returns
    -------
    records, issues : list, list of DataIssue

    Raises
    ------
    StudyDataError
        When the file is not valid YAML or not a list.
    """
    issues: list[DataIssue] = []
    raw = read_yaml(path, issues)
    if issues:
        raise StudyDataError(issues)
    if not isinstance(raw, list):
        raise StudyDataError([DataIssue(path.name, "", f"must be a list of {what} (each starting with '- id:')")])
    out: list[Record] = []
    for i, rec in enumerate(raw, start=1):
        try:
            out.append(model.model_validate(rec))
        except ValidationError as e:
            rid = rec.get("id") if isinstance(rec, dict) else None
            where = label(i, rid if isinstance(rid, str) else None)
            issues += [DataIssue(path.name, f"{where}, {x.where}" if x.where else where, x.problem)
                       for x in pydantic_issues(path.name, e)]
    return out, issues


def quote_issue(file: str, where: str, study_id: str, quote: str, by_id: dict) -> DataIssue | None:
    """The issue of a quote attributed to an included study: the study is not included, or its quote
    does not occur in the study's source (where the source was found); None when it is fine."""
    sd = by_id.get(study_id)
    if sd is None:
        return DataIssue(file, where, f"{study_id!r} is not an included study ({', '.join(sorted(by_id))})")
    if sd.source is not None:
        text = normalise_ws(sd.source.read_text(encoding="utf-8", errors="replace"))
        if normalise_ws(quote) not in text:
            return DataIssue(file, where, f"the quote {quote[:70]!r} does not occur in {sd.source.name}")
    return None

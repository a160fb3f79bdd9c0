"""Relevant studies we know of but do not include (issue 15, scope and selection).

``data/known_studies.yaml`` lists each one with how we know of it (which included study's source
cites it, where, and a verbatim quote, checked against that source like any other quote) and why
it is not included. The pooled report draws the selection table from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import DataIssue, StudyDataError
from .record_lists import quote_issue, read_record_list

KNOWN_FILE = "known_studies.yaml"

REASONS = {
    "not_in_source_set": "not among the curated source documents of this report",
    "not_pcl_or_mm_cart": "not a CAR-T study in PCL or multiple myeloma",
    "overlapping_cohort": "its patients may overlap with an included study",
    "no_extractable_results": "no results that could be extracted",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Strict):
    study: str = Field(min_length=1)  # the id of the included study whose source cites it
    location: str = Field(min_length=1)
    quote: str = Field(min_length=3)


class KnownStudy(_Strict):
    id: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    relevance: Literal["pcl", "mm_context"]
    known_from: list[Provenance] = Field(min_length=1)
    reason_not_included: Literal["not_in_source_set", "not_pcl_or_mm_cart", "overlapping_cohort",
                                 "no_extractable_results"]
    note: str | None = None


def load_known_studies(data_dir: Path | str, studies: list | None = None) -> list[KnownStudy]:
    """Read and validate ``known_studies.yaml`` in `data_dir` (the folder above ``studies/``).

    Parameters
    ----------
    data_dir : path
        The data folder.
    studies : list of StudyData, optional
        The loaded studies: each provenance must name one of them, and where that study's source
        document was found, its quote must occur in it.

    Returns
    -------
    list of KnownStudy
        Empty when the file does not exist.
    """
    path = Path(data_dir) / KNOWN_FILE
    if not path.is_file():
        return []
    out, issues = read_record_list(path, KnownStudy, what="studies",
                                   label=lambda i, rid: f"record {i}" + (f" (id {rid})" if rid else ""))
    by_id = {sd.study.id: sd for sd in (studies or [])}
    seen: set[str] = set()
    for k in out:
        if k.id in seen:
            issues.append(DataIssue(KNOWN_FILE, f"id {k.id}", "this id is used by more than one record"))
        seen.add(k.id)
        if (included := _included_as(k, studies or [])) is not None:
            issues.append(DataIssue(KNOWN_FILE, f"id {k.id}", (
                f"this study is included (data/studies/{included.study.id}/, {included.study.label}) and so "
                "cannot also be known but not included. A study is one or the other: now that it has a "
                f"folder, delete this record from {KNOWN_FILE}; or, if it should not be included, remove "
                f"data/studies/{included.study.id}/ and keep this record with its reason")))
        for p in k.known_from:
            if studies is not None and (issue := quote_issue(KNOWN_FILE, f"id {k.id}, known_from", p.study, p.quote,
                                                             by_id)) is not None:
                issues.append(issue)
    if issues:
        raise StudyDataError(issues)
    return out


def _plain(text: str) -> str:
    """Lower-case letters and digits only, for comparing a title or DOI with a citation."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _included_as(k: KnownStudy, studies: list):
    """The included study a known-but-not-included record describes, or None: the same id, the
    included study's DOI in the record's citation, or its printed title (not one a curator wrote for
    an untitled source) as one sentence of the citation. A longer title that only contains it (a
    later report of the same trial, perhaps an overlapping cohort) is another study."""
    import re

    cited = _plain(k.citation)
    sentences = {_plain(x) for x in re.split(r"[.?!]\s+", k.citation)}
    for sd in studies:
        s = sd.study
        if k.id == s.id or (s.doi and _plain(s.doi) in cited):
            return sd
        if s.title and not s.title_descriptive and _plain(s.title) in sentences:
            return sd
    return None

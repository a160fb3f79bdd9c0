"""Links between included studies that a reader must know of: authors, centres or a product's
maker in common, which may mean that some patients are reported twice, and authors employed by a
company. ``data/study_links.yaml`` records each link with the words of each source that show it
(quotes checked against that study's source like any other quote).

The pooled report shows the links in its scope, each study page shows its own, and the
publication-bias judgement reads the links to a company.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .coverage import normalise_ws
from .errors import DataIssue, StudyDataError
from .yamlio import pydantic_issues, read_yaml

LINKS_FILE = "study_links.yaml"
KINDS = {
    "shared_author": "an author in common",
    "shared_centre": "a centre in common",
    "shared_product": "a CAR-T product or maker in common",
    "industry_author": "an author employed by a company",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkEvidence(_Strict):
    study: str = Field(min_length=1)  # an included study's id
    location: str = Field(min_length=1)
    quote: str = Field(min_length=3)


class StudyLink(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    studies: list[str] = Field(min_length=1)
    kinds: list[Literal["shared_author", "shared_centre", "shared_product", "industry_author"]] = Field(min_length=1)
    description: str = Field(min_length=10)  # in a reader's words
    patient_overlap: Literal["possible", "unlikely", "not applicable"]
    evidence: list[LinkEvidence] = Field(min_length=1)


def load_links(data_dir: Path | str, studies: list | None = None) -> list[StudyLink]:
    """Read and validate ``study_links.yaml``; each study named must be included, and each quote must
    occur in that study's source where the source was found."""
    path = Path(data_dir) / LINKS_FILE
    if not path.is_file():
        return []
    issues: list[DataIssue] = []
    raw = read_yaml(path, issues)
    if issues:
        raise StudyDataError(issues)
    if not isinstance(raw, list):
        raise StudyDataError([DataIssue(LINKS_FILE, "", "must be a list of links (each starting with '- id:')")])
    out: list[StudyLink] = []
    for i, rec in enumerate(raw, start=1):
        try:
            out.append(StudyLink.model_validate(rec))
        except ValidationError as e:
            rid = rec.get("id") if isinstance(rec, dict) else None
            label = f"link {rid or i}"
            issues += [DataIssue(LINKS_FILE, f"{label}, {x.where}" if x.where else label, x.problem)
                       for x in pydantic_issues(LINKS_FILE, e)]
    by_id = {sd.study.id: sd for sd in (studies or [])}
    for link in out:
        if studies is None:
            continue
        for sid in link.studies + [e.study for e in link.evidence]:
            if sid not in by_id:
                issues.append(DataIssue(LINKS_FILE, f"link {link.id}",
                                        f"{sid!r} is not an included study ({', '.join(sorted(by_id))})"))
        for ev in link.evidence:
            sd = by_id.get(ev.study)
            if sd is not None and sd.source is not None:
                text = normalise_ws(sd.source.read_text(encoding="utf-8", errors="replace"))
                if normalise_ws(ev.quote) not in text:
                    issues.append(DataIssue(LINKS_FILE, f"link {link.id}, evidence",
                                            f"the quote {ev.quote[:70]!r} does not occur in {sd.source.name}"))
    if issues:
        raise StudyDataError(issues)
    return out

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

from pydantic import BaseModel, ConfigDict, Field

from .errors import DataIssue, StudyDataError
from .record_lists import quote_issue, read_record_list

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
    out, issues = read_record_list(path, StudyLink, what="links", label=lambda i, rid: f"link {rid or i}")
    by_id = {sd.study.id: sd for sd in (studies or [])}
    for link in out:
        if studies is None:
            continue
        for sid in link.studies:
            if sid not in by_id:
                issues.append(DataIssue(LINKS_FILE, f"link {link.id}",
                                        f"{sid!r} is not an included study ({', '.join(sorted(by_id))})"))
        for ev in link.evidence:
            if (issue := quote_issue(LINKS_FILE, f"link {link.id}, evidence", ev.study, ev.quote, by_id)) is not None:
                issues.append(issue)
    if issues:
        raise StudyDataError(issues)
    return out

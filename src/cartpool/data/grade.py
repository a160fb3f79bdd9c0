"""GRADE judgements as data: the reviewer's certainty ratings, recorded with reasons.

``data/grade_judgements.yaml`` holds the reviewer's decisions. The analysis computes the evidence
for each domain and proposes a rating (`cartpool.domain.certainty`); the reviewer records:

* ``publication_bias``: one judgement for the whole body of evidence, with its footnote;
* ``judgements``: one per outcome and population, or one that covers several (``outcomes`` and
  ``populations`` are lists), with a rating and a footnote per domain, the overall certainty, the
  evidence the judgement was made on (``evidence``: a fingerprint per outcome and population, which
  `cartpool grade` prints), the date of the review, and, where a domain departs from the
  analysis's proposal, why (``departure``).

The build compares each recorded fingerprint with the evidence as it is now: a judgement whose
evidence has changed (a study added, a count corrected) is named by the build, and the report
shows the proposal until the judgement is reviewed again.

References
----------
Schünemann H, Brożek J, Guyatt G, Oxman A, eds. GRADE Handbook. The GRADE Working Group; 2013
(footnotes that explain each judgement in the summary of findings).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import DataIssue, StudyDataError
from .names import exactly_these
from .yamlio import pydantic_issues, read_yaml

GRADE_FILE = "grade_judgements.yaml"

Rating = Literal["not serious", "serious", "very serious"]
CertaintyLevel = Literal["high", "moderate", "low", "very low"]
DOMAIN_KEYS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision")
DOMAIN_NAMES = {"risk_of_bias": "risk of bias", "inconsistency": "inconsistency", "indirectness": "indirectness",
                "imprecision": "imprecision", "publication_bias": "publication bias"}
LEVELS_DOWN = {"not serious": 0, "serious": 1, "very serious": 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DomainRating(_Strict):
    rating: Rating
    footnote: str = Field(min_length=3)  # why, in a reader's words (shown under the summary of findings)
    departure: str | None = None  # why this rating departs from the analysis's proposal


class PublicationBias(DomainRating):
    evidence: str = Field(min_length=6)  # the fingerprint of the body of evidence it was judged on
    reviewed: _dt.date


class Judgement(_Strict):
    """The reviewer's GRADE judgement for one or more outcomes in one or more populations."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    outcomes: list[str] = Field(min_length=1)
    populations: list[str] = Field(min_length=1)  # population ids of the analysis plan
    start: CertaintyLevel = "high"
    start_reason: str | None = None  # required where the start is not the plan's (high, Iorio 2015)
    certainty: CertaintyLevel
    domains: dict[str, DomainRating]
    evidence: dict[str, str]  # "<outcome>@<population id>" -> fingerprint
    reviewed: _dt.date

    @field_validator("reviewed", mode="before")
    @classmethod
    def _iso(cls, v):
        if isinstance(v, str):
            try:
                return _dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"write the date as year-month-day, for example 2026-12-06; found {v!r}") from None
        return v

    @field_validator("domains")
    @classmethod
    def _four(cls, v: dict[str, DomainRating]) -> dict[str, DomainRating]:
        return exactly_these(v, DOMAIN_KEYS, "rate every domain",
                             " (publication bias is judged once, under publication_bias)")

    @model_validator(mode="after")
    def _consistent(self) -> Judgement:
        if self.start != "high" and not self.start_reason:
            raise ValueError("a start below high needs start_reason (evidence about rates among treated patients "
                             "starts high, Iorio et al. 2015)")
        for o in self.outcomes:
            for p in self.populations:
                if f"{o}@{p}" not in self.evidence:
                    raise ValueError(f"evidence has no fingerprint for {o}@{p}; run `make judgements` and copy it")
        return self

    def pairs(self) -> list[tuple[str, str]]:
        return [(o, p) for o in self.outcomes for p in self.populations]


class GradeJudgements(_Strict):
    publication_bias: PublicationBias | None = None
    judgements: list[Judgement] = []

    @model_validator(mode="after")
    def _unique(self) -> GradeJudgements:
        ids = [j.id for j in self.judgements]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"judgement id(s) used twice: {', '.join(dup)}")
        seen: dict[tuple[str, str], str] = {}
        for j in self.judgements:
            for pair in j.pairs():
                if pair in seen:
                    raise ValueError(f"{pair[0]} in {pair[1]} is judged twice ({seen[pair]} and {j.id})")
                seen[pair] = j.id
        return self

    def for_pair(self, outcome: str, population: str) -> Judgement | None:
        return next((j for j in self.judgements if (outcome, population) in j.pairs()), None)


def load_judgements(data_dir: Path | str) -> GradeJudgements:
    """Read and validate ``grade_judgements.yaml`` in `data_dir` (none recorded when it is absent)."""
    path = Path(data_dir) / GRADE_FILE
    if not path.is_file():
        return GradeJudgements()
    issues: list[DataIssue] = []
    raw = read_yaml(path, issues)
    if issues:
        raise StudyDataError(issues)
    if not isinstance(raw, dict):
        raise StudyDataError([DataIssue(GRADE_FILE, "", "must be a block with publication_bias: and judgements:")])
    try:
        return GradeJudgements.model_validate(raw)
    except ValidationError as e:
        data = raw.get("judgements") if isinstance(raw.get("judgements"), list) else None
        out = []
        for x in pydantic_issues(GRADE_FILE, e):
            where = x.where
            if data is not None and where.startswith("judgements["):
                i = int(where.split("[", 1)[1].split("]", 1)[0])
                jid = data[i].get("id") if i < len(data) and isinstance(data[i], dict) else None
                where = f"judgement {jid or i + 1}" + where.split("]", 1)[1]
            out.append(DataIssue(GRADE_FILE, where, x.problem))
        raise StudyDataError(out) from None

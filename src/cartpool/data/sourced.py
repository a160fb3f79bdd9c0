"""Values with their provenance, the base of every record of the study data model: `Sourced` (a
value with its location in the source and a verbatim quote), the strict base model every record
extends (unknown fields are errors; records are frozen), and the two kinds of missing a curator
must tell apart ("not reported", "not in source") and "not reached" (NR).
"""

from __future__ import annotations

import re
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .names import ID_HELP, ID_PATTERN

T = TypeVar("T")

# "not reported": the paper does not report it; "not in source": the source we have (an abstract
# or summary of a fuller report) does not contain it. Kept apart, shown apart.
NotReported = Literal["not reported", "not in source"]
NR = "NR"  # "not reached" in the source, an explicit value and never a blank

PLACEHOLDER_MARKERS = ("a verbatim phrase", "verbatim phrase", "FILE_NAME", "Author 2027",
                       "Full title of the paper", "Authors. Title.", "TODO", "FILL IN")


def checked_code(v: str, what: str) -> str:
    if not isinstance(v, str) or not re.match(ID_PATTERN, v):
        raise ValueError(f"{what} must be {ID_HELP}, not {v!r}")
    return v


def no_placeholder(v: str, what: str) -> str:
    for m in PLACEHOLDER_MARKERS:
        if m.lower() in v.lower():
            raise ValueError(f"{what} is still the template's placeholder ({v[:50]!r}): replace it with "
                             "the text from the source document")
    return v


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(Strict, Generic[T]):
    """A value with its provenance: where in the source document it stands, and a verbatim quote."""

    value: T
    location: str = Field(min_length=1)
    quote: str = Field(min_length=3)

    @field_validator("quote")
    @classmethod
    def _filled(cls, v: str) -> str:
        return no_placeholder(v, "the quote")

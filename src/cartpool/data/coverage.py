"""What of each source was extracted and what was deliberately left out.

Each study folder holds ``coverage.yaml``: the passages of the source that are left out of the
data on purpose, each with a reason from `vocabulary.LEFT_OUT_REASONS` (background, discussion,
references, pharmacokinetics, repeats data recorded elsewhere ...). A passage is a verbatim
``quote``, or a stretch of the source from ``starts`` to ``ends`` (both verbatim).

`uncovered_sentences` lists the result sentences of a source (sentences with a number, written
in digits or words) that hold a number covered neither by an extracted quote (result records,
study facts, definitions, appraisal) nor by a left-out passage. A complete extraction has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Reason = Literal["front_matter", "background", "methods", "discussion", "references", "repeats_data",
                 "per_patient_table", "funding",
                 "pharmacokinetics", "laboratory", "individual_case", "out_of_scope", "site_text"]


class LeftOut(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    location: str = Field(min_length=1)
    reason: Reason
    quote: str | None = None
    starts: str | None = None
    ends: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> LeftOut:
        span = self.starts is not None or self.ends is not None
        if self.quote is None and not (self.starts and self.ends):
            raise ValueError("give the passage as a verbatim quote, or as starts and ends (both verbatim)")
        if self.quote is not None and span:
            raise ValueError("give either quote, or starts and ends, not both")
        if self.reason == "out_of_scope" and not self.note:
            raise ValueError("say in the note why this is out of scope")
        return self


class Coverage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    left_out: list[LeftOut] = []


def normalise_ws(s: str) -> str:
    """Whitespace runs as one space: quotes match across line breaks and tabs."""
    return re.sub(r"\s+", " ", s).strip()


_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                 "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty hundred").split()
_NUMBER = re.compile(r"(?<![A-Za-z\d^_{])\d+(?:[.,]\d+)*|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.I)


#: Numbers that are not results: cross-references ("Table 2", "Figure 1 A", "Supplementary
#: Figure S2") and reference superscripts written as ^{7, 8}.
_NOT_RESULTS = re.compile(r"\^\{[^}]*\}|\b(?i:Tables?|Figures?|Fig\.)\s*S?\d+[A-Z]?(?:\s*[,–-]\s*S?\d+[A-Z]?)*")


def _sentences(raw: str, text: str) -> list[tuple[int, int]]:
    """Sentence spans in `text` (the whitespace-normalised `raw`): each line of `raw` is split
    after . ! ? followed by a space and a capital, digit or bracket."""
    spans, pos = [], 0
    for line in raw.splitlines():
        line = normalise_ws(line)
        if not line:
            continue
        at = text.find(line, pos)
        if at < 0:
            continue
        start, end = at, at + len(line)
        for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"“])", text[at:end]):
            spans.append((start, at + m.start()))
            start = at + m.end()
        spans.append((start, end))
        pos = end
    return [(a, b) for a, b in spans if b > a]


def _intervals(text: str, quote: str) -> list[tuple[int, int]]:
    q = normalise_ws(quote)
    if not q:
        return []
    out, i = [], text.find(q)
    while i >= 0:
        out.append((i, i + len(q)))
        i = text.find(q, i + 1)
    return out


@dataclass(frozen=True)
class Gap:
    """A result sentence with numbers that no quote and no left-out passage covers."""

    sentence: str
    numbers: tuple[str, ...]


def covered_intervals(text: str, extracted: list[str], left_out: list[LeftOut]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for q in extracted:
        spans += _intervals(text, q)
    for lo in left_out:
        if lo.quote is not None:
            spans += _intervals(text, lo.quote)
        else:
            for a, _ in _intervals(text, lo.starts or ""):
                e = text.find(normalise_ws(lo.ends or ""), a)
                if e >= 0:
                    spans.append((a, e + len(normalise_ws(lo.ends or ""))))
                    break
    return sorted(spans)


def uncovered_sentences(source_text: str, extracted: list[str], left_out: list[LeftOut]) -> list[Gap]:
    """Result sentences of `source_text` with a number that is neither extracted nor left out.

    Parameters
    ----------
    source_text : str
        The source document (whitespace is normalised here).
    extracted : list of str
        Every verbatim quote the study's data cite.
    left_out : list of LeftOut
        The study's deliberately left-out passages.

    Returns
    -------
    list of Gap
        One per sentence holding at least one number outside every covered passage.
    """
    text = normalise_ws(source_text)
    spans = covered_intervals(text, extracted, left_out)
    spans += [m.span() for m in _NOT_RESULTS.finditer(text)]
    gaps = []
    for a, b in _sentences(source_text, text):
        missing = []
        for m in _NUMBER.finditer(text, a, b):
            s, e = m.start(), m.end()
            if not any(x <= s and e <= y for x, y in spans):
                missing.append(m.group())
        if missing:
            gaps.append(Gap(text[a:b], tuple(missing)))
    return gaps

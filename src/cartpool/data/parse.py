"""Parsers for per-patient cells as papers print them.

Per-patient tables are entered exactly as published ("14 +", "No", "sCR, MRD Neg",
"Allo-HSCT (4)", "1.34×10⁸"). Each parser turns one printed cell into a typed value and raises
`CellError` with a curator-readable reason when the cell does not fit. Which parser applies to
which column is declared in the study's ``study.yaml``, so a new study needs no code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import RESPONSE_CATEGORIES


class CellError(ValueError):
    """A printed cell that its declared parser cannot read."""


MISSING = {"", "nd", "na", "n/a", "-", "—", "not done", "ne"}


@dataclass(frozen=True)
class TimePlus:
    """A time with an optional '+' marker (alive / censored at that time)."""

    time: float
    censored: bool


@dataclass(frozen=True)
class Response:
    category: str
    mrd_negative: bool | None


@dataclass(frozen=True)
class EventTime:
    label: str
    time: float


@dataclass(frozen=True)
class OutcomeAfter:
    """A cell such as 'Yes (PR, 2)' or 'No (sCR, 12 +)': an event flag, a response, a time."""

    event: bool
    response: str | None
    time: float | None
    censored: bool


_NUM = r"(\d+(?:\.\d+)?)"
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _is_missing(s: str) -> bool:
    return s.strip().lower() in MISSING


def _number(s: str) -> float:
    t = s.strip()
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", t):
        raise CellError(f"expected a number, found {s!r}")
    return float(t)


def parse_text(s: str):
    return None if _is_missing(s) else s.strip()


def parse_number(s: str):
    return None if _is_missing(s) else _number(s)


def parse_integer(s: str):
    if _is_missing(s):
        return None
    t = s.strip()
    if not re.fullmatch(r"\d+", t):
        raise CellError(f"expected a whole number, found {s!r}")
    return int(t)


def parse_percent(s: str):
    if _is_missing(s):
        return None
    m = re.fullmatch(r"\s*" + _NUM + r"\s*%\s*", s)
    if not m:
        raise CellError(f"expected a percentage such as '63.58%', found {s!r}")
    value = float(m.group(1))
    if value > 100:
        raise CellError(f"a percentage above 100: {s!r}")
    return value


def parse_sci_number(s: str):
    """'1.34×10⁸' or '1.5×10^8' or '1.5e8' -> 1.34e8."""
    if _is_missing(s):
        return None
    t = s.strip().translate(_SUPERSCRIPTS).replace(" ", "")
    m = re.fullmatch(_NUM + r"(?:[×x*]10\^?(-?\d+)|e(-?\d+))?", t)
    if not m:
        raise CellError(f"expected a number such as '1.34×10⁸', found {s!r}")
    exp = m.group(2) or m.group(3) or "0"
    return float(m.group(1)) * 10 ** int(exp)


def parse_time_plus(s: str):
    """'14 +' -> censored at 14 (the patient was alive at last contact); '11' -> event at 11."""
    if _is_missing(s):
        return None
    m = re.fullmatch(r"\s*" + _NUM + r"\s*(\+?)\s*", s)
    if not m:
        raise CellError(f"expected a time such as '11' or '14 +' (+ = still alive), found {s!r}")
    return TimePlus(float(m.group(1)), bool(m.group(2)))


def parse_time_or_no(s: str):
    """'No' -> no event (None); '2.5' -> event at 2.5."""
    if s.strip().lower() == "no":
        return None
    if _is_missing(s):
        raise CellError("empty cell: write 'No' for no event, or the time of the event")
    return _number(s)


_RESP = {c.lower(): c for c in RESPONSE_CATEGORIES}


def parse_response(s: str):
    """'sCR, MRD Neg' -> Response('sCR', True); 'PR' -> Response('PR', None)."""
    if _is_missing(s):
        return None
    parts = [p.strip() for p in s.split(",")]
    cat = _RESP.get(parts[0].lower())
    if cat is None:
        raise CellError(
            f"unknown response {parts[0]!r}; expected one of {', '.join(RESPONSE_CATEGORIES)}"
        )
    mrd = None
    for p in parts[1:]:
        low = p.lower().replace("-", " ")
        if low in ("mrd neg", "mrd negative"):
            mrd = True
        elif low in ("mrd pos", "mrd positive"):
            mrd = False
        else:
            raise CellError(f"unexpected text {p!r} after the response in {s!r}")
    return Response(cat, mrd)


def parse_grade(s: str):
    """CTCAE/ASTCT grade as printed: 'No' or '0' -> 0, '1'..'5' -> that grade."""
    t = s.strip()
    if t.lower() == "no":
        return 0
    if _is_missing(t):
        return None
    if not re.fullmatch(r"[0-5]", t):
        raise CellError(f"expected a grade 0-5 or 'No', found {s!r}")
    return int(t)


_ROMAN = {"0": 0, "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


def parse_roman_grade(s: str):
    t = s.strip()
    if t.lower() == "no":
        return 0
    if _is_missing(t):
        return None
    if t not in _ROMAN:
        raise CellError(f"expected a grade written I-V, found {s!r}")
    return _ROMAN[t]


def parse_yes_no(s: str):
    """'No' -> False; 'Yes', 'Yes(10)' or a named event such as 'Influenza A virus' -> True."""
    t = s.strip()
    if t.lower() == "no":
        return False
    if _is_missing(t):
        return None
    return True


def parse_flag(s: str):
    """A footnote marker such as '*': present -> True, absent -> False."""
    return bool(s.strip())


def parse_event_time(s: str):
    """'Allo-HSCT (4)' -> EventTime('Allo-HSCT', 4.0); 'ND' -> None."""
    if _is_missing(s):
        return None
    m = re.fullmatch(r"\s*(.+?)\s*\(\s*" + _NUM + r"\s*\)\s*", s)
    if not m:
        raise CellError(f"expected an event with its time, such as 'Allo-HSCT (4)', found {s!r}")
    return EventTime(m.group(1), float(m.group(2)))


def parse_outcome_after(s: str):
    """'No', 'Yes (PR, 2)', 'No (sCR, 12 +)': event flag, best response, time, alive marker."""
    t = s.strip()
    m = re.fullmatch(r"(Yes|No)\s*(?:\(\s*([A-Za-z]+)\s*,\s*" + _NUM + r"\s*(\+?)\s*\))?", t, re.I)
    if not m:
        raise CellError(f"expected 'No', 'Yes (PR, 2)' or 'No (sCR, 12 +)', found {s!r}")
    resp = m.group(2)
    if resp is not None and resp.lower() not in _RESP:
        raise CellError(f"unknown response {resp!r} in {s!r}")
    return OutcomeAfter(
        event=m.group(1).lower() == "yes",
        response=_RESP[resp.lower()] if resp else None,
        time=float(m.group(3)) if m.group(3) else None,
        censored=bool(m.group(4)),
    )


PARSE = {
    "text": parse_text,
    "number": parse_number,
    "integer": parse_integer,
    "percent": parse_percent,
    "sci_number": parse_sci_number,
    "time_plus": parse_time_plus,
    "time_or_no": parse_time_or_no,
    "response": parse_response,
    "grade": parse_grade,
    "roman_grade": parse_roman_grade,
    "yes_no": parse_yes_no,
    "flag": parse_flag,
    "event_time": parse_event_time,
    "outcome_after": parse_outcome_after,
}

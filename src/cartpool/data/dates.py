"""Dates as sources print them ("March 2025", "May 10, 2025", "August 20, 2018 to December 31,
2021"), read into the span of days they can mean, so that a cut-off in the future or an
enrolment period that ends before it starts is caught in validation.

The data keep the text as printed; this module only reads it. A date printed to the month
means any day of that month: checks compare spans and only fail where no reading fits.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
MONTHS["sept"] = 9

#: What a curator can type (shown in messages)
FORMS = "'May 10, 2025', '10 May 2025', 'March 2025', '2025-05-10', '2025-05' or '2025'"
PERIOD_FORMS = "a start and an end joined by 'to', for example 'June 2020 to March 2025'"

_PERIOD_SPLIT = re.compile(r"\s+(?:to|through|until)\s+|\s*[–—]\s*|\s+-\s+", re.I)


class DateText(ValueError):
    """A text that is not a date in any of the forms `FORMS` lists."""


def _month(word: str) -> int:
    m = MONTHS.get(word.lower().rstrip("."))
    if m is None:
        raise DateText(word)
    return m


def _span(year: int, month: int | None = None, day: int | None = None) -> tuple[dt.date, dt.date]:
    if month is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if day is None:
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    d = dt.date(year, month, day)
    return d, d


def parse_date(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day that a printed date can mean.

    Raises
    ------
    DateText
        Where the text is not a date in one of the forms in `FORMS`.
    """
    t = re.sub(r"\s+", " ", str(text).strip().rstrip(".,")).replace(",", ", ").replace(" ,", ",")
    t = re.sub(r"\s+", " ", t)
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t):
            return _span(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
            return _span(int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{4})", t):
            return _span(int(m[1]))
        if m := re.fullmatch(r"([A-Za-z]+\.?) (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})", t):
            return _span(int(m[3]), _month(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]+\.?),? (\d{4})", t):
            return _span(int(m[3]), _month(m[2]), int(m[1]))
        if m := re.fullmatch(r"([A-Za-z]+\.?),? (\d{4})", t):
            return _span(int(m[2]), _month(m[1]))
    except ValueError as e:  # day 31 of a 30-day month, month 13
        raise DateText(text) from e
    raise DateText(text)


def parse_period(text: str) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """The spans of a period's start and end ("June 2020 to March 2025").

    A start printed without its year ("June to December 2021") takes the end's year.
    """
    t = re.sub(r"^\s*(from|between)\s+", "", str(text).strip(), flags=re.I)
    parts = _PERIOD_SPLIT.split(t)
    if len(parts) != 2:
        parts = re.split(r"\s+and\s+", t, flags=re.I) if re.match(r"(?i)\s*between", str(text)) else parts
    if len(parts) != 2:
        raise DateText(text)
    end = parse_date(parts[1])
    try:
        start = parse_date(parts[0])
    except DateText:
        start = parse_date(f"{parts[0].strip().rstrip(',')} {end[0].year}")
    return start, end


def build_date() -> dt.date:
    """The build's date: ``SOURCE_DATE_EPOCH`` where set (reproducible builds), else today (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.datetime.now(dt.UTC).date()

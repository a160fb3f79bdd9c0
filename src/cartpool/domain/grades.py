"""Grade bands of adverse events as papers print them: "any", "1", "1-2", "3-4", ">=3".

A band is a closed range of CTCAE/ASTCT grades 1-5. "Grade 3 or higher" is the outcome most
reviews pool; papers print it as ">=3", "3-4" (when no grade 5 occurred) or "3-5".
"""

from __future__ import annotations

import pandas as pd

#: Printed bands that stand for "grade 3 or higher".
GRADE_3_OR_HIGHER = (">=3", "3-4", "3-5")


def span(band: str | None) -> tuple[int, int]:
    """The grades a printed band covers: "any" -> (1, 5), ">=3" -> (3, 5), "1-2" -> (1, 2)."""
    if band in (None, "any"):
        return 1, 5
    if band.startswith(">="):
        return int(band[2:]), 5
    if "-" in band:
        a, b = band.split("-")
        return int(a), int(b)
    return int(band), int(band)


def printed_bands_for(band: str | None) -> tuple[str | None, ...]:
    """The printed bands that report an outcome's band (any grade, or grade 3 or higher)."""
    if band in (None, "any"):
        return (None, "any")
    if band == ">=3":
        return GRADE_3_OR_HIGHER
    return (band,)


def flags(grades: pd.Series, band: str | None) -> pd.Series:
    """Per patient: whether the highest grade lies in `band` (0 = no event; NaN stays unknown)."""
    lo, hi = span(band)
    out = (grades >= lo) & (grades <= hi)
    return out.where(grades.notna())


def display(band: str | None) -> str:
    """A band as a reader sees it: ">=3" -> "≥3", "3-4" -> "3–4", None -> "any"."""
    if band in (None, "any"):
        return "any"
    return band.replace(">=", "≥").replace("-", "–")


def tile(bands: list[str]) -> bool:
    """Whether bands tile consecutive grades from 1 without overlap (1, 2 or 1-2, >=3 ...)."""
    spans = sorted(span(b) for b in bands)
    return bool(spans) and spans[0][0] == 1 and all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:], strict=False))

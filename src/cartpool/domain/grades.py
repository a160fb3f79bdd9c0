"""Grade bands of adverse events as papers print them: "any", "1", "1-2", "3-4", ">=3".

A band is a closed range of CTCAE/ASTCT grades 1-5. "Grade 3 or higher" is the outcome most
reviews pool; papers print it as ">=3", "3-4" (when no grade 5 occurred) or "3-5".
"""

from __future__ import annotations

import pandas as pd

#: Printed bands that stand for "grade 3 or higher".
GRADE_3_OR_HIGHER = (">=3", "3-4", "3-5")


def span(band: str | None) -> tuple[int, int]:
    """The grades a printed band covers: "any" -> (1, 5), ">=3" -> (3, 5), "1-2" -> (1, 2).

    Parameters
    ----------
    band : str or None
        A printed band: None or "any", ">=g", "a-b" or a single grade "g".

    Returns
    -------
    (int, int)
        The lowest and highest grade covered, both inclusive, within 1-5.

    References
    ----------
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
    and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant.
    2019;25:625-38.
    National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE), version 5.0.
    2017.
    """
    if band in (None, "any"):
        return 1, 5
    if band.startswith(">="):
        return int(band[2:]), 5
    if "-" in band:
        a, b = band.split("-")
        return int(a), int(b)
    return int(band), int(band)


def printed_bands_for(band: str | None) -> tuple[str | None, ...]:
    """The printed bands that report an outcome's band (any grade, or grade 3 or higher).

    Parameters
    ----------
    band : str or None
        The outcome's band: None or "any", ">=3", or any other printed band.

    Returns
    -------
    tuple of (str or None)
        (None, "any") for any grade; ">=3", "3-4" and "3-5" for grade 3 or higher; otherwise
        the band itself.

    References
    ----------
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
    and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant.
    2019;25:625-38.
    National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE), version 5.0.
    2017.
    """
    if band in (None, "any"):
        return (None, "any")
    if band == ">=3":
        return GRADE_3_OR_HIGHER
    return (band,)


def flags(grades: pd.Series, band: str | None) -> pd.Series:
    """Per patient: whether the highest grade lies in `band` (0 = no event; NaN stays unknown).

    Parameters
    ----------
    grades : pandas.Series
        Each patient's highest grade, 0-5, NaN where not known.
    band : str or None
        The printed band (see `span`).

    Returns
    -------
    pandas.Series
        The index of `grades`; True or False where the grade is known, NaN where it is not.

    References
    ----------
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
    and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant.
    2019;25:625-38.
    National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE), version 5.0.
    2017.
    """
    lo, hi = span(band)
    out = (grades >= lo) & (grades <= hi)
    return out.where(grades.notna())


def display(band: str | None) -> str:
    """A band as a reader sees it: ">=3" -> "≥3", "3-4" -> "3–4", None -> "any".

    Parameters
    ----------
    band : str or None
        A printed band.

    Returns
    -------
    str
        The band with the typographic "≥" and en dash.

    References
    ----------
    None: a convention of this project (how a band is printed on a page).
    """
    if band in (None, "any"):
        return "any"
    return band.replace(">=", "≥").replace("-", "–")


def tile(bands: list[str]) -> bool:
    """Whether bands tile consecutive grades from 1 without overlap (1, 2 or 1-2, >=3 ...).

    Parameters
    ----------
    bands : list of str
        Printed bands (see `span`).

    Returns
    -------
    bool
        True when, sorted, the first band starts at grade 1 and each next band starts one grade
        after the previous one ends; False for an empty list. The last band need not reach 5.

    References
    ----------
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
    and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant.
    2019;25:625-38.
    National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE), version 5.0.
    2017.
    """
    spans = sorted(span(b) for b in bands)
    return bool(spans) and spans[0][0] == 1 and all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:], strict=False))

"""Every column of a study's per-patient tables, summarised: so that no extracted column is only
in the as-published appendix.

One tidy row per (column, level): how many patients have each grade, each answer, each printed
category, or the median and range of a number. Each column also gets the study-page section it
belongs to (`vocabulary.HOMES`), from the endpoint its name means ("Early ICAHT" is ICAHT, shown
with the haematological effects on its own scale; "Lung infection" is an infection).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..data import endpoint_names
from ..data import vocabulary as vocab
from ..data.parse import EventTime, OutcomeAfter, Response, TimePlus
from ..data.study_data import StudyData
from ..domain.response import rank

COLUMNS = ["field", "label", "endpoint", "home", "parse", "table", "column", "level", "count", "total", "median",
           "low", "high"]

#: Fields that are shown by their own sections (survival, response, CRS and ICANS by grade) and
#: the home of the rest when their name means no endpoint.
_ROLE_HOMES = {"os": "survival", "progression": "durability", "best_response": "efficacy",
               "early_response": "efficacy", "crs_grade": "safety", "icans_grade": "safety",
               "second_infusion": "treatment", "subsequent": "treatment", "target": "treatment"}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def endpoint_of_column(name: str) -> str | None:
    """The vocabulary endpoint a per-patient column's name means, or None.

    The name in snake case is an endpoint or one of its aliases ("B-cell aplasia" ->
    b_cell_aplasia), or contains one as whole words ("Early ICAHT" -> icaht, "Lung infection" ->
    infection; the longest such endpoint wins).
    """
    snake = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    names = {alias: key for key, spec in vocab.ENDPOINTS.items() for alias in (key, *spec.aliases)}
    if snake in names:
        return names[snake]
    padded = f"_{snake}_"
    hits = [alias for alias in names if f"_{alias}_" in padded]
    return names[max(hits, key=len)] if hits else None


def _home(field: str, endpoint: str | None, parse: str) -> str:
    if field in _ROLE_HOMES:
        return _ROLE_HOMES[field]
    if parse == "outcome_after":  # what happened after a subsequent therapy
        return "treatment"
    if endpoint is not None:
        return vocab.ENDPOINTS[endpoint].home if vocab.ENDPOINTS[endpoint].home not in ("population", "follow_up") \
            else "baseline"
    return "other"


def _present(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v))


def _levels(values: list, parse: str) -> list[tuple[str, int]]:
    """(level, count) pairs of a column's non-missing values, in a reader's order."""
    if parse in ("grade", "roman_grade"):
        grades = [v for v in values if isinstance(v, int)]
        out = [("none" if g == 0 else (f"grade {ROMAN.get(g, g)}" if parse == "roman_grade" else f"grade {g}"),
                grades.count(g)) for g in sorted(set(grades))]
        return out
    if parse in ("yes_no", "flag"):
        return [("yes", sum(bool(v) for v in values)), ("no", sum(not v for v in values))]
    if parse == "response":
        cats = [v.category for v in values if isinstance(v, Response)]
        return [(c, cats.count(c)) for c in sorted(set(cats), key=rank)]
    if parse == "time_plus":
        return [("died", sum(not v.censored for v in values if isinstance(v, TimePlus))),
                ("alive at last follow-up", sum(v.censored for v in values if isinstance(v, TimePlus)))]
    if parse == "time_or_no":
        return [("event recorded", sum(isinstance(v, float | int) for v in values))]
    if parse == "event_time":
        labels = [v.label for v in values if isinstance(v, EventTime)]
        return [(lab, labels.count(lab)) for lab in sorted(set(labels))]
    if parse == "outcome_after":
        got = [v for v in values if isinstance(v, OutcomeAfter)]
        out = [("event recorded", sum(v.event for v in got))]
        resp = [v.response for v in got if v.response]
        out += [(f"response {c}", resp.count(c)) for c in sorted(set(resp), key=rank)]
        return out
    texts = [str(v) for v in values]
    return [(t, texts.count(t)) for t in sorted(set(texts))]


def summarise_patient_fields(sd: StudyData) -> pd.DataFrame:
    """Every declared per-patient column as tidy rows (see the module docstring).

    Parameters
    ----------
    sd : StudyData
        A loaded study; an empty frame without per-patient tables.

    Returns
    -------
    DataFrame
        Columns `COLUMNS`. `level` is a grade, answer or category with its `count` of `total`
        patients with a value; numeric columns have one row (level "") with median, low and high.
    """
    df, pdata = sd.patients, sd.study.patients
    if df is None or pdata is None:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    specs = {**pdata.fields, **{f"ae:{k}": v for k, v in pdata.adverse_events.items()}}
    for field, spec in specs.items():
        if field not in df.columns:
            continue
        name = field.removeprefix("ae:")
        label = spec.label or (spec.column if not spec.column.startswith("@") else endpoint_names.humanise(name))
        endpoint = endpoint_of_column(name if field.startswith("ae:") else field) or endpoint_of_column(label)
        home = _home(field, endpoint, spec.parse)
        values = [v for v in df[field] if _present(v)]
        # a blank time of progression means none: every patient counts
        n = len(df) if spec.parse == "time_or_no" else len(values)
        base = {"field": field, "label": label, "endpoint": endpoint or "", "home": home, "parse": spec.parse,
                "table": pdata.tables[spec.table].location, "column": spec.column, "total": n,
                "median": None, "low": None, "high": None}
        if spec.parse in ("number", "integer", "percent", "sci_number"):
            nums = [float(v) for v in values]
            rows.append({**base, "level": "", "count": len(nums),
                         "median": float(np.median(nums)) if nums else None,
                         "low": min(nums) if nums else None, "high": max(nums) if nums else None})
            continue
        for level, count in _levels(values, spec.parse):
            rows.append({**base, "level": level, "count": int(count)})
    return pd.DataFrame(rows, columns=COLUMNS)

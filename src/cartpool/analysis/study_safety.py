"""One study's safety tables: CRS and ICANS by grade, other adverse events of grade 3 or higher,
the highest grade per patient, and deaths with their causes (`StudyAnalysis` keeps each).

Each takes the study and, where the study has one, its per-patient table with the endpoints derived
(`cartpool.domain.derive.derive_endpoints`): counted from the table where it has the column, else
as printed.
"""

from __future__ import annotations

import pandas as pd

from ..data.model import NOT_IN_SOURCE
from ..data.study_data import StudyData
from ..domain import counts as count_rules
from ..domain import grades, record_counts, registry
from ..domain.population import population_label
from .pooled_rows import own_proportion


def proportion_or_none(events: int | None, total: int | None) -> tuple[float | None, float | None, float | None]:
    """A count's proportion and exact 95% interval (`pooled_rows.own_proportion`), or three Nones
    where there is no count or no denominator."""
    if events is None or not total:
        return None, None, None
    return own_proportion(int(events), int(total))


def crs_icans(sd: StudyData, derived: pd.DataFrame | None) -> pd.DataFrame:
    """CRS and ICANS by grade with the grading scale: from the per-patient table, else printed."""
    cols = ["event", "grade", "events", "total", "scale", "how", "result_id", "note"]
    rows = []
    d = derived
    for ep, scale_field in registry.GRADED_SYNDROMES.items():
        scale = getattr(sd.study, scale_field)
        scale_txt = (scale.value if not isinstance(scale, str) else
                     "scale not in the source" if scale == NOT_IN_SOURCE else "scale not reported")
        if d is not None and f"{ep}_grade" in d.columns:
            g = d[f"{ep}_grade"]
            for grade in range(1, 6):
                k = int((g == grade).sum())
                if k:
                    rows.append({"event": ep, "grade": str(grade), "events": k, "total": len(g),
                                 "scale": scale_txt, "how": record_counts.HOW_PER_PATIENT, "result_id": "", "note": ""})
            rows.append({"event": ep, "grade": "any", "events": int((g >= 1).sum()), "total": len(g),
                         "scale": scale_txt, "how": record_counts.HOW_PER_PATIENT, "result_id": "", "note": ""})
            continue
        for r in sd.results:
            if r.endpoint != ep or r.category is not None or r.statistic not in ("count", "proportion"):
                continue
            c = record_counts.resolve_record(sd, r)
            rows.append({"event": ep, "grade": r.grade or "any", "events": c.events,
                         "events_high": c.events_high, "total": c.total,
                         "scale": scale_txt, "how": c.describe(), "result_id": r.id, "note": r.note or ""})
    out = pd.DataFrame(rows, columns=cols + ["events_high"])
    out["events_high"] = out["events_high"].fillna(out["events"])
    return out


def other_adverse_events(sd: StudyData) -> pd.DataFrame:
    """Printed adverse events of grade >=3 that no registered outcome covers (including those
    at a fixed timepoint, such as cytopenia persisting at 1 month)."""
    cols = ["endpoint", "grade", "timepoint", "events", "total", "estimate", "ci_low", "ci_high", "how",
            "result_id", "note"]
    covered = {(o.endpoint, o.grade) for o in registry.OUTCOMES}
    rows = []
    for r in sd.results:
        if r.grade not in grades.GRADE_3_OR_HIGHER or r.statistic not in ("count", "proportion"):
            continue
        if (r.endpoint, ">=3") in covered and r.timepoint is None:
            continue
        c = record_counts.resolve_record(sd, r)
        est, lo, hi = proportion_or_none(c.events, c.total) if c.available else (None, None, None)
        when = f"{r.timepoint.value:g} {r.timepoint.unit}" if r.timepoint else ""
        rows.append({"endpoint": r.endpoint, "grade": r.grade, "timepoint": when, "events": c.events,
                     "total": c.total, "estimate": est, "ci_low": lo, "ci_high": hi, "how": c.describe(),
                     "result_id": r.id, "note": r.note or ""})
    return pd.DataFrame(rows, columns=cols)


def adverse_event_grid(sd: StudyData, derived: pd.DataFrame | None) -> pd.DataFrame | None:
    """Highest grade of each graded adverse event (rows) per patient (columns)."""
    d = derived
    if d is None:
        return None
    # CTCAE-graded events only: ICAHT (roman grades) has its own scale and its own table
    own_scale = {f"ae:{k}" for k, v in sd.study.patients.adverse_events.items() if v.parse == "roman_grade"}
    ae = [c for c in d.columns if c.startswith("ae:") and c not in own_scale]
    graded = [c for c in ae if d[c].dropna().map(lambda v: isinstance(v, int) and not isinstance(v, bool)).all()
              and len(d[c].dropna())]
    cols = [c for c in ("crs_grade", "icans_grade") if c in d.columns] + graded
    if not cols:
        return None
    g = d[cols].T.astype(float)
    g.index = cols
    return g


def death_records(sd: StudyData, derived: pd.DataFrame | None) -> pd.DataFrame:
    """Deaths and their printed causes, plus deaths counted in the per-patient table."""
    cols = ["cause", "relapse_related", "population_label", "events", "events_high", "total", "how", "result_id",
            "note"]
    rows = []
    for r in sd.results:
        if r.endpoint != "death" or r.statistic != "count":
            continue
        c = record_counts.resolve_record(sd, r)
        rows.append({"cause": r.category or "", "relapse_related": count_rules.relapse_related(r) if r.category else None,
                     "population_label": population_label(sd, r.population), "events": c.events,
                     "events_high": c.high if c.high is not None else c.events,
                     "total": c.total, "how": c.how, "result_id": r.id, "note": r.note or ""})
    d = derived
    if d is not None and "os_event" in d.columns:
        rows.append({"cause": "", "relapse_related": None,
                     "population_label": population_label(sd, sd.study.patients.population),
                     "events": int(d["os_event"].sum()), "events_high": int(d["os_event"].sum()), "total": len(d),
                     "how": record_counts.HOW_PER_PATIENT,
                     "result_id": "", "note": ""})
    return pd.DataFrame(rows, columns=cols)

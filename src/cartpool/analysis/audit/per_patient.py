"""Check 4: medians, counts, subgroup sizes and baseline summaries recomputed from a per-patient table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...data import endpoint_names
from ...data.study_data import StudyData
from ...domain import grades
from ...domain.population import population_rows
from ...domain.response import THRESHOLDS, at_least
from ...units import DAYS_PER_MONTH, convert
from ..baseline import QUARTILE_DEFINITIONS, category_match, recompute_baseline
from .rows import (
    CONSISTENT,
    INCONSISTENT,
    NOT_CHECKABLE,
    READING,
    ROUNDING,
    AuditRow,
    fmt_value,
    record_label,
)


def _median_first_below(km) -> float | None:
    t = km.table
    below = t[t["survival"] <= 0.5 + 1e-12]
    return None if below.empty else float(below["time"].iloc[0])


def _time_resolution(d: pd.DataFrame) -> float:
    """The step the per-patient times are printed in (0.5 or 1 of the table's unit)."""
    times = pd.concat([d["os_time"], d.get("pfs_time", d["os_time"])])
    return 0.5 if any(abs(t * 2 - round(t * 2)) < 1e-9 and abs(t - round(t)) > 1e-9 for t in times) else 1.0


def _time_tolerance_days(sd: StudyData, d: pd.DataFrame) -> float:
    """How far a recomputed time may lie from a printed one, in days: half the step the table's times
    are printed in where the table rounds to the nearest step, one full step where its rounding rule
    is unknown (rounded down or up, a time may lie anywhere within a step of its print)."""
    table = sd.study.patients.tables[sd.study.patients.fields["os"].table]
    step = _time_resolution(d) * (0.5 if table.time_rounding == "nearest" else 1.0)
    return convert(step, d["time_unit"].iloc[0], "days")


def _tolerance_words(sd: StudyData, d: pd.DataFrame, tol: float) -> str:
    table = sd.study.patients.tables[sd.study.patients.fields["os"].table]
    step = _time_resolution(d)
    rule = ("half a step, as the table rounds to the nearest step" if table.time_rounding == "nearest" else
            "one full step, as the table's rounding rule is not stated")
    return f"tolerance ±{tol:.1f} days: the table prints times in steps of {step:g} {d['time_unit'].iloc[0]}, {rule}"


#: The readings of a per-patient table a printed median may rest on, standard first. Tie orders:
#: a time printed at a resolution r may lie anywhere within r/2 of it, so a censoring printed up to
#: one step after an event may have come before it, and the other way round.
_EVENT_READINGS = ("deaths without progression count as events", "deaths without progression censored")
_TIE_READINGS = (("times as printed (events before censorings at a tie)", 0.0),
                 ("censorings up to one printed step earlier than printed", -0.99),
                 ("censorings up to one printed step later than printed", 0.99))
_MEDIAN_RULES = ("the usual median rule (the midpoint where the curve lies at 50%)",
                 "the median read as the first time the curve reaches 50%")


@dataclass(frozen=True)
class _MedianReading:
    events: str
    ties: str
    rule: str
    value: float | None  # months (the table's unit)
    standard: bool

    def differs(self) -> str:
        """How this reading departs from the standard one, in words."""
        parts = [x for x, std in ((self.events, _EVENT_READINGS[0]), (self.ties, _TIE_READINGS[0][0]),
                                  (self.rule, _MEDIAN_RULES[0])) if x != std]
        return "; ".join(parts) if parts else "the standard reading"


def median_readings(time, event, progressed=None, *, resolution: float = 0.5) -> list[_MedianReading]:
    """The Kaplan-Meier median under every reading the table allows, the standard reading first.

    Parameters
    ----------
    time, event : array-like
        Per-patient times as printed and whether each ended in the event.
    progressed : array-like of bool, optional
        For PFS: whether the event was a progression (a death without it may be censored instead).
    resolution : float
        The step the times are printed in (half a month for "10.5").

    Returns
    -------
    list of _MedianReading
        Every combination of event definition, order of tied and nearly tied times, and median
        rule (R's midpoint rule, or the first time S <= 0.5).

    References
    ----------
    Therneau TM. survival: quantile.survfit (the midpoint rule where S = 0.5 over an interval).
    Brookmeyer R, Crowley J. A confidence interval for the median survival time. Biometrics.
    1982;38:29-41.
    """
    from ...stats.kaplan_meier import kaplan_meier  # scikit-survival: only where a curve is fitted

    time = np.asarray(time, float)
    events = [(_EVENT_READINGS[0], np.asarray(event, bool))]
    if progressed is not None:
        events.append((_EVENT_READINGS[1], np.asarray(progressed, bool)))
    out = []
    for ev_name, ev in events:
        for tie_name, shift in _TIE_READINGS:
            t = np.where(ev, time, np.clip(time + shift * resolution, 0, None))
            km = kaplan_meier(t, ev, conf_type="log")
            for rule, value in zip(_MEDIAN_RULES, (km.median()[0], _median_first_below(km)), strict=True):
                out.append(_MedianReading(ev_name, tie_name, rule, value,
                                          ev_name == _EVENT_READINGS[0] and shift == 0 and rule == _MEDIAN_RULES[0]))
    return out


def check_patient_medians(sd: StudyData, d: pd.DataFrame) -> list[AuditRow]:
    """Printed medians of time-to-event endpoints against Kaplan-Meier medians
    refitted from the per-patient table."""
    rows = []
    unit = d["time_unit"].iloc[0]
    src = sd.study.patients.tables[sd.study.patients.fields["os"].table].location
    resolution = _time_resolution(d)
    for r in sd.results:
        if r.endpoint not in ("pfs", "os") or r.statistic != "median":
            continue
        sub = population_rows(sd, d, r.population)
        label = f"median {r.endpoint.upper()} ({sd.study.populations[r.population].label})"
        if sub is None or f"{r.endpoint}_time" not in sub.columns:
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", "", "per_patient", NOT_CHECKABLE,
                                 "the per-patient table does not identify this population", r.id))
            continue
        tol = _time_tolerance_days(sd, d)
        progressed = sub["progressed"] if r.endpoint == "pfs" and "progressed" in sub.columns else None
        readings = median_readings(sub[f"{r.endpoint}_time"], sub[f"{r.endpoint}_event"].astype(bool), progressed,
                                   resolution=resolution)
        rep_days = None if r.value == "NR" else convert(float(r.value), r.unit, "days")

        def days(v):
            return None if v is None else convert(v, unit, "days")

        def fits(v, rep_days=rep_days, tol=tol):
            vd = days(v)
            return (rep_days is None and vd is None) or (
                rep_days is not None and vd is not None and abs(rep_days - vd) <= tol)

        def shown(v, in_days=r.unit == "days"):
            vd = days(v)
            return f"{fmt_value(v)} {unit}" + (f" = {vd:.0f} days" if vd is not None and in_days else "")

        std = readings[0]
        matching = [x for x in readings if fits(x.value)]
        common = f"{_tolerance_words(sd, d, tol)}; 1 month = {DAYS_PER_MONTH} days"
        if matching and matching[0].standard:
            exact = rep_days is None or (days(std.value) is not None and abs(rep_days - days(std.value)) < 0.5)
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", f"{fmt_value(std.value)} {unit}", "per_patient",
                                 CONSISTENT if exact else ROUNDING,
                                 f"matches {shown(std.value)} from {src} under the standard reading ({std.events}; "
                                 f"median by {std.rule}); {common}", r.id))
        elif matching:
            m = matching[0]
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", f"{fmt_value(m.value)} {unit}", "per_patient",
                                 READING,
                                 f"matches {shown(m.value)} from {src} only if {m.differs()}; under the standard "
                                 f"reading the median is {shown(std.value)}; {common}", r.id))
        else:
            finite = [x for x in readings if days(x.value) is not None]
            near = (min(finite, key=lambda x: abs(days(x.value) - rep_days)) if finite and rep_days is not None
                    else std)
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", shown(std.value), "per_patient",
                                 INCONSISTENT,
                                 f"paper {r.value} {r.unit} vs {shown(std.value)} recomputed from {src} under the "
                                 f"standard reading; no reading the table allows reproduces it"
                                 + ("" if near.standard else
                                    f" (the nearest: {near.differs()}, {shown(near.value)})") + f"; {common}", r.id))
        if r.ci is not None and r.value != "NR":
            rows.append(_median_ci_row(sd, r, sub, label, unit, tol))
    return rows


def _median_ci_row(sd: StudyData, r, sub: pd.DataFrame, label: str, unit: str, tol: float) -> AuditRow:
    """A printed CI of a median, reproduced when one conf.type gives both limits (a pair)."""
    from ...stats.kaplan_meier import kaplan_meier

    def limit_fits(v, printed):
        if printed is None:
            return True
        vd = None if v is None else convert(v, unit, "days")
        pd_ = None if printed == "NR" else convert(float(printed), r.unit, "days")
        return (vd is None and pd_ is None) or (vd is not None and pd_ is not None and abs(vd - pd_) <= tol)

    vals, lower, upper = {}, [], []
    for ct in ("log", "log-log", "plain"):
        km = kaplan_meier(sub[f"{r.endpoint}_time"], sub[f"{r.endpoint}_event"].astype(bool), conf_type=ct)
        _, lo, hi = km.median()
        vals[ct] = (lo, hi)
        if limit_fits(lo, r.ci.low):
            lower.append(ct)
        if limit_fits(hi, r.ci.high):
            upper.append(ct)
    both = [ct for ct in lower if ct in upper]
    rep = f"{r.ci.low}–{r.ci.high} {r.unit}"
    recomputed = "; ".join(f"{ct}: {fmt_value(lo)}–{fmt_value(hi)}" for ct, (lo, hi) in vals.items()) + f" ({unit})"
    item = f"{label}, 95% CI"
    if both:
        return AuditRow(sd.study.id, item, rep, recomputed, "per_patient", CONSISTENT,
                        f"both limits reproduced by the {' and '.join(both)} CI (Kaplan-Meier, Greenwood)", r.id)
    if lower and upper:
        return AuditRow(sd.study.id, item, rep, recomputed, "per_patient", INCONSISTENT,
                        f"no one CI type gives both limits: the lower limit matches the {' or '.join(lower)} CI, "
                        f"the upper the {' or '.join(upper)} CI", r.id)
    missed = " and ".join(n for n, ok in (("lower", lower), ("upper", upper)) if not ok)
    return AuditRow(sd.study.id, item, rep, recomputed, "per_patient", INCONSISTENT,
                    f"no log, log-log or plain CI reproduces the {missed} limit within ±{tol:.1f} days", r.id)


_COUNT_ENDPOINTS = {
    "mrd_negative": lambda d: d["mrd_negative"],
    "death": lambda d: d["os_event"],
    "progression": lambda d: d["progressed"],
    "second_infusion": lambda d: d["second_infusion"],
    # responses (PR or better) after a second infusion, among those given one
    "retreatment_response": lambda d: d["second_infusion"].astype(bool) & d["response_after"].map(
        lambda c: bool(c) and bool(at_least(c, "PR"))),
    "soft_tissue": lambda d: d["soft_tissue"],
}


def _never_progressed(d: pd.DataFrame) -> pd.Series:
    return ~d["progressed"].astype(bool)


def _alive_without_progression(d: pd.DataFrame) -> pd.Series:
    return ~d["progressed"].astype(bool) & ~d["os_event"].astype(bool)


#: Endpoints whose printed count may be read two ways; each endpoint's own reading first. "Remained
#: progression-free" counts patients with no progression recorded, alive or dead; "alive without
#: progression" only those alive. Relapse is read from the same per-patient progression column.
_NO_PROGRESSION = ("no progression recorded, alive or dead", _never_progressed)
_ALIVE_NO_PROGRESSION = ("alive without progression", _alive_without_progression)
_ENDPOINT_READINGS = {
    "progression_free": (_NO_PROGRESSION, _ALIVE_NO_PROGRESSION),
    "relapse_free": (_NO_PROGRESSION, _ALIVE_NO_PROGRESSION),
    "alive_without_progression": (_ALIVE_NO_PROGRESSION, _NO_PROGRESSION),
    "alive_without_relapse": (_ALIVE_NO_PROGRESSION, _NO_PROGRESSION),
}


def _endpoint_reading_row(sd: StudyData, r, sub: pd.DataFrame, table_name: str) -> AuditRow | None:
    """A count whose endpoint can be read two ways, judged under each: consistent when it matches
    the endpoint's own reading (and the other is named), a stated reading when only the other fits."""
    if "progressed" not in sub.columns or "os_event" not in sub.columns:
        return None
    reported = r.printed_count
    if reported is None:
        return None
    counts = [(name, int(f(sub).sum())) for name, f in _ENDPOINT_READINGS[r.endpoint]]
    (own, k_own), (other, k_other) = counts
    what = f"{endpoint_names.endpoint_label(r.endpoint)} ({sd.study.populations[r.population].label})"
    shown = f"{own}: {k_own}; {other}: {k_other}"
    if reported == k_own:
        differs = f"; {other}: {k_other}" if k_other != k_own else ""
        return AuditRow(sd.study.id, what, str(reported), str(k_own), "per_patient", CONSISTENT,
                        f"{k_own} of {len(sub)} rows of {table_name} ({own}){differs}", r.id)
    if reported == k_other:
        return AuditRow(sd.study.id, what, str(reported), shown, "per_patient", READING,
                        f"matches only if read as {other} ({k_other} of {len(sub)}); as {own}, the count is {k_own}",
                        r.id)
    return AuditRow(sd.study.id, what, str(reported), shown, "per_patient", INCONSISTENT,
                    f"paper {reported} vs {shown} counted in {table_name} (population: {len(sub)} patients)", r.id)


def check_patient_counts(sd: StudyData, d: pd.DataFrame) -> list[AuditRow]:
    """Printed counts (responses, events, adverse events) against a count of the
    per-patient rows that meet the record's definition."""
    rows = []
    table_name = ", ".join(t.location for t in sd.study.patients.tables.values())
    for r in sd.results:
        if r.statistic not in ("count", "proportion") or r.timepoint is not None:
            continue
        sub = population_rows(sd, d, r.population)
        if sub is None:
            continue
        flags = None
        what = endpoint_names.endpoint_label(r.endpoint)
        if r.endpoint == "patients":
            flags = pd.Series(True, index=sub.index)
        elif r.endpoint == "best_response" and r.category and "best_response" in sub.columns:
            flags = sub["best_response"] == r.category
            what = f"best response {r.category}"
        elif r.endpoint in ("crs", "icans"):
            col = f"{r.endpoint}_grade"
            flags = grades.flags(sub[col], r.grade) if col in sub.columns else None
            what = f"{r.endpoint.upper()} grade {(r.grade or 'any').replace('>=', '≥')}"
        elif r.endpoint == "death" and r.category:
            continue  # causes of death are not in the per-patient table
        elif r.endpoint in THRESHOLDS and r.category is None and "best_response" in sub.columns:
            rows.append(_response_reading_row(sd, r, sub, table_name))
            continue
        elif r.endpoint in _ENDPOINT_READINGS and r.category is None:
            row = _endpoint_reading_row(sd, r, sub, table_name)
            if row is not None:
                rows.append(row)
            continue
        elif r.endpoint in _COUNT_ENDPOINTS and r.category is None:
            try:
                flags = _COUNT_ENDPOINTS[r.endpoint](sub)
            except KeyError:
                flags = None
        elif r.endpoint in sub.columns and r.category is not None:
            flags = sub[r.endpoint].map(lambda v, c=r.category: category_match(v, c))
            what = record_label(r)
        elif r.endpoint in sub.columns and sub[r.endpoint].dropna().map(type).eq(bool).all():
            flags = sub[r.endpoint].astype(bool)
        if flags is None:
            continue
        k = int(flags.fillna(False).astype(bool).sum())
        reported = r.printed_count
        if reported is None:
            continue
        label = f"{what} ({sd.study.populations[r.population].label})"
        if r.endpoint == "patients":
            label = f"size of population '{sd.study.populations[r.population].label}'"
        ok = k == reported
        note = f"{k} of {len(sub)} rows of {table_name}"
        rows.append(AuditRow(sd.study.id, label, str(reported), str(k), "per_patient",
                             CONSISTENT if ok else INCONSISTENT,
                             note if ok else f"paper {reported} vs {k} counted in {table_name} "
                                             f"(population: {len(sub)} patients)", r.id))
    return rows


def _response_reading_row(sd: StudyData, r, sub: pd.DataFrame, table_name: str) -> AuditRow:
    """A response count checked under each reading the table allows: best response, and the
    early (e.g. day-28) response where the table has it. Says which reading matches."""
    thr = THRESHOLDS[r.endpoint]
    readings = [("best response", sub["best_response"])]
    raw = sd.patients.loc[sub.index]
    if "early_response" in raw.columns:
        label = sd.study.patients.fields["early_response"].label or "early response"
        readings.append((label.lower(), raw["early_response"].map(lambda v: v.category if v is not None else None)))
    reported = r.printed_count
    counts = [(name, int(sum(bool(at_least(c, thr)) for c in cats))) for name, cats in readings]
    what = f"{endpoint_names.endpoint_label(r.endpoint)} ({sd.study.populations[r.population].label})"
    matching = [name for name, k in counts if k == reported]
    shown = "; ".join(f"{name}: {k}" for name, k in counts)
    if matching and matching[0] == "best response":
        return AuditRow(sd.study.id, what, str(reported), str(counts[0][1]), "per_patient", CONSISTENT,
                        f"{counts[0][1]} of {len(sub)} rows of {table_name} (best response)", r.id)
    if matching:
        return AuditRow(sd.study.id, what, str(reported), shown, "per_patient", READING,
                        f"matches only the {matching[0]} ({shown}); by best response, the standard reading, "
                        f"the count is {counts[0][1]} of {len(sub)}", r.id)
    return AuditRow(sd.study.id, what, str(reported), shown, "per_patient", INCONSISTENT,
                    f"paper {reported} vs {shown} counted in {table_name} (population: {len(sub)} patients)", r.id)


def check_patient_baseline(sd: StudyData, d: pd.DataFrame) -> list[AuditRow]:
    """Printed baseline characteristics against the same summaries of the
    per-patient table."""
    rows = []
    table_name = ", ".join(t.location for t in sd.study.patients.tables.values())
    for r in sd.results:
        if r.statistic != "median" or r.endpoint in ("pfs", "os", "dor"):
            continue
        rec = recompute_baseline(sd, d, r)
        if rec is None:
            continue
        label = f"median {endpoint_names.endpoint_label(r.endpoint)}"
        rep = f"{r.value}"
        notes = []
        if r.spread is not None:
            rep += f" ({'range' if r.spread.kind == 'range' else 'IQR'} {r.spread.low}–{r.spread.high})"
            if r.spread.kind == "iqr":
                notes.append("quartile definitions reproducing the IQR: "
                             + ", ".join(QUARTILE_DEFINITIONS[m] for m in rec.fitting_definitions)
                             if rec.fitting_definitions else "no common quartile definition reproduces the IQR")
        st = CONSISTENT if rec.matches else INCONSISTENT
        note = f"from {rec.n} patients in {table_name}" + ("; " + "; ".join(notes) if notes else "")
        if not rec.matches:
            note = f"paper {rep} vs {rec.text} recomputed from {table_name}" + ("; " + "; ".join(notes) if notes else "")
        rows.append(AuditRow(sd.study.id, label, rep, rec.text, "per_patient", st, note, r.id))
    return rows

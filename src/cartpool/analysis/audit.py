"""Reproduction audit: recompute every published number the data allow and say which hold.

Each check yields an `AuditRow` (study_id, item, reported, recomputed, check, status, note).
Statuses (`STATUSES`): ``consistent``, ``consistent within rounding``, ``consistent only under a
stated reading`` (the note names the reading and the value under the standard one),
``inconsistent`` (no reading the source allows reproduces it; the note gives the nearest) and
``not checkable``. The audit never changes the data.

Checks:
1. ``percent``: printed percentages against their counts at the printed precision (GRIM-style);
   without a stated count, the percentages printed together (one sentence or table block) are
   checked against one denominator jointly, and another population that fits them all is named.
2. ``proportion_ci``: a printed CI of a proportion is reproduced when one of Clopper-Pearson,
   Wilson, Wald, Agresti-Coull gives both limits; limits that need two methods, or a count of
   another population, are findings.
3. ``landmark_ci``: S(t) with its CI against Kaplan-Meier intervals (plain, log, log-log;
   Greenwood): an exact k/n without censoring, else the transform on whose scale the interval is
   symmetric and the effective sample size its width implies.
4. ``per_patient``: medians (under every reading of ties, event definition and median rule the
   table allows) and their CIs as pairs, counts (best or early response), subgroup sizes and
   baseline summaries recomputed from the per-patient table.
5. ``sums``: response categories, grade bands, death causes and declared relations add up.
6. ``contradiction``: contradictions a curator recorded, and one quantity printed twice with
   different values.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from .. import formatting as fmt
from ..data import vocabulary as vocab
from ..data.study_data import StudyData
from ..domain import grades
from ..domain.counts import count_of_record, joint_denominators, other_population_fitting, printed_together
from ..domain.derive import derive_endpoints
from ..domain.landmarks import landmark_exact_n, likely_population
from ..domain.population import follow_up, population_rows
from ..domain.printed import (
    ci_fits_print,
    consistent_fractions,
    count_for,
    decimals_of,
    nearest_count,
    rounds_to,
    which_count_text,
)
from ..domain.response import THRESHOLDS, at_least
from ..stats.kaplan_meier import landmark_effective_n
from ..stats.proportions import CI_METHOD_LABELS, proportion_ci
from ..units import DAYS_PER_MONTH, convert
from .baseline import QUARTILE_DEFINITIONS, category_match, recompute_baseline

CONSISTENT = "consistent"
ROUNDING = "consistent within rounding"
#: reproduced only under a reading other than the standard one (another denominator, the day-28
#: response, another order of tied times, censoring before a landmark): the note names the reading
#: and the value under the standard one.
READING = "consistent only under a stated reading"
INCONSISTENT = "inconsistent"
NOT_CHECKABLE = "not checkable"
STATUSES = (CONSISTENT, ROUNDING, READING, INCONSISTENT, NOT_CHECKABLE)
#: the statuses a reader is told about first, as findings
FINDINGS = (INCONSISTENT, READING)


@dataclass
class AuditRow:
    study_id: str
    item: str
    reported: str
    recomputed: str
    check: str
    status: str
    note: str
    result_id: str = ""


def _fmt(x, d=1) -> str:
    return "NR" if x is None else (f"{x:.{d}f}" if isinstance(x, float) else str(x))


# --- 1. percentages ---------------------------------------------------------------------------


def _what(r) -> str:
    """A record's endpoint and category in the clinician's words (the data vocabulary)."""
    name = vocab.endpoint_label(r.endpoint)
    if not r.category:
        return name
    cat = vocab.category_label(r.endpoint, r.category)
    return cat if cat.startswith(name) else f"{name}: {cat}"


def check_percentages(sd: StudyData) -> list[AuditRow]:
    rows = []
    sid = sd.study.id
    unresolved: dict[str, list] = {}
    for r in sd.results:
        if r.statistic != "proportion" or r.unit != "percent":
            continue
        item = f"{_what(r)}{' grade ' + r.grade.replace('>=', '≥') if r.grade else ''} " \
               f"({sd.study.populations[r.population].label})"
        if r.numerator is not None and r.denominator is not None:
            how = rounds_to(r.numerator / r.denominator, r.value)
            val = 100 * r.numerator / r.denominator
            if how == "exact":
                st, note = CONSISTENT, f"{r.numerator}/{r.denominator} = {val:.3f}%"
            elif how == "truncated":
                st, note = ROUNDING, (f"{r.numerator}/{r.denominator} = {val:.3f}% rounds to "
                                      f"{Decimal(val).quantize(Decimal(1).scaleb(-decimals_of(r.value)))}%; the "
                                      f"printed {r.value}% is the truncated value")
            else:
                st, note = INCONSISTENT, f"{r.numerator}/{r.denominator} = {val:.3f}%, not {r.value}%"
            rows.append(AuditRow(sid, item, f"{r.value}% ({r.numerator}/{r.denominator})", f"{val:.2f}%",
                                 "percent", st, note, r.id))
            continue
        unresolved.setdefault(r.population, []).append((r, item))
    for group in printed_together([r for items in unresolved.values() for r, _ in items]):
        items = [next(it for its in unresolved.values() for it in its if it[0] is r) for r in group]
        rows += _check_percentage_group(sd, items)
    return rows


def _check_percentage_group(sd: StudyData, items: list) -> list[AuditRow]:
    """Percentages printed together, checked against one denominator jointly (issue: a group
    that fits the evaluable patients but not the stated N is one finding, not several).

    The stated N of the population fits every member: each row is consistent. Otherwise, where
    another population of the study fits every member, each row says so (consistent only under
    that reading). Otherwise each member is judged alone, with the denominators up to 2N that
    fit the whole group in the note.
    """
    sid = sd.study.id
    pop = items[0][0].population
    stated = sd.population_size(pop)
    hi = max(2 * (stated or 0), 60)
    values = [r.value for r, _ in items]
    joint = joint_denominators([r for r, _ in items], hi)
    shown = ", ".join(map(str, joint[:12])) + (" ..." if len(joint) > 12 else "")
    together = (f"the {len(items)} percentages printed together ({', '.join(f'{v}%' for v in values)})"
                if len(items) > 1 else f"{values[0]}%")
    other = other_population_fitting(sd, [r for r, _ in items])
    if other is not None:
        other = (other[0], sd.study.populations[other[1]].label)
    rows = []
    for r, item in items:
        n = r.denominator or stated
        if n is None:
            rows.append(AuditRow(sid, item, f"{r.value}%", "", "percent", NOT_CHECKABLE,
                                 f"no stated N; denominators up to {hi} that fit {together}: {shown or 'none'}", r.id))
            continue
        k, alts = count_for(r.value, n)  # the analysis's rule: the count nearest p x N
        if other is not None and r.denominator is None:
            m, label = other
            alone = (f"{k}/{n} fits this one alone" if k is not None else f"no k/{n} gives {r.value}%")
            k, _ = count_for(r.value, m)
            rows.append(AuditRow(sid, item, f"{r.value}%", f"{k}/{m} = {100 * k / m:.2f}%", "percent", READING,
                                 f"{together[0].upper() + together[1:]} all fit {m} patients "
                                 f"({_lower(label)}), not the stated {n} ({alone}): the denominator is "
                                 f"probably {m}", r.id))
        elif k is not None:
            which = f"; {which_count_text(r.value, n, k, alts)}" if alts else ""
            rows.append(AuditRow(sid, item, f"{r.value}%", f"{k}/{n} = {100 * k / n:.2f}%", "percent",
                                 CONSISTENT, f"{k} of the stated {n}{which}", r.id))
        elif tr := [kk for kk, _ in consistent_fractions(r.value, [n], allow_truncation=True)]:
            rows.append(AuditRow(sid, item, f"{r.value}%", f"{tr[0]}/{n} = {100 * tr[0] / n:.2f}%", "percent",
                                 ROUNDING, "matches only when truncated", r.id))
        else:
            near = [m for m in range(n - 1, max(1, n // 2), -1) if consistent_fractions(r.value, [m])][:4]
            near_txt = (f"; the nearest smaller denominators that fit {r.value}% alone: "
                        f"{', '.join(map(str, near))}") if near else ""
            group_txt = (f"; denominators up to {hi} that fit {together}: {shown or 'none'}"
                         if len(items) > 1 else "")
            rows.append(AuditRow(sid, item, f"{r.value}%", f"no k/{n}", "percent", INCONSISTENT,
                                 f"no whole number of the stated {n} patients gives {r.value}%{near_txt}{group_txt}",
                                 r.id))
    return rows


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:] if label[:2] != label[:2].upper() else label


# --- 2. proportion CIs ------------------------------------------------------------------------


def check_proportion_cis(sd: StudyData) -> list[AuditRow]:
    rows = []
    for r in sd.results:
        if r.statistic != "proportion" or r.ci is None or r.ci.low in (None, "NR") or r.ci.high in (None, "NR"):
            continue
        k, n = r.numerator, r.denominator or sd.population_size(r.population)
        alts: tuple[int, ...] = ()
        if n is not None and k is None:  # the analysis's rule: the count nearest p x N, the others kept
            k, alts = count_for(r.value, n, scale=100.0 if r.unit == "percent" else 1.0)
        item = f"{_what(r)} CI"
        rep = f"{r.value} ({r.ci.low}–{r.ci.high})"
        if k is None or n is None:
            rows.append(AuditRow(sd.study.id, item, rep, "", "proportion_ci", NOT_CHECKABLE,
                                 "count or denominator unknown", r.id))
            continue
        scale = 100.0 if r.unit == "percent" else 1.0
        level = float(r.ci.level)
        matching = []
        for m in _CI_METHODS:
            e = proportion_ci(k, n, m, level)
            if ci_fits_print(e.ci_low, e.ci_high, r.ci.low, r.ci.high, scale):
                matching.append(CI_METHOD_LABELS[m])
        stated = r.ci.method
        which = f" ({which_count_text(r.value, n, k, alts, percent=r.unit == 'percent')})" if alts else ""
        if matching and (stated is None or any(stated.lower() in m.lower() for m in matching)):
            st, note = CONSISTENT, f"reproduced by {', '.join(matching)} with {k}/{n}{which}"
        elif matching:
            st, note = INCONSISTENT, (f"paper states {stated}; only {', '.join(matching)} reproduce it with "
                                      f"{k}/{n}{which}")
        elif (other := _ci_with_another_count(r, k, alts, n, scale, level)) is not None:
            st, note = READING, other
        else:
            st, note = _unpaired_proportion_ci(sd, r, k, n, scale, level)
        rows.append(AuditRow(sd.study.id, item, rep, f"{k}/{n}", "proportion_ci", st, note, r.id))
    return rows


_CI_METHODS = ("exact", "wilson", "wald", "agresti_coull")


def _ci_with_another_count(r, k: int, alts: tuple[int, ...], n: int, scale: float, level: float) -> str | None:
    """Where a rounded value fits more than one count and the CI is reproduced only with a count other
    than the one used (`count_for`): what says so, naming both; None otherwise."""
    for kk in alts:
        for m in _CI_METHODS:
            e = proportion_ci(kk, n, m, level)
            if ci_fits_print(e.ci_low, e.ci_high, r.ci.low, r.ci.high, scale):
                return (f"reproduced by {CI_METHOD_LABELS[m]} only with {kk}/{n}, another count that prints as "
                        f"{r.value}{'%' if r.unit == 'percent' else ''}; the count used is "
                        f"{k} ({which_count_text(r.value, n, k, alts, percent=r.unit == 'percent')})")
    return None


def _limit_fits(value: float, printed: Decimal, scale: float) -> bool:
    return rounds_to(value, printed, scale=scale) == "exact"


def _unpaired_proportion_ci(sd: StudyData, r, k: int, n: int, scale: float, level: float) -> tuple[str, str]:
    """A printed CI no one method reproduces with k/n: whether its two limits need two different
    methods (a finding: neither method gives the interval), or whether it fits a count of another
    population of the study (consistent only under that reading)."""
    for key, pop in sd.study.populations.items():
        m = sd.population_size(key)
        if m is None or m == n or r.unit != "percent":
            continue
        for kk, _ in consistent_fractions(r.value, [m]):
            for meth in _CI_METHODS:
                e = proportion_ci(kk, m, meth, level)
                if ci_fits_print(e.ci_low, e.ci_high, r.ci.low, r.ci.high, scale):
                    return READING, (f"reproduced by {CI_METHOD_LABELS[meth]} only with {kk}/{m} "
                                     f"({_lower(pop.label)}), not with the stated {k}/{n}")
    lower = [CI_METHOD_LABELS[m] for m in _CI_METHODS
             if _limit_fits(proportion_ci(k, n, m, level).ci_low, r.ci.low, scale)]
    upper = [CI_METHOD_LABELS[m] for m in _CI_METHODS
             if _limit_fits(proportion_ci(k, n, m, level).ci_high, r.ci.high, scale)]
    e = proportion_ci(k, n, "exact", level)
    cp = f"Clopper-Pearson gives {fmt.limits(e.ci_low, e.ci_high)}"
    if lower and upper:
        return INCONSISTENT, (f"no one method gives both limits with {k}/{n}: the lower limit matches "
                              f"{' or '.join(lower)}, the upper {' or '.join(upper)} ({cp})")
    return INCONSISTENT, f"no standard method reproduces it with {k}/{n} ({cp}); a different population or method?"


# --- 3. landmark survival CIs ----------------------------------------------------------------


def check_landmark_cis(sd: StudyData, max_n: int | None = None) -> list[AuditRow]:
    """Printed landmark survival with its CI against Kaplan-Meier intervals.

    First, an S = k/n with no censoring whose interval reproduces the print. Failing that, the
    transform on whose scale the interval is symmetric and the effective sample size its width
    implies (`landmark_effective_n`). The stated population fits: consistent. A smaller n fits,
    at a time beyond the median follow-up (so that censoring before it is certain): consistent,
    with the number. A smaller n otherwise: consistent only under the reading that patients were
    censored before the landmark. A larger n than the population: inconsistent.
    """
    rows = []
    fu = follow_up(sd)
    fu_months = fu[0].months if fu else None
    for r in sd.results:
        if r.statistic != "landmark_rate" or r.ci is None or r.ci.low in (None, "NR") or r.ci.high in (None, "NR"):
            continue
        scale = 100.0 if r.unit == "percent" else 1.0
        N = sd.population_size(r.population) or 0
        limit = max_n or max(2 * N, 60)
        unit = r.timepoint.unit.rstrip("s") + ("" if float(r.timepoint.value) == 1 else "s")
        t_months = convert(float(r.timepoint.value), r.timepoint.unit, "months")
        when = f"{r.timepoint.value:g} {unit}"
        what = f"{vocab.endpoint_label(r.endpoint)} at {when}"
        rep = f"{r.value} ({r.ci.low}–{r.ci.high})"
        censored_expected = fu_months is not None and t_months > fu_months
        fu_txt = (f"the median follow-up, {fu[0].value:g} {fu[0].unit}, is shorter than {when}, so censoring "
                  f"before {when} is expected" if censored_expected else
                  f"the paper does not say how many patients were censored before {when}")
        found = landmark_exact_n(r, scale, limit)
        if found:
            n, k, tr = found
            base = f"matches a Kaplan-Meier interval ({tr} scale) with S = {k}/{n} and no censoring"
            if not N or n == N:
                rows.append(AuditRow(sd.study.id, what, rep, f"{k}/{n}, {tr}", "landmark_ci", CONSISTENT, base, r.id))
            elif n < N:
                st = CONSISTENT if censored_expected else READING
                likely = likely_population(sd, n, r.population)
                also = f"; {n} is also the number of {likely.removeprefix('the ')}: the rate may describe them " \
                       "only" if likely else ""
                rows.append(AuditRow(sd.study.id, what, rep, f"{k}/{n}, {tr}", "landmark_ci", st,
                                     f"{base}: it fits only {n} patients, not the stated {N}; {fu_txt}{also}", r.id))
            else:
                rows.append(AuditRow(sd.study.id, what, rep, f"{k}/{n}, {tr}", "landmark_ci", INCONSISTENT,
                                     f"{base}: the interval is as narrow as {n} uncensored patients give, "
                                     f"more than the {N} in the population", r.id))
            continue
        s = float(r.value) / scale
        eff = landmark_effective_n(s, float(r.ci.low) / scale, float(r.ci.high) / scale, float(r.ci.level))
        if not eff:
            rows.append(AuditRow(sd.study.id, what, rep, "", "landmark_ci", INCONSISTENT,
                                 f"no Kaplan-Meier interval fits: the interval is symmetric on none of the plain, "
                                 f"log and log-log scales, and no k/n up to {limit} reproduces it", r.id))
            continue
        tr, n_eff = min(eff.items(), key=lambda kv: abs(kv[1] - N) if N else 0)
        shown = f"{tr}, effective n ≈ {n_eff:.0f}"
        base = (f"the interval is symmetric on the {' and '.join(eff)} scale; its width implies an effective "
                f"sample size of about {n_eff:.0f} (Greenwood variance, {tr} interval)")
        if not N:
            rows.append(AuditRow(sd.study.id, what, rep, shown, "landmark_ci", NOT_CHECKABLE,
                                 f"{base}; the population size is not stated", r.id))
        elif n_eff <= N * 1.05:
            st = CONSISTENT if censored_expected or n_eff >= N * 0.95 else READING
            rows.append(AuditRow(sd.study.id, what, rep, shown, "landmark_ci", st,
                                 f"{base}, at most the {N} in the population; {fu_txt}", r.id))
        else:
            rows.append(AuditRow(sd.study.id, what, rep, shown, "landmark_ci", INCONSISTENT,
                                 f"{base}, more than the {N} in the population: the interval is too narrow", r.id))
    return rows


# --- 4. per-patient data against the published summary ----------------------------------------


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
    from ..stats.kaplan_meier import kaplan_meier  # scikit-survival: only where a curve is fitted

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
            return f"{_fmt(v)} {unit}" + (f" = {vd:.0f} days" if vd is not None and in_days else "")

        std = readings[0]
        matching = [x for x in readings if fits(x.value)]
        common = f"{_tolerance_words(sd, d, tol)}; 1 month = {DAYS_PER_MONTH} days"
        if matching and matching[0].standard:
            exact = rep_days is None or (days(std.value) is not None and abs(rep_days - days(std.value)) < 0.5)
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", f"{_fmt(std.value)} {unit}", "per_patient",
                                 CONSISTENT if exact else ROUNDING,
                                 f"matches {shown(std.value)} from {src} under the standard reading ({std.events}; "
                                 f"median by {std.rule}); {common}", r.id))
        elif matching:
            m = matching[0]
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", f"{_fmt(m.value)} {unit}", "per_patient",
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
    from ..stats.kaplan_meier import kaplan_meier

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
    recomputed = "; ".join(f"{ct}: {_fmt(lo)}–{_fmt(hi)}" for ct, (lo, hi) in vals.items()) + f" ({unit})"
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
    what = f"{vocab.endpoint_label(r.endpoint)} ({sd.study.populations[r.population].label})"
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
    rows = []
    table_name = ", ".join(t.location for t in sd.study.patients.tables.values())
    for r in sd.results:
        if r.statistic not in ("count", "proportion") or r.timepoint is not None:
            continue
        sub = population_rows(sd, d, r.population)
        if sub is None:
            continue
        flags = None
        what = vocab.endpoint_label(r.endpoint)
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
            what = _what(r)
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
    what = f"{vocab.endpoint_label(r.endpoint)} ({sd.study.populations[r.population].label})"
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
    rows = []
    table_name = ", ".join(t.location for t in sd.study.patients.tables.values())
    for r in sd.results:
        if r.statistic != "median" or r.endpoint in ("pfs", "os", "dor"):
            continue
        rec = recompute_baseline(sd, d, r)
        if rec is None:
            continue
        label = f"median {vocab.endpoint_label(r.endpoint)}"
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


# --- 5. internal sums --------------------------------------------------------------------------


def check_sums(sd: StudyData) -> list[AuditRow]:
    rows = []
    sid = sd.study.id

    def add(label, parts: list[str], whole: str, check_note="", incomplete: str = ""):
        vals = [count_of_record(sd, p) for p in parts]
        w = count_of_record(sd, whole)
        if any(v is None for v in vals) or w is None:
            rows.append(AuditRow(sid, label, "", "", "sums", NOT_CHECKABLE, "a part is printed only as a percentage"
                                 " of an unknown denominator", whole))
            return
        total = sum(vals)
        if incomplete and total < w:
            rows.append(AuditRow(sid, label, str(w), str(total), "sums", NOT_CHECKABLE,
                                 f"{' + '.join(map(str, vals))} = {total} of {w}; {incomplete}", whole))
            return
        expr = " + ".join(map(str, vals))
        st = CONSISTENT if total == w else INCONSISTENT
        note = f"{expr} = {total}" + (f" = {w}" if total == w else f", but the whole is {w}") + check_note
        rows.append(AuditRow(sid, label, str(w), str(total), "sums", st, note, whole))

    by_pop = {}
    for r in sd.results:
        by_pop.setdefault(r.population, []).append(r)
    for pop, rs in by_pop.items():
        plabel = sd.study.populations[pop].label
        cats = [r for r in rs if r.endpoint == "best_response"]
        orr = next((r for r in rs if r.endpoint == "orr" and r.statistic in ("count", "proportion")), None)
        if cats:
            resp = [r for r in cats if all(at_least(c, "PR") for c in r.category.split("/"))]
            if orr is not None and resp:
                present = {p for r in resp for p in r.category.split("/")}
                missing_cats = [c for c in ("CR", "VGPR", "PR") if c not in present]
                add(f"responders by category = ORR ({plabel})", [r.id for r in resp], orr.id,
                    incomplete=(f"the paper gives no count for {', '.join(missing_cats)}" if missing_cats else ""))
            n_id = next((r.id for r in rs if r.endpoint == "patients"), None)
            covers_non_responders = any(not all(at_least(c, "PR") for c in r.category.split("/")) for r in cats)
            if n_id and covers_non_responders:
                add(f"response categories = all patients ({plabel})", [r.id for r in cats], n_id)
        # grade bands of one endpoint add up to its any-grade count
        by_ep: dict[str, list] = {}
        for r in rs:
            if r.grade and r.timepoint is None and r.statistic in ("count", "proportion"):
                by_ep.setdefault(r.endpoint, []).append(r)
        for ep, grs in by_ep.items():
            anyg = [r for r in grs if r.grade == "any"]
            bands = _partition([r for r in grs if r.grade != "any"])
            if anyg and bands:
                add(f"{ep.upper() if len(ep) <= 5 else ep} grades add up to any grade ({plabel})",
                    [r.id for r in bands], anyg[0].id)
        # only a printed total is split by the causes printed with it; a total the curator derived or
        # bounded (at least 5 of 11) is not claimed to be split by the causes named elsewhere
        deaths = [r for r in rs if r.endpoint == "death" and r.category is None and r.bound is None
                  and r.derived is None]
        causes = [r for r in rs if r.endpoint == "death" and r.category is not None]
        if deaths and causes:
            add(f"causes of death add up to deaths ({plabel})", [r.id for r in causes], deaths[0].id)
        # categories of one baseline characteristic printed together add up to N
        groups: dict[tuple, list] = {}
        for r in rs:
            if (r.category and r.endpoint not in ("best_response", "death") and r.statistic in ("count", "proportion")
                    and r.denominator is not None):
                groups.setdefault((r.endpoint, r.location), []).append(r)
        for (ep, loc), grp in groups.items():
            if len(grp) >= 2 and not any(c.category.startswith((">", "<", "≥")) for c in grp):
                whole = grp[0].denominator
                vals = [count_of_record(sd, g.id) for g in grp]
                if None in vals:
                    continue
                st = CONSISTENT if sum(vals) == whole else INCONSISTENT
                rows.append(AuditRow(sid, f"{ep.replace('_', ' ')} categories add up to N ({loc})", str(whole),
                                     str(sum(vals)), "sums", st,
                                     f"{' + '.join(map(str, vals))} = {sum(vals)}" +
                                     ("" if st == CONSISTENT else f", but N is {whole} (categories may overlap "
                                                                  "or be incomplete)"), grp[0].id))
    for chk in sd.study.sum_checks:
        add(chk.label, chk.parts, chk.whole)
    return rows


def _partition(bands: list) -> list | None:
    """The largest set of printed grade bands that tile the grades from 1 (1, 2 or 1-2, >=3)."""
    for size in range(len(bands), 1, -1):
        for combo in itertools.combinations(bands, size):
            if grades.tile([r.grade for r in combo]):
                return list(combo)
    return bands if bands and grades.tile([r.grade for r in bands]) else None


# --- all checks ------------------------------------------------------------------------------


# --- 6. contradictions within the paper ---------------------------------------------------------


def check_contradictions(sd: StudyData) -> list[AuditRow]:
    """Contradictions within one source: those a curator recorded (two quotes the audit cannot
    compare itself, such as two dates for one event), and the same quantity printed twice with
    different values (same population, endpoint, category, grade, statistic and time)."""
    rows = [AuditRow(sd.study.id, c.label, f"{c.first.location}: “{c.first.quote}”",
                     f"{c.second.location}: “{c.second.quote}”", "contradiction", INCONSISTENT,
                     c.note or "the paper gives two different values for this") for c in sd.study.contradictions]
    seen: dict[tuple, object] = {}
    for r in sd.results:
        if r.statistic not in ("count", "proportion", "median") or r.value == "NR":
            continue
        key = (r.population, r.endpoint, r.category, r.grade, r.statistic, r.timepoint, r.unit)
        first = seen.setdefault(key, r)
        if first is r or Decimal(str(first.value)) == Decimal(str(r.value)):
            continue
        n = sd.population_size(r.population)
        both = (r.statistic == "proportion" and r.unit == "percent" and n is not None
                and {k for k, _ in consistent_fractions(first.value, [n], allow_truncation=True)}
                & {k for k, _ in consistent_fractions(r.value, [n], allow_truncation=True)})
        unit = "%" if r.unit == "percent" else (f" {r.unit}" if r.unit else "")
        item = f"{_what(r)} ({sd.study.populations[r.population].label}), printed twice"
        if both:  # the count used by the analysis's rule, for the first printing
            k = nearest_count(both, first.value, n)
            rows.append(AuditRow(sd.study.id, item, f"{first.value}{unit} ({first.location}); {r.value}{unit} "
                                 f"({r.location})", f"{k}/{n}", "contradiction", ROUNDING,
                                 f"printed as {first.value}{unit} and as {r.value}{unit}; both are {k} of {n}, "
                                 f"one of them rounded differently", r.id))
        else:
            rows.append(AuditRow(sd.study.id, item, f"{first.value}{unit} ({first.location}); {r.value}{unit} "
                                 f"({r.location})", "", "contradiction", INCONSISTENT,
                                 f"the paper prints {first.value}{unit} in {first.location} and {r.value}{unit} in "
                                 f"{r.location} for the same quantity", r.id))
    return rows


def audit_study(sd: StudyData) -> list[AuditRow]:
    rows = (check_percentages(sd) + check_proportion_cis(sd) + check_landmark_cis(sd) + check_sums(sd)
            + check_contradictions(sd))
    d = derive_endpoints(sd)
    if d is not None:
        if "os_time" in d.columns:
            rows += check_patient_medians(sd, d)
        rows += check_patient_counts(sd, d) + check_patient_baseline(sd, d)
    return rows


# what a check of each kind confirms when it holds, in a reader's words: (one, several)
WHAT_HELD = {
    "percent": ("printed percentage matches a count of the stated population",
                "printed percentages match a count of the stated population"),
    "proportion_ci": ("confidence interval of a proportion matches a standard interval for its count",
                      "confidence intervals of proportions match a standard interval for their count"),
    "landmark_ci": ("survival rate with its confidence interval matches a Kaplan-Meier interval",
                    "survival rates with confidence intervals match a Kaplan-Meier interval"),
    "per_patient": ("number matches the per-patient table", "numbers match the per-patient table"),
    "sums": ("total adds up", "totals and subtotals add up"),
    "contradiction": ("number printed twice agrees up to rounding", "numbers printed twice agree up to rounding"),
}


def what_held(df: pd.DataFrame) -> list[str]:
    """One phrase per kind of check, counting the printed numbers it reproduced (consistent, or
    consistent within rounding): "34 printed percentages match a count of the stated population".

    Parameters
    ----------
    df : pandas.DataFrame
        An `audit_frame`.

    Returns
    -------
    list of str
        In the order of `WHAT_HELD`; kinds with nothing reproduced are left out.
    """
    held = df[df["status"].isin([CONSISTENT, ROUNDING])]["check"].value_counts()
    return [f"{int(held[kind])} {one if int(held[kind]) == 1 else several}"
            for kind, (one, several) in WHAT_HELD.items() if held.get(kind, 0)]


def status_counts_text(df: pd.DataFrame) -> str:
    """The count of each status, in the order of `STATUSES`, leaving out statuses with none:
    "31 consistent, 2 consistent only under a stated reading, 1 inconsistent"."""
    counts = df["status"].value_counts()
    return ", ".join(f"{int(counts[s])} {s}" for s in STATUSES if counts.get(s, 0))


def audit_frame(rows: list[AuditRow]) -> pd.DataFrame:
    cols = list(AuditRow.__dataclass_fields__)
    return pd.DataFrame([asdict(r) for r in rows], columns=cols)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per study: how many checks, and how many of each status."""
    out = df.pivot_table(index="study_id", columns="status", values="item", aggfunc="count", fill_value=0)
    for s in STATUSES:
        if s not in out.columns:
            out[s] = 0
    out = out[list(STATUSES)]
    out.insert(0, "checked", out.sum(axis=1))
    return out.reset_index()

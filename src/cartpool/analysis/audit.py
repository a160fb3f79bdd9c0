"""Reproduction audit: recompute every published number the data allow and say which hold.

Each check yields an `AuditRow` (study_id, item, reported, recomputed, check, status, note).
Statuses: ``consistent``, ``consistent within rounding``, ``inconsistent``, ``not checkable``.
The audit never changes the data; an ``inconsistent`` row always carries the numbers that
differ and the assumption under which they differ.

Checks:
1. ``percent``: a printed percentage against its count and denominator at the printed
   precision (GRIM-style); without a stated count, which denominators fit all percentages
   printed for the same population.
2. ``proportion_ci``: which of Clopper-Pearson, Wilson, Wald, Agresti-Coull reproduces a
   printed CI of a proportion.
3. ``landmark_ci``: which transform (plain, log, log-log; Greenwood variance) and which
   smallest n reproduce a printed S(t) with its CI assuming no censoring before t (S = k/n).
4. ``per_patient``: medians and CIs of Kaplan-Meier curves, counts, subgroup sizes and
   baseline summaries recomputed from the per-patient table.
5. ``sums``: response categories, grade bands, death causes and declared relations add up.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from scipy import stats

from ..data import vocabulary as V
from ..data.load import StudyData
from ..domain import grades
from ..domain.counts import count_of_record
from ..domain.derive import derive_endpoints
from ..domain.population import population_rows
from ..domain.printed import consistent_fractions, decimals_of, printed_bounds, rounds_to
from ..domain.response import THRESHOLDS, at_least
from ..stats.proportions import CI_METHOD_LABELS, proportion_ci
from ..units import DAYS_PER_MONTH, convert
from .baseline import QUARTILE_DEFINITIONS, category_match, recompute_baseline

CONSISTENT = "consistent"
ROUNDING = "consistent within rounding"
INCONSISTENT = "inconsistent"
NOT_CHECKABLE = "not checkable"
STATUSES = (CONSISTENT, ROUNDING, INCONSISTENT, NOT_CHECKABLE)


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
    name = V.endpoint_label(r.endpoint)
    if not r.category:
        return name
    cat = V.category_label(r.endpoint, r.category)
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
    for pop, items in unresolved.items():
        stated = sd.population_size(pop)
        hi = max(2 * (stated or 0), 60)
        fits_all = None
        for r, _ in items:
            dens = {n for _, n in consistent_fractions(r.value, range(1, hi + 1))}
            fits_all = dens if fits_all is None else fits_all & dens
        fits_all = sorted(fits_all or [])
        shown = ", ".join(map(str, fits_all[:12])) + (" ..." if len(fits_all) > 12 else "")
        for r, item in items:
            n = r.denominator or stated
            if n is None:
                rows.append(AuditRow(sid, item, f"{r.value}%", "", "percent", NOT_CHECKABLE,
                                     f"no stated N; denominators up to {hi} that fit every percentage printed "
                                     f"for this population: {shown or 'none'}", r.id))
                continue
            ks = [k for k, _ in consistent_fractions(r.value, [n])]
            tr = [k for k, _ in consistent_fractions(r.value, [n], allow_truncation=True) if k not in ks]
            if ks:
                st, rec, note = CONSISTENT, f"{ks[0]}/{n} = {100 * ks[0] / n:.2f}%", f"{ks[0]} of the stated {n}"
            elif tr:
                st, rec, note = ROUNDING, f"{tr[0]}/{n} = {100 * tr[0] / n:.2f}%", "matches only when truncated"
            else:
                st, rec = INCONSISTENT, f"no k/{n}"
                near = [m for m in range(n - 1, max(1, n // 2), -1)
                        if consistent_fractions(r.value, [m])][:4]
                near_txt = (f"; the nearest smaller denominators that fit {r.value}% alone: "
                            f"{', '.join(map(str, near))}") if near else ""
                note = (f"no whole number of the stated {n} patients gives {r.value}%{near_txt}; denominators up to {hi} "
                        f"that fit every percentage printed for this population: {shown or 'none'}"
                        f" (stated N {'is' if n in fits_all else 'is not'} among them)")
            rows.append(AuditRow(sid, item, f"{r.value}%", rec, "percent", st, note, r.id))
    return rows


# --- 2. proportion CIs ------------------------------------------------------------------------


def _ci_fits(lo: float, hi: float, plo: Decimal, phi: Decimal, scale: float) -> bool:
    a, b = printed_bounds(plo, scale=scale)
    c, d = printed_bounds(phi, scale=scale)
    if not (a <= lo <= b and c <= hi <= d):  # fast float pre-check
        return False
    return rounds_to(lo, plo, scale=scale) == "exact" and rounds_to(hi, phi, scale=scale) == "exact"


def check_proportion_cis(sd: StudyData) -> list[AuditRow]:
    rows = []
    for r in sd.results:
        if r.statistic != "proportion" or r.ci is None or r.ci.low in (None, "NR") or r.ci.high in (None, "NR"):
            continue
        k, n = r.numerator, r.denominator or sd.population_size(r.population)
        if n is not None and k is None and r.unit == "percent":
            fits = [kk for kk, _ in consistent_fractions(r.value, [n])]
            k = fits[0] if len(fits) == 1 else None
        item = f"{_what(r)} CI"
        rep = f"{r.value} ({r.ci.low}–{r.ci.high})"
        if k is None or n is None:
            rows.append(AuditRow(sd.study.id, item, rep, "", "proportion_ci", NOT_CHECKABLE,
                                 "count or denominator unknown", r.id))
            continue
        scale = 100.0 if r.unit == "percent" else 1.0
        level = float(r.ci.level)
        matching = []
        for m in ("exact", "wilson", "wald", "agresti_coull"):
            e = proportion_ci(k, n, m, level)
            if _ci_fits(e.ci_low, e.ci_high, r.ci.low, r.ci.high, scale):
                matching.append(CI_METHOD_LABELS[m])
        stated = r.ci.method
        if matching and (stated is None or any(stated.lower() in m.lower() for m in matching)):
            st, note = CONSISTENT, f"reproduced by {', '.join(matching)} with {k}/{n}"
        elif matching:
            st, note = INCONSISTENT, f"paper states {stated}; only {', '.join(matching)} reproduce it with {k}/{n}"
        else:
            e = proportion_ci(k, n, "exact", level)
            st = INCONSISTENT
            note = (f"no standard method reproduces it with {k}/{n} (Clopper-Pearson gives "
                    f"{100 * e.ci_low:.1f}–{100 * e.ci_high:.1f}); a different population or method?")
        rows.append(AuditRow(sd.study.id, item, rep, f"{k}/{n}", "proportion_ci", st, note, r.id))
    return rows


# --- 3. landmark survival CIs ----------------------------------------------------------------


def _landmark_ci(s: float, n: int, transform: str, level: float) -> tuple[float, float]:
    """Pointwise CI for S = k/n with no censoring (Greenwood variance S(1-S)/n)."""
    z = stats.norm.ppf(0.5 + level / 2)
    se_log = np.sqrt((1 - s) / (n * s))  # Greenwood SE of log S without censoring
    if transform == "plain":
        se = s * se_log
        return max(0.0, s - z * se), min(1.0, s + z * se)
    if transform == "log":
        return s * np.exp(-z * se_log), min(1.0, s * np.exp(z * se_log))
    a = np.exp(-np.exp(np.log(-np.log(s)) + z * se_log / np.log(s)))
    b = np.exp(-np.exp(np.log(-np.log(s)) - z * se_log / np.log(s)))
    return min(a, b), max(a, b)


def check_landmark_cis(sd: StudyData, max_n: int | None = None) -> list[AuditRow]:
    rows = []
    for r in sd.results:
        if r.statistic != "landmark_rate" or r.ci is None or r.ci.low in (None, "NR") or r.ci.high in (None, "NR"):
            continue
        scale = 100.0 if r.unit == "percent" else 1.0
        N = sd.population_size(r.population) or 0
        limit = max_n or max(2 * N, 60)
        found = None
        target = float(r.value) / scale
        s_lo, s_hi = printed_bounds(r.value, scale=scale)
        for n in range(2, limit + 1):
            guess = round(target * n)
            for k in (guess - 1, guess, guess + 1):
                if not 0 < k < n or not s_lo <= k / n <= s_hi or rounds_to(k / n, r.value, scale=scale) != "exact":
                    continue
                for tr in ("log-log", "log", "plain"):
                    lo, hi = _landmark_ci(k / n, n, tr, float(r.ci.level))
                    if _ci_fits(lo, hi, r.ci.low, r.ci.high, scale):
                        found = (n, k, tr)
                        break
                if found:
                    break
            if found:
                break
        unit = r.timepoint.unit.rstrip("s") + ("" if float(r.timepoint.value) == 1 else "s")
        what = f"{V.endpoint_label(r.endpoint)} at {r.timepoint.value:g} {unit}"
        rep = f"{r.value} ({r.ci.low}–{r.ci.high})"
        if found:
            n, k, tr = found
            note = (f"matches a Kaplan-Meier {tr} CI with n = {n} (S = {k}/{n}, Greenwood variance, "
                    f"assuming no censoring before {r.timepoint.value} {r.timepoint.unit})")
            if N and n != N:
                note += f"; the stated population has {N}"
            rows.append(AuditRow(sd.study.id, what, rep, f"{k}/{n}, {tr}", "landmark_ci", CONSISTENT, note, r.id))
        else:
            # Which transform is the CI symmetric on? (a hint even with censoring)
            s = float(r.value) / scale
            lo, hi = float(r.ci.low) / scale, float(r.ci.high) / scale
            sym = []
            if abs((s - lo) - (hi - s)) < 0.0015:
                sym.append("plain")
            if abs(np.log(s / lo) - np.log(hi / s)) < 0.01:
                sym.append("log")
            ll = [np.log(-np.log(v)) for v in (lo, s, hi)]
            if abs((ll[0] - ll[1]) - (ll[1] - ll[2])) < 0.01:
                sym.append("log-log")
            hint = f"; the interval is symmetric on the {' and '.join(sym)} scale" if sym else ""
            rows.append(AuditRow(sd.study.id, what, rep, "", "landmark_ci", NOT_CHECKABLE,
                                 f"no simple explanation with n up to {limit} and no censoring{hint}", r.id))
    return rows


# --- 4. per-patient data against the published summary ----------------------------------------


def _median_first_below(km) -> float | None:
    t = km.table
    below = t[t["survival"] <= 0.5 + 1e-12]
    return None if below.empty else float(below["time"].iloc[0])


def _time_tolerance_days(d: pd.DataFrame, reported_unit: str) -> float:
    """Half the resolution of the per-patient times, in days, plus half a unit of the printed value."""
    unit = d["time_unit"].iloc[0]
    times = pd.concat([d["os_time"], d.get("pfs_time", d["os_time"])])
    resolution = 0.5 if any(abs(t * 2 - round(t * 2)) < 1e-9 and abs(t - round(t)) > 1e-9 for t in times) else 1.0
    return convert(resolution / 2, unit, "days") + convert(0.5, reported_unit or "days", "days") * 0


def check_patient_medians(sd: StudyData, d: pd.DataFrame) -> list[AuditRow]:
    from ..stats.survival import kaplan_meier  # scikit-survival: only where a curve is fitted

    rows = []
    unit = d["time_unit"].iloc[0]
    src = sd.study.patients.tables[sd.study.patients.fields["os"].table].location
    for r in sd.results:
        if r.endpoint not in ("pfs", "os") or r.statistic != "median":
            continue
        sub = population_rows(sd, d, r.population)
        label = f"median {r.endpoint.upper()} ({sd.study.populations[r.population].label})"
        if sub is None or f"{r.endpoint}_time" not in sub.columns:
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", "", "per_patient", NOT_CHECKABLE,
                                 "the per-patient table does not identify this population", r.id))
            continue
        tol = _time_tolerance_days(d, r.unit)
        readings = [("deaths without progression count as events", sub[f"{r.endpoint}_event"])]
        if r.endpoint == "pfs" and "progressed" in sub.columns:
            readings.append(("deaths without progression censored", sub["progressed"]))
        results = []
        for reading, ev in readings:
            km = kaplan_meier(sub[f"{r.endpoint}_time"], ev.astype(bool), conf_type="log")
            for conv, est in (("R midpoint rule", km.median()[0]), ("first time S ≤ 50%", _median_first_below(km))):
                results.append((reading, conv, est, km))
        rep_days = None if r.value == "NR" else convert(float(r.value), r.unit, "days")
        best = None
        for reading, conv, est, _km in results:
            est_days = None if est is None else convert(est, unit, "days")
            if rep_days is None and est_days is None:
                ok = True
            elif rep_days is None or est_days is None:
                ok = False
            else:
                ok = abs(rep_days - est_days) <= tol
            if ok:
                best = (reading, conv, est, est_days)
                break
        reading0, conv0, est0, km0 = results[0]
        est0_days = None if est0 is None else convert(est0, unit, "days")
        shown = (f"{_fmt(est0)} {unit}" + (f" = {est0_days:.0f} days" if est0_days is not None and r.unit == "days" else ""))
        if best:
            reading, conv, est, est_days = best
            exact = rep_days is not None and est_days is not None and abs(rep_days - est_days) < 0.5
            st = CONSISTENT if exact or (rep_days is None) else ROUNDING
            note = (f"matches {_fmt(est)} {unit} from {src} ({reading}; median by {conv}); tolerance ±{tol:.1f} days "
                    f"for the table's time resolution; 1 month = {DAYS_PER_MONTH} days")
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", f"{_fmt(est)} {unit}", "per_patient",
                                 st, note, r.id))
        else:
            alts = "; ".join(f"{rd}, {cv}: {_fmt(e)} {unit}" for rd, cv, e, _ in results)
            note = (f"paper {r.value} {r.unit} vs {shown} recomputed from {src}; no reading reproduces it "
                    f"within ±{tol:.1f} days ({alts})")
            rows.append(AuditRow(sd.study.id, label, f"{r.value} {r.unit}", shown, "per_patient", INCONSISTENT,
                                 note, r.id))
        # the CI limits under each conf.type
        if r.ci is not None and r.value != "NR":
            for limit_name, printed in (("lower", r.ci.low), ("upper", r.ci.high)):
                if printed is None:
                    continue
                fits = []
                vals = {}
                for ct in ("log", "log-log", "plain"):
                    km = kaplan_meier(sub[f"{r.endpoint}_time"], sub[f"{r.endpoint}_event"].astype(bool), conf_type=ct)
                    _, lo, hi = km.median()
                    v = lo if limit_name == "lower" else hi
                    vals[ct] = v
                    vd = None if v is None else convert(v, unit, "days")
                    pd_ = None if printed == "NR" else convert(float(printed), r.unit, "days")
                    if (vd is None and pd_ is None) or (vd is not None and pd_ is not None and abs(vd - pd_) <= tol):
                        fits.append(ct)
                recomputed = ", ".join(f"{ct}: {_fmt(v)}" for ct, v in vals.items())
                if fits:
                    rows.append(AuditRow(sd.study.id, f"{label}, 95% CI {limit_name} limit", f"{printed} {r.unit}",
                                         recomputed + f" ({unit})", "per_patient", CONSISTENT,
                                         f"reproduced by the {' and '.join(fits)} CI (Kaplan-Meier, Greenwood)", r.id))
                else:
                    rows.append(AuditRow(sd.study.id, f"{label}, 95% CI {limit_name} limit", f"{printed} {r.unit}",
                                         recomputed + f" ({unit})", "per_patient", INCONSISTENT,
                                         f"no log, log-log or plain CI reproduces {printed} {r.unit} within ±{tol:.1f} days",
                                         r.id))
    return rows



_COUNT_ENDPOINTS = {
    "mrd_negative": lambda d: d["mrd_negative"],
    "death": lambda d: d["os_event"],
    "progression": lambda d: d["progressed"],
    "progression_free": lambda d: ~d["progressed"].astype(bool),
    "second_infusion": lambda d: d["second_infusion"],
    "soft_tissue": lambda d: d["soft_tissue"],
}


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
        what = V.endpoint_label(r.endpoint)
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
        reported = int(r.value) if r.statistic == "count" else r.numerator
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
    reported = int(r.value) if r.statistic == "count" else r.numerator
    counts = [(name, int(sum(bool(at_least(c, thr)) for c in cats))) for name, cats in readings]
    what = f"{V.endpoint_label(r.endpoint)} ({sd.study.populations[r.population].label})"
    matching = [name for name, k in counts if k == reported]
    shown = "; ".join(f"{name}: {k}" for name, k in counts)
    if matching and matching[0] == "best response":
        return AuditRow(sd.study.id, what, str(reported), str(counts[0][1]), "per_patient", CONSISTENT,
                        f"{counts[0][1]} of {len(sub)} rows of {table_name} (best response)", r.id)
    if matching:
        return AuditRow(sd.study.id, what, str(reported), shown, "per_patient", CONSISTENT,
                        f"matches the {matching[0]} ({shown}); with best response the count would be "
                        f"{counts[0][1]}: the paper's definition admits both readings", r.id)
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
        label = f"median {V.endpoint_label(r.endpoint)}"
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
        deaths = [r for r in rs if r.endpoint == "death" and r.category is None]
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


def audit_study(sd: StudyData) -> list[AuditRow]:
    rows = check_percentages(sd) + check_proportion_cis(sd) + check_landmark_cis(sd) + check_sums(sd)
    d = derive_endpoints(sd)
    if d is not None:
        if "os_time" in d.columns:
            rows += check_patient_medians(sd, d)
        rows += check_patient_counts(sd, d) + check_patient_baseline(sd, d)
    return rows


# what a check of each kind confirms when it holds, in a reader's words (plural, after a count)
WHAT_HELD = {
    "percent": "printed percentages match a count of the stated population",
    "proportion_ci": "confidence intervals of proportions match a standard interval for their count",
    "landmark_ci": "survival rates with confidence intervals match a Kaplan-Meier interval",
    "per_patient": "numbers match the per-patient table",
    "sums": "totals and subtotals add up",
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
    return [f"{int(held[kind])} {text}" for kind, text in WHAT_HELD.items() if held.get(kind, 0)]


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

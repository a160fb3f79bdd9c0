"""Check 5: response categories, grade bands, death causes and declared relations add up."""

from __future__ import annotations

import itertools

from ...data.study_data import StudyData
from ...domain import grades
from ...domain.record_counts import count_of_record
from ...domain.response import at_least
from .rows import CONSISTENT, INCONSISTENT, NOT_CHECKABLE, AuditRow


def check_sums(sd: StudyData) -> list[AuditRow]:
    """Parts that should add up to their printed total (response categories,
    grades, causes of death)."""
    rows = []
    sid = sd.study.id

    def add(label, parts: list[str], whole: str, check_note="", incomplete: str = ""):
        ranged = [i for i in [*parts, whole] if sd.result(i).bound is not None]
        if ranged:  # a range has no single count to add: its ends are the check the bound states
            rows.append(AuditRow(sid, label, "", "", "sums", NOT_CHECKABLE, "a part or the whole is known only as a "
                                 "range (" + "; ".join(_range_text(sd.result(i)) for i in ranged) + ")", whole))
            return
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


def _range_text(r) -> str:
    return f"{r.bound.low} to {r.bound.high} of {r.denominator}" if r.denominator else f"{r.bound.low} to {r.bound.high}"

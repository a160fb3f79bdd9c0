"""Check 1: printed percentages against their counts at the printed precision (GRIM-style)."""

from __future__ import annotations

from decimal import Decimal

from ...data.study_data import StudyData
from ...domain.printed import (
    consistent_fractions,
    count_for,
    decimals_of,
    rounds_to,
    which_count_text,
)
from ...domain.printed_groups import joint_denominators, other_population_fitting, printed_together
from ...text import lower_first
from .rows import CONSISTENT, INCONSISTENT, NOT_CHECKABLE, READING, ROUNDING, AuditRow, record_label


def check_percentages(sd: StudyData) -> list[AuditRow]:
    """Every printed percentage against its count and denominator, allowing
    for the paper's rounding."""
    rows = []
    sid = sd.study.id
    unresolved: dict[str, list] = {}
    # a range the curator bounded from a printed percentage (10/12 with grade 1-2 CRS: grade >=3 is
    # 0 to 2 of 12) quotes that percentage, which is checked on the record that prints it
    printed = {(r.quote, r.value) for r in sd.results if r.bound is None}
    for r in sd.results:
        if r.statistic != "proportion" or r.unit != "percent" or (r.bound is not None and (r.quote, r.value) in printed):
            continue
        item = f"{record_label(r)}{' grade ' + r.grade.replace('>=', '≥') if r.grade else ''} " \
               f"({sd.study.populations[r.population].label})"
        denominator = r.denominator if r.denominator is not None else sd.population_size(r.population)
        if r.numerator is not None and denominator is not None:
            how = rounds_to(r.numerator / denominator, r.value)
            val = 100 * r.numerator / denominator
            if how == "exact":
                st, note = CONSISTENT, f"{r.numerator}/{denominator} = {val:.3f}%"
            elif how == "truncated":
                st, note = ROUNDING, (f"{r.numerator}/{denominator} = {val:.3f}% rounds to "
                                      f"{Decimal(val).quantize(Decimal(1).scaleb(-decimals_of(r.value)))}%; the "
                                      f"printed {r.value}% is the truncated value")
            else:
                st, note = INCONSISTENT, f"{r.numerator}/{denominator} = {val:.3f}%, not {r.value}%"
            rows.append(AuditRow(sid, item, f"{r.value}% ({r.numerator}/{denominator})", f"{val:.2f}%",
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
                                 f"({lower_first(label)}), not the stated {n} ({alone}): the denominator is "
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

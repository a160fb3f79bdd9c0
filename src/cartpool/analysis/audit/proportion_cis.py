"""Check 2: a printed confidence interval of a proportion against the standard intervals for its count."""

from __future__ import annotations

from decimal import Decimal

from ... import formatting as fmt
from ...data.study_data import StudyData
from ...domain.printed import (
    ci_fits_print,
    consistent_fractions,
    count_for,
    rounds_to,
    which_count_text,
)
from ...stats.proportions import CI_METHOD_LABELS, proportion_ci
from ...text import lower_first
from .rows import CONSISTENT, INCONSISTENT, NOT_CHECKABLE, READING, AuditRow, record_label


def check_proportion_cis(sd: StudyData) -> list[AuditRow]:
    """Printed confidence intervals of proportions against the interval
    methods a paper may have used (Clopper-Pearson, Wilson, Wald, Agresti-Coull)."""
    rows = []
    for r in sd.results:
        if r.statistic != "proportion" or r.ci is None or r.ci.low in (None, "NR") or r.ci.high in (None, "NR"):
            continue
        k, n = r.numerator, r.denominator or sd.population_size(r.population)
        alts: tuple[int, ...] = ()
        if n is not None and k is None:  # the analysis's rule: the count nearest p x N, the others kept
            k, alts = count_for(r.value, n, scale=100.0 if r.unit == "percent" else 1.0)
        item = f"{record_label(r)} CI"
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
                                     f"({lower_first(pop.label)}), not with the stated {k}/{n}")
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

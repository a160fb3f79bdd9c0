"""Check 3: a survival rate at a landmark with its confidence interval against Kaplan-Meier intervals."""

from __future__ import annotations

from ...data import endpoint_names
from ...data.study_data import StudyData
from ...domain.landmarks import landmark_exact_n, likely_population
from ...domain.population import follow_up
from ...stats.kaplan_meier import landmark_effective_n
from ...units import convert
from .rows import CONSISTENT, INCONSISTENT, NOT_CHECKABLE, READING, AuditRow


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
        what = f"{endpoint_names.endpoint_label(r.endpoint)} at {when}"
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

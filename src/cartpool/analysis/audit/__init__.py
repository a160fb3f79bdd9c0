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

from ...data.study_data import StudyData
from ...domain.derive import derive_endpoints
from .contradictions import check_contradictions
from .landmarks import check_landmark_cis
from .per_patient import check_patient_baseline, check_patient_counts, check_patient_medians, median_readings
from .percentages import check_percentages
from .proportion_cis import check_proportion_cis
from .rows import (
    CONSISTENT,
    FINDINGS,
    HOW_RECOMPUTED,
    INCONSISTENT,
    NOT_CHECKABLE,
    READING,
    ROUNDING,
    STATUSES,
    WHAT_HELD,
    AuditRow,
    audit_frame,
    status_counts_text,
    summary,
    what_held,
)
from .sums import check_sums

__all__ = ["CONSISTENT", "FINDINGS", "HOW_RECOMPUTED", "INCONSISTENT", "NOT_CHECKABLE", "READING", "ROUNDING", "STATUSES", "WHAT_HELD",
           "AuditRow", "audit_frame", "audit_study", "check_contradictions", "check_landmark_cis",
           "check_patient_baseline", "check_patient_counts", "check_patient_medians", "check_percentages",
           "check_proportion_cis", "check_sums", "median_readings", "status_counts_text", "summary", "what_held"]


def audit_study(sd: StudyData) -> list[AuditRow]:
    """Every check of one study, in the order the audit page lists them.

    Returns
    -------
    list of AuditRow
        Printed statistics next to what the counts or per-patient data give."""
    rows = (check_percentages(sd) + check_proportion_cis(sd) + check_landmark_cis(sd) + check_sums(sd)
            + check_contradictions(sd))
    d = derive_endpoints(sd)
    if d is not None:
        if "os_time" in d.columns:
            rows += check_patient_medians(sd, d)
        rows += check_patient_counts(sd, d) + check_patient_baseline(sd, d)
    return rows

"""Check 6: contradictions within one paper, recorded by a curator or found (one quantity printed twice)."""

from __future__ import annotations

from decimal import Decimal

from ...data.study_data import StudyData
from ...domain.printed import (
    consistent_fractions,
    nearest_count,
)
from .rows import INCONSISTENT, ROUNDING, AuditRow, record_label


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
        item = f"{record_label(r)} ({sd.study.populations[r.population].label}), printed twice"
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

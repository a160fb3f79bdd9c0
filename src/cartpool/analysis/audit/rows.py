"""An audit row, its statuses, and the summaries of a frame of rows (shared by every check)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from ...data import endpoint_names

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


def fmt_value(x, d=1) -> str:
    """A value as the audit table prints it: NR for none, floats to ``d`` decimals."""
    return "NR" if x is None else (f"{x:.{d}f}" if isinstance(x, float) else str(x))


def record_label(r) -> str:
    """A record's endpoint and category in the clinician's words (the data vocabulary)."""
    name = endpoint_names.endpoint_label(r.endpoint)
    if not r.category:
        return name
    cat = endpoint_names.category_label(r.endpoint, r.category)
    return cat if cat.startswith(name) else f"{name}: {cat}"


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

#: How each kind of check recomputes a printed number, in words (the "Recomputed" column's tooltip)
HOW_RECOMPUTED = {
    "percent": "the count of the stated population that the printed percentage stands for, and that count's "
               "percentage, compared at the printed precision",
    "proportion_ci": "the standard 95% confidence intervals of the printed count (Clopper-Pearson exact, Wilson, "
                     "Wald and Agresti-Coull), compared with the printed interval",
    "landmark_ci": "the Kaplan-Meier 95% confidence intervals of the printed survival rate (plain, log and log-log "
                   "transforms, Greenwood variance), compared with the printed interval",
    "per_patient": "recounted or recomputed from the patients' rows, under each reading the table allows",
    "sums": "the sum of the printed parts, compared with the printed total",
    "contradiction": "the count of the population that both printed values round from",
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
    """The audit rows as a table, one column per field of AuditRow."""
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

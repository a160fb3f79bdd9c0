"""Subgroups named in the analysis plan (CAR target, primary or secondary PCL): which level each
study, or each patient of a study, belongs to.

A study belongs wholly to a level when the study itself has one value (a single CAR target; a
cohort of primary PCL only). A study that mixes levels contributes to each level only through its
per-patient table, patient by patient; without one it belongs to no level, and the report says
that its levels could not be separated.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data.study_data import StudyData
from .derive import derive_endpoints

#: The levels of each subgroup field, in the words of the report.
TARGET_LABELS = {"BCMA": "BCMA-directed", "GPRC5D": "GPRC5D-directed"}
PCL_TYPE_LABELS = {"primary_pcl": "Primary PCL", "secondary_pcl": "Secondary PCL", "pPCL": "Primary PCL",
                   "sPCL": "Secondary PCL"}
NOT_SEPARABLE = "levels not separable from what the source reports"


def _target_label(value: object) -> str | None:
    text = str(value).strip().upper()
    for key, label in TARGET_LABELS.items():
        if text.startswith(key):
            return label
    return f"{str(value).strip()}-directed" if text else None


def _study_values(sd: StudyData, field: str) -> list[str]:
    if field == "target":
        return [_target_label(t) for t in sd.study.targets.value]
    if field == "pcl_type":
        return [PCL_TYPE_LABELS[d] for d in sd.study.disease.value if d in ("primary_pcl", "secondary_pcl")] \
            + (["unspecified"] if "unspecified_pcl" in sd.study.disease.value else [])
    return []


def _patient_label(field: str, value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if field == "target":
        return _target_label(value)
    if field == "pcl_type":
        return PCL_TYPE_LABELS.get(str(value).strip())
    return str(value)


@dataclass(frozen=True)
class Membership:
    """How a study enters the levels of one subgroup field.

    `whole` is the level the whole study belongs to (or None); `rows` maps a level to the
    per-patient rows (index labels) of it, where the study mixes levels; `note` says why a study
    enters no level.
    """

    whole: str | None
    rows: dict[str, tuple]
    note: str = ""

    @property
    def levels(self) -> list[str]:
        return [self.whole] if self.whole else list(self.rows)


def membership(sd: StudyData, field: str) -> Membership:
    """How one study enters the levels of a subgroup field ("target" or "pcl_type").

    Parameters
    ----------
    sd : StudyData
        The study.
    field : {"target", "pcl_type"}
        A subgroup field of the analysis plan; any other field has no study-level values and
        is read from the per-patient table only.

    Returns
    -------
    Membership
        A single-valued study belongs wholly to its level; a mixed one by its per-patient rows
        (column `field` of the derived table), levels sorted by name; otherwise to no level, with
        the reason ("not applicable", or `NOT_SEPARABLE` when the study mixes levels).

    References
    ----------
    Fernández de Larrea C, Kyle R, Rosiñol L, et al. Primary plasma cell leukemia: consensus
    definition by the International Myeloma Working Group according to peripheral blood plasma
    cell percentage. Blood Cancer J. 2021;11:192 (primary and secondary PCL).
    Higgins JPT, Thomas J, Chandler J, et al., eds. Cochrane Handbook for Systematic Reviews of
    Interventions, version 6.4. Cochrane; 2023, chapter 10 (subgroup analyses).
    """
    values = [v for v in _study_values(sd, field) if v]
    if len(values) == 1 and values[0] != "unspecified":
        return Membership(values[0], {})
    d = derive_endpoints(sd, copy=False)  # read only
    if d is not None and field in d.columns:
        rows: dict[str, list] = {}
        for pid, v in d[field].items():
            label = _patient_label(field, v)
            if label is not None:
                rows.setdefault(label, []).append(pid)
        if rows:
            return Membership(None, {k: tuple(v) for k, v in sorted(rows.items())})
    if not values:
        return Membership(None, {}, "not applicable")
    return Membership(None, {}, NOT_SEPARABLE)



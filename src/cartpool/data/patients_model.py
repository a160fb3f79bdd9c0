"""The per-patient part of the study data model (``patients:`` in ``study.yaml``): the CSV tables as
published, how each column is parsed, and which column plays which role (overall survival,
progression, best response ...). The tables themselves are read in `cartpool.data.patient_tables`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator

from .sourced import Sourced, Strict

PARSERS = (
    "text",
    "number",
    "integer",
    "percent",
    "sci_number",
    "time_plus",
    "time_or_no",
    "response",
    "grade",
    "roman_grade",
    "yes_no",
    "flag",
    "event_time",
    "outcome_after",
)


class PatientTable(Strict):
    """A per-patient table entered exactly as published (CSV, every cell as printed text)."""

    file: str
    location: str
    orientation: Literal["rows", "columns"] = "rows"
    id_column: str
    id_pattern: str = r"^(?P<patient>\d+)$"
    # How the table rounds its times: "nearest" where the paper says so; otherwise "unknown", and a
    # recomputed time may then lie a full printed step from the print (rounded down or up).
    time_rounding: Literal["nearest", "unknown"] = "unknown"

    @field_validator("file")
    @classmethod
    def _inside_folder(cls, v: str) -> str:
        if "/" in v or "\\" in v or v.startswith(".") or not v.endswith(".csv"):
            raise ValueError(
                f"{v!r} must be a plain .csv file name inside the study folder (no folders, no '..')"
            )
        return v

    @field_validator("id_pattern")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            rx = re.compile(v)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from None
        if "patient" not in rx.groupindex:
            raise ValueError("the id pattern needs a named group (?P<patient>...) for the patient number")
        return v


class FieldSpec(Strict):
    """Where a per-patient field comes from: a table column (or a group of the id pattern)."""

    table: str
    column: str  # a column header as published, or "@group" for a named group of id_pattern
    parse: Literal[PARSERS]  # type: ignore[valid-type]
    unit: Literal["days", "weeks", "months", "years"] | None = None
    label: str | None = None


ROLE_FIELDS = {
    "os": "time_plus",
    "progression": "time_or_no",
    "best_response": "response",
    "early_response": "response",
    "crs_grade": "grade",
    "icans_grade": "grade",
}


class PatientData(Strict):
    population: str
    tables: dict[str, PatientTable]
    fields: dict[str, FieldSpec]
    adverse_events: dict[str, FieldSpec] = {}
    subgroups: list[str] = []
    definitions: dict[str, Sourced[str]] = {}

    @model_validator(mode="after")
    def _references(self) -> PatientData:
        for group in (self.fields, self.adverse_events):
            for name, spec in group.items():
                if spec.table not in self.tables:
                    raise ValueError(
                        f"field {name!r} names table {spec.table!r}, which is not among the tables "
                        f"({', '.join(sorted(self.tables))})"
                    )
        for role, parser in ROLE_FIELDS.items():
            spec = self.fields.get(role)
            if spec is not None and spec.parse != parser:
                raise ValueError(f"field {role!r} must use the {parser!r} parser, not {spec.parse!r}")
        for name in ("os", "progression"):
            spec = self.fields.get(name)
            if spec is not None and spec.unit is None:
                raise ValueError(f"field {name!r} is a time and needs its unit (days or months)")
        for sg in self.subgroups:
            if sg not in self.fields:
                raise ValueError(f"subgroup {sg!r} is not one of the fields ({', '.join(sorted(self.fields))})")
        return self


#: Study facts a curator may leave out (see `Study._missing_by_document`).

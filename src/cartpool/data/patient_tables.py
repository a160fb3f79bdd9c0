"""Per-patient tables: reading a study's CSV files (size, encoding, ragged rows), parsing their
cells by the columns the study declares, and checking per-patient times against the study's
dates. Problems are collected as `DataIssue`s naming file, row and column."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from .errors import DataIssue
from .parse import PARSE, CellError
from .patients_model import PatientData
from .study_data import PatientTableData
from .yamlio import STUDY_FILE, read_text


def read_csv_rows(path: Path, issues: list[DataIssue]) -> list[list[str]] | None:
    text = read_text(path, issues)
    if text is None:
        return None
    try:
        rows = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as e:
        issues.append(DataIssue(path.name, "", f"is not valid CSV: {e}"))
        return None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        issues.append(DataIssue(path.name, "", "is empty: it needs a header row and one row per patient"))
        return None
    width = len(rows[0])
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != width:
            issues.append(DataIssue(path.name, f"row {i}", f"has {len(r)} cells but the header has {width}"))
            return None
    return rows


def read_patient_table(folder: Path, name: str, spec, issues: list[DataIssue]) -> PatientTableData | None:
    path = folder / spec.file
    if not path.is_file():
        issues.append(DataIssue(STUDY_FILE, f"patients.tables.{name}.file",
                                f"names {spec.file!r}, which is not in the study folder"))
        return None
    rows = read_csv_rows(path, issues)
    if rows is None:
        return None
    if spec.orientation == "rows":
        header, body = rows[0], rows[1:]
        records = [dict(zip(header, r, strict=True)) for r in body]
        if spec.id_column not in header:
            issues.append(DataIssue(spec.file, "header", f"has no column {spec.id_column!r} (the id column)"))
            return None
    else:  # published with patients as columns: first column holds the row labels
        labels = [r[0] for r in rows]
        if spec.id_column not in labels:
            issues.append(DataIssue(spec.file, "first column",
                                    f"has no row {spec.id_column!r} (the row of patient ids)"))
            return None
        id_row = labels.index(spec.id_column)
        records = []
        for j in range(1, len(rows[0])):
            records.append({labels[i]: rows[i][j] for i in range(len(rows)) if labels[i].strip()})
        header = [lab for lab in labels if lab.strip()]
        del id_row
    dup_cols = {h for h in header if header.count(h) > 1 and h.strip()}
    if dup_cols:
        issues.append(DataIssue(spec.file, "header", f"repeats the column(s) {', '.join(sorted(dup_cols))}"))
        return None
    rx = re.compile(spec.id_pattern)
    by_patient: dict[str, dict[str, str]] = {}
    groups: dict[str, dict[str, str]] = {}
    ok = True
    for i, rec in enumerate(records, start=2):
        raw_id = rec[spec.id_column]
        place = f"row {i}" if spec.orientation == "rows" else f"column {i}"
        m = rx.fullmatch(raw_id.strip())
        if not m:
            issues.append(DataIssue(spec.file, place,
                                    f"patient id {raw_id!r} does not match the pattern {spec.id_pattern!r}"))
            ok = False
            continue
        pid = m.group("patient")
        if pid in by_patient:
            issues.append(DataIssue(spec.file, place, f"patient {pid} appears more than once"))
            ok = False
            continue
        by_patient[pid] = rec
        groups[pid] = {k: (v or "") for k, v in m.groupdict().items()}
    if not ok:
        return None
    return PatientTableData(name, spec.file, spec.location, rows, by_patient, groups)


def parse_patients(pdata: PatientData, tables: dict[str, PatientTableData], issues: list[DataIssue]):
    ids = None
    for t in tables.values():
        these = list(t.by_patient)
        if ids is None:
            ids = these
        elif set(these) != set(ids):
            missing = sorted(set(ids) ^ set(these), key=lambda s: (len(s), s))
            issues.append(DataIssue(t.file, "patient ids",
                                    f"do not match the other per-patient tables (differ in: {', '.join(missing)})"))
            return None
    ids = ids or []
    cols: dict[str, list] = {}
    ok = True
    specs = {**pdata.fields, **{f"ae:{k}": v for k, v in pdata.adverse_events.items()}}
    for fname, spec in specs.items():
        table = tables[spec.table]
        parser = PARSE[spec.parse]
        values = []
        for pid in ids:
            if spec.column.startswith("@"):
                group = spec.column[1:]
                if group not in table.id_groups[pid]:
                    issues.append(DataIssue(STUDY_FILE, f"patients.fields.{fname}.column",
                                            f"the id pattern of table {spec.table!r} has no group {group!r}"))
                    return None
                cell = table.id_groups[pid][group]
            else:
                if spec.column not in table.by_patient[pid]:
                    issues.append(DataIssue(table.file, "header", f"has no column {spec.column!r} "
                                            f"(named by patients.fields.{fname.removeprefix('ae:')})"))
                    return None
                cell = table.by_patient[pid][spec.column]
            try:
                values.append(parser(cell))
            except CellError as e:
                issues.append(DataIssue(table.file, f"patient {pid}, column {spec.column!r}", str(e)))
                ok = False
                values.append(None)
        cols[fname] = values
    if not ok:
        return None
    df = pd.DataFrame(cols, index=pd.Index(ids, name="patient"))
    return df


def check_patient_times(df, pdata: PatientData, file_of: dict[str, str], issues: list[DataIssue]) -> None:
    if "os" not in df.columns:
        return
    f_os = file_of.get("os", STUDY_FILE)
    for pid, row in df.iterrows():
        os_ = row["os"]
        if os_ is None:
            issues.append(DataIssue(f_os, f"patient {pid}", "has no survival time; every patient needs one"))
            continue
        if os_.time < 0:
            issues.append(DataIssue(f_os, f"patient {pid}", f"has a negative survival time {os_.time}"))
        prog = row.get("progression") if "progression" in df.columns else None
        if prog is not None and (prog < 0 or prog > os_.time):
            issues.append(DataIssue(file_of.get("progression", STUDY_FILE), f"patient {pid}",
                                    f"progression at {prog} lies outside the follow-up 0-{os_.time}"))


# --- the study folder -------------------------------------------------------------------------

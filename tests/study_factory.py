"""Small study folders written on the fly, for tests of single rules (no source document)."""

from __future__ import annotations

from pathlib import Path

import yaml

from cartpool.data.load import load_study

BASE = {
    "label": "Test 2027", "title": "A test study", "citation": "Test. 2027.", "doi": None, "registry_ids": [],
    "document_type": "abstract", "source_document": "test.txt", "design": "not reported", "phase": "not reported",
    "setting": {"value": "relapsed_refractory", "location": "Abstract", "quote": "relapsed"},
    "disease": {"value": ["primary_pcl"], "location": "Abstract", "quote": "primary PCL"},
    "targets": {"value": ["BCMA"], "location": "Abstract", "quote": "BCMA"},
    "products": "not reported", "dose": "not reported", "lymphodepletion": "not reported",
    "enrolment_period": "not reported", "data_cutoff": "not reported", "crs_grading": "not reported",
    "icans_grading": "not reported", "ctcae_version": "not reported", "time_unit": "months",
}


def make_study(root: Path, results: list[dict], *, populations: dict | None = None, study_id: str = "t2027",
               files: dict[str, str] | None = None, **study_fields):
    """Write and load a study folder with the given result records (each gets a location and a quote),
    and any per-patient table files (`files`: name -> CSV text)."""
    folder = Path(root) / study_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    study = {"id": study_id, **BASE, **study_fields,
             "populations": {k: {"kind": "subgroup" if v.get("where") else "other", **v} for k, v in
                             (populations or {"all": {"label": "All patients", "kind": "infused"}}).items()}}
    recs = [{"location": "Results", "quote": "quoted text", **r} for r in results]
    (folder / "study.yaml").write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    (folder / "results.yaml").write_text(yaml.safe_dump(recs, allow_unicode=True), encoding="utf-8")
    _write_side_files(folder)
    return load_study(folder, sources=None)


def _write_side_files(folder: Path) -> None:
    """The risk-of-bias and coverage files every study folder needs (cartpool.synthetic writes them)."""
    from cartpool.synthetic import appraisal

    (folder / "appraisal.yaml").write_text(yaml.safe_dump(appraisal({"per_patient": True})), encoding="utf-8")
    (folder / "coverage.yaml").write_text("left_out: []\n", encoding="utf-8")


def n_all(n: int, population: str = "all") -> dict:
    return {"id": f"n_{population}", "population": population, "endpoint": "patients", "statistic": "count",
            "value": n}


def rename_study(studies_dir: Path, old: str, new: str) -> Path:
    """Give a generated study folder another id (its folder name and the id in its study.yaml); its
    quotes and source document are left as they are."""
    folder = Path(studies_dir) / old
    target = folder.rename(Path(studies_dir) / new)
    path = target / "study.yaml"
    study = yaml.safe_load(path.read_text(encoding="utf-8"))
    study["id"] = new
    path.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def per_patient_study(root: Path, rows: list[dict], results: list[dict], *, populations: dict | None = None,
                      **study_fields):
    """A study with a per-patient table (one dict per patient: "Patient", "Best response",
    "Response (Day 28)", "Progression (months)", "Survival (months)", each as printed) and the
    given result records; the population "all" is everyone in the table."""
    columns = list(rows[0])
    text = ",".join(columns) + "\n" + "".join(",".join(str(r[c]) for c in columns) + "\n" for r in rows)
    fields = {"best_response": {"table": "t1", "column": "Best response", "parse": "response"},
              "os": {"table": "t1", "column": "Survival (months)", "parse": "time_plus", "unit": "months"}}
    if "Progression (months)" in columns:
        fields["progression"] = {"table": "t1", "column": "Progression (months)", "parse": "time_or_no",
                                 "unit": "months"}
    if "Response (Day 28)" in columns:
        fields["early_response"] = {"table": "t1", "column": "Response (Day 28)", "parse": "response",
                                    "label": "Response at day 28"}
    patients = {"population": "all", "tables": {"t1": {"file": "patients.csv", "location": "Table 1",
                                                       "orientation": "rows", "id_column": "Patient"}},
                "fields": fields}
    return make_study(root, [n_all(len(rows)), *results], populations=populations, files={"patients.csv": text},
                      patients=patients, document_type="full_article", **study_fields)

"""Seeded synthetic studies: valid study folders plus the source documents their quotes come from.

Used by the tests (end-to-end build, pooled analysis, audit) and by the benchmark. Study i of
any run depends only on (seed, i), so the same N always gives the same files. The mix covers
per-patient and summary-only studies, PCL and MM, frontline and relapsed/refractory, and
0% and 100% outcomes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import yaml

from .data.risk_of_bias import DOMAINS, worst

RESPONSES = ("sCR", "CR", "VGPR", "PR", "SD", "PD")


def study_spec(i: int, seed: int = 2026) -> dict:
    rng = np.random.default_rng([seed, i])
    disease = ["primary_pcl", "secondary_pcl", "mm"][i % 3]
    setting = "frontline" if i % 4 == 1 else "relapsed_refractory"
    n = int(rng.integers(6, 40))
    per_patient = i % 2 == 0
    extreme = i % 5  # 0: all responders, 1: no grade >=3 CRS, else random
    p_resp = 1.0 if extreme == 0 else float(rng.uniform(0.5, 0.95))
    resp = []
    for _ in range(n):
        if rng.random() < p_resp:
            resp.append(str(rng.choice(["sCR", "CR", "VGPR", "PR"], p=[0.3, 0.3, 0.2, 0.2])))
        else:
            resp.append(str(rng.choice(["SD", "PD"])))
    crs = [int(g) for g in rng.choice([0, 1, 2, 3], size=n, p=[0.2, 0.45, 0.25, 0.1])]
    if extreme == 1:
        crs = [min(g, 2) for g in crs]
    os_t = np.round(rng.exponential(18, size=n) + 0.5, 1)
    fu_cut = float(rng.uniform(12, 36))
    alive = os_t > fu_cut
    os_t = np.where(alive, np.round(fu_cut - rng.uniform(0, 6, size=n), 1), os_t).clip(0.5)
    prog = [float(np.round(t * rng.uniform(0.3, 0.9), 1)) if rng.random() < 0.6 else None for t in os_t]
    return dict(i=i, id=f"syn{i:03d}", disease=disease, setting=setting, n=n, per_patient=per_patient,
                resp=resp, crs=crs, os=[float(t) for t in os_t], alive=[bool(a) for a in alive], prog=prog)


def write_study(spec: dict, studies_dir: Path, sources_dir: Path) -> Path:
    sid, n = spec["id"], spec["n"]
    folder = studies_dir / sid
    folder.mkdir(parents=True, exist_ok=True)
    doc_name = f"{sid}.txt"
    quotes: list[str] = []

    def sourced(value, quote):
        quotes.append(quote)
        return {"value": value, "location": "Abstract", "quote": quote}

    label = f"Synthetic {spec['i']:03d}"
    study = {
        "id": sid, "label": label, "title": f"Synthetic CAR-T study {spec['i']:03d}",
        "citation": f"Synthetic data set {sid}, generated for testing cartpool.", "doi": None,
        "registry_ids": [], "document_type": "full_article" if spec["per_patient"] else "abstract",
        "source_document": doc_name,
        "design": sourced("prospective", f"{sid} was a prospective study"), "phase": "not reported",
        "setting": sourced(spec["setting"], f"{sid} enrolled {spec['setting'].replace('_', ' ')} patients"),
        "disease": sourced([spec["disease"]], f"{sid} studied {spec['disease'].replace('_', ' ')}"),
        "targets": sourced(["BCMA"], f"{sid} used a BCMA CAR-T product"),
        "products": "not reported", "dose": "not reported", "lymphodepletion": "not reported",
        "enrolment_period": "not reported", "data_cutoff": "not reported",
        "crs_grading": sourced("ASTCT" if spec["i"] % 3 else "Lee 2014",
                               f"{sid} graded CRS by {'ASTCT' if spec['i'] % 3 else 'Lee 2014'}"),
        "icans_grading": "not reported", "ctcae_version": "not reported",
        "time_unit": "months", "populations": {"infused": {"label": "Infused patients", "kind": "infused"}},
    }
    k_resp = sum(r in ("sCR", "CR", "VGPR", "PR") for r in spec["resp"])
    k_cr = sum(r in ("sCR", "CR") for r in spec["resp"])
    k_crs = sum(g >= 1 for g in spec["crs"])
    k_crs3 = sum(g >= 3 for g in spec["crs"])

    def rec(rid, endpoint, value, quote, **kw):
        quotes.append(quote)
        return {"id": rid, "population": "infused", "endpoint": endpoint, "statistic": "count",
                "value": value, "location": "Results", "quote": quote, **kw}

    results = [
        rec("n_infused", "patients", n, f"{n} patients of {sid} were infused"),
        rec("orr", "orr", k_resp, f"{sid}: {k_resp} of {n} patients responded", denominator=n),
        rec("cr_or_better", "cr_or_better", k_cr, f"{sid}: {k_cr} of {n} reached CR or better", denominator=n),
        rec("crs_any", "crs", k_crs, f"{sid}: CRS in {k_crs} of {n}", denominator=n, grade="any"),
        rec("crs_ge3", "crs", k_crs3, f"{sid}: grade 3 or higher CRS in {k_crs3} of {n}", denominator=n,
            grade=">=3"),
    ]
    if spec["per_patient"]:
        study["patients"] = {
            "population": "infused",
            "tables": {"t1": {"file": "patients.csv", "location": "Table 1", "orientation": "rows",
                              "id_column": "Patient"}},
            "fields": {
                "best_response": {"table": "t1", "column": "Best response", "parse": "response"},
                "progression": {"table": "t1", "column": "Progression (months)", "parse": "time_or_no",
                                "unit": "months"},
                "os": {"table": "t1", "column": "Survival (months)", "parse": "time_plus", "unit": "months"},
                "crs_grade": {"table": "t1", "column": "CRS", "parse": "grade", "label": "CRS grade"},
            },
        }
        with open(folder / "patients.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["Patient", "Best response", "Progression (months)", "Survival (months)", "CRS"])
            for j in range(n):
                p = spec["prog"][j]
                w.writerow([j + 1, spec["resp"][j], "No" if p is None else f"{p:g}",
                            f"{spec['os'][j]:g}" + (" +" if spec["alive"][j] else ""),
                            "No" if spec["crs"][j] == 0 else spec["crs"][j]])
    else:
        results.append({"id": "os_median", "population": "infused", "endpoint": "os", "statistic": "median",
                        "value": 14.5 + spec["i"] % 7, "unit": "months", "location": "Results",
                        "quote": f"{sid}: median OS {14.5 + spec['i'] % 7} months"})
        quotes.append(results[-1]["quote"])
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True), encoding="utf-8")
    header = f"Synthetic source document for {sid}."
    (folder / "appraisal.yaml").write_text(yaml.safe_dump(appraisal(spec), sort_keys=False), encoding="utf-8")
    (folder / "coverage.yaml").write_text(yaml.safe_dump(
        {"left_out": [{"location": "Header", "reason": "front_matter", "quote": header}]}, sort_keys=False),
        encoding="utf-8")
    (folder / "results.yaml").write_text(yaml.safe_dump(results, sort_keys=False, allow_unicode=True),
                                         encoding="utf-8")
    sources_dir.mkdir(parents=True, exist_ok=True)
    (sources_dir / doc_name).write_text(header + "\n" + "\n".join(quotes) + "\n", encoding="utf-8")
    return folder


def appraisal(spec: dict) -> dict:
    """A risk-of-bias appraisal for a synthetic study, by domain: per-patient studies are judged low
    where summary-only ones have no information."""
    judgement = "low" if spec["per_patient"] else "no_information"
    domains = {d: {"judgement": judgement if d != "causality" else "some_concerns",
                   "reason": "Synthetic study: stated in the generated source." if judgement == "low"
                   else "Synthetic study: the generated source is silent."} for d in DOMAINS}
    overall = worst(d["judgement"] for d in domains.values())
    return {"tool": "murad_2018", "domains": domains,
            "overall": {"judgement": overall, "reason": "Synthetic study: the most serious domain judgement."}}


#: The analysis plan of a synthetic data folder: the structure of the project's plan, with outcomes
#: ranked and thresholds chosen for the synthetic studies (test data, not the project's plan).
SYNTHETIC_PLAN = {"entries": [{
    "date": "2026-01-01",
    "summary": "Synthetic plan for generated test studies.",
    "question": "How do synthetic patients fare after synthetic CAR-T cells?",
    "report_type": "A synthesis of generated test studies, not a systematic review.",
    "populations": [
        {"id": "rr_pcl", "label": "Relapsed/refractory PCL", "disease": "PCL", "setting": "relapsed_refractory",
         "role": "primary"},
        {"id": "frontline_pcl", "label": "Frontline PCL", "disease": "PCL", "setting": "frontline", "role": "primary"},
        {"id": "rr_mm", "label": "Relapsed/refractory MM", "disease": "MM", "setting": "relapsed_refractory",
         "role": "context"},
        {"id": "frontline_mm", "label": "Frontline MM", "disease": "MM", "setting": "frontline", "role": "context"}],
    "denominators": {"efficacy": ["enrolled", "infused", "treated"], "survival": ["enrolled", "infused", "treated"],
                     "safety": ["infused", "treated", "enrolled"],
                     "rule": "Everyone enrolled for response and survival; everyone infused for toxicity."},
    "outcomes": [{"outcome": o, "importance": imp, "thresholds": th, "why": "synthetic"} for o, imp, th in (
        ("os_12m", "critical", [0.3, 0.5]), ("pfs_12m", "critical", [0.3, 0.5]), ("nrm", "critical", [0.05, 0.1]),
        ("crs_ge3", "critical", [0.05, 0.1]), ("icans_any", "critical", [0.1, 0.2]),
        ("cr_or_better", "important", [0.3, 0.5]), ("orr", "important", [0.5, 0.8]),
        ("crs_any", "limited", [0.5, 0.8]))],
    "subgroups": [{"field": "target", "label": "CAR target", "why": "synthetic"},
                  {"field": "pcl_type", "label": "Primary or secondary PCL", "why": "synthetic"}],
    "pooling": {"random_effects_min_k": 3, "two_studies": "not_pooled",
                "rule": "One study alone, two side by side, three or more by random effects."},
    "bayes": {"mu_prior_sd": 4.0, "tau_prior_scale": 1.0, "tau_prior_scale_sensitivity": 2.0,
              "justification": "Synthetic: the project's prior."},
    "bounds": {"rule": "Ranges are run at both ends."},
    "summary_of_findings": {"max_outcomes": 7}}]}


def write_plan(data_dir: Path) -> Path:
    """Write the synthetic analysis plan into a data folder (the folder above ``studies/``), unless
    one is there."""
    path = Path(data_dir) / "analysis_plan.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(SYNTHETIC_PLAN, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def generate(n_studies: int, studies_dir: Path, sources_dir: Path, seed: int = 2026) -> list[str]:
    """Write `n_studies` synthetic study folders (and the synthetic analysis plan beside them, unless
    the data folder has one); returns their ids."""
    write_plan(Path(studies_dir).parent)
    ids = []
    for i in range(n_studies):
        spec = study_spec(i, seed)
        write_study(spec, Path(studies_dir), Path(sources_dir))
        ids.append(spec["id"])
    return ids

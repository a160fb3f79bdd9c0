"""`make new-study ID=...` (a commented template folder) and the committed-notebook check."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

STUDY_TEMPLATE = """\
# {id}: fill in every field from the source document; see data/README.md for the format.
# Each fact is either a sourced value (value + location + verbatim quote) or one of:
#   not reported    the paper does not report it
#   not in source   the source you have (an abstract or summary) does not contain it
# The placeholders below fail validation until you replace them.
id: {id}
label: Author 2027                      # short label used in tables and plots, e.g. Smith 2027
title: Full title of the paper
title_descriptive: false                # true if the source prints no title and you wrote one
citation: Authors. Title. Journal. Year;vol:pages.
doi: null                               # 10.xxxx/... or null
registry_ids: []                        # e.g. [NCT01234567]
document_type: full_article             # full_article | abstract | summary | registry_record | fact_sheet
source_document: FILE_NAME.txt          # the source's file name: in this folder or a CARTPOOL_SOURCES folder
design:                                 # prospective | retrospective, or: not reported
  value: prospective
  location: Methods
  quote: "a verbatim phrase from the source that says so"
phase: not reported
setting:                                # frontline | relapsed_refractory (required)
  value: relapsed_refractory
  location: Abstract
  quote: "a verbatim phrase"
disease:                                # any of primary_pcl, secondary_pcl, unspecified_pcl, mm (required)
  value: [mm]
  location: Abstract
  quote: "a verbatim phrase"
targets:                                # CAR target antigens (required)
  value: [BCMA]
  location: Methods
  quote: "a verbatim phrase"
products: not reported
dose: not reported
lymphodepletion: not reported
enrolment_period: not reported
data_cutoff: not reported
published: not reported                 # value: "2027-01-31" (year-month-day; first online), sourced; orders the cumulative analysis
crs_grading: not reported               # ASTCT | Lee 2014 | CTCAE | Penn | MSKCC, sourced, or: not reported
icans_grading: not reported             # ASTCT | CARTOX
neurotoxicity_grading: not reported     # CTCAE | CARTOX | unspecified: neurotoxicity not graded as ICANS
icaht_grading: not reported             # EHA/EBMT 2023
ctcae_version: not reported
mrd_assessment: not reported            # value: {{method: NGF, sensitivity: "10^-5", definition: mrd_negative_cr}}
time_unit: months                       # the unit the paper reports survival in: days | months
populations:
  infused:
    label: Patients who received CAR-T
    kind: infused                       # enrolled | infused | treated | evaluable | responders | subgroup | other
# risk_factors: []                      # factors the paper tested; see data/README.md
# patients:                             # only if the paper prints a per-patient table; see data/README.md
"""

RESULTS_TEMPLATE = """\
# One record per number the paper prints. See data/README.md for every field.
# Each number in a record must appear in its quote (or the record says how it follows: derived:).
- id: n_infused
  population: infused
  endpoint: patients
  statistic: count
  value: 0                              # the number of patients the source states
  location: Results
  quote: "a verbatim phrase containing the number"
"""

APPRAISAL_TEMPLATE = """\
# Risk of bias by domain: Murad et al. (2018) tool for case series (BMJ Evid Based Med 23:60-63).
# Judge each domain low | some_concerns | high | no_information, say why in a reader's words, and
# add location + a verbatim quote (or registry: a trial registry id of the study) where the paper
# supports it. An abstract or summary gets no_information where it is silent, never high. Where a
# concern touches some outcomes only, add it under outcome_judgements. The overall judgement is
# yours; if it is not the most serious domain judgement, say why in departure_reason.
# See data/README.md, "appraisal.yaml".
tool: murad_2018
domains:
""" + "".join(f"  {d}:\n    judgement: no_information\n    reason: FILL IN\n"
              for d in ("selection", "ascertainment", "causality", "reporting")) + """\
outcome_judgements: []
overall:
  judgement: no_information
  reason: FILL IN
"""

COVERAGE_TEMPLATE = """\
# Passages of the source left out of the data on purpose, each with a reason (background,
# methods, discussion, references, repeats_data, per_patient_table, pharmacokinetics, laboratory,
# individual_case, front_matter, funding, site_text, out_of_scope + note). Every other sentence
# with a number must be cited by a record. See data/README.md.
left_out: []
"""


def new_study(study_id: str, studies_dir: Path) -> int:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", study_id or ""):
        print("Give the new study's id as ID=name, lower-case letters, digits and _ only, starting with a letter "
              "(for example: make new-study ID=smith2027).", file=sys.stderr)
        return 2
    folder = studies_dir / study_id
    if folder.exists():
        print(f"data/studies/{study_id} already exists; nothing was changed (new-study never overwrites).",
              file=sys.stderr)
        return 1
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_text(STUDY_TEMPLATE.format(id=study_id), encoding="utf-8")
    (folder / "results.yaml").write_text(RESULTS_TEMPLATE, encoding="utf-8")
    (folder / "appraisal.yaml").write_text(APPRAISAL_TEMPLATE, encoding="utf-8")
    (folder / "coverage.yaml").write_text(COVERAGE_TEMPLATE, encoding="utf-8")
    print(f"Created data/studies/{study_id}/ with study.yaml, results.yaml, appraisal.yaml and coverage.yaml "
          "templates. Fill them in from the source, then run make check.")
    return 0


def check_notebooks(paths: list[Path]) -> int:
    bad = []
    for p in paths:
        nb = json.loads(p.read_text(encoding="utf-8"))
        for i, c in enumerate(nb.get("cells", [])):
            if c.get("cell_type") == "code" and (c.get("outputs") or c.get("execution_count")):
                bad.append(f"{p}: cell {i} has outputs or an execution count")
    for b in bad:
        print(b, file=sys.stderr)
    if bad:
        print("Strip outputs before committing (for example: jupyter nbconvert --clear-output --inplace FILE).",
              file=sys.stderr)
        return 1
    print(f"[cartpool] notebooks   clean: {len(paths)} notebook(s) carry no outputs")
    return 0

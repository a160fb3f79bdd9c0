#!/usr/bin/env python3
"""Write notebooks/study.ipynb and notebooks/pooled.ipynb, without outputs, from the cells below.

The notebooks are the analysis as a reader opens it: narrative, then one call per section into
`cartpool.report`. Edit the cells here (or the notebooks, then carry the change here) and run
`python scripts/make_notebooks.py` from the project root; the committed notebooks are its output
(tests/test_notebooks.py checks that they are). The study notebook's sections come from
`cartpool.report.sections.STUDY_SECTIONS`.
"""

import sys
from pathlib import Path

import nbformat as nbf
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cartpool.report.sections import STUDY_SECTIONS


def params(src):
    c = new_code_cell(src)
    c.metadata["tags"] = ["parameters"]
    return c


def nb(cells):
    n = new_notebook(cells=cells)
    n.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                  "language_info": {"name": "python"}}
    for i, c in enumerate(n.cells):
        c["id"] = f"c{i:02d}"
    return n

M, C = new_markdown_cell, new_code_cell
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("notebooks")  # a test writes elsewhere to compare


def section_cells(sections, *, analysis: str, page: str) -> list:
    """One markdown cell (heading and narrative) and one code cell per declared section: the code
    cell names the result it renders, so that a reader who opens the notebook can inspect it."""
    cells, assigned = [], set()
    for s in sections:
        if s.title:
            cells.append(M("#" * s.level + " " + s.title + (f"\n\n{s.intro}" if s.intro else "")))
        if not s.result:
            cells.append(C(f'{page}.show("{s.name}")'))
            continue
        lines = []
        if s.variable not in assigned:
            lines.append(f"{s.variable} = {analysis}.{s.result}" + (f"  # {s.note}" if s.note else ""))
            assigned.add(s.variable)
        lines.append(f'{page}.show("{s.name}", {s.variable})')
        cells.append(C("\n".join(lines)))
    return cells


study = nb([
    params('# Parameters (papermill injects the real values as strings)\n'
           'study_id = ""  # required: a folder name under data/studies\n'
           'data_dir = "data/studies"\n'
           'output_dir = ""  # staging folder for figures/ and tables/; empty: write no files'),
    C('from cartpool.analysis.study import analyse_study\n'
      'from cartpool.report.study import StudyPage\n\n'
      '# Load and validate the study (an unknown study_id stops here with the list of known ids), then\n'
      '# compute every result once. `analysis` holds the tidy results; `page` renders them.\n'
      'analysis = analyse_study(study_id, data_dir=data_dir)\n'
      'page = StudyPage(analysis, output_dir=output_dir or None)'),
    *section_cells(STUDY_SECTIONS, analysis="analysis", page="page"),
    C('page.export()  # the tables, sources and figures of every section above (nothing without output_dir)'),
])
nbf.write(study, str(OUT / "study.ipynb"))

pooled = nb([
    params('# Parameters (papermill injects the real values)\n'
           'data_dir = "data/studies"\n'
           'output_dir = ""  # staging folder for figures/ and tables/; empty: write no files'),
    C('from cartpool.analysis.pooled import PooledAnalysis\n'
      'from cartpool.report.pooled import PooledPage\n\n'
      '# Every study, validated; the analysis plan; then every estimate, computed once.\n'
      'pooled = PooledAnalysis.load(data_dir)\n'
      'page = PooledPage(pooled, output_dir=output_dir or None)'),
    M('# CAR-T cell therapy in plasma cell leukemia: a synthesis of selected studies\n\n'
      'How patients with plasma cell leukemia (PCL) fare after CAR-T cell therapy, from the studies the curators '
      'of this report selected. Studies in multiple myeloma (MM) are shown beside them as context. Every number is '
      'computed from the data extracted from the published studies, each with its source.'),
    M('## The bottom line'),
    C('bottom_line = page.bottom_line_frame()  # one sentence per key outcome and population\n'
      'page.bottom_line()'),
    M('## What this report is, and how the studies were chosen'),
    C('page.scope()'),
    M('## Summary of findings'),
    C('summary = page.appraisal.summary  # every ranked outcome in every PCL population\n'
      'page.summary_of_findings()'),
    M('## Studies'),
    C('studies = pooled.studies  # one row per study\n'
      'page.studies()'),
    M('## Risk of bias'),
    C('risk_of_bias = page.appraisal.risk_of_bias  # one row per study and domain\n'
      'page.risk_of_bias()'),
    M('## How the studies were synthesised'),
    C('page.methods()'),
    M('## Efficacy\n\nFor each outcome: the forest plot by population, each population\'s result with its '
      'denominators and heterogeneity, the subgroups named in the plan, and what differs between the studies.'),
    C('estimates = pooled.estimates  # one row per (outcome, view, subgroup, level, analysis)\n'
      'inputs = pooled.inputs  # the counts of each study behind every row\n'
      'page.outcomes("efficacy")'),
    M('## Safety'),
    C('page.outcomes("safety")'),
    M('## Survival\n\nMedians with their 95% confidence intervals (not reached drawn as an open arrow), survival at '
      '12 and 24 months study by study (pooled only where three or more studies report it), and the curves '
      'overlaid.'),
    C('medians, landmarks = pooled.medians, pooled.landmarks\n'
      'page.survival()'),
    M('## Checks of the published numbers'),
    C('checks = pooled.audit\n'
      'page.audit_summary()'),
    M('## What this evidence cannot support'),
    C('page.limits()'),
    M('## Appendix: other outcomes'),
    C('page.summary_of_findings_appendix()'),
    M('## Appendix: GRADE judgements'),
    C('awaiting_review = page.appraisal.awaiting_review\n'
      'page.judgements()'),
    M('## Appendix: sensitivity analyses and leave-one-out'),
    C('leave_one_out = pooled.leave_one_out\n'
      'page.sensitivity()'),
    M('## Appendix: the analysis plan'),
    C('plan = pooled.plan\n'
      'page.plan_history()'),
    M('## Appendix: statistical methods'),
    C('page.statistical_methods()'),
    M('## Appendix: machine-readable results'),
    C('page.results_note()'),
    C('page.export()  # the figures (nothing without output_dir)'),
])
nbf.write(pooled, str(OUT / "pooled.ipynb"))

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
    C('from cartpool.analysis.cumulative import cumulative\n'
      'from cartpool.analysis.living import whats_new\n'
      'from cartpool.analysis.pooled import PooledAnalysis\n'
      'from cartpool.analysis.triggers import update_triggers\n'
      'from cartpool.report.living import LivingPage\n'
      'from cartpool.report.pooled import PooledPage\n\n'
      '# Every study, validated; the analysis plan; then every estimate, computed once.\n'
      'pooled = PooledAnalysis.load(data_dir)\n'
      'page = PooledPage(pooled, output_dir=output_dir or None)\n'
      '# The living review\'s sections (what\'s new, cumulative analysis, update triggers) share its figures.\n'
      'living = LivingPage(page.figures, output_dir=output_dir or None)'),
    M('# CAR-T cell therapy in plasma cell leukemia: a synthesis of selected studies\n\n'
      'How patients with plasma cell leukemia (PCL) fare after CAR-T cell therapy, from the studies the curators '
      'of this report selected. Studies in multiple myeloma (MM) are shown beside them as context. Every number is '
      'computed from the data extracted from the published studies, each with its source.'),
    M('## The bottom line'),
    C('bottom_line = page.bottom_line_frame()  # one sentence per key outcome and population\n'
      'page.bottom_line()'),
    M("## What's new\n\nWhat changed since the latest release of this review, computed from the data: studies "
      "added, removed or updated, every estimate that moved with its value before and after, whether the change "
      "changes the conclusions, and the GRADE judgements awaiting review; then every release."),
    C('news = whats_new(pooled, page.appraisal, bottom_line)  # studies, estimates that moved, judgements, history\n'
      'living.show("whats_new", news)'),
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
    M('## Cumulative meta-analysis\n\nFor each key outcome in each population with plasma cell leukemia: the studies '
      'in the order they were published, each row the estimate from every study published up to it, by the same '
      'rules as the main analysis. The last row is the main analysis.'),
    C('cumulative_analysis = cumulative(pooled)  # one row per study added, one reading per outcome\n'
      'living.show("cumulative", cumulative_analysis)'),
    M('## When would the answer change?\n\nFor each key outcome: the new study that would change the certainty of '
      'the evidence, and the rate in a new study that would move its estimate, computed from the model.'),
    C('answer_changes = update_triggers(pooled)  # one row per key outcome and population\n'
      'living.show("update_triggers", answer_changes)'),
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
    C('living.show("living_methods")  # releases, the cumulative analysis and the update triggers'),
    M('## Appendix: machine-readable results'),
    C('page.results_note()'),
    C('living.export()  # the living review\'s tables (nothing without output_dir)\n'
      'page.export()  # the figures (nothing without output_dir)'),
])
nbf.write(pooled, str(OUT / "pooled.ipynb"))

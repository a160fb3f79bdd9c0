#!/usr/bin/env python3
"""Write notebooks/study.ipynb and notebooks/pooled.ipynb, without outputs, from the cells below.

The notebooks are the analysis as a reader opens it: narrative, then one call per section into
`cartpool.report`. Edit the cells here (or the notebooks, then carry the change here) and run
`python scripts/make_notebooks.py` from the project root; the committed notebooks are its output
(tests/test_notebooks.py checks that they are). The study notebook's sections come from
`cartpool.report.sections.STUDY_SECTIONS`, the pooled notebook's from `POOLED_SECTIONS`.
"""

import sys
from pathlib import Path

import nbformat as nbf
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cartpool.report.sections import POOLED_SECTIONS, STUDY_SECTIONS


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
        if not s.renders:
            continue
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
           'output_dir = ""  # staging folder for figures/ and tables/; empty: write no files\n'
           'results_dir = ""  # the build\'s result store (results kept by content); empty: keep nothing'),
    C('from cartpool.analysis.study_analysis import analyse_study\n'
      'from cartpool.report.study_page import StudyPage\n\n'
      '# Load and validate the study (an unknown study_id stops here with the list of known ids), then\n'
      '# compute every result once. `analysis` holds the tidy results; `page` renders them.\n'
      'analysis = analyse_study(study_id, data_dir=data_dir, results_dir=results_dir or None)\n'
      'page = StudyPage(analysis, output_dir=output_dir or None)'),
    *section_cells(STUDY_SECTIONS, analysis="analysis", page="page"),
    C('page.export()  # the tables, sources and figures of every section above (nothing without output_dir)'),
])
nbf.write(study, str(OUT / "study.ipynb"))

pooled = nb([
    params('# Parameters (papermill injects the real values)\n'
           'data_dir = "data/studies"\n'
           'output_dir = ""  # staging folder for figures/ and tables/; empty: write no files\n'
           'results_dir = ""  # the build\'s result store (results kept by content); empty: keep nothing'),
    C('from cartpool.analysis.synthesis import Synthesis\n'
      'from cartpool.report.pooled_page import PooledPage\n\n'
      '# Every study, validated; the analysis plan; then every estimate and rating, computed once.\n'
      'synthesis = Synthesis.load(data_dir, results_dir=results_dir or None)\n'
      'page = PooledPage(synthesis, output_dir=output_dir or None)'),
    *section_cells(POOLED_SECTIONS, analysis="synthesis", page="page"),
    C('page.export()  # the tables and figures of every section above (nothing without output_dir)'),
])
nbf.write(pooled, str(OUT / "pooled.ipynb"))

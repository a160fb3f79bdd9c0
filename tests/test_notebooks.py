"""The committed notebooks are exactly what scripts/make_notebooks.py writes from the declared
section lists (`cartpool.report.sections`), and every declared section renders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cartpool.report.sections import STUDY_SECTIONS
from cartpool.report.study_page import StudyPage

ROOT = Path(__file__).resolve().parents[1]


def test_committed_notebooks_equal_the_generator_output(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_notebooks.py"), str(tmp_path)], cwd=ROOT,
                   check=True)
    for name in ("study.ipynb", "pooled.ipynb"):
        committed = (ROOT / "notebooks" / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == committed, (
            f"notebooks/{name} differs from what scripts/make_notebooks.py writes; run it and commit the result")


def test_every_declared_study_section_has_a_renderer_and_a_unique_name():
    names = [s.name for s in STUDY_SECTIONS]
    assert len(names) == len(set(names))
    page = StudyPage.__new__(StudyPage)  # the renderer lookup needs no study
    assert all(callable(page.renderer(n)) for n in names)


def test_every_declared_pooled_section_has_a_renderer_and_a_unique_name():
    from cartpool.report.pooled_page import PooledPage
    from cartpool.report.sections import POOLED_SECTIONS

    names = [s.name for s in POOLED_SECTIONS]
    assert len(names) == len(set(names))
    page = PooledPage.__new__(PooledPage)  # the renderer lookup needs no analysis
    assert all(callable(page.renderer(s.name)) for s in POOLED_SECTIONS if s.renders)

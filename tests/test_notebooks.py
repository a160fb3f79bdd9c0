"""The committed notebooks are exactly what scripts/make_notebooks.py writes from the declared
section lists (`cartpool.report.sections`), and every declared section renders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cartpool.report import study_renderers
from cartpool.report.sections import STUDY_SECTIONS

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
    assert all(callable(getattr(study_renderers, n, None)) for n in names)


def test_every_declared_pooled_section_has_a_renderer_and_a_unique_name():
    from cartpool.report import pooled_renderers
    from cartpool.report.sections import POOLED_SECTIONS

    names = [s.name for s in POOLED_SECTIONS]
    assert len(names) == len(set(names))
    assert all(callable(getattr(pooled_renderers, s.name, None)) for s in POOLED_SECTIONS if s.renders)

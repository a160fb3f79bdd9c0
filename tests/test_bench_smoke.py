"""A fast smoke run of the benchmark, so that `make bench` never rots. It asserts that the
benchmark ran and wrote its table, not how fast anything was."""

import subprocess
import sys

import pytest

from .helpers import ROOT

pytestmark = pytest.mark.slow  # full builds


def test_benchmark_smoke_run_writes_its_table(tmp_path):
    out = tmp_path / "performance.md"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--smoke", "--out", str(out)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    for label in ("(b) cold `make reports`", "(d) no-op", "(e) rebuild after editing", "(f) cold `make -j2 reports`",
                  "(g) pooled analysis alone"):
        assert label in text, label
    assert "Machine:" in text and "cores" in text

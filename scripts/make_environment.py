#!/usr/bin/env python3
"""Write environment.yml (the conda route) from requirements/test.lock: the same packages at the
same versions as the virtual environment `make test` creates. `make lock` runs it; a test checks
that the committed environment.yml is its output."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, str]:
    """Package name -> version of every pin in a hashed lock file."""
    out = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def environment_yml(lock: Path) -> str:
    lines = [
        "# Generated from requirements/test.lock by scripts/make_environment.py (make lock); do not edit.",
        "# conda env create -f environment.yml && conda activate cartpool && pip install --no-deps -e .",
        "# then: make reports VENV=$CONDA_PREFIX ENV_DEP=",
        "name: cartpool",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
        *[f"      - {name}=={version}" for name, version in sorted(pins(lock).items(), key=lambda p: p[0].lower())],
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (ROOT / "environment.yml").write_text(environment_yml(ROOT / "requirements" / "test.lock"), encoding="utf-8")
    sys.exit(0)

"""Shared test helpers: paths, a project copy to build in, make with this checkout's environment,
and a snapshot of a folder's bytes. Tests import them from here; conftest.py holds only fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "studies"
SEEDS = (ROOT / ".." / "shared" / "seeds").resolve()
PY = sys.executable


def seeds_dir() -> Path | None:
    """The first existing folder of the source documents (CARTPOOL_SOURCES may name several,
    separated by ":"; else ../shared/seeds), or None if there is none."""
    env = os.environ.get("CARTPOOL_SOURCES")
    folders = [Path(f) for f in env.split(os.pathsep) if f] if env else [SEEDS]
    return next((p for p in folders if p.is_dir()), None)


def make(root: Path, *args, check=True) -> subprocess.CompletedProcess:
    """`make ARGS` in a project copy, with this checkout's virtual environment and no set-up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    cmd = ["make", "-C", str(root), f"PY={PY}", f"VENV={Path(PY).parents[1]}", "ENV_DEP=",
           f"SOURCES={root / 'sources'}", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(f"make {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p


def snapshot(d: Path) -> dict[str, bytes]:
    """Every file under `d`, by relative path, with its bytes."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def copy_project(root: Path, n_synthetic: int = 2) -> Path:
    """A copy of this checkout's build code in `root`, with synthetic studies as its data."""
    from cartpool.synthetic import generate

    root.mkdir(parents=True, exist_ok=True)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, root / name)
    for name in ("notebooks", "requirements", "scripts", "src"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    generate(n_synthetic, root / "data" / "studies", root / "sources")
    return root


def free_synthetic_specs(studies_dir: Path, count: int, keep=lambda i: True) -> list[dict]:
    """Specs (`cartpool.synthetic.study_spec`) of `count` synthetic studies, among the indices for
    which `keep(i)` holds, whose ids and labels no study in `studies_dir` uses: a curator may have
    added studies named like the synthetic ones, and a test that adds its own must not collide."""
    import re

    from cartpool.synthetic import study_spec

    taken = {p.name.casefold() for p in Path(studies_dir).iterdir() if p.is_dir()}
    for f in Path(studies_dir).glob("*/study.yaml"):
        m = re.search(r"^label:\s*(.+?)\s*$", f.read_text(encoding="utf-8"), re.M)
        if m:
            taken.add(" ".join(m.group(1).strip("'\"").split()).casefold())
    specs, i = [], 0
    while len(specs) < count:
        spec = study_spec(i)
        if keep(i) and spec["id"].casefold() not in taken and f"synthetic {i:03d}" not in taken:
            specs.append(spec)
        i += 1
    return specs


def own_sources(monkeypatch, folder: Path) -> None:
    """Check the quotes of studies a test generated against their own source documents only (or, with
    an empty `folder`, against none): a curator's source folders (CARTPOOL_SOURCES, given to make
    test as SOURCES) may hold a document of the same name, such as their own syn000.txt."""
    monkeypatch.setenv("CARTPOOL_SOURCES", str(folder))

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "studies"
SEEDS = (ROOT / ".." / "shared" / "seeds").resolve()


def seeds_dir() -> Path | None:
    """The first existing folder of the source documents (CARTPOOL_SOURCES may name several)."""
    env = os.environ.get("CARTPOOL_SOURCES")
    folders = [Path(f) for f in env.split(os.pathsep) if f] if env else [SEEDS]
    return next((p for p in folders if p.is_dir()), None)


@pytest.fixture
def synthetic(tmp_path):
    """A folder with one valid synthetic per-patient study (syn000) and one summary-only (syn001),
    plus their source documents."""
    from cartpool.synthetic import generate

    generate(2, tmp_path / "studies", tmp_path / "sources")
    return tmp_path


@pytest.fixture
def real_copy(tmp_path):
    """A writable copy of the real study folders, with the data folder's plan, judgements and lists
    beside them (tmp_path/studies, tmp_path/*.yaml)."""
    dst = tmp_path / "studies"
    shutil.copytree(DATA, dst)
    for f in DATA.parent.glob("*.yaml"):
        shutil.copy2(f, tmp_path / f.name)
    return dst


PY = sys.executable


def _make(root: Path, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    cmd = ["make", "-C", str(root), f"PY={PY}", f"VENV={Path(PY).parents[1]}", "ENV_DEP=",
           f"SOURCES={root / 'sources'}", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(f"make {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p


def _snapshot(d: Path) -> dict[str, bytes]:
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


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("project"))
    first = _make(root, "reports")
    return root, first



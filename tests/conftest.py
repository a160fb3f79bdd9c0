import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "studies"
SEEDS = (ROOT / ".." / "shared" / "seeds").resolve()


def seeds_dir() -> Path | None:
    env = os.environ.get("CARTPOOL_SOURCES")
    p = Path(env) if env else SEEDS
    return p if p.is_dir() else None


@pytest.fixture
def synthetic(tmp_path):
    """A folder with one valid synthetic per-patient study (syn000) and one summary-only (syn001),
    plus their source documents."""
    from cartpool.synthetic import generate

    generate(2, tmp_path / "studies", tmp_path / "sources")
    return tmp_path


@pytest.fixture
def real_copy(tmp_path):
    """A writable copy of the real study folders."""
    dst = tmp_path / "studies"
    shutil.copytree(DATA, dst)
    return dst

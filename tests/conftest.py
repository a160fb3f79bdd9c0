"""Fixtures. Helpers live in tests/helpers.py.

Test loop: `make test-fast` runs what is not marked `slow` (no full build, no browser), in
parallel; `make test` runs everything, in parallel across the cores with pytest-xdist. Each
worker is its own pytest session, so the session's `project` and every module's build live in
that worker's own temporary folders. Tests that share one build fixture (they read it, or edit and
restore it in turn) are kept on one worker by the rule in `pytest_collection_modifyitems`, so the
build is made once.
"""

import shutil

import pytest

from .helpers import DATA, copy_project, make

#: Fixtures that are one build: every test using one of them runs on the same xdist worker.
SHARED_BUILDS = ("project", "real_reports", "proj", "worker")
#: Module fixtures that are not a build but cost as much (a pooled page rendered in-process): made
#: once, on one worker.
SHARED_COSTLY = ("pooled",)


def pytest_collection_modifyitems(config, items):
    unmarked = []
    for item in items:
        costly = [f for f in SHARED_COSTLY if f in getattr(item, "fixturenames", ())]
        if costly:
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}:{costly[0]}"))
        shared = [f for f in SHARED_BUILDS if f in getattr(item, "fixturenames", ())]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0] if shared[0] == "project"
                                                    else f"{item.module.__name__}:{shared[0]}"))
            if item.get_closest_marker("slow") is None:
                unmarked.append(item.nodeid)
    if unmarked:  # the fast loop must not build: a test that uses a build is marked slow
        raise pytest.UsageError("tests that use a full build must be marked slow: " + ", ".join(unmarked))


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


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """One synthetic project, built once per session (per xdist worker) and shared by the end-to-end
    tests; tests that edit it restore it."""
    root = copy_project(tmp_path_factory.mktemp("project"))
    first = make(root, "reports")
    return root, first

"""The warm build worker (cartpool.builder.warm): each notebook still runs under papermill in a
fresh process, nothing one notebook changes reaches the next, a failure still names the study
and the cell, and the warm and the cold route write the same bytes."""

import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from cartpool.builder import services, warm

from .helpers import copy_project, make, snapshot

pytestmark = pytest.mark.slow

LEAKY_NOTEBOOK = [
    ('study_id = ""\ndata_dir = "data/studies"\noutput_dir = ""', ["parameters"]),
    ("import sys\n"
     "if study_id not in ('syn000', 'syn001'):\n"
     "    raise ValueError(f'{study_id!r} is not a known study')\n"
     "# a fresh kernel forked from the warm worker already holds the report package\n"
     "preloaded = 'cartpool.report.study_page' in sys.modules\n"
     "import cartpool.text as text\n"
     "seen = getattr(text, 'LEFT_BY_ANOTHER_STUDY', None)\n"
     "text.LEFT_BY_ANOTHER_STUDY = study_id  # a module-level value changed by this study\n"
     "print(json.dumps({'study': study_id, 'preloaded': preloaded, 'seen': seen}))", []),
]


def _leaky(root):
    nb = nbformat.v4.new_notebook()
    for src, tags in LEAKY_NOTEBOOK:
        nb.cells.append(nbformat.v4.new_code_cell(("import json\n" if not tags else "") + src,
                                                  metadata={"tags": tags}))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "notebooks" / "study.ipynb")


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("warm"))
    _leaky(root)
    proc, env, folder = warm.start_worker()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MAKE")}, **env,
           "MPLBACKEND": "Agg", "CARTPOOL_SOURCES": str(root / "sources")}
    yield root, env
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


def _step(root, env, *args):
    return subprocess.run([sys.executable, "scripts/build.py", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def _printed(root, study):
    nb = nbformat.read(root / "build" / f"{study}.ipynb", as_version=4)
    return json.loads(nb.cells[-1].outputs[0]["text"])


def test_no_state_leaks_between_notebooks(worker):
    root, env = worker
    for study in ("syn000", "syn001", "syn000"):
        r = _step(root, env, "study", study, f"reports/{study}.html")
        assert r.returncode == 0, r.stdout + r.stderr
        printed = _printed(root, study)
        assert printed["preloaded"], "the notebook did not run in a kernel forked from the warm worker"
        assert printed["seen"] is None, f"{study} saw a value left by {printed['seen']}"
    nb = nbformat.read(root / "build" / "syn001.ipynb", as_version=4)
    assert nb.metadata["papermill"]["parameters"]["study_id"] == "syn001"  # still papermill's record


def test_a_failing_notebook_names_the_study_and_the_cell_through_the_worker(worker):
    root, env = worker
    r = _step(root, env, "study", "nosuch", "reports/nosuch.html")
    assert r.returncode == 1
    assert "nosuch" in r.stderr and "failed in cell" in r.stderr, r.stderr
    assert not (root / "reports" / "nosuch.html").exists()


def test_usage_errors_come_back_from_the_worker_without_a_traceback(worker):
    root, env = worker
    r = _step(root, env, "study")
    assert r.returncode == 2 and "usage: build.py" in r.stderr and "Traceback" not in r.stderr


def test_without_a_worker_the_step_runs_cold(worker, tmp_path):
    root, env = worker
    gone = {**env, warm.ENV_SOCKET: str(tmp_path / "no-worker.sock")}
    r = _step(root, gone, "study", "syn001", "reports/syn001.html")
    assert r.returncode == 0, r.stderr
    assert _printed(root, "syn001")["preloaded"] is False


def test_warm_and_cold_builds_are_byte_identical(project):
    root, _ = project
    def built():
        return snapshot(root / "reports") | {f"build/{k}": v for k, v in snapshot(root / "build").items()
                                               if k.endswith(".ipynb")}
    make(root, "clean")  # other tests of the session leave their edits behind: both builds start clean
    make(root, "reports")
    warm_files = built()
    make(root, "clean")
    make(root, "reports", "CARTPOOL_WARM=0")
    cold_files = built()
    assert sorted(warm_files) == sorted(cold_files)
    assert [k for k in warm_files if warm_files[k] != cold_files[k]] == []


def test_a_killed_build_leaves_no_service_folder_behind_for_long(tmp_path):
    """Liveness is the folder's lock, held by the live service: the sweep never connects to it."""
    import tempfile
    from pathlib import Path

    stale = Path(tempfile.mkdtemp(prefix="cartpool-warm-"))
    (stale / ".alive").touch()  # what SIGKILL leaves: a lock file nobody holds
    being_made = Path(tempfile.mkdtemp(prefix="cartpool-kernel-"))  # no lock file yet: too young to sweep
    proc, env, folder = warm.start_worker()
    try:
        assert not stale.exists()
        assert being_made.exists()
        assert folder.exists() and services.connect(warm.ENV_SOCKET) is None  # env not exported here
        proc2, _, folder2 = warm.start_worker()  # sweeps again: the live worker's folder is kept
        proc2.terminate()
        proc2.wait(timeout=10)
        shutil.rmtree(folder2, ignore_errors=True)
        assert folder.exists()
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(being_made, ignore_errors=True)

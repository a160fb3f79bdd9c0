"""Quiet beside other builds, clean after itself (issue 27, part 3): no build connects to another
build's services, none prints a traceback because another exists, and no temporary folder is
left behind, after a normal build or after a killed one."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cartpool.builder.pdf import find_browser

from .helpers import copy_project

pytestmark = pytest.mark.slow


def _make_cmd(root, *args):
    return ["make", "-C", str(root), f"PY={sys.executable}", f"VENV={sys.prefix}", "ENV_DEP=",
            f"SOURCES={root / 'sources'}", *args]


def _env(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env["TMPDIR"] = str(tmp)
    return env


def _run(root, tmp, *args):
    p = subprocess.run(_make_cmd(root, *args), capture_output=True, text=True, env=_env(tmp), timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


@pytest.fixture
def private_tmp():
    """A private TMPDIR with a short path (Chromium's sockets in it must fit in 108 bytes)."""
    tmp = Path(tempfile.mkdtemp(prefix="cp27-", dir="/tmp"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def test_no_temporary_folder_is_left_after_a_normal_build_nor_after_a_killed_one(tmp_path, private_tmp):
    root = copy_project(tmp_path / "p")
    tmp = private_tmp
    _run(root, tmp, "reports")
    assert sorted(p.name for p in tmp.iterdir()) == []  # 0 new after a normal build
    _run(root, tmp, "clean")
    after = "pdf" if find_browser() else "pooled       notebook"
    p = subprocess.Popen(_make_cmd(root, "reports"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=_env(tmp), start_new_session=True)
    for line in p.stdout:
        if after in line:
            os.killpg(p.pid, signal.SIGKILL)  # the whole build: make, worker, kernels, printer, browser
            break
    p.wait(timeout=120)
    time.sleep(0.5)
    left = sorted(x.name for x in tmp.iterdir())
    assert left, "the killed build left nothing to sweep: the test did not kill it mid-build"
    _run(root, tmp, "reports")
    assert sorted(x.name for x in tmp.iterdir()) == []  # swept by the next build, and 0 new


def test_two_checkouts_building_at_once_print_no_traceback(tmp_path, private_tmp):
    a = copy_project(tmp_path / "a")
    b = copy_project(tmp_path / "b")
    tmp = private_tmp  # shared by both, as /tmp is between checkouts on one machine
    pa = subprocess.Popen(_make_cmd(a, "reports"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=_env(tmp))
    first = pa.stdout.readline() + pa.stdout.readline()  # a's services are up and serving
    pb = subprocess.Popen(_make_cmd(b, "reports"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=_env(tmp))
    out_b, _ = pb.communicate(timeout=600)
    out_a = first + pa.communicate(timeout=600)[0]
    assert pa.returncode == 0 and pb.returncode == 0, out_a + out_b
    for out in (out_a, out_b):
        assert "Traceback" not in out and "Error" not in out, out

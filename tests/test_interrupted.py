"""Interrupted builds: `make reports` killed at several points (validation, notebook, HTML, PDF)
with SIGINT and with SIGKILL, then run again, gives a complete set byte-identical to an
uninterrupted build; and at no moment does reports/ hold a partial file."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from cartpool.builder.pdf import find_browser

from .helpers import copy_project, make, snapshot

# full builds; and each test sends a signal at a point of a running build, which a second pytest
# worker loading the machine can make it miss (seen: SIGINT after validation, build exit 0): run alone
pytestmark = [pytest.mark.slow, pytest.mark.serial]

COMPLETE_ENDINGS = {".html": b"</html>\n", ".pdf": b"%%EOF", ".csv": b"\n", ".png": b"IEND\xaeB`\x82",
                     ".svg": b"</svg>\n"}


def _is_complete(path) -> bool:
    """A visible file in reports/ must be whole: each type has a fixed ending."""
    end = COMPLETE_ENDINGS.get(path.suffix)
    if end is None:
        return True
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # replaced between listing and reading
        return True
    return data.rstrip(b"\n").endswith(end.rstrip(b"\n")) if path.suffix == ".pdf" else data.endswith(end)


class Watcher(threading.Thread):
    """Polls reports/ every few milliseconds and records any partial visible file."""

    def __init__(self, reports):
        super().__init__(daemon=True)
        self.reports, self.stop, self.partial, self.polls = reports, threading.Event(), [], 0

    def run(self):
        while not self.stop.is_set():
            if self.reports.is_dir():
                for p in self.reports.rglob("*"):
                    if p.is_file() and not p.name.startswith(".") and not _is_complete(p):
                        self.partial.append(str(p))
            self.polls += 1
            time.sleep(0.01)


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("interrupt"))
    make(root, "reports")
    reference = snapshot(root / "reports")
    return root, reference


# (signal, the progress text after which to interrupt: during validation, a notebook, HTML, PDF)
POINTS = [
    (signal.SIGINT, "[cartpool] syn000       valid"),
    (signal.SIGKILL, "[cartpool] index        html"),
    (signal.SIGINT, "[cartpool] syn000       notebook"),
    (signal.SIGKILL, "[cartpool] pooled       notebook"),
]
if find_browser():
    POINTS.append((signal.SIGKILL, "pdf"))


@pytest.mark.parametrize("sig, after", POINTS, ids=[f"{s.name}-after-{a.split()[-1]}" for s, a in POINTS])
def test_interrupted_then_resumed_build_is_complete_and_identical(proj, sig, after):
    root, reference = proj
    make(root, "clean")
    watcher = Watcher(root / "reports")
    watcher.start()
    cmd = ["make", "-C", str(root), f"PY={sys.executable}", f"VENV={sys.prefix}", "ENV_DEP=",
           f"SOURCES={root / 'sources'}", "reports"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                         start_new_session=True)
    seen = ""
    for line in p.stdout:
        seen += line
        if after in line:
            os.killpg(p.pid, sig)  # the whole build: make, python, the kernel, the browser
            break
    p.wait(timeout=120)
    time.sleep(0.3)
    try:
        os.killpg(p.pid, signal.SIGKILL)  # nothing of the killed build may run on
    except ProcessLookupError:
        pass
    assert after in seen, seen
    assert p.returncode != 0  # it really was interrupted
    resumed = make(root, "reports")
    watcher.stop.set()
    watcher.join()
    assert watcher.partial == [], f"partial files were visible: {watcher.partial}"
    assert watcher.polls > 20
    final = snapshot(root / "reports")
    hidden = [k for k in final if k.rsplit("/", 1)[-1].startswith(".")]
    assert hidden == [], hidden
    assert sorted(final) == sorted(reference)
    assert [k for k in reference if reference[k] != final[k]] == []
    assert "[cartpool]" in resumed.stdout

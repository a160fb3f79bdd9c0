"""Say where it runs, and run there (issue 27, part 4): without fork, descriptor passing or
PR_SET_PDEATHSIG the build takes the cold route by itself with the same bytes; the private
jupyter_client hooks the warm kernel uses are pinned and checked; every command run outside the
project says what it needs, without a traceback."""

import inspect
import os
import shutil
import socket
import subprocess
import sys

import pytest

from cartpool.builder import warm

from .helpers import copy_project, make, snapshot


@pytest.mark.parametrize("feature", ["fork", "send_fds", "pdeathsig"])
def test_a_missing_platform_feature_turns_the_warm_worker_off(monkeypatch, feature):
    assert warm.enabled() and warm.unsupported() is None  # this machine: Linux, all three
    if feature == "fork":
        monkeypatch.delattr(os, "fork")
    elif feature == "send_fds":
        monkeypatch.delattr(socket, "send_fds")
    else:
        monkeypatch.setattr(sys, "platform", "darwin")
    assert warm.unsupported() and not warm.enabled()


@pytest.mark.slow
@pytest.mark.slow
def test_without_fork_the_build_falls_back_to_the_cold_route_with_the_same_bytes(tmp_path, monkeypatch, capsys):
    """The build's own process (`run_build`, what `make reports` runs) in-process, with os.fork gone."""
    from cartpool.builder import engine

    root = copy_project(tmp_path / "p")
    make(root, "reports")
    warm_bytes = snapshot(root / "reports")
    make(root, "clean")
    monkeypatch.chdir(root)
    monkeypatch.delattr(os, "fork")
    monkeypatch.setattr(warm, "start_service", lambda *a, **k: pytest.fail("a service was started"))
    for k in [k for k in os.environ if k.startswith("MAKE")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("CARTPOOL_SOURCES", str(root / "sources"))
    browser = shutil.which("chromium") or ""
    cmd = ["make", "--no-print-directory", f"PY={sys.executable}", f"VENV={sys.prefix}", "ENV_DEP=",
           f"SOURCES={root / 'sources'}", f"BROWSER={browser}", "_steps"]
    code = engine.run_build(cmd, root=root, reports=root / "reports", build_dir=root / "build",
                            browser=browser, lockfile=root / "build" / ".lock", warm=True)
    assert code == 0
    assert "every step runs in its own processes" in capsys.readouterr().err
    cold_bytes = snapshot(root / "reports")
    assert sorted(cold_bytes) == sorted(warm_bytes)
    assert [k for k in warm_bytes if warm_bytes[k] != cold_bytes[k]] == []


def test_the_jupyter_client_hooks_the_warm_kernel_overrides_are_there_in_the_pinned_range():
    """notebooks._kernel_manager_class overrides three private AsyncKernelManager methods (no
    public hook launches a pre-forked process without a provisioner entry point); pyproject pins
    jupyter_client to the range where they exist with these signatures."""
    import re
    from importlib.metadata import version
    from pathlib import Path

    from jupyter_client.manager import AsyncKernelManager

    pin = re.search(r'"jupyter_client>=([\d.]+),<([\d.]+)"',
                    (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert pin, "pyproject.toml pins jupyter_client to a range"
    lo, hi = (tuple(int(x) for x in v.split(".")) for v in pin.groups())
    installed = tuple(int(x) for x in version("jupyter_client").split(".")[:2])
    assert lo <= installed < hi
    params = {name: list(inspect.signature(getattr(AsyncKernelManager, name)).parameters)
              for name in ("_async_launch_kernel", "_async_cleanup_resources", "_async_interrupt_kernel",
                           "_reconcile_connection_info")}
    assert params["_async_launch_kernel"][:2] == ["self", "kernel_cmd"]
    assert params["_async_cleanup_resources"] == ["self", "restart"]
    assert params["_async_interrupt_kernel"] == ["self"]
    assert hasattr(AsyncKernelManager, "shutting_down") or "shutting_down" in AsyncKernelManager.class_traits()


@pytest.mark.parametrize("args", [["validate"], ["study", "x", "out.html"], ["pooled", "out.html"],
                                  ["index", "out.html"], ["pdf", "nosuch.html"], ["new-study", "smith2027"],
                                  ["check-notebooks"], ["build", "--", "true"]])
def test_commands_run_outside_the_project_say_what_they_need_without_a_traceback(tmp_path, args):
    r = subprocess.run([sys.executable, "-m", "cartpool", *args], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60, env={**os.environ, "CARTPOOL_WARM": "0"})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "[cartpool]" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []  # and nothing is created there

"""One build at a time per checkout: `make reports` runs under an exclusive advisory lock.

A second build started while one runs waits for it (and says so once), then finds everything up
to date. The lock is a kernel `flock` on build/.lock, released automatically when the holder
exits or is killed, so an interrupted build never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path


@contextlib.contextmanager
def build_lock(lockfile: Path | None):
    """Hold the checkout's build lock (waiting for another build); no lock where `lockfile` is None."""
    if lockfile is None:
        yield
        return
    lockfile.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lockfile, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[cartpool] another build is running in this checkout ({lockfile}); waiting for it to finish",
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def run_locked(lockfile: Path, cmd: list[str], *, warm: bool = False, browser: str = "") -> int:
    """Run `cmd` under the checkout's build lock; with `warm`, beside a warm build worker
    (`cartpool.builder.warm`) and, with a `browser`, one long-lived PDF printer
    (`cartpool.builder.pdf.serve`), both stopped when `cmd` ends."""
    with build_lock(lockfile):
        # close_fds=False: a parallel make (-j2) passes its jobserver to the inner make as inherited
        # file descriptors; closing them would silently serialise the build.
        services, env = start_services(browser) if warm else ([], {})
        try:
            proc = subprocess.Popen(cmd, close_fds=False, env={**os.environ, **env})
            try:
                return proc.wait()
            except KeyboardInterrupt:  # Ctrl-C reaches the child through the process group too
                proc.send_signal(signal.SIGINT)
                return proc.wait()
        finally:
            stop_services(services)


def start_services(browser: str) -> tuple[list, dict[str, str]]:
    from . import warm

    reason = warm.unsupported()
    if reason and os.environ.get(warm.ENV_DISABLE, "1") != "0":
        print(f"[cartpool] every step runs in its own processes (same reports, slower): the warm worker needs "
              f"fork, descriptor passing and PR_SET_PDEATHSIG, and {reason}", file=sys.stderr, flush=True)
    if not warm.enabled():
        return [], {}
    from .pdf import start_printer

    services, env = [], {}
    proc, extra, folder = warm.start_worker()
    services.append((proc, folder))
    env.update(extra)
    if browser:
        proc, extra, folder = start_printer(browser)
        services.append((proc, folder))
        env.update(extra)
    return services, env


def stop_services(services: list) -> None:
    import shutil

    for proc, _ in services:
        if proc.poll() is None:
            proc.terminate()
    for proc, folder in services:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)

"""Private temporary folders that no build leaves behind, even a killed one.

Every temporary folder a build makes (the warm worker's and the printer's sockets, each
kernel's IPC sockets, each Chromium profile, and the ``org.chromium.*`` folders Chromium makes in
its own temporary folder, which is pointed inside ours) is ``$TMPDIR/cartpool-<kind>-*`` and
holds a lock file, ``.alive``, locked (``flock``) by the process that uses it for as long as it
lives. A normal exit removes the folder. After a build killed with SIGKILL nothing can, so every
new folder first sweeps the old ones: a folder whose lock nobody holds belongs to a process that
is gone and is removed. Liveness is asked of the kernel's lock table, never of the service
itself: no build connects to another build's worker or printer.

Linux and macOS: ``flock`` is POSIX-wide; the lock is released by the kernel when the holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

PREFIX = "cartpool-"
ALIVE = ".alive"
YOUNG_SECONDS = 60  # a folder without its lock file yet is being made, not stale, for this long


def make(kind: str) -> tuple[Path, int]:
    """A new private folder ``$TMPDIR/cartpool-<kind>-*`` and the descriptor whose lock marks it
    alive (keep it open while the folder is in use; `release` closes it)."""
    sweep()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-"))
    fd = os.open(folder / ALIVE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return folder, fd


def release(folder: Path | str, fd: int | None) -> None:
    """Remove the folder, then give up its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


@contextlib.contextmanager
def private_folder(kind: str):
    folder, fd = make(kind)
    try:
        yield folder
    finally:
        release(folder, fd)


def _is_stale(folder: Path) -> bool:
    try:
        fd = os.open(folder / ALIVE, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            return time.time() - folder.stat().st_mtime > YOUNG_SECONDS
        return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live process holds it
    finally:
        os.close(fd)
    return True


def sweep(tmp: Path | None = None) -> list[Path]:
    """Remove this user's cartpool temporary folders whose owner is gone; returns them."""
    removed = []
    base = Path(tmp or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for folder in base.glob(f"{PREFIX}*"):
            with contextlib.suppress(OSError):
                if not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
                    continue
                if _is_stale(folder):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
    return removed

"""Long-lived build services (the warm worker, the PDF printer): started with a private folder and a
Unix socket, tied to the life of the build that started them, and reached by connecting to that
socket. The generic process plumbing, apart from what each service does."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from pathlib import Path


def connect(env_var: str) -> socket.socket | None:
    """A connection to the build service named by `env_var`, or None where there is none."""
    path = os.environ.get(env_var)
    return _connect_to(path) if path else None


def _connect_to(path: str) -> socket.socket | None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    return s


def start_service(name: str, module: str, *args: str, own_tmp: bool = False) -> tuple[object, str, Path]:
    """Bind a Unix socket in a private temporary folder and start ``python -m module FD *args``
    listening on it, set to die with this process. The service holds the folder's lock
    (`tempdirs`) for its life, so another build's sweep knows it is alive without asking it.

    Returns
    -------
    (process, socket path, folder)
        The service's `subprocess.Popen`, its socket, and the folder to remove when it ends.
    """
    import subprocess

    from . import tempdirs

    folder, alive = tempdirs.make(name)
    # own_tmp: the service's own temporary files (Chromium's) go inside its folder
    env = {**os.environ, "TMPDIR": str(folder)} if own_tmp else None
    path = str(folder / f"{name}.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    try:
        proc = subprocess.Popen([sys.executable, "-m", module, str(listener.fileno()), *args],
                                pass_fds=[listener.fileno(), alive], stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent, env=env)
    finally:
        listener.close()  # only the service listens: if it dies, callers are refused and work alone
        os.close(alive)  # only the service holds the lock: if it dies, the folder is swept
    return proc, path, folder


def die_with_parent() -> None:
    """Linux: be killed when the parent dies, so no kernel outlives an interrupted build."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

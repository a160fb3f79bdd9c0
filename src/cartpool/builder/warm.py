"""A warm build worker: Python, the report package and the kernel's imports are paid once per
build, not once per notebook.

How it works (a "zygote", as Android and Chromium start their processes):

- ``make reports`` runs under ``build.py lock --warm``. The lock process binds a Unix socket,
  starts one worker process (`serve`) and exports ``CARTPOOL_WORKER`` to make.
- The worker imports everything a build step and a report kernel use (pandas, matplotlib,
  scikit-survival, the report package, papermill, nbconvert, ipykernel), then waits. It holds
  no thread, event loop or ZeroMQ context, so it can be forked safely.
- make stays the judge of what is stale and of how many jobs run: each recipe still runs
  ``scripts/build.py``, which connects to the socket, hands over its arguments, environment,
  working directory and its stdin/stdout/stderr (as file descriptors), and waits for the exit
  status (`run_via_worker`). A recipe holds its make job slot while it waits, so ``-j2`` means
  two steps at a time.
- For each request the worker forks a fresh child, which runs `cartpool.builder.steps.run` on the
  caller's terminal. A child that will run a notebook first forks once more, while it is still
  single-threaded: that grandchild waits, with everything imported, to become the notebook's
  kernel. papermill runs the notebook as usual; only the kernel manager, instead of starting
  ``python -m ipykernel_launcher`` (0.5 s plus about 2 s of imports), tells the waiting process
  the connection file and lets it start the kernel (`take_preforked_kernel`).
- Every notebook therefore runs in its own new process, a copy of the clean worker: nothing one
  notebook changes is seen by the next.

Without ``CARTPOOL_WORKER`` (a step run by hand, or ``CARTPOOL_WARM=0``) every command runs in
the calling process, as before; both routes write the same bytes.

References
----------
.. [1] Python documentation, `os.fork`, `socket.send_fds`, `socket.recv_fds`.
.. [2] jupyter_client, ``KernelManager._async_launch_kernel``: "override in a subclass to
   launch kernel subprocesses differently".
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
import traceback
from pathlib import Path

from . import kernels
from .services import connect, start_service

ENV_SOCKET = "CARTPOOL_WORKER"
ENV_DISABLE = "CARTPOOL_WARM"  # "0" turns the worker off (benchmark baseline, debugging)
_HEADER = struct.Struct("!I")

# Modules a build step or a report kernel imports; imported once, before any fork.
PREWARM = (
    "numpy", "pandas", "scipy.stats", "matplotlib", "matplotlib.pyplot",
    "cartpool.report.study_page", "cartpool.report.pooled_page", "cartpool.report.index", "cartpool.stats.kaplan_meier",
    "cartpool.builder.pipeline", "cartpool.builder.notebooks", "cartpool.builder.pdf",
    "papermill", "papermill.engines", "nbclient", "nbformat", "nbconvert", "nbconvert.exporters.html",
    "jupyter_client.manager", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
)


def unsupported() -> str | None:
    """Why this platform cannot run the warm worker, or None where it can. The worker needs
    ``os.fork``, file-descriptor passing over Unix sockets (``socket.send_fds``) and Linux's
    ``PR_SET_PDEATHSIG`` (so that no kernel or browser outlives an interrupted build)."""
    if not hasattr(os, "fork"):
        return "this Python has no os.fork"
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return "this Python cannot pass file descriptors over Unix sockets"
    if not sys.platform.startswith("linux"):
        return f"PR_SET_PDEATHSIG is Linux only (this is {sys.platform})"
    return None


def enabled() -> bool:
    """The warm worker runs unless turned off (CARTPOOL_WARM=0) or unsupported here (`unsupported`):
    then every step runs in its own processes, the cold route, with the same bytes."""
    return os.environ.get(ENV_DISABLE, "1") != "0" and unsupported() is None


# --- the caller's side -------------------------------------------------------------------------

def run_via_worker(argv: list[str]) -> int | None:
    """Run one build command in the warm worker named by ``$CARTPOOL_WORKER``.

    Parameters
    ----------
    argv : list of str
        The command line of ``scripts/build.py``, without the program name.

    Returns
    -------
    int or None
        The command's exit status, or None where no worker serves it (no worker running, the
        worker gone, or a command it does not serve): the caller then runs it itself.
    """
    if not enabled():
        return None
    from .steps import WARM_COMMANDS

    if not any(a in WARM_COMMANDS for a in argv) or any(a in ("-h", "--help") for a in argv):
        return None
    s = connect(ENV_SOCKET)
    if s is None:
        return None
    with s:
        header = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        socket.send_fds(s, [_HEADER.pack(len(header))], [0, 1, 2])
        s.sendall(header)
        reply = s.makefile("rb")
        first = reply.readline().split()
        if len(first) != 2 or first[0] != b"pid":
            return 1
        child = int(first[1])

        def forward(signum, _frame):  # make passes SIGTERM/SIGHUP to its recipe only
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, forward)
        # Ctrl-C reaches the whole process group, the worker's child included: wait for its status
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        last = reply.readline().split()
    if len(last) == 2 and last[0] == b"exit":
        return int(last[1])
    print(f"[cartpool] the build step {' '.join(argv)} ended without a status (killed?)", file=sys.stderr)
    return 1


# --- the worker's side -------------------------------------------------------------------------

def start_worker() -> tuple[object, dict[str, str], Path]:
    """Start the warm worker (`serve`): its process, the variables to export to make, its folder."""
    proc, path, folder = start_service("warm", "cartpool.builder.warm")
    return proc, {ENV_SOCKET: path}, folder


def _prewarm() -> None:
    import importlib

    for name in PREWARM:
        try:
            importlib.import_module(name)
        except Exception:  # the child that needs it will raise it with a proper message
            pass
    with contextlib.suppress(Exception):
        from . import notebooks

        notebooks.exporter()  # nbconvert's templates, parsed once


def serve(listen_fd: int) -> None:
    """The worker's loop: import once, then fork one child per request."""
    listener = socket.socket(fileno=listen_fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the steps; the lock process stops us
    _prewarm()
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            code = 1
            try:
                code = _serve_one(conn)
            except BaseException:
                with contextlib.suppress(Exception):
                    traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        conn.close()
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass


def _recv_exactly(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("the caller went away")
        buf += chunk
    return buf


def _serve_one(conn: socket.socket) -> int:
    """In a fresh fork: take over the caller's terminal, environment and folder, run the command."""
    try:
        msg, fds, _flags, _addr = socket.recv_fds(conn, _HEADER.size, 3)
        if len(msg) != _HEADER.size or len(fds) != 3:  # not a build step (a probe, or gone): quietly
            for fd in fds:
                os.close(fd)
            return 0
        request = json.loads(_recv_exactly(conn, _HEADER.unpack(msg)[0]))
    except (OSError, EOFError, ValueError):
        return 0
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    argv = request["argv"]
    from .steps import WARM_COMMANDS

    if next((a for a in argv if a in WARM_COMMANDS), None) in ("study", "pooled"):
        kernels.prefork_kernel()
        from .pdf import warm_up_printer

        warm_up_printer()
    conn.sendall(f"pid {os.getpid()}\n".encode())

    import threading

    from .steps import run as main

    def watch_caller():  # the caller was killed: so is this step (and its kernel, by PDEATHSIG)
        with contextlib.suppress(OSError):
            conn.recv(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_caller, daemon=True).start()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code if isinstance(e.code, int) else 1
    except KeyboardInterrupt:
        code = 130
    except Exception:  # a step that fails before it reports (an import error, say): its error, then its status
        traceback.print_exc()
        print(f"[cartpool] the build step {' '.join(argv)} failed with the error above", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(f"exit {code}\n".encode())
    return code


if __name__ == "__main__":  # run as the module itself, not __main__: the kernel hook reads its state
    from cartpool.builder.warm import serve as _serve

    _serve(int(sys.argv[1]))

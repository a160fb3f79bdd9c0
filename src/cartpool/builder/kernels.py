"""The pre-forked kernel of a warm build step: a forked child that has everything imported waits to
become the notebook's kernel, and the kernel manager of `cartpool.builder.notebooks` starts it
(`take_preforked_kernel`) instead of ``python -m ipykernel_launcher``. The warm worker
(`cartpool.builder.warm`) forks it; the state between the two is this module's."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys

from .services import die_with_parent

_PREFORKED: tuple[int, int] | None = None


def prefork_kernel() -> None:
    """Fork a process that waits, with everything imported, to become the next notebook's kernel."""
    global _PREFORKED
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        code = 1
        try:
            code = _become_kernel(r)
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    os.close(r)
    _PREFORKED = (pid, w)


def _become_kernel(r: int) -> int:
    die_with_parent()
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    if not data:  # the step needed no kernel
        return 0
    request = json.loads(data)
    os.setsid()  # as jupyter_client's launcher: a terminal's Ctrl-C goes to the manager, not here
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    argv = request["argv"]
    args = argv[argv.index("ipykernel_launcher") + 1:] if "ipykernel_launcher" in argv else argv[1:]
    # ipykernel reads JPY_PARENT_PID when it is imported (in the worker, long before): say it again
    args.append(f"--IPKernelApp.parent_handle={request['env']['JPY_PARENT_PID']}")
    sys.argv = ["ipykernel_launcher", *args]
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    from ipykernel.kernelapp import IPKernelApp

    try:
        IPKernelApp.launch_instance(argv=args)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 0
    return 0


class ForkedKernelProcess:
    """The part of `subprocess.Popen` that jupyter_client's provisioner uses, for a forked pid."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def take_preforked_kernel(kernel_cmd: list[str], env: dict | None, cwd) -> ForkedKernelProcess | None:
    """Start the waiting kernel with the connection file in `kernel_cmd`, once per step.

    Returns None where no kernel is waiting (not under the worker, or a kernel restart): the
    kernel manager then launches one the usual way.
    """
    global _PREFORKED
    if _PREFORKED is None:
        return None
    pid, w = _PREFORKED
    _PREFORKED = None
    env = dict(env or os.environ)
    env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher: the kernel watches us
    payload = json.dumps({"argv": list(kernel_cmd), "env": env,
                          "cwd": str(cwd or os.getcwd())}).encode()
    with os.fdopen(w, "wb") as fh:
        fh.write(payload)
    return ForkedKernelProcess(pid)

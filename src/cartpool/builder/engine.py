"""``make reports`` from start to end: plan by content, let make run what is stale, verify.

The Makefile's ``reports`` target runs `run_build` (``build.py build``): under the checkout's
build lock it plans (`stamps.plan`: which steps are stale by the content of their inputs and
outputs), writes the plan for make (``build/plan.mk``), starts the warm worker and the PDF
printer only where there is something to do, runs make on the stale steps, and finally checks
every promised output (`stamps.verify`). A build with nothing to do runs neither make's
recipes nor any service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from . import stamps


def _say(msg: str, err: bool = False) -> None:
    print(f"[cartpool] {msg}", file=sys.stderr if err else sys.stdout, flush=True)


HOW_TO_GET_PDFS = ("No Chromium or Chrome found: HTML reports are built, PDFs are skipped. To get PDFs install "
                   "one (Debian/Ubuntu: apt-get install chromium) or set CARTPOOL_BROWSER=/path/to/chrome.")


def run_build(cmd: list[str], *, root: Path, reports: Path, build_dir: Path, browser: str = "",
              lockfile: Path | None = None, warm: bool = False) -> int:
    """Plan, run `cmd` (the make that builds the stale steps) and verify; with `lockfile`, all of
    it under the checkout's build lock."""
    from .lock import build_lock

    with build_lock(lockfile):
        with_pdf = bool(browser)
        p = stamps.plan(root, reports, build_dir, with_pdf=with_pdf)
        if p.problems:
            _say(f"the study folders cannot be built ({len(p.problems)} problem(s)):", err=True)
            for problem in p.problems:
                print(f"  {problem}", file=sys.stderr)
            _say("nothing was built; fix the above and run make again.", err=True)
            return 2
        if not p.stale:
            return 0  # every promised file is there, as its step recorded it, from the same inputs
        stamps.write_plan_mk(p, build_dir)
        stamps.take_missing_pdfs(build_dir)
        if not with_pdf:  # PDFs a browser made earlier may no longer match the pages
            for page in p.stale:
                if page.endswith(".html"):
                    (reports / page).with_suffix(".pdf").unlink(missing_ok=True)
        code = _run_make(cmd, warm=warm, browser=browser)
        missing_pdfs = stamps.take_missing_pdfs(build_dir)
        if missing_pdfs and code == 0:
            return _browser_gone(missing_pdfs, browser, root, reports, build_dir)
        problems = stamps.verify(root, reports, build_dir, p.steps, with_pdf=with_pdf)
        if code != 0:
            if problems and not (build_dir / stamps.VALIDATION_FAILED).exists():
                _say(f"the build stopped: {len(problems)} of {len(p.steps)} steps are not complete "
                     "(reports/ holds no half-written file). Fix what is said above, then run make reports "
                     "again: it rebuilds exactly these.", err=True)
            return code
        if problems:
            _say(f"the build ended but {len(problems)} promised report(s) are missing or changed:", err=True)
            for problem in problems[:20]:
                print(f"  {problem}", file=sys.stderr)
            _say("was `make clean` run, or a file edited, during the build? Run make reports again: "
                 "it rebuilds exactly these.", err=True)
            return 1
        if not with_pdf and any(s.endswith(".html") for s in p.stale):
            _say(HOW_TO_GET_PDFS)
        return 0


def _browser_gone(pages: list[str], browser: str, root: Path, reports: Path, build_dir: Path) -> int:
    """The browser went away during the build: the HTML is finished; the index is rewritten
    without PDF links, and the build says what is missing (it promised PDFs: status 1)."""
    code = subprocess.call([sys.executable, str(Path(root) / "scripts" / "build.py"),
                            "--build-dir", str(build_dir), "index", str(reports / "index.html")],
                           env={**os.environ, "CARTPOOL_WARM": "0"})
    _say(f"the browser {browser} disappeared during the build: the HTML reports are complete, but "
         f"{len(pages)} PDF(s) were not printed ({', '.join(pages)}) and the index links no PDF. Install a "
         "browser again (or set CARTPOOL_BROWSER) and run make reports.", err=True)
    return 1 if code == 0 else code


def _run_make(cmd: list[str], *, warm: bool, browser: str) -> int:
    from .lock import start_services, stop_services

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

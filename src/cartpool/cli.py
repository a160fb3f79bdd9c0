"""The build's command line: what the Makefile calls through ``scripts/build.py``.

``build.py -h`` and ``build.py COMMAND -h`` list the commands and their arguments. During
``make reports`` the same commands are served by a warm worker (`cartpool.builder.warm`), which
runs the build steps (`cartpool.builder.steps`) in a fresh fork of a process that has already
imported everything; outside a build, or with ``CARTPOOL_WARM=0``, they run in the calling
process. Both give the same files. The builder never imports this module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cartpool.builder import steps


def parser(prog: str = "build.py") -> argparse.ArgumentParser:
    p, sub = steps.base_parser(prog, "Command-line entry points the Makefile calls. Run from the project root")
    steps.add_step_commands(sub)
    sub.add_parser("browser", help="print the browser that PDFs would use (empty if none)")
    s = sub.add_parser("new-study", help="create a commented template study folder")
    s.add_argument("study_id", nargs="?", default="")
    sub.add_parser("check-notebooks", help="committed notebooks carry no outputs")
    s = sub.add_parser("judgements", help="print the analysis's GRADE proposals, with the current evidence "
                       "fingerprints, for the judgements awaiting review (make judgements)")
    s.add_argument("--all", action="store_true", help="every outcome and population, not only those awaiting review")
    s = sub.add_parser("release", help="record the review's current state as a dated release in data/releases/ "
                       "(make release); refuses while validation fails or the reports are stale")
    s.add_argument("--browser", default="", metavar="PATH",
                   help="the browser the reports' PDFs are printed with (empty: no PDFs are expected)")
    s.add_argument("--reports", type=Path, default=Path("reports"), help="the reports folder (default reports/)")
    s.add_argument("--note", default="", help="what this release is, in a sentence (shown in the version history)")
    s = sub.add_parser("lock", help="run CMD holding an exclusive lock (waits for another build); "
                       "with --warm, CMD's build commands are served by a warm worker")
    s.add_argument("--warm", action="store_true",
                   help="serve CMD's build steps from one warm worker (cartpool.builder.warm)")
    s.add_argument("--browser", default="", metavar="PATH",
                   help="with --warm: print CMD's PDFs from one long-lived browser at PATH")
    s.add_argument("lockfile", type=Path)
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    s = sub.add_parser("build", help="plan by content, run CMD (make) on the stale steps, check every "
                       "promised report (make reports)")
    s.add_argument("--lock", type=Path, metavar="FILE", help="hold this checkout's build lock (waits for another build)")
    s.add_argument("--warm", action="store_true",
                   help="serve CMD's build steps from one warm worker (cartpool.builder.warm)")
    s.add_argument("--browser", default="", metavar="PATH",
                   help="the browser that prints PDFs (empty: no PDFs are promised)")
    s.add_argument("--reports", type=Path, default=Path("reports"), help="the reports folder (default reports/)")
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None, prog: str = "build.py") -> int:
    a = parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    root = Path.cwd()
    problem = steps.missing_project(a.command, root, prog)
    if problem:
        print(f"[cartpool] {problem}", file=sys.stderr)
        return 2
    if a.command in steps.WARM_COMMANDS:
        return steps.run_parsed(a, prog)
    if a.command == "lock":
        from cartpool.builder.lock import run_locked

        return run_locked(a.lockfile, a.cmd, warm=a.warm, browser=a.browser)
    if a.command == "build":
        from cartpool.builder.engine import run_build

        cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
        return run_build(cmd, root=root, reports=a.reports, build_dir=a.build_dir, browser=a.browser,
                         lockfile=a.lock, warm=a.warm)
    if a.command == "browser":
        from cartpool.builder.pdf import find_browser

        print(find_browser() or "")
        return 0
    if a.command == "new-study":
        from cartpool.builder.scaffold import new_study

        return new_study(a.study_id, root / "data" / "studies")
    if a.command == "check-notebooks":
        from cartpool.builder.scaffold import check_notebooks

        return check_notebooks(sorted((root / "notebooks").glob("*.ipynb")))
    if a.command == "release":
        from cartpool.builder.release import record_release

        return record_release(root=root, reports=a.reports, build_dir=a.build_dir, with_pdf=bool(a.browser),
                              note=a.note)
    if a.command == "judgements":
        from cartpool.builder.judgements import print_proposals

        return print_proposals(root / "data", everything=a.all)
    raise AssertionError(f"unhandled command {a.command!r}")


def console() -> int:
    """The ``cartpool`` console script (installed by ``pip install -e .``)."""
    return main(prog="cartpool")

"""The build's command line: what the Makefile calls through ``scripts/build.py``.

``build.py -h`` and ``build.py COMMAND -h`` list the commands and their arguments. During
``make reports`` the same commands are served by a warm worker (`cartpool.builder.warm`), which
runs `main` in a fresh fork of a process that has already imported everything; outside a build,
or with ``CARTPOOL_WARM=0``, `main` runs in the calling process. Both give the same files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parser(prog: str = "build.py") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Command-line entry points the Makefile calls. "
                                "Run from the project root")
    p.add_argument("--build-dir", type=Path, default=Path("build"),
                   help="where executed notebooks and staged outputs go (the Makefile's BUILD; default build/)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("validate", help="check every study folder (make check)")
    s.add_argument("--record", action="store_true",
                   help="record the validated inputs in the build folder (make reports)")
    s = sub.add_parser("study", help="run notebooks/study.ipynb for one study")
    s.add_argument("study_id")
    s.add_argument("out", type=Path, help="the HTML file to write")
    s = sub.add_parser("pooled", help="run notebooks/pooled.ipynb over all studies")
    s.add_argument("out", type=Path, help="the HTML file to write")
    s = sub.add_parser("index", help="write the index page")
    s.add_argument("out", type=Path)
    s.add_argument("--pdf", action="store_true", help="link each report's PDF")
    s = sub.add_parser("pdf", help="print pages to PDF with a local Chromium")
    s.add_argument("pages", type=Path, nargs="+")
    sub.add_parser("browser", help="print the browser that PDFs would use (empty if none)")
    s = sub.add_parser("new-study", help="create a commented template study folder")
    s.add_argument("study_id", nargs="?", default="")
    sub.add_parser("check-notebooks", help="committed notebooks carry no outputs")
    s = sub.add_parser("judgements", help="print the analysis's GRADE proposals, with the current evidence "
                       "fingerprints, for the judgements awaiting review (make judgements)")
    s.add_argument("--all", action="store_true", help="every outcome and population, not only those awaiting review")
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


# Commands a warm worker may serve: the ones that import the report package or run a notebook.
WARM_COMMANDS = frozenset({"validate", "study", "pooled", "index", "pdf"})


MAKE_TARGET = {"validate": "make check", "check-notebooks": "make check", "new-study": "make new-study ID=smith2027"}
# What each command needs in the folder it runs in (the project root)
NEEDS = {"validate": ("data/studies",), "study": ("data/studies", "notebooks/study.ipynb"),
         "pooled": ("data/studies", "notebooks/pooled.ipynb"), "index": ("data/studies",),
         "new-study": ("data",), "check-notebooks": ("notebooks",), "build": ("data/studies", "notebooks")}


def _missing_project(command: str, root: Path, prog: str) -> str | None:
    missing = [n for n in NEEDS.get(command, ()) if not (root / n).exists()]
    if not missing:
        return None
    return (f"{prog} {command} runs in a cartpool project folder (the one with data/studies/ and notebooks/); "
            f"{root} has no {' or '.join(missing)}. Change to the project folder (where the Makefile is) and "
            f"run it there, or use make ({MAKE_TARGET.get(command, 'make reports')}).")


def main(argv: list[str] | None = None, prog: str = "build.py") -> int:
    a = parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    root = Path.cwd()
    problem = _missing_project(a.command, root, prog)
    if problem:
        print(f"[cartpool] {problem}", file=sys.stderr)
        return 2
    if a.command == "pdf" and (gone := [str(p) for p in a.pages if not p.is_file()]):
        print(f"[cartpool] {prog} pdf prints existing HTML pages; not found: {', '.join(gone)}", file=sys.stderr)
        return 2
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
    if a.command == "judgements":
        from cartpool.builder.judgements import print_proposals

        return print_proposals(root / "data", everything=a.all)
    from cartpool.builder import pipeline

    if a.command == "validate":
        return pipeline.validate(record_in=a.build_dir if a.record else None)
    if a.command == "study":
        return pipeline.build_report("study", a.study_id, a.out, root=root, build_dir=a.build_dir)
    if a.command == "pooled":
        return pipeline.build_report("pooled", None, a.out, root=root, build_dir=a.build_dir)
    if a.command == "index":
        return pipeline.build_index(a.out, with_pdf=a.pdf, build_dir=a.build_dir)
    return pipeline.build_pdfs(a.pages, build_dir=a.build_dir)


def console() -> int:
    """The ``cartpool`` console script (installed by ``pip install -e .``)."""
    return main(prog="cartpool")

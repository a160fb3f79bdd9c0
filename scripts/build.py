#!/usr/bin/env python3
"""Command-line entry points the Makefile calls. Run from the project root; `build.py -h` and
`build.py COMMAND -h` list the commands and their arguments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="build.py", description=__doc__.split(";")[0])
    p.add_argument("--build-dir", type=Path, default=ROOT / "build",
                   help="where executed notebooks and staged outputs go (the Makefile's BUILD; default build/)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("validate", help="check every study folder (make check)")
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
    s = sub.add_parser("lock", help="run CMD holding an exclusive lock (waits for another build)")
    s.add_argument("lockfile", type=Path)
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    if a.command == "lock":
        from cartpool.builder.lock import run_locked

        return run_locked(a.lockfile, a.cmd)
    if a.command == "browser":
        from cartpool.builder.pdf import find_browser

        print(find_browser() or "")
        return 0
    if a.command == "new-study":
        from cartpool.builder.scaffold import new_study

        return new_study(a.study_id, ROOT / "data" / "studies")
    if a.command == "check-notebooks":
        from cartpool.builder.scaffold import check_notebooks

        return check_notebooks(sorted((ROOT / "notebooks").glob("*.ipynb")))
    from cartpool.builder import pipeline

    if a.command == "validate":
        return pipeline.validate()
    if a.command == "study":
        return pipeline.build_report("study", a.study_id, a.out, root=ROOT, build_dir=a.build_dir)
    if a.command == "pooled":
        return pipeline.build_report("pooled", None, a.out, root=ROOT, build_dir=a.build_dir)
    if a.command == "index":
        return pipeline.build_index(a.out, with_pdf=a.pdf)
    return pipeline.build_pdfs(a.pages)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Command-line entry points the Makefile calls. Run from the project root.

    build.py validate                  check every study folder (make check)
    build.py study ID OUT.html         run notebooks/study.ipynb for one study
    build.py pooled OUT.html           run notebooks/pooled.ipynb over all studies
    build.py index OUT.html [--pdf]    write the index page
    build.py pdf PAGE.html...          print pages to PDF with a local Chromium
    build.py browser                   print the browser that PDFs would use (empty if none)
    build.py new-study ID              create a commented template study folder
    build.py check-notebooks           committed notebooks carry no outputs
    build.py lock LOCKFILE CMD...      run CMD holding an exclusive lock (waits for another build)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    from cartpool.build import pipeline

    if cmd == "lock":
        from cartpool.build.lock import run_locked

        return run_locked(Path(args[0]), args[1:])
    if cmd == "validate":
        return pipeline.validate()
    if cmd == "study":
        return pipeline.build_report("study", args[0], Path(args[1]), root=ROOT, build_dir=ROOT / "build")
    if cmd == "pooled":
        return pipeline.build_report("pooled", None, Path(args[0]), root=ROOT, build_dir=ROOT / "build")
    if cmd == "index":
        return pipeline.build_index(Path(args[0]), with_pdf="--pdf" in args)
    if cmd == "pdf":
        return pipeline.build_pdfs([Path(a) for a in args])
    if cmd == "browser":
        from cartpool.build.pdf import find_browser

        print(find_browser() or "")
        return 0
    if cmd == "new-study":
        from cartpool.build.scaffold import new_study

        return new_study(args[0] if args else "", ROOT / "data" / "studies")
    if cmd == "check-notebooks":
        from cartpool.build.scaffold import check_notebooks

        return check_notebooks(sorted((ROOT / "notebooks").glob("*.ipynb")))
    print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The build steps a warm worker serves in-process: validate, a study or the pooled report, the index,
PDFs. Their arguments are declared here, once: the command line (`cartpool.cli`) adds them to its
parser, and the worker (`cartpool.builder.warm`) parses a request's argv with `parser` and runs it
with `run` (so that the builder never imports the command line)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: Commands a warm worker may serve: the ones that import the report package or run a notebook.
WARM_COMMANDS = frozenset({"validate", "study", "pooled", "index", "pdf"})

MAKE_TARGET = {"validate": "make check", "check-notebooks": "make check", "new-study": "make new-study ID=smith2027",
               "release": "make release"}
#: What each command needs in the folder it runs in (the project root).
NEEDS = {"validate": ("data/studies",), "study": ("data/studies", "notebooks/study.ipynb"),
         "pooled": ("data/studies", "notebooks/pooled.ipynb"), "index": ("data/studies",),
         "new-study": ("data",), "check-notebooks": ("notebooks",), "build": ("data/studies", "notebooks"),
         "release": ("data/studies", "notebooks")}


def base_parser(prog: str, description: str) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """A parser with the options every command shares (--build-dir), and its subcommands."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--build-dir", type=Path, default=Path("build"),
                   help="where executed notebooks and staged outputs go (the Makefile's BUILD; default build/)")
    return p, p.add_subparsers(dest="command", required=True, metavar="COMMAND")


def add_step_commands(sub) -> None:
    """Declare the step commands and their arguments on a subparser set."""
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


def parser(prog: str = "build.py") -> argparse.ArgumentParser:
    """The step commands alone (what the warm worker parses)."""
    p, sub = base_parser(prog, "The build steps")
    add_step_commands(sub)
    return p


def missing_project(command: str, root: Path, prog: str) -> str | None:
    """Why `command` cannot run in `root` (not a project folder), for the person who typed it."""
    missing = [n for n in NEEDS.get(command, ()) if not (root / n).exists()]
    if not missing:
        return None
    return (f"{prog} {command} runs in a cartpool project folder (the one with data/studies/ and notebooks/); "
            f"{root} has no {' or '.join(missing)}. Change to the project folder (where the Makefile is) and "
            f"run it there, or use make ({MAKE_TARGET.get(command, 'make reports')}).")


def run_parsed(a: argparse.Namespace, prog: str = "build.py") -> int:
    """Run one parsed step command."""
    from . import pipeline

    if a.command == "pdf" and (gone := [str(p) for p in a.pages if not p.is_file()]):
        print(f"[cartpool] {prog} pdf prints existing HTML pages; not found: {', '.join(gone)}", file=sys.stderr)
        return 2
    root = Path.cwd()
    if a.command == "validate":
        return pipeline.validate(record_in=a.build_dir if a.record else None)
    if a.command == "study":
        return pipeline.build_report("study", a.study_id, a.out, root=root, build_dir=a.build_dir)
    if a.command == "pooled":
        return pipeline.build_report("pooled", None, a.out, root=root, build_dir=a.build_dir)
    if a.command == "index":
        return pipeline.build_index(a.out, with_pdf=a.pdf, build_dir=a.build_dir)
    return pipeline.build_pdfs(a.pages, build_dir=a.build_dir)


def run(argv: list[str], prog: str = "build.py") -> int:
    """Parse and run a step command's argv (the warm worker's entry point)."""
    a = parser(prog).parse_args(argv)
    problem = missing_project(a.command, Path.cwd(), prog)
    if problem:
        print(f"[cartpool] {problem}", file=sys.stderr)
        return 2
    return run_parsed(a, prog)

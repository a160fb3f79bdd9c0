"""Content, not clocks: what each build step read and wrote, by hash.

make compares modification times, which a restored backup, ``cp -p`` or an unzip set to the
past, and which say nothing about an output deleted or altered since. cartpool therefore
decides staleness the way Bazel and Nix do, by content:

- every step has a list of inputs (`step_inputs`): the data files it reads, its notebook, the
  package's source, the pinned lock, the source documents, and for the index whether PDFs are
  built. Their SHA-256 hashes, combined, are the step's *inputs hash*;
- a step that succeeds writes a record, ``build/records/<step>.json``: the inputs hash it
  started from and the hash of every file it wrote into ``reports/``;
- before make runs, `plan` marks a step stale where its record is missing, its inputs hash
  differs, or any file it wrote is missing or altered. make is told exactly those (the
  generated ``build/plan.mk`` gives them a phony prerequisite), and still decides the order
  and runs them, ``-j2`` included; timestamps decide nothing;
- after make, `verify` checks every promised file again. A build never ends with status 0
  while a file it promises is missing or differs from what its step recorded (for example
  when ``make clean`` ran in another terminal during the build).

This module imports nothing heavy: a build with nothing to do costs one hashing pass.

References
----------
.. [1] Bazel, "Remote caching": actions are keyed by the digests of their inputs.
.. [2] E. Dolstra, "The Purely Functional Software Deployment Model", PhD thesis, 2006.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..data.fingerprint import PACKAGE_SUFFIXES, Hasher

RECORDS = "records"
PLAN_MK = "plan.mk"
VALIDATED = "validated"  # the validation step; its marker file is build/.validated
VALIDATION_FAILED = ".validation-failed"  # in the build folder: the data were rejected
PDFS_MISSING = "pdfs-missing"  # in the build folder: pages whose PDF could not be printed (browser gone)
STUDIES_DIR = Path("data") / "studies"
RELEASES_DIR = Path("data") / "releases"


def study_folders(root: Path) -> list[str]:
    """Every study folder's name (hidden and ``_``-prefixed folders are not studies)."""
    d = root / STUDIES_DIR
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def folder_name_problems(root: Path) -> list[str]:
    """A curator message for every study folder whose name is not a valid study id."""
    from ..data.names import folder_name_problem

    return [f"data/studies/{name}/: {problem}" for name in study_folders(root)
            if (problem := folder_name_problem(name))]


def source_folders() -> list[Path]:
    env = os.environ.get("CARTPOOL_SOURCES")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path(__file__).resolve().parents[3] / ".." / "shared" / "seeds"]




def _common(hs: Hasher) -> list[Path]:
    """What every step depends on: the package's source, the build script and the pinned lock."""
    root = hs.root
    files = hs.tree(root / "src" / "cartpool", PACKAGE_SUFFIXES)
    files += [p for p in (root / "scripts" / "build.py", root / "requirements" / "build.lock") if p.exists()]
    return files


def _sources(hs: Hasher) -> list[Path]:
    out = []
    for d in source_folders():
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.is_file())
    return out


def _data(hs: Hasher, study: str | None = None) -> list[Path]:
    root = hs.root
    top = sorted(p for p in (root / "data").glob("*.yaml"))
    if study is not None:
        return top + hs.tree(root / STUDIES_DIR / study)
    # the releases: validated, and the pooled report and the index say what changed since the latest
    return top + hs.tree(root / RELEASES_DIR) + hs.tree(root / STUDIES_DIR)


def step_inputs(hs: Hasher, step: str, *, with_pdf: bool = False, reports: Path | None = None) -> str:
    """The inputs hash of one step: ``validated``, ``index.html``, ``pooled.html``,
    ``<study>.html`` or ``<page>.pdf`` (whose input is its page, in `reports`)."""
    root = hs.root
    common = _common(hs)
    if step == VALIDATED:
        return hs.combine(_data(hs) + _sources(hs) + common, ("validate",))
    if step == "index.html":  # it opens with the pooled report's bottom line
        return hs.combine(_data(hs) + _sources(hs) + [root / "notebooks" / "pooled.ipynb"] + common,
                          (f"with_pdf={with_pdf}",))
    if step == "pooled.html":
        return hs.combine(_data(hs) + _sources(hs) + [root / "notebooks" / "pooled.ipynb"] + common)
    if step.endswith(".pdf"):
        page = Path(reports or root / "reports") / (step[:-4] + ".html")
        return hs.combine([page] + common, ("pdf",))
    study = step.removesuffix(".html")
    return hs.combine(_data(hs, study) + _sources(hs) + [root / "notebooks" / "study.ipynb"] + common)


# --- records ---------------------------------------------------------------------------------------

def _record_path(build_dir: Path, step: str) -> Path:
    return Path(build_dir) / RECORDS / f"{step}.json"


def write_record(build_dir: Path, step: str, inputs: str, reports: Path, outputs: list[str]) -> None:
    """Record that `step`, started from `inputs`, wrote `outputs` (paths relative to `reports`)."""
    hs = Hasher(Path(reports))
    rec = {"inputs": inputs, "outputs": {rel: hs.file(Path(reports) / rel) for rel in sorted(set(outputs))}}
    path = _record_path(build_dir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(rec, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def forget(build_dir: Path, step: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _record_path(build_dir, step).unlink()


def note_missing_pdf(build_dir: Path, page: str) -> None:
    with open(Path(build_dir) / PDFS_MISSING, "a", encoding="utf-8") as fh:
        fh.write(page + "\n")


def take_missing_pdfs(build_dir: Path) -> list[str]:
    """The pages noted by `note_missing_pdf` since the last call."""
    path = Path(build_dir) / PDFS_MISSING
    try:
        pages = sorted(set(path.read_text(encoding="utf-8").split()))
    except FileNotFoundError:
        return []
    path.unlink(missing_ok=True)
    return pages


def read_record(build_dir: Path, step: str) -> dict | None:
    try:
        return json.loads(_record_path(build_dir, step).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def inputs_now(step: str, *, root: Path, reports: Path, with_pdf: bool = False) -> str:
    return step_inputs(Hasher(Path(root)), step, with_pdf=with_pdf, reports=reports)


# --- plan and verify -----------------------------------------------------------------------------

@dataclass
class Plan:
    steps: list[str]  # every step the build promises, validation first
    stale: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # curator messages: nothing can be planned


def promised_steps(root: Path, with_pdf: bool) -> list[str]:
    studies = study_folders(root)
    # the pooled report is the longest step: listed first, so that under -j it starts first
    pages = ["pooled"] + studies
    return [VALIDATED, "index.html"] + [f"{p}.html" for p in pages] + ([f"{p}.pdf" for p in pages] if with_pdf else [])


def _check(hs: Hasher, rh: Hasher, step: str, build_dir: Path, reports: Path, with_pdf: bool) -> str | None:
    """Why `step` must run, or None where its record matches its inputs and every output."""
    rec = read_record(build_dir, step)
    if rec is None:
        return "never built"
    if step == VALIDATED:
        if not (Path(build_dir) / ".validated").exists():
            return "never built"
    elif step not in rec.get("outputs", {}):
        return "never built"
    if rec.get("inputs") != step_inputs(hs, step, with_pdf=with_pdf, reports=reports):
        return "its inputs changed"
    for rel, digest in rec.get("outputs", {}).items():
        if not (reports / rel).is_file():
            return f"{rel} is missing"
        if rh.file(reports / rel) != digest:
            return f"{rel} was changed"
    return None


def plan(root: Path, reports: Path, build_dir: Path, *, with_pdf: bool) -> Plan:
    """Which promised steps must run: by content (see the module's docstring)."""
    root, reports, build_dir = Path(root), Path(reports), Path(build_dir)
    problems = folder_name_problems(root)
    if problems:
        return Plan([], problems=problems)
    p = Plan(promised_steps(root, with_pdf))
    hs, rh = Hasher(root), Hasher(reports)
    for step in p.steps:
        if step.endswith(".pdf") and step.replace(".pdf", ".html") in p.stale:
            why = "its page is rebuilt"
        else:
            why = _check(hs, rh, step, build_dir, reports, with_pdf)
        if why:
            p.stale.append(step)
            p.why[step] = why
    return p


def write_plan_mk(p: Plan, build_dir: Path) -> None:
    """The plan as make variables (``build/plan.mk``, included by the Makefile)."""
    pages = [s for s in p.steps if s != VALIDATED]
    stale = [s for s in p.stale if s != VALIDATED]
    text = (f"PLAN_PAGES := {' '.join(pages)}\n"
            f"PLAN_STALE := {' '.join(stale)}\n"
            f"PLAN_VALIDATE := {'1' if VALIDATED in p.stale else ''}\n")
    path = Path(build_dir) / PLAN_MK
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{PLAN_MK}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def verify(root: Path, reports: Path, build_dir: Path, steps: list[str], *, with_pdf: bool) -> list[str]:
    """What is wrong with the promised outputs after a build: one line per step, or []."""
    hs, rh = Hasher(Path(root)), Hasher(Path(reports))
    out = []
    for step in steps:
        why = _check(hs, rh, step, Path(build_dir), Path(reports), with_pdf)
        if why:
            out.append(f"{step}: {why}")
    return out

"""Build steps the Makefile calls: validate, run a report notebook, render the index, print PDFs.

Outputs go to a staging folder under build/ first and are moved into reports/ only when the
step succeeded, each file by an atomic rename; the HTML page, which is the make target,
moves last. Progress is one line per step: target, step, seconds.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from ..data.errors import StudyDataError
from ..data.load import load_all, study_ids
from ..frames import frame_rows
from . import stamps
from .files import atomic_write
from .notebooks import NotebookFailed, execute, render_html

DATA_DIR = "data/studies"
#: The result store in the build folder (`cartpool.analysis.store`): results kept by content.
RESULTS = "cache"


def progress(target: str, step: str, seconds: float | None = None, detail: str = "") -> None:
    secs = f"{seconds:6.1f}s" if seconds is not None else "       "
    print(f"[cartpool] {target:<12} {step:<10} {secs} {detail}".rstrip(), flush=True)


def validate(data_dir: str = DATA_DIR, record_in: Path | None = None) -> int:
    """Check every study folder; with `record_in` (a build folder), record what was validated."""
    t0 = time.perf_counter()
    inputs = stamps.inputs_now(stamps.VALIDATED, root=Path.cwd(), reports=Path("reports")) if record_in else ""
    try:
        studies = load_all(data_dir)
        from ..data.known import load_known_studies

        known = load_known_studies(Path(data_dir).parent, studies)
        review = _validate_synthesis(studies, Path(data_dir).parent,
                                     results_dir=Path(record_in) / RESULTS if record_in is not None else None)
    except StudyDataError as e:
        print(f"[cartpool] data validation failed ({len(e.issues)} problem(s)):", file=sys.stderr)
        for issue in e.issues:
            print(f"  {data_path(issue, data_dir)}", file=sys.stderr)
        print("[cartpool] nothing was built; fix the files above and run make again. "
              "The format is described in data/README.md.", file=sys.stderr)
        if record_in is not None:  # the build says nothing more: this message is the one to read
            Path(record_in, stamps.VALIDATION_FAILED).touch()
        return 1
    from ..data.sources import source_folders

    checked = any(d.is_dir() for d in source_folders())  # CARTPOOL_SOURCES may name several folders
    for sd in studies:
        rows = len(sd.patients) if sd.patients is not None else 0
        progress(sd.study.id, "valid", None, f"{len(sd.results)} reported values"
                 + (f", {rows} patient rows" if rows else "")
                 + (", risk of bias appraised" if sd.appraisal is not None else ", risk of bias NOT appraised"))
        for notice in sd.notices:
            progress(sd.study.id, "notice", None, str(notice))
    if known:
        progress("all studies", "valid", None, f"{len(known)} relevant studies known but not included")
    for line in review:
        progress("all studies", "notice", None, line)
    if not checked:
        progress("all studies", "notice", None, "source documents not found: provenance quotes were not "
                 "checked (make check SOURCES=dir, or several folders separated by ':')")
    progress("all studies", "validated", time.perf_counter() - t0)
    if record_in is not None:
        stamps.write_record(record_in, stamps.VALIDATED, inputs, Path("reports"), [])
        (Path(record_in) / ".validated").touch()
        Path(record_in, stamps.VALIDATION_FAILED).unlink(missing_ok=True)
    return 0


def data_path(issue, data_dir: str = DATA_DIR) -> str:
    """An issue with its file's path: a study's files are named from their folder (hu2026/results.yaml)
    under the studies folder; the data folder's own files (the plan, the judgements, releases/ ...)
    sit beside it."""
    own = "/" not in issue.file or issue.file.startswith("releases/")
    folder = Path(data_dir).parent if own else Path(data_dir)
    return f"{folder.as_posix()}/{issue}"


def _validate_synthesis(studies, data_dir: Path, results_dir: Path | None = None) -> list[str]:
    """The analysis plan, the links between studies and the recorded GRADE judgements, checked
    against the analysis; returns notices (judgements awaiting review), raises on problems. With
    `results_dir` the analysis reads and keeps its results there (`cartpool.analysis.store`): the
    pooled step then refits nothing the validation fitted."""
    from ..analysis.appraisal import Appraisal, check_judgements
    from ..analysis.pooled_analysis import PooledAnalysis
    from ..data.errors import DataIssue
    from ..data.grade import GRADE_FILE
    from ..data.links import load_links
    from ..data.plan import load_plan
    from ..data.releases import load_releases
    from ..domain.registry import analysis_outcome_keys

    plan = load_plan(data_dir, known_outcomes=analysis_outcome_keys())
    load_links(data_dir, studies)
    load_releases(data_dir)
    from ..analysis.store import ResultStore

    store = ResultStore(results_dir) if results_dir is not None else None
    appraisal = Appraisal(PooledAnalysis(studies, plan, store), data_dir)
    problems = check_judgements(appraisal)
    if problems:
        raise StudyDataError([DataIssue(GRADE_FILE, "", p) for p in problems])
    return review_notices(appraisal)


def review_notices(appraisal) -> list[str]:
    """One line per GRADE judgement awaiting review: its evidence changed, or none was recorded for a
    summary-of-findings outcome."""
    out = []
    waiting = appraisal.awaiting_review
    for jid, rows in waiting[waiting["judgement_id"] != ""].groupby("judgement_id", sort=True):
        what = "; ".join(f"{r.outcome_label} in {r.population}" for r in frame_rows(rows))
        out.append(f"GRADE judgement {jid!r} awaits review: its evidence changed ({what}); the report shows the "
                   "analysis's proposal until it is reviewed (make judgements)")
    sof = appraisal.summary
    missing = waiting[(waiting["judgement_id"] == "") & waiting["outcome"].isin(sof.loc[sof["in_summary"], "outcome"])]
    if len(missing):
        out.append(f"{len(missing)} summary-of-findings outcome(s) have no recorded GRADE judgement; the report shows "
                   "the analysis's proposal (make judgements)")
    return out


def _move_staged(stage: Path, reports: Path, owned_prefixes: list[str]) -> list[str]:
    """Move staged figures/tables into reports/ and drop the files this report wrote last time
    but not this time (`owned_prefixes` are the report's own paths, relative to reports/).
    Returns the moved files, relative to reports/."""
    new = {p.relative_to(stage) for p in stage.rglob("*") if p.is_file()}
    for rel in sorted(new):
        dest = reports / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / rel, dest)
    for prefix in owned_prefixes:
        base = reports / prefix
        candidates = base.rglob("*") if base.is_dir() else base.parent.glob(base.name + "*")
        for p in list(candidates):
            if p.is_file() and p.relative_to(reports) not in new:
                p.unlink()
    return [str(rel) for rel in sorted(new)]


def build_report(kind: str, study_id: str | None, html_out: Path, *, root: Path, build_dir: Path) -> int:
    """Execute notebooks/<kind>.ipynb and write its HTML page (and figures and tables) atomically."""
    name = study_id or "pooled"
    reports = html_out.parent
    inputs = stamps.inputs_now(html_out.name, root=root, reports=reports)  # before anything is read
    notebook = root / "notebooks" / f"{kind}.ipynb"
    stage = build_dir / "stage" / name
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "figures").mkdir(parents=True)
    (stage / "tables").mkdir(parents=True)
    sentinel = stage / ".staged-by-this-step"  # gone if the build folder is removed meanwhile
    sentinel.touch()
    params = {"data_dir": DATA_DIR, "output_dir": os.path.relpath(stage, root),
              "results_dir": os.path.relpath(build_dir / RESULTS, root)}
    if study_id:
        params["study_id"] = study_id
    t0 = time.perf_counter()
    try:
        nb = execute(notebook, build_dir / f"{name}.ipynb", params, cwd=root)
    except NotebookFailed as e:
        progress(name, "FAILED", time.perf_counter() - t0)
        print(f"[cartpool] {e}", file=sys.stderr)
        return 1
    progress(name, "notebook", time.perf_counter() - t0)
    for text in _stderr_of(nb):  # warnings stay off the page but reach the build's log
        print(text.rstrip("\n"), file=sys.stderr)
    t1 = time.perf_counter()
    if study_id:
        title = _study_title(study_id)
        nav = [("Index", "index.html"), ("Pooled comparison", "pooled.html"),
                ("This study in the pooled table", f"pooled.html#study-{study_id}")]
    else:
        from ..report.pooled_page import TITLE as title
        nav = [("Index", "index.html"), ("Pooled comparison", "pooled.html")]
    page = render_html(nb, title=title, nav=nav, running_title=title.replace(" — ", " · "))
    if not sentinel.exists():
        progress(name, "FAILED", time.perf_counter() - t1)
        print(f"[cartpool] {build_dir} was removed while {name} was built (make clean in another terminal?): "
              "its figures and tables are lost; run make reports again.", file=sys.stderr)
        return 1
    sentinel.unlink()
    owned = [f"figures/{name}", f"tables/{name}-"] if study_id else ["figures/pooled", "tables/pooled-"]
    # never an old PDF beside a newer page: it goes before the page changes (its step prints it anew)
    stamps.forget(build_dir, f"{name}.pdf")
    html_out.with_suffix(".pdf").unlink(missing_ok=True)
    written = _move_staged(stage, reports, owned)
    with atomic_write(html_out, encoding="utf-8") as fh:
        fh.write(page)
    shutil.rmtree(stage, ignore_errors=True)
    stamps.write_record(build_dir, html_out.name, inputs, reports, [*written, html_out.name])
    progress(name, "html", time.perf_counter() - t1)
    return 0


def _stderr_of(nb) -> list[str]:
    """What the notebook's cells wrote to stderr (such as a figure's missing glyphs), once each."""
    seen: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                if text.strip() and text not in seen:
                    seen.append(text)
    return seen


def _study_title(study_id: str) -> str:
    """A study page's title from its data: the paper's title and the study's label (never its id)."""
    from ..data.yamlio import read_study_text

    folder = Path(DATA_DIR) / study_id
    return f"{read_study_text(folder, 'title')} — {read_study_text(folder, 'label')}"


def build_index(out: Path, *, with_pdf: bool, build_dir: Path = Path("build")) -> int:
    from ..report.index import index_page

    t0 = time.perf_counter()
    inputs = stamps.inputs_now(out.name, root=Path.cwd(), reports=out.parent, with_pdf=with_pdf)
    studies = load_all(DATA_DIR)
    page = index_page(studies, with_pdf=with_pdf, tables=out.parent / "tables")
    with atomic_write(out, encoding="utf-8") as fh:
        fh.write(page)
    gone, stale = remove_outputs_of_removed_studies(out.parent, build_dir, {s.study.id for s in studies})
    for name in gone:
        progress(name, "removed", None, "its folder is gone from data/studies: its page, PDF, figures and tables too")
    for path in stale:
        progress("reports", "removed", None, f"{path}: no step of this build writes it (left by an older build)")
    stamps.write_record(build_dir, out.name, inputs, out.parent, [out.name])
    progress("index", "html", time.perf_counter() - t0)
    return 0


def remove_outputs_of_removed_studies(reports: Path, build_dir: Path,
                                      studies: set[str]) -> tuple[list[str], list[str]]:
    """A study folder that was removed leaves nothing behind: its page and PDF, its figures
    (``figures/<id>/``), its tables (``tables/<id>-*.csv``), and in the build folder its records and
    executed notebooks. The reports folder is swept of every file no step writes
    (`remove_files_no_step_writes`); the pages among them name the removed studies. Returns the ids
    whose outputs were removed, and the other files removed (left by an older build)."""
    keep = studies | {"pooled", "index"}
    removed = remove_files_no_step_writes(reports, studies)
    # a removed page, PDF or figures folder names its study
    gone = {_page_of(r) for r in removed if "/" not in r and Path(r).suffix in (".html", ".pdf")
            or r.startswith("figures/") and not Path(r).suffix}
    for record in sorted((Path(build_dir) / stamps.RECORDS).glob("*.*.json")):
        name, kind = record.name.removesuffix(".json").rsplit(".", 1)
        if kind in ("html", "pdf") and name not in keep:
            gone.add(name)
            stamps.forget(build_dir, f"{name}.{kind}")
    for name in gone:
        for nb in (f"{name}.ipynb", f"{name}.failed.ipynb"):
            (Path(build_dir) / nb).unlink(missing_ok=True)
    stale = [r for r in removed if _page_of(r) not in gone]
    return sorted(gone), stale


def _page_of(path: str) -> str:
    """The page a file of the reports folder belongs to, by its name: ``<page>.html``, ``<page>.pdf``,
    ``figures/<page>/``, ``tables/<page>-*.csv`` (ids hold no "-")."""
    folder, _, name = path.rpartition("/")
    if folder == "tables":
        return name.split("-", 1)[0]
    return name if folder == "figures" else Path(name).stem


def remove_files_no_step_writes(reports: Path, studies: set[str]) -> list[str]:
    """Files in the reports folder that no step of this build writes, such as a table an older version
    named differently, so that nothing stale is read as current. A step owns ``<page>.html``,
    ``<page>.pdf``, ``figures/<page>/`` and ``tables/<page>-*.csv`` (`build_report`); a hidden file
    (a step's temporary file, renamed over its target when complete) is left alone. Returns the
    paths removed, relative to `reports`."""
    pages = studies | {"pooled", "index"}
    owned_dirs = {"figures", "tables"}
    removed: list[Path] = []
    for p in sorted(reports.iterdir()) if reports.is_dir() else []:
        if p.name.startswith("."):
            continue
        if (p.name not in owned_dirs if p.is_dir() else not (p.suffix in (".html", ".pdf") and p.stem in pages)):
            _remove(p)
            removed.append(p)
    for p in sorted((reports / "figures").iterdir()) if (reports / "figures").is_dir() else []:
        if not p.name.startswith(".") and not (p.is_dir() and p.name in pages):
            _remove(p)
            removed.append(p)
    for p in sorted((reports / "tables").iterdir()) if (reports / "tables").is_dir() else []:
        if not p.name.startswith(".") and not (p.is_file() and p.suffix == ".csv" and "-" in p.name
                                               and p.name.split("-", 1)[0] in pages):
            _remove(p)
            removed.append(p)
    return [str(p.relative_to(reports)) for p in removed]


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def build_pdfs(htmls: list[Path], build_dir: Path = Path("build")) -> int:
    """Print each page to PDF. Where the browser the build started with has gone (uninstalled
    mid-build), no PDF is printed and none is left beside its page: the step notes the page in
    ``build/pdfs-missing`` and lets the HTML finish; the build then says so and rewrites the
    index without PDF links (`engine.run_build`)."""
    from .pdf import HOW_TO_GET_PDFS, find_browser, html_to_pdf

    browser = find_browser()
    if browser is None and not os.environ.get("CARTPOOL_BROWSER"):
        print(f"[cartpool] {HOW_TO_GET_PDFS}", file=sys.stderr)
        return 1
    for h in htmls:
        t0 = time.perf_counter()
        inputs = stamps.inputs_now(h.stem + ".pdf", root=Path.cwd(), reports=h.parent)
        try:
            if browser is None:
                raise FileNotFoundError(os.environ.get("CARTPOOL_BROWSER"))
            html_to_pdf(h, h.with_suffix(".pdf"), browser=browser)
        except Exception as e:  # a browser crash names the page and stops the build
            if find_browser() is None:  # gone: the HTML goes on, the PDF is marked missing
                h.with_suffix(".pdf").unlink(missing_ok=True)
                stamps.forget(build_dir, h.stem + ".pdf")
                stamps.note_missing_pdf(build_dir, h.stem)
                progress(h.stem, "no pdf", time.perf_counter() - t0, "the browser has gone")
                continue
            progress(h.stem, "FAILED", time.perf_counter() - t0)
            print(f"[cartpool] {e}", file=sys.stderr)
            return 1
        stamps.write_record(build_dir, h.stem + ".pdf", inputs, h.parent, [h.stem + ".pdf"])
        progress(h.stem, "pdf", time.perf_counter() - t0)
    return 0


def known_studies() -> list[str]:
    return study_ids(DATA_DIR)

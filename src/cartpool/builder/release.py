"""``make release``: record the current state of the review as a release (`cartpool.data.releases`).

A release is recorded only from a checked and current build: the data must pass validation and
every report must be up to date by content (`cartpool.builder.stamps.plan`), so that the release
says exactly what the pages say. It refuses where nothing changed since the latest release, and
never replaces a release file. The release's numbers are the analysis's own, and its conclusion
sentences are the bottom line the pooled report wrote (``tables/pooled-bottom-line.csv``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import stamps

DATA_DIR = Path("data")


def _say(text: str, *, error: bool = False) -> None:
    print(f"[cartpool] {text}", file=sys.stderr if error else sys.stdout, flush=True)


def build_version(root: Path) -> str:
    """The build's version: the git commit of the checkout (with a note where files differ from it),
    else the package's version."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    if commit:
        return f"git {commit}" + (" with uncommitted changes" if dirty else "")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"cartpool {version('cartpool')}"
    except PackageNotFoundError:
        return "cartpool (version unknown)"


def record_release(*, root: Path, reports: Path, build_dir: Path, with_pdf: bool, note: str = "") -> int:
    """Record a release (see the module docstring); returns the exit status."""
    import pandas as pd

    from ..data.dates import build_date
    from ..data.errors import StudyDataError
    from ..data.releases import (
        file_fingerprint,
        load_releases,
        next_release_path,
        release_files,
        write_release,
    )
    from . import pipeline

    root, reports, build_dir = Path(root), Path(reports), Path(build_dir)
    if pipeline.validate(str(root / DATA_DIR / "studies")) != 0:
        _say("no release recorded: the data do not pass validation (above). Fix them, run make reports, "
             "then make release.", error=True)
        return 1
    p = stamps.plan(root, reports, build_dir, with_pdf=with_pdf)
    stale = p.problems or [f"{s} ({p.why[s]})" for s in p.stale]
    if stale:
        _say("no release recorded: the reports are not up to date with the data, so a release would not say "
             f"what the pages say ({len(stale)} stale: {', '.join(stale[:6])}{' ...' if len(stale) > 6 else ''}). "
             "Run make reports, then make release.", error=True)
        return 1
    data_dir = root / DATA_DIR
    try:
        releases = load_releases(data_dir)
    except StudyDataError as e:
        _say("no release recorded: the releases already recorded are not valid:", error=True)
        for issue in e.issues:
            print(f"  data/{issue}", file=sys.stderr)
        return 1
    from ..analysis.appraisal import Appraisal
    from ..analysis.living import estimate_changes, new_release, study_changes
    from ..analysis.pooled_analysis import PooledAnalysis

    analysis = PooledAnalysis.load(str(data_dir / "studies"))
    appraisal = Appraisal(analysis, data_dir)
    bottom = reports / "tables" / "pooled-bottom-line.csv"
    bottom_line = pd.read_csv(bottom, keep_default_na=False) if bottom.is_file() else None
    date = build_date()
    latest = release_files(data_dir)[-1] if releases else None
    if releases and date < releases[-1].date:
        _say(f"no release recorded: the build's date ({date.isoformat()}) is before release {releases[-1].release} "
             f"({releases[-1].date.isoformat()}); check the clock or SOURCE_DATE_EPOCH.", error=True)
        return 1
    release = new_release(analysis, appraisal, bottom_line, number=len(releases) + 1, date=date,
                          version=build_version(root), previous=file_fingerprint(latest) if latest else None,
                          note=" ".join(note.split()))
    if releases:
        studies = study_changes(releases[-1].studies, analysis)
        estimates = estimate_changes(releases[-1].estimates, release.estimates)
        if studies.empty and estimates.empty:
            _say(f"no release recorded: nothing changed since release {releases[-1].release} "
                 f"({releases[-1].date.isoformat()}): the same studies with the same data, and the same estimates.")
            return 1
    path = next_release_path(data_dir, date)
    try:
        write_release(path, release)
    except FileExistsError:
        _say(f"no release recorded: {path.relative_to(root)} exists, and a release is never rewritten.", error=True)
        return 1
    _say(f"release {release.release} recorded in {path.relative_to(root)}: {len(release.studies)} studies, "
         f"{len(release.estimates)} primary estimates, version {release.version}.")
    _say(f"commit it (git add {path.relative_to(root)}), and run make reports: What's new then compares the data "
         "with this release.")
    return 0

"""Releases of the review: dated records of what it said, kept as data and never rewritten.

``data/releases/`` holds one YAML file per release, written by ``make release``
(`cartpool.builder.release`) and committed. A release records:

* the release's number, its date, the build's version (the git commit, or the package version
  where the checkout is not a git repository), the date of the analysis plan in force, and the
  fingerprint of the release before it (so that an earlier release edited afterwards is caught);
* every included study with its label, citation, publication date and data fingerprint: a
  content hash of every file of its folder, and one per part (each fact of ``study.yaml``, each
  record of ``results.yaml`` by its id, each other file), so that the next release can say which
  records changed;
* every primary estimate (each outcome in each population of the plan, by the main analysis) with
  its rule, number of studies and patients, the estimate and its 95% interval, each study's own
  value where the studies are not pooled, and for the summary-of-findings rows the certainty shown
  and the bottom-line sentence.

The file is named by its date (``2026-12-08.yaml``; a second release on one day is
``2026-12-08-2.yaml``). `load_releases` validates every file and the chain between them, with
messages that name the file, the field and what to do; `write_release` creates a new file and
refuses to replace one.

References
----------
.. [1] Cochrane. Guidance for the production and publication of Cochrane living systematic reviews:
   Cochrane Reviews in living mode, version December 2019, section 4.4 (the What's New table and
   the version history).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DataIssue, StudyDataError
from .yamlio import pydantic_issues, read_yaml

RELEASES_DIR = "releases"
#: A release file's name: its date, and a number after it for a second release on one day.
FILE_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:-(\d+))?\.yaml$")
#: Digits of SHA-256 kept in a fingerprint.
FINGERPRINT_DIGITS = 12
#: Digits kept of a proportion written into a release (0.0001 percentage point).
DIGITS = 6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReleasedStudy(_Strict):
    """One included study as the release saw it."""

    id: str = Field(min_length=1)
    label: str = Field(min_length=1)
    citation: str = Field(min_length=1)
    published: str | None = None  # the publication date as recorded in study.yaml, or none
    fingerprint: str = Field(pattern=r"^[0-9a-f]{12}$")
    parts: dict[str, str] = {}  # "fact:<field>", "result:<id>", "file:<name>" -> fingerprint


class StudyValue(_Strict):
    """One study's own value in an estimate's row (kept where the row's studies are not pooled)."""

    study: str = Field(min_length=1)
    events: int | None = None
    events_high: int | None = None
    patients: int | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class ReleasedEstimate(_Strict):
    """One primary estimate: an outcome in a population of the plan, by the main analysis."""

    outcome: str = Field(min_length=1)
    outcome_label: str = Field(min_length=1)
    population: str = Field(min_length=1)  # the plan population's id
    population_label: str = Field(min_length=1)
    role: str = Field(pattern=r"^(primary|context)$")
    in_summary: bool = False  # a row of the summary of findings
    rule: str = Field(min_length=1)
    k: int = Field(ge=0)
    patients: int = Field(ge=0)
    events: int | None = None
    events_high: int | None = None
    estimate: float | None = None
    estimate_high: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    studies: list[StudyValue] = []
    certainty: str = ""  # the certainty the page showed (summary-of-findings rows)
    sentence: str = ""  # the bottom line's sentence (rows of the summary of findings)

    @property
    def key(self) -> tuple[str, str]:
        return self.outcome, self.population


class Release(_Strict):
    """One release of the review."""

    release: int = Field(ge=1)
    date: _dt.date
    version: str = Field(min_length=1)
    plan_date: _dt.date
    previous: str | None = None  # the fingerprint of the release before it (its file's bytes)
    note: str = ""
    studies: list[ReleasedStudy]
    estimates: list[ReleasedEstimate]

    @field_validator("date", "plan_date", mode="before")
    @classmethod
    def _iso(cls, v):
        if isinstance(v, str):
            try:
                return _dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"write the date as year-month-day, for example 2026-12-08; found {v!r}") from None
        return v


# --- fingerprints ----------------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:FINGERPRINT_DIGITS]


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode("utf-8")


def folder_files(folder: Path) -> list[Path]:
    """Every file of a study folder, sorted (hidden files and caches are not data)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        out += [Path(dirpath) / f for f in filenames if not f.startswith(".")]
    return sorted(out)


def study_fingerprint(folder: Path | str) -> str:
    """A study's data fingerprint: 12 hex digits of SHA-256 over every file of its folder (each
    file's path inside the folder and the SHA-256 of its bytes), so that any change to any file
    gives another fingerprint."""
    folder = Path(folder)
    h = hashlib.sha256()
    for p in folder_files(folder):
        h.update(f"{p.relative_to(folder).as_posix()}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()[:FINGERPRINT_DIGITS]


def part_fingerprints(folder: Path | str) -> dict[str, str]:
    """A fingerprint per part of a study folder: each top-level field of ``study.yaml``
    (``fact:<field>``), each record of ``results.yaml`` (``result:<id>``), and each other file
    (``file:<name>``). Fields and records are compared by their values, so that a comment or a
    reordering changes the folder's fingerprint but not a part's."""

    folder = Path(folder)
    out: dict[str, str] = {}
    for p in folder_files(folder):
        rel = p.relative_to(folder).as_posix()
        raw = read_yaml(p, []) if rel in ("study.yaml", "results.yaml") else None
        if rel == "study.yaml" and isinstance(raw, dict):
            out.update({f"fact:{k}": _digest(_canonical(v)) for k, v in raw.items()})
        elif rel == "results.yaml" and isinstance(raw, list):
            for i, rec in enumerate(raw, start=1):
                rid = rec.get("id") if isinstance(rec, dict) else None
                out[f"result:{rid if isinstance(rid, str) else f'#{i}'}"] = _digest(_canonical(rec))
        else:
            out[f"file:{rel}"] = _digest(p.read_bytes())
    return dict(sorted(out.items()))


def file_fingerprint(path: Path | str) -> str:
    """The fingerprint of a release file (its bytes), which the next release records."""
    return _digest(Path(path).read_bytes())


# --- reading --------------------------------------------------------------------------------------


def release_files(data_dir: Path | str) -> list[Path]:
    """The release files of a data folder in the order they were recorded (date, then number)."""
    d = Path(data_dir) / RELEASES_DIR
    if not d.is_dir():
        return []
    named = []
    for p in d.iterdir():
        m = FILE_PATTERN.match(p.name)
        if m and p.is_file():
            named.append(((m.group(1), int(m.group(2) or 1)), p))
    return [p for _, p in sorted(named)]


def load_releases(data_dir: Path | str) -> list[Release]:
    """Read and validate every release in ``<data_dir>/releases/``, oldest first.

    Parameters
    ----------
    data_dir : path
        The data folder (the one above ``studies/``).

    Returns
    -------
    list of Release
        Empty where no release has been recorded.

    Raises
    ------
    StudyDataError
        With every problem, each naming the file and field: a file that is not a release, numbers
        that are not 1, 2, 3 ... in date order, a date that does not match the file name, and a
        release whose file was changed after the next release recorded its fingerprint.
    """
    d = Path(data_dir) / RELEASES_DIR
    issues: list[DataIssue] = []
    if d.is_dir():
        for p in sorted(d.iterdir()):
            if not p.name.startswith(".") and not FILE_PATTERN.match(p.name):
                issues.append(DataIssue(f"{RELEASES_DIR}/{p.name}", "", "is not a release: a release file is named "
                                        "by its date, for example 2026-12-08.yaml, and written by make release; "
                                        "move other files out of data/releases/"))
    releases: list[Release] = []
    files = release_files(data_dir)
    for p in files:
        name = f"{RELEASES_DIR}/{p.name}"
        file_issues: list[DataIssue] = []
        raw = read_yaml(p, file_issues)
        issues += [DataIssue(name, i.where, i.problem) for i in file_issues]
        if file_issues:
            continue
        if not isinstance(raw, dict):
            issues.append(DataIssue(name, "", "must be a block of fields (release, date, version, studies, "
                                    "estimates); releases are written by make release, never by hand"))
            continue
        try:
            releases.append(Release.model_validate(raw))
        except ValidationError as e:
            issues += [DataIssue(name, x.where, x.problem) for x in pydantic_issues(name, e)]
    if issues:
        raise StudyDataError(issues)
    for i, (p, r) in enumerate(zip(files, releases, strict=True), start=1):
        name = f"{RELEASES_DIR}/{p.name}"
        if r.release != i:
            issues.append(DataIssue(name, "release", f"is {r.release}, but it is release {i} in date order; "
                                    "releases are numbered 1, 2, 3 ... as make release writes them; restore the "
                                    "file from version control"))
        if FILE_PATTERN.match(p.name).group(1) != r.date.isoformat():
            issues.append(DataIssue(name, "date", f"{r.date.isoformat()} is not the date in the file's name; a "
                                    "release is never edited: restore the file from version control"))
        if i > 1:
            before = files[i - 2]
            if r.previous != file_fingerprint(before):
                issues.append(DataIssue(f"{RELEASES_DIR}/{before.name}", "",
                                        f"was changed after release {i} recorded it (fingerprint "
                                        f"{file_fingerprint(before)}, recorded {r.previous}); a release is never "
                                        "rewritten: restore it from version control"))
    if issues:
        raise StudyDataError(issues)
    return releases


# --- writing --------------------------------------------------------------------------------------


def _rounded(value):
    if isinstance(value, float):
        return round(value, DIGITS)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def release_text(release: Release) -> str:
    """A release as the YAML text its file holds (floats to `DIGITS` decimals; dates as ISO text)."""
    import yaml

    data = _rounded(release.model_dump(mode="json"))
    head = (f"# Release {release.release} of the review, recorded by make release on {release.date.isoformat()}.\n"
            "# A release is data: never edit or rewrite it (the next release records its fingerprint).\n"
            "# Format: data/README.md, \"Releases\".\n")
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)


def next_release_path(data_dir: Path | str, date: _dt.date) -> Path:
    """Where a release recorded on `date` goes: ``<date>.yaml``, or ``<date>-2.yaml`` ... where a
    release of that day exists."""
    d = Path(data_dir) / RELEASES_DIR
    path = d / f"{date.isoformat()}.yaml"
    n = 1
    while path.exists():
        n += 1
        path = d / f"{date.isoformat()}-{n}.yaml"
    return path


def write_release(path: Path | str, release: Release) -> Path:
    """Create the release file `path`; never replaces a file (a release is never rewritten).

    Raises
    ------
    FileExistsError
        Where the file exists.
    """
    import tempfile

    path = Path(path)
    if path.exists():
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(release_text(release))
        os.link(tmp, path)  # complete or absent, and never over an existing file (link refuses one)
    finally:
        os.unlink(tmp)
    return path

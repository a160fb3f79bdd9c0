"""Curator-facing validation errors.

Every problem found in a study folder becomes one `DataIssue`: the file, the place in it
(field path or row), and a plain-language description. `StudyDataError` carries a list of
them so that one run reports everything wrong with a folder, not only the first thing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataIssue:
    file: str
    where: str
    problem: str

    def __str__(self) -> str:
        place = f" ({self.where})" if self.where else ""
        return f"{self.file}{place}: {self.problem}"


class StudyDataError(Exception):
    """Raised when one or more study files are invalid. `issues` lists every problem found."""

    def __init__(self, issues: list[DataIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class UnknownStudyError(StudyDataError):
    """Raised when a study id names no folder under the data directory."""

"""What a reader sees on a page, and the words a reader should never see there (standard 9).

Shared by the tests of the real reports (`test_reading.py`) and of pages built from fixtures."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

# words a reader should never see: source file names, data and code files, record and column keys
# (snake_case, dotted or "ae:"-prefixed), check ids. A study id is a folder name: one with "_"
# (karmma_3) is caught as a key.
IDENTIFIER = re.compile(
    r"\b\d{3}_[0-9a-f]{16}\b"                              # a source document's file name
    r"|\b[\w-]+\.(?:txt|ya?ml|json|csv|py|ipynb|j2)\b"      # a data or code file
    r"|\b[a-z][a-z0-9]*_[a-z0-9_]+\b"                      # snake_case key or check id
    r"|\b(?:study|result|patients?|audit|record)\.[a-z_]+\b"  # dotted record key
    r"|\b[a-z]{2,}:[A-Za-z_]\w*"                           # prefixed column key (ae:Neutropenia)
    r"|\bR type \d\b|\bhazen\b|the repository's tests|\bnan\b")
# The one kind of file a page may name, and so the one place a study id may appear on a page
# (README, "What you get": `reports/tables/<study>-<table>.csv`): the CSV beside the page, where the
# printed version sends the reader.
ALLOWED = re.compile(r"\btables/[\w-]+\.csv\b")


class VisibleText(HTMLParser):
    """The text a reader can see or hear: element text (the page title included) and the title, alt
    and aria-label attributes (styles, scripts and the image data are not read)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in ("title", "alt", "aria-label") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: Path | str) -> str:
    """The visible text of an HTML page (a file or its text)."""
    parser = VisibleText()
    parser.feed(html.read_text(encoding="utf-8") if isinstance(html, Path) else html)
    return "\n".join(parser.parts)


def offenders(text: str) -> list[str]:
    """The internal names in `text`, outside the table file names a page may give."""
    return sorted({m.group(0) for m in IDENTIFIER.finditer(ALLOWED.sub(" ", text))})

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


# --- numbers and their sources (issue 30: every number in a table shows its source) ---------------


class TableCells(HTMLParser):
    """Every body cell of every table of a page: its table's caption, its column's header, whether the
    header marks a column of words (``th.cp-text``) or the cell itself holds words (``td.cp-text``, a
    row of words in a table of facts), the cell's text outside its sourced numbers (``span.cp-src``,
    with their tooltips), footnote marks (``sup``) and words inside it (``span.cp-text``, a
    population's name "Group 1"), and the tooltip of each
    sourced number in it (with whether it is marked as computed by the report)."""

    def __init__(self):
        super().__init__()
        self.cells: list[dict] = []
        self._table: dict | None = None
        self._where = ""  # caption | th | td
        self._cell: dict | None = None
        self._skip = 0  # inside a sourced number or a footnote mark: its text is not bare
        self._span = 0  # span depth inside the sourced number being read
        self._tip: list[str] | None = None
        self._tips: list[tuple[bool, list[str]]] = []
        self._section = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "table":
            self._table = {"caption": "", "heads": [], "words": [], "row": 0}
        elif self._table is None:
            return
        elif tag == "caption":
            self._where = "caption"
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "th" and self._section == "thead":
            self._where = "th"
            self._table["heads"].append("")
            self._table["words"].append("cp-text" in classes)
        elif tag == "tr" and self._section == "tbody":
            self._table["row"] += 1
            self._col = -1
        elif tag in ("td", "th") and self._section == "tbody":
            self._col += 1
            self._where = "td"
            heads = self._table["heads"]
            self._cell = {"caption": self._table["caption"].strip(), "row": self._table["row"], "column":
                          heads[self._col] if self._col < len(heads) else "", "words": "cp-text" in classes or
                          (self._col < len(heads) and self._table["words"][self._col]), "bare": "", "tips": []}
        elif self._cell is not None:
            if self._span:  # inside a sourced number: its tooltip, or a nested span
                self._span += tag == "span"
                if "cp-tip" in classes:
                    self._tip = []
            elif tag == "span" and "cp-src" in classes:
                self._span = 1
                self._cell["tips"].append({"computed": "cp-computed" in classes, "text": ""})
            elif tag == "sup" or (tag == "span" and "cp-text" in classes):
                self._skip += 1

    def handle_endtag(self, tag):
        if self._table is None:
            return
        if tag == "table":
            self._table = None
        elif tag == "caption" or (tag == "th" and self._where == "th"):
            self._where = ""
        elif tag in ("td", "th") and self._cell is not None:
            self.cells.append(self._cell)
            self._cell, self._where = None, ""
        elif self._cell is not None:
            if self._span and tag == "span":
                self._span -= 1
                if self._tip is not None and self._span == 1:
                    self._cell["tips"][-1]["text"] = "".join(self._tip)
                    self._tip = None
            elif tag in ("sup", "span") and self._skip:
                self._skip -= 1

    def handle_data(self, data):
        if self._table is None:
            return
        if self._where == "caption":
            self._table["caption"] += data
        elif self._where == "th":
            self._table["heads"][-1] += data
        elif self._cell is not None:
            if self._tip is not None:
                self._tip.append(data)
            elif not self._span and not self._skip:
                self._cell["bare"] += data


def table_cells(html: Path | str) -> list[dict]:
    """Every body cell of every table of a page (`TableCells`)."""
    parser = TableCells()
    parser.feed(html.read_text(encoding="utf-8") if isinstance(html, Path) else html)
    return parser.cells


def unsourced_numbers(html: Path | str, labels) -> list[tuple[str, str, str]]:
    """The cells of a page's tables that show a number with neither its source nor its derivation:
    (caption, column, text) of each cell, outside a column of words, with a digit outside its
    sourced numbers and footnote marks once the study labels (`labels`, which may hold digits:
    "Hu 2026") are taken out."""
    out = []
    for c in table_cells(html):
        bare = c["bare"]
        for label in sorted(labels, key=len, reverse=True):
            bare = bare.replace(label, "")
        if not c["words"] and re.search(r"\d", bare):
            out.append((c["caption"][:80], c["column"], " ".join(c["bare"].split())[:120]))
    return out


def source_problems(html: Path | str, labels) -> list[str]:
    """Everything that keeps a page's tables from showing where their numbers come from: a number
    with neither its source nor its derivation (`unsourced_numbers`); a number marked as computed by
    the report whose tooltip does not say how ("Computed by this report: ..."); a number taken from a
    paper whose tooltip gives neither a verbatim quote nor the per-patient table it was counted from;
    a footnote number that links to no entry of the page's sources list."""
    text = html.read_text(encoding="utf-8") if isinstance(html, Path) else html
    problems = [f"no source: {u}" for u in unsourced_numbers(text, labels)]
    for c in table_cells(text):
        for tip in c["tips"]:
            words = " ".join(tip["text"].split())
            if tip["computed"] and not re.match(r"Computed by this report: \w.{10,}", words):
                problems.append(f"computed without its derivation: {c['caption'][:60]}: {words[:100]}")
            if not tip["computed"] and "“" not in words and "per-patient table" not in words:
                problems.append(f"no quote and no table: {c['caption'][:60]}: {words[:100]}")
    ids = set(re.findall(r'\bid="(src-\d+)"', text))
    problems += [f"footnote #{n} leads nowhere" for n in sorted(set(re.findall(r'href="#(src-\d+)"', text)) - ids)]
    return problems

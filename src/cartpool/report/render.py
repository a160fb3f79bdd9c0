"""Rendering machinery shared by every page: the Jinja2 environment (autoescape on), fragments a
notebook displays, figures embedded inline as SVG, CSV files written straight from analysis frames, and
citations that link each number to its source.

Markup is built here and in the templates only; text from data is always escaped by Jinja2.
"""

from __future__ import annotations

import base64
import contextlib
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from markupsafe import Markup, escape

from .. import formatting as fmt
from ..plots.export import figure_file

TEMPLATES = Path(__file__).parent / "templates" / "sections"


class Fragment(Markup):
    """A piece of a page that Jupyter displays as HTML (and nbconvert renders as such)."""

    def _repr_html_(self) -> str:
        return str(self)


_ENV = None


def env():
    """The Jinja2 environment of the section templates (autoescape on, strict undefined)."""
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=False)
        _ENV.filters.update(pct=fmt.pct, ci=fmt.ci, pct_ci=fmt.pct_ci, months=fmt.months, count=fmt.count,
                            p_value=fmt.p_value, number=fmt.number, number_words=fmt.number_words,
                            too_few=fmt.too_few_words)
        _ENV.globals.update(MISSING=fmt.MISSING_TEXT)
    return _ENV


def render(template: str, **context) -> Fragment:
    """Render a section template to a fragment."""
    return Fragment(env().get_template(template).render(**context))


# --- citations ---------------------------------------------------------------------------------


@dataclass
class Citations:
    """The sources of the numbers on one page: each cited once, numbered, and listed at the end.

    `source` names the page's document as a citation ("Hu 2026, Haematologica"), never by file
    name; a page that cites several documents (the pooled page) names each entry's own (`source=`).
    `tip` is the one wording of a source that a reader sees on hover or focus, in a table's tooltip
    and in a figure row's <title> alike.
    """

    source: str
    several: bool = False  # the page cites several studies: a record's key carries its study's id
    entries: list[dict] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def ref(self, key: str, what: str, location: str, quote: str, note: str = "", source: str | None = None) -> int:
        if key not in self._index:
            self.entries.append({"n": len(self.entries) + 1, "source": self.source if source is None else source,
                                 "what": what, "location": location, "quote": quote, "note": note})
            self._index[key] = len(self.entries)
        return self._index[key]

    def tip(self, n: int) -> str:
        """Source `n` in words: the document, where in it, the verbatim quote and any note."""
        e = self.entries[n - 1]
        text = f"{e['source']}, {e['location']}" + (f": “{e['quote']}”" if e["quote"] else ".")
        return text + (f" Note: {e['note']}" if e["note"] else "")

    @staticmethod
    def marks(ns) -> Markup:
        """Footnote numbers that link to the sources list."""
        return Markup("").join(Markup('<sup class="cp-fn"><a href="#src-{0}" aria-label="source {0}">[{0}]</a></sup>')
                               .format(n) for n in ns)

    def cite(self, text, *, key: str, what: str, location: str, quote: str, note: str = "",
             source: str | None = None) -> Markup:
        """`text` with its source on hover or keyboard focus, and a footnote number that links to
        the sources list."""
        n = self.ref(key, what, location, quote, note, source)
        return self.shown(text, self.tip(n), [n])

    def shown(self, text, words: str, ns=(), *, computed: bool = False) -> Markup:
        """`text` with `words` on hover or keyboard focus (its source, or how it was derived), and the
        footnote numbers `ns` of the sources it rests on. `computed` marks a number this report
        computed rather than took from a paper (a pooled estimate, a sum, a count of checks): its
        words say how, and its inputs' numbers lead to their sources."""
        cls = "cp-src cp-computed" if computed else "cp-src"
        return Markup('<span class="{}" tabindex="0">{}<span class="cp-tip" role="tooltip">{}</span></span>{}').format(
            cls, text, words, self.marks(ns))

    def derived(self, text, how: str, ns) -> Markup:
        """`text` taken from (or worked out from) the sources `ns`: on hover or focus, how (`how`, a
        sentence), then each source with its quote."""
        words = " ".join([how.strip()] + [(f"[{n}] " if len(ns) > 1 else "") + self.tip(n) for n in ns])
        return self.shown(text, words, ns)

    def record_ref(self, sd, rid: str, source: str | None = None) -> int:
        """The number of the printed record `rid` of study `sd` (cited now if it is new)."""
        from . import labels

        r = sd.result(rid)
        key = f"r:{sd.study.id}:{rid}" if self.several else f"r:{rid}"
        return self.ref(key, labels.record(sd, r), r.location, r.quote, r.note or "", source)

    def record(self, sd, rid: str, text, source: str | None = None) -> Markup:
        """`text` cited to the printed record `rid` of study `sd`."""
        return self.records(sd, [rid], text, source)

    def records(self, sd, rids, text, source: str | None = None) -> Markup:
        """`text` cited to every record in `rids` (a ";"-joined string or a list); plain text if none."""
        ids = [i for i in (rids.split(";") if isinstance(rids, str) else rids) if i]
        if not ids:
            return Markup(escape(text))
        ns = [self.record_ref(sd, rid, source) for rid in ids]
        return self.shown(text, self.tip(ns[0]), ns)

    def fact_ref(self, sd, name: str, source: str | None = None) -> int | None:
        """The number of the sourced study fact `name` of study `sd` (its design, its PCL definition...),
        cited now if it is new; None where the study does not report it."""
        from ..analysis.study_analysis import FACTS
        from . import labels

        v = getattr(sd.study, name, None)
        if v is None or isinstance(v, str):
            return None
        key = f"f:{sd.study.id}:{name}" if self.several else f"f:{name}"
        return self.ref(key, dict(FACTS).get(name, labels.humanise(name)), v.location, v.quote, "", source)

    def co_intervention(self, sd, i: int, text, source: str | None = None) -> Markup:
        """`text` cited to the `i`-th treatment given with or after CAR-T that study `sd` records."""
        c = sd.study.co_interventions[i]
        key = f"c:{sd.study.id}:{i}" if self.several else f"c:{i}"
        return self.cite(text, key=key, what=c.description, location=c.location, quote=c.quote, source=source)

    def fact(self, sd, name: str, text, source: str | None = None) -> Markup:
        """`text` cited to the sourced study fact `name` of study `sd`; plain text where the study does
        not report it."""
        n = self.fact_ref(sd, name, source)
        return Markup(escape(text)) if n is None else self.shown(text, self.tip(n), [n])


# --- figures -----------------------------------------------------------------------------------

@dataclass
class Figures:
    """Numbers a page's figures and embeds them inline as SVG (PNG where an SVG would be too large,
    `cartpool.plots.export`); `write` saves each one under a folder, with a `figure-sizes.csv` that
    records each figure's format, size and smallest text (for the print check). Embedding writes
    nothing: the page's export step does."""

    folder: Path | None = None  # kept for callers that name a folder up front; `write` takes one too
    n: int = 0
    dpi: int = 110  # for a figure that falls back to PNG
    sizes: list[dict] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    store: object | None = None  # a ResultStore (`cartpool.analysis.store`): drawings kept by their inputs

    def embed(self, fig, *, name: str, alt: str, caption: str) -> dict:
        self.n += 1
        return self._embedded(figure_file(fig, name=name, id_prefix=f"f{self.n}-", alt=alt, dpi=self.dpi),
                              name, alt, caption)

    def draw(self, plot, *args, name: str, alt: str, caption: str, **kwargs) -> dict:
        """`embed(plot(*args, **kwargs), ...)`, with the drawing kept in the store by its inputs: where
        the same plot of the same inputs was drawn before (by the same code), its bytes are read back
        instead (what it said on the build's log, such as a missing glyph, is said again)."""
        if self.store is None:
            return self.embed(plot(*args, **kwargs), name=name, alt=alt, caption=caption)
        self.n += 1
        prefix = f"f{self.n}-"

        def drawn():
            log = io.StringIO()
            with contextlib.redirect_stderr(log):
                f = figure_file(plot(*args, **kwargs), name=name, id_prefix=prefix, alt=alt, dpi=self.dpi)
            return f, log.getvalue()

        f, said = self.store.kept("figures", name, (plot.__module__, plot.__qualname__, args, kwargs, prefix, alt,
                                                    self.dpi), drawn)
        if said:
            sys.stderr.write(said)
        return self._embedded(f, name, alt, caption)

    def _embedded(self, f, name: str, alt: str, caption: str) -> dict:
        file = f"{self.n:02d}-{name}.{f.kind}"
        self.sizes.append({"figure": self.n, "file": file, "format": f.kind, "width_in": round(f.width_in, 3),
                           "height_in": round(f.height_in, 3), "smallest_text_pt": f.smallest_text_pt})
        self.files.append((file, f.data))
        shown = ({"svg": Markup(f.svg), "src": None} if f.kind == "svg" else
                 {"svg": None, "src": "data:image/png;base64," + base64.b64encode(f.data).decode("ascii")})
        return {**shown, "alt": alt, "caption": f"Figure {self.n}. {caption}"}

    def write(self, folder: Path | None = None) -> None:
        """Save every embedded figure and figure-sizes.csv under `folder` (default: `self.folder`)."""
        folder = folder or self.folder
        if folder is None or not self.files:
            return
        folder.mkdir(parents=True, exist_ok=True)
        for file, data in self.files:
            (folder / file).write_bytes(data)
        write_csv(pd.DataFrame(self.sizes), folder / "figure-sizes.csv")


# --- tables ------------------------------------------------------------------------------------


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` as OWASP advises
    (a label "=HYPERLINK(...)" is then shown as text); numbers such as -1.5 are left as they are.

    References
    ----------
    .. [1] OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def write_csv(df: pd.DataFrame, path: Path | None) -> None:
    """Write an analysis frame as CSV (stable formatting, LF line endings). Straight from the
    frame: labels keep every character, nothing is unescaped from HTML; only a cell that would
    run as a spreadsheet formula is neutralised (`neutralise_cell`)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if texts or any(isinstance(c, str) and c.startswith(FORMULA_START) for c in df.columns):
        df = df.copy()
        for c in texts:
            df[c] = df[c].map(neutralise_cell)
        df.columns = [neutralise_cell(c) for c in df.columns]
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")


#: Entries of a sources list that one printed page holds (two columns of 8-pt text): each page's budget
#: allows one page per this many sources (`cartpool.report.study_page.page_budget`, `pooled_page.page_budget`).
SOURCES_PER_PAGE = 40

#: A table with more rows than this is long: on screen a reader can sort and filter it (the page's
#: script, report/tables.js), and in print it may break across pages.
LONG_TABLE_ROWS = 12


@dataclass
class Table:
    """A table for the `table` macro: column headers, rows of cells (text or Markup), right-aligned
    columns, optional row ids and classes.

    `csv` is the table's CSV file relative to the page (`SectionPage.csv_href`), linked from its
    caption; `csv_whole` says the file holds this table's rows as they are (else it holds the data
    the table is made from, with more columns or rows). `sortable` overrides the rule that long
    tables (`LONG_TABLE_ROWS`) can be sorted and filtered on screen.

    `words` names the columns that hold words rather than numbers from the studies (a row's label,
    an outcome's name, a note, a citation, a release's date): their cells carry no source, and their
    header says so (class ``cp-text``). Every other cell's numbers carry their source or their
    derivation on hover and focus (`Citations`).
    """

    caption: str
    columns: list[str]
    rows: list[list]
    numeric: set[str] = field(default_factory=set)
    row_ids: list[str] | None = None
    row_classes: list[str] | None = None
    compact: bool = False
    csv: str | None = None
    csv_whole: bool = True
    sortable: bool | None = None
    words: set[str] = field(default_factory=set)
    css_class: str = ""  # a class of its own for the stylesheet (the sources list prints as a list)
    tall: bool = False  # few rows but tall ones: in print it may break between rows as a long table does

    @property
    def long(self) -> bool:
        return len(self.rows) > LONG_TABLE_ROWS

    @property
    def kept_whole(self) -> bool:
        """Printed on one page (a short table), so that no page ends on a caption and a header alone."""
        return not (self.long or self.tall)

    @property
    def interactive(self) -> bool:
        """Sorted and filtered on screen: a long table, or one marked sortable."""
        return self.long if self.sortable is None else self.sortable

    @property
    def csv_text(self) -> str:
        """The words of the link to its CSV (never the file's name)."""
        return "Download this table (CSV)" if self.csv_whole else "Download its data (CSV)"


def cell(v):
    """A table cell: Markup stays as it is; None/NaN become the missing sign; the rest is text."""
    if isinstance(v, Markup):
        return v
    if fmt.is_missing(v):
        return fmt.MISSING_TEXT
    return str(v)

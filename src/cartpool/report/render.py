"""Rendering machinery shared by every page: the Jinja2 environment (autoescape on), fragments a
notebook displays, figures embedded inline as SVG, CSV files written straight from analysis frames, and
citations that link each number to its source.

Markup is built here and in the templates only; text from data is always escaped by Jinja2.
"""

from __future__ import annotations

import base64
import io
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from markupsafe import Markup, escape

from . import format as fmt

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
                            p_value=fmt.p_value, number=fmt.number)
        _ENV.globals.update(MISSING=fmt.MISSING_TEXT)
    return _ENV


def render(template: str, **context) -> Fragment:
    """Render a section template to a fragment."""
    return Fragment(env().get_template(template).render(**context))


# --- citations ---------------------------------------------------------------------------------


@dataclass
class Citations:
    """The sources of the numbers on one page: each cited once, numbered, and listed at the end.

    `source` names the document as a citation ("Hu 2026, Haematologica"), never by file name.
    """

    source: str
    entries: list[dict] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def ref(self, key: str, what: str, location: str, quote: str, note: str = "") -> int:
        if key not in self._index:
            self.entries.append({"n": len(self.entries) + 1, "what": what, "location": location, "quote": quote,
                                 "note": note})
            self._index[key] = len(self.entries)
        return self._index[key]

    def cite(self, text, *, key: str, what: str, location: str, quote: str, note: str = "") -> Markup:
        """`text` with its source on hover or keyboard focus, and a footnote number that links to
        the sources list."""
        n = self.ref(key, what, location, quote, note)
        tip = escape(f"{self.source}, {location}: “{quote}”" + (f" Note: {note}" if note else ""))
        return Markup(f'<span class="cp-src" tabindex="0">{escape(text)}<span class="cp-tip" role="tooltip">{tip}'
                      f'</span></span><sup class="cp-fn"><a href="#src-{n}" aria-label="source {n}">[{n}]</a></sup>')

    def record(self, sd, rid: str, text) -> Markup:
        """`text` cited to the printed record `rid` of study `sd`."""
        from . import labels

        r = sd.result(rid)
        return self.cite(text, key=f"r:{rid}", what=labels.record(sd, r), location=r.location, quote=r.quote,
                         note=r.note or "")

    def records(self, sd, rids, text) -> Markup:
        """`text` cited to every record in `rids` (a ";"-joined string or a list); plain text if none."""
        ids = [i for i in (rids.split(";") if isinstance(rids, str) else rids) if i]
        if not ids:
            return Markup(escape(text))
        out = self.record(sd, ids[0], text)
        for rid in ids[1:]:
            n = self.ref(f"r:{rid}", self._what(sd, rid), sd.result(rid).location, sd.result(rid).quote,
                         sd.result(rid).note or "")
            out += Markup(f'<sup class="cp-fn"><a href="#src-{n}" aria-label="source {n}">[{n}]</a></sup>')
        return out

    @staticmethod
    def _what(sd, rid):
        from . import labels

        return labels.record(sd, sd.result(rid))


# --- figures -----------------------------------------------------------------------------------

#: The fonts of every figure's text, in order: DejaVu Sans (the font matplotlib laid the text out
#: with), then the fallbacks for glyphs it lacks (plots/style.py), then any sans-serif. Named once on
#: each figure's <svg> element, and in the page's stylesheet (style.css, `figure.cp-figure svg`).
SVG_FONT_FAMILY = "'DejaVu Sans', 'Noto Sans CJK SC', 'Noto Sans CJK JP', 'Droid Sans Fallback', " \
                  "'Noto Sans Symbols2', 'Noto Sans Symbols', sans-serif"
#: A figure whose SVG is larger than this is embedded as PNG instead (an SVG of many thousands of
#: marks, such as a swimmer plot of hundreds of patients, is heavier and slower to print than its
#: picture). None of today's figures comes near it: the largest is a study's swimmer plot, about
#: 60 KB (docs/performance.md).
MAX_SVG_BYTES = 600_000

_SVG_DROP = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|<metadata>.*?</metadata>\s*", re.S)
_SVG_ID = re.compile(r' id="([^"]+)"')
_SVG_REF = re.compile(r'(url\(#|xlink:href="#)([^)"]+)')
# the default font list only (mathtext may name other fonts); it is machine-dependent (which
# fallbacks are installed), so it is written once as SVG_FONT_FAMILY instead
_SVG_FONT = re.compile(r"font-family: 'DejaVu Sans'(?:, '[^']*')*(?:; )?")
_SVG_STYLE_EMPTY = re.compile(r' style=""')
_SVG_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [^")]*\)"')
_SVG_INDENT = re.compile(r"\n[ \t]+")


def svg_markup(svg: str, prefix: str, label: str) -> str:
    """Matplotlib's SVG made fit to sit inline in a page, and byte-stable.

    The XML declaration, doctype and metadata go; ids nothing refers to go, and those a clip path,
    hatch or marker refers to get `prefix`, so two figures on one page never share an id. Each
    text's font list is named once, on the <svg> element; a text's zero rotation and the
    indentation go. The <svg> gets ``role="img"`` and the figure's description as its accessible
    name (`label`, escaped here).
    """
    svg = _SVG_DROP.sub("", svg)
    used = {m.group(2) for m in _SVG_REF.finditer(svg)}
    svg = _SVG_ID.sub(lambda m: f' id="{prefix}{m.group(1)}"' if m.group(1) in used else "", svg)
    svg = _SVG_REF.sub(lambda m: m.group(1) + prefix + m.group(2), svg)
    svg = _SVG_STYLE_EMPTY.sub("", _SVG_FONT.sub("", svg))
    svg = _SVG_INDENT.sub("\n", _SVG_NO_ROTATION.sub("", svg))  # a text's rotate(0) and the indentation
    # the text's own style names size, weight and colour; the font list is inherited from <svg>
    svg = svg.replace('<svg xmlns:xlink="http://www.w3.org/1999/xlink"',
                      f'<svg role="img" aria-label="{escape(label)}" font-family="{SVG_FONT_FAMILY}" '
                      'xmlns:xlink="http://www.w3.org/1999/xlink"', 1)
    # its own width as a custom property, for the stylesheet: on screen 1.146 times it (the 110 dpi the
    # PNG figures had), in print exactly it (style.css)
    svg = re.sub(r'(<svg[^>]*?) width="([\d.]+pt)"', r'\1 style="--w: \2" width="\2"', svg, count=1)
    return svg.strip() + "\n"


def _svg_size_in(svg: str) -> tuple[float, float]:
    """The width and height of a matplotlib SVG, in inches (it writes them in points)."""
    m = re.search(r'<svg[^>]* width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return float(m.group(1)) / 72, float(m.group(2)) / 72


@dataclass
class Figures:
    """Numbers a page's figures, embeds them inline as SVG (text kept as text, so it is sharp at any
    zoom, selectable, searchable and in the PDF's text layer) and saves each one under `folder`,
    with a `figure-sizes.csv` that records each figure's format, size and smallest text (for the
    print check). A figure whose SVG would exceed `MAX_SVG_BYTES` is embedded as PNG instead.

    The SVG is deterministic: `svg.hashsalt` is fixed (plots/style.py), no date or software is
    written, and ids are numbered by the figure's place on its page."""

    folder: Path | None
    n: int = 0
    dpi: int = 110  # for a figure that falls back to PNG
    sizes: list[dict] = field(default_factory=list)

    def embed(self, fig, *, name: str, alt: str, caption: str) -> dict:
        import matplotlib.pyplot as plt

        from ..plots.style import warn_missing_glyphs

        self.n += 1
        smallest = smallest_text_pt(fig)
        warn_missing_glyphs(fig, name)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
        svg = svg_markup(buf.getvalue(), f"f{self.n}-", alt)
        svg_bytes = svg.encode("utf-8")
        if len(svg_bytes) <= MAX_SVG_BYTES:
            plt.close(fig)
            width_in, height_in = _svg_size_in(svg)
            file, data, kind = f"{self.n:02d}-{name}.svg", svg_bytes, "svg"
            shown = {"svg": Markup(svg), "src": None}
        else:
            png = io.BytesIO()
            fig.savefig(png, format="png", dpi=self.dpi, bbox_inches="tight", metadata={"Software": None})
            plt.close(fig)
            data = png.getvalue()
            width_px, height_px = struct.unpack(">II", data[16:24])  # the PNG header's IHDR chunk
            width_in, height_in = width_px / self.dpi, height_px / self.dpi
            file, kind = f"{self.n:02d}-{name}.png", "png"
            shown = {"svg": None, "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii")}
        self.sizes.append({"figure": self.n, "file": file, "format": kind, "width_in": round(width_in, 3),
                           "height_in": round(height_in, 3), "smallest_text_pt": smallest})
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / file).write_bytes(data)
            write_csv(pd.DataFrame(self.sizes), self.folder / "figure-sizes.csv")
        return {**shown, "alt": alt, "caption": f"Figure {self.n}. {caption}"}


def smallest_text_pt(fig) -> float:
    """The smallest font size (points, at the figure's own size) of any visible, non-empty text."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return float(min(sizes)) if sizes else float("nan")


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


@dataclass
class Table:
    """A table for the `table` macro: column headers, rows of cells (text or Markup), right-aligned
    columns, optional row ids and classes."""

    caption: str
    columns: list[str]
    rows: list[list]
    numeric: set[str] = field(default_factory=set)
    row_ids: list[str] | None = None
    row_classes: list[str] | None = None
    compact: bool = False


def cell(v):
    """A table cell: Markup stays as it is; None/NaN become the missing sign; the rest is text."""
    if isinstance(v, Markup):
        return v
    if fmt.is_missing(v):
        return fmt.MISSING_TEXT
    return str(v)

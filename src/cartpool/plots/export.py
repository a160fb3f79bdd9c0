"""A drawn figure as the bytes a page embeds: inline SVG with its text kept as text (sharp at any
zoom, selectable, in the PDF's text layer), or PNG for a figure whose SVG would be too large; with its
size and its smallest text for the print check. The one place a page's figures meet matplotlib."""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
from markupsafe import escape
from matplotlib.text import Text

from .style import warn_missing_glyphs

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


_SVG_LINK = re.compile(r'<g id="(cp-row-\d+)">\s*<a xlink:href="([^"]*)" target="_blank">')


def attach_titles(fig, titles: Mapping[str, str]) -> None:
    """Give a figure's linked artists (by their gid, each drawn with `set_url`) the words a reader
    sees on hover and keyboard focus; `svg_markup` writes each as its link's <title>."""
    fig._cartpool_titles = dict(titles)


def _links(svg: str, titles: Mapping[str, str]) -> str:
    """Each linked artist of `titles` as a keyboard-focusable link in the page (not a new window),
    with its words as its <title>: the tooltip on hover, the accessible name, and what the page's
    script shows on focus (report/page.js, ``a[data-cp-src]``)."""
    def link(m: re.Match) -> str:
        title = titles.get(m.group(1))
        if title is None:
            return m.group(0)
        # SVG 2's href, not xlink:href: the link points into the page, not to an id inside the figure
        return (f'<g id="{m.group(1)}">\n<a href="{m.group(2)}" tabindex="0" data-cp-src="">'
                f"<title>{escape(title)}</title>")
    return _SVG_LINK.sub(link, svg)


def svg_markup(svg: str, prefix: str, label: str, titles: Mapping[str, str] | None = None) -> str:
    """Matplotlib's SVG made fit to sit inline in a page, and byte-stable.

    The XML declaration, doctype and metadata go; ids nothing refers to go, and those a clip path,
    hatch or marker refers to get `prefix`, so two figures on one page never share an id. Each
    text's font list is named once, on the <svg> element; a text's zero rotation and the
    indentation go. The <svg> gets ``role="img"`` and the figure's description as its accessible
    name (`label`, escaped here).
    """
    svg = _SVG_DROP.sub("", svg)
    svg = _links(svg, titles or {})
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


@dataclass(frozen=True)
class FigureFile:
    """A figure ready for a page: its format ("svg" or "png"), bytes, inline SVG text (SVG only),
    size in inches and smallest text in points (at its own size)."""

    kind: str
    data: bytes
    svg: str | None
    width_in: float
    height_in: float
    smallest_text_pt: float


def figure_file(fig, *, name: str, id_prefix: str, alt: str, dpi: int = 110) -> FigureFile:
    """Render and close a figure: SVG (deterministic: fixed hash salt, no date or software, ids
    prefixed per figure), or PNG at `dpi` where the SVG would exceed `MAX_SVG_BYTES`."""
    smallest = smallest_text_pt(fig)
    warn_missing_glyphs(fig, name)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight",
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = svg_markup(buf.getvalue(), id_prefix, alt, getattr(fig, "_cartpool_titles", None))
    svg_bytes = svg.encode("utf-8")
    if len(svg_bytes) <= MAX_SVG_BYTES:
        plt.close(fig)
        width_in, height_in = _svg_size_in(svg)
        return FigureFile("svg", svg_bytes, svg, width_in, height_in, smallest)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = png.getvalue()
    width_px, height_px = struct.unpack(">II", data[16:24])  # the PNG header's IHDR chunk
    return FigureFile("png", data, None, width_px / dpi, height_px / dpi, smallest)


def smallest_text_pt(fig) -> float:
    """The smallest font size (points, at the figure's own size) of any visible, non-empty text."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return float(min(sizes)) if sizes else float("nan")

"""One matplotlib style for every cartpool figure.

Colours come from the Okabe-Ito palette (Okabe & Ito 2008), which stays distinguishable
under the common colour-vision deficiencies; categories also differ by hatch or marker where
the plot type allows. IMWG response categories always use the same colours in the same order.
"""

from __future__ import annotations

import functools
import logging

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
    "grey": "#999999",
}
SERIES = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky", "black")]
LINESTYLES = ["-", "--", "-.", ":"]

RESPONSE_ORDER = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
RESPONSE_COLOURS = {
    "sCR": "#004C7A", "CR": OKABE_ITO["blue"], "VGPR": OKABE_ITO["sky"], "PR": OKABE_ITO["green"],
    "MR": OKABE_ITO["yellow"], "SD": OKABE_ITO["orange"], "PD": OKABE_ITO["vermillion"],
}
# line hatches only: figures are SVG, where matplotlib writes a dotted hatch as hundreds of circles
# per pattern (about 70 KB each, report/render.py); a line hatch is a few hundred bytes
RESPONSE_HATCH = {"sCR": "", "CR": "", "VGPR": "||", "PR": "//", "MR": "xx", "SD": "\\\\", "PD": "--"}
GRADE_COLOURS = ["#f2f2f2", "#fde0b8", "#f5b36b", "#e07b39", "#b2401a", "#5c1a0a"]  # grade 0..5

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "figure.dpi": 110,
    "savefig.dpi": 110,
    # figures are embedded as SVG with their text kept as text (report/render.py); a fixed salt
    # makes the ids of clip paths, hatches and markers the same on every build
    "svg.fonttype": "none",
    "svg.hashsalt": "cartpool",
    "path.simplify": True,
}


# Glyphs DejaVu Sans lacks (Chinese, Japanese, Korean; symbols) come from the first installed
# fallback that has them (matplotlib's per-glyph font fallback). Text DejaVu Sans covers renders
# byte-identically with or without them. Debian: fonts-noto-cjk, fonts-droid-fallback, fonts-noto-core.
FALLBACK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Droid Sans Fallback", "Noto Sans Symbols2",
                  "Noto Sans Symbols")
FONTS_HELP = ("install a font that has them (Debian: fonts-noto-cjk for Chinese, Japanese and Korean; "
              "fonts-symbola for emoji, which matplotlib cannot draw in colour) and build again")


def font_families() -> list[str]:
    """DejaVu Sans, then the installed fallbacks."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(f for f in FALLBACK_FONTS if f in installed)]


RC["font.family"] = font_families()
# A fallback font without a bold weight makes matplotlib log "Failed to find font weight bold" for
# every bold text, although DejaVu Sans draws it; missing glyphs are reported by warn_missing_glyphs.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

_FONTS: dict[str, object] = {}


def _font(family: str):
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    if family not in _FONTS:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        _FONTS[family] = FT2Font(path)
    return _FONTS[family]


def missing_glyphs(fig) -> str:
    """The characters of the figure's visible text that none of its fonts can draw (they would
    show as empty boxes), in order of first appearance."""
    from matplotlib.text import Text

    families = list(plt.rcParams["font.family"])
    out: list[str] = []
    for t in fig.findobj(Text):
        if not t.get_visible():
            continue
        for ch in t.get_text():
            if ch in out or ch.isspace() or ord(ch) < 32:
                continue
            if not any(_font(f).get_char_index(ord(ch)) for f in families):
                out.append(ch)
    return "".join(out)


def warn_missing_glyphs(fig, name: str) -> None:
    """Say on the build's log (the notebook's stderr) which characters a figure cannot show."""
    import sys

    missing = missing_glyphs(fig)
    if missing:
        print(f"[cartpool] figure {name}: no installed font has the character(s) {' '.join(missing)} "
              f"(shown as empty boxes); {FONTS_HELP}", file=sys.stderr)


@functools.cache
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(10, 10, 72)


def text_width_in(text: str, size: float, bold: bool = False) -> float:
    """The width of one line of text in the figures' font, in inches (matplotlib's own text metrics,
    the ones it lays a figure out with), for layouts that give a column exactly the room it needs."""
    from matplotlib.font_manager import FontProperties

    width, _h, _d = _renderer().get_text_width_height_descent(
        text, FontProperties(size=size, weight="bold" if bold else "normal"), ismath=False)
    return width / 72


def apply() -> None:
    import warnings

    plt.rcParams.update(RC)
    # said once, in plain words, by warn_missing_glyphs instead
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)


def response_colour(category: str) -> str:
    return RESPONSE_COLOURS.get(category, OKABE_ITO["grey"])


apply()

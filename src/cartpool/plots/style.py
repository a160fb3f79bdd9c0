"""One matplotlib style for every cartpool figure.

Colours come from the Okabe-Ito palette (Okabe & Ito 2008), which stays distinguishable
under the common colour-vision deficiencies; categories also differ by hatch or marker where
the plot type allows. IMWG response categories always use the same colours in the same order.
"""

from __future__ import annotations

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
RESPONSE_HATCH = {"sCR": "", "CR": "", "VGPR": "..", "PR": "//", "MR": "xx", "SD": "\\\\", "PD": "--"}
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
    "svg.hashsalt": "cartpool",
    "path.simplify": True,
}


def apply() -> None:
    plt.rcParams.update(RC)


def response_colour(category: str) -> str:
    return RESPONSE_COLOURS.get(category, OKABE_ITO["grey"])


apply()

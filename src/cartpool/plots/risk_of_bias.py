"""Risk-of-bias traffic-light plot, in the layout of R's robvis (McGuinness & Higgins 2021): one row
per study, one column per checklist question and one for the overall judgement; each answer a
coloured circle with a symbol, so that it reads without colour too.

Drawn with matplotlib because robvis is R-only and no maintained Python package draws it.

References
----------
McGuinness LA, Higgins JPT. Risk-of-bias VISualization (robvis): an R package and Shiny web app for
visualizing risk-of-bias assessments. Res Synth Methods 2021;12:55-61.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .style import OKABE_ITO, RC

#: Answer -> (colour, symbol, legend text).
ANSWERS = {
    "yes": (OKABE_ITO["green"], "+", "Yes"),
    "unclear": (OKABE_ITO["yellow"], "?", "Unclear"),
    "no": (OKABE_ITO["vermillion"], "−", "No"),
    "not_applicable": ("#d9d9d9", "", "Not applicable"),
}
OVERALL = {
    "low": (OKABE_ITO["green"], "+", "Low"),
    "moderate": (OKABE_ITO["yellow"], "!", "Moderate"),
    "high": (OKABE_ITO["vermillion"], "−", "High"),
}


def _wrap(entries: list[str], width: int) -> list[str]:
    """Join legend entries into lines of at most `width` characters, never splitting an entry."""
    lines, line = [], ""
    for e in entries:
        if line and len(line) + 3 + len(e) > width:
            lines.append(line)
            line = e
        else:
            line = f"{line}   {e}" if line else e
    return lines + [line] if line else lines


def traffic_light(rob: pd.DataFrame, *, title: str = "Risk of bias"):
    """Traffic-light plot of `cartpool.analysis.appraisal.risk_of_bias_table`.

    Parameters
    ----------
    rob : pandas.DataFrame
        One row per study and question (columns study, question, item, judgement, overall).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        7 inches wide; no text below 8 pt at that size.
    """
    appraised = rob[rob["question"] != ""]
    studies = list(dict.fromkeys(appraised["study"]))
    questions = list(dict.fromkeys(appraised["question"]))
    items = dict(zip(appraised["question"], appraised["item"], strict=False))
    n_rows, n_cols = len(studies), len(questions) + 1
    with plt.rc_context(RC):
        height = 0.34 * n_rows + 2.4
        fig, ax = plt.subplots(figsize=(7.0, height))
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(n_rows - 0.5, -1.2)
        ax.axis("off")
        for j, q in enumerate(questions):
            ax.text(j, -0.75, q.upper(), ha="center", va="center", fontsize=8.5, fontweight="bold")
        ax.text(n_cols - 1, -0.75, "Overall", ha="center", va="center", fontsize=8.5, fontweight="bold")
        for i, study in enumerate(studies):
            ax.text(-0.7, i, study, ha="right", va="center", fontsize=9)
            sub = appraised[appraised["study"] == study].set_index("question")
            for j, q in enumerate(questions):
                colour, symbol, _ = ANSWERS[sub.loc[q, "judgement"]]
                ax.scatter(j, i, s=260, color=colour, edgecolor="#555555", linewidth=0.6, zorder=2)
                ax.text(j, i, symbol, ha="center", va="center", fontsize=10, fontweight="bold", zorder=3)
            colour, symbol, _ = OVERALL[sub["overall"].iloc[0]]
            ax.scatter(n_cols - 1, i, s=330, color=colour, edgecolor="#333333", linewidth=0.9, zorder=2)
            ax.text(n_cols - 1, i, symbol, ha="center", va="center", fontsize=10, fontweight="bold", zorder=3)
        ax.axvline(n_cols - 1.5, color="#999999", linewidth=0.6)
        lines = _wrap([f"{q.upper()} {items[q].lower()}" for q in questions], 110)
        lines.append("Answers: " + "   ".join(f"{s} {t.lower()}" for _, s, t in ANSWERS.values() if s)
                     + "   grey circle: not applicable")
        lines.append("Overall: " + "   ".join(f"{s} {t.lower()}" for _, s, t in OVERALL.values()))
        fig.text(0.02, 0.02, "\n".join(lines), fontsize=8, va="bottom", ha="left", linespacing=1.35)
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.45 / height, bottom=(0.25 + 0.16 * len(lines)) / height)
        fig.suptitle(title, x=0.02, ha="left", fontsize=10, fontweight="bold")
    return fig

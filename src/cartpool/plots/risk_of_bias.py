"""Risk-of-bias figures in the conventions of R's robvis (McGuinness & Higgins 2021): a traffic-light
plot (one row per study, one column per domain and one for the overall judgement) and a summary bar
chart (the share of patients by judgement in each domain), each with its legend. Judgements read
without colour too: green "+" low, yellow "−" some concerns, red "×" high, blue "?" no information.

Drawn with matplotlib because robvis is R-only and no maintained Python package draws it.

References
----------
McGuinness LA, Higgins JPT. Risk-of-bias VISualization (robvis): an R package and Shiny web app for
visualizing risk-of-bias assessments. Res Synth Methods 2021;12:55-61.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch

from .style import RC, text_width_in

#: Judgement -> (colour, symbol, legend text), as robvis draws them.
JUDGEMENTS = {
    "low": ("#02C100", "+", "Low risk of bias"),
    "some_concerns": ("#E2DF07", "−", "Some concerns"),
    "high": ("#BF0000", "×", "High risk of bias"),
    "no_information": ("#4EA1F7", "?", "No information"),
}
ORDER = ("low", "some_concerns", "high", "no_information")


def _legend(fig, y: float) -> None:
    handles = [Patch(facecolor=c, edgecolor="#555555", label=f"{s}  {t}") for c, s, t in JUDGEMENTS.values()]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.02, y), ncol=4, fontsize=8, frameon=False,
               handlelength=1.2, columnspacing=1.4)


def traffic_light(rob: pd.DataFrame, domains: dict[str, str], *, title: str = "Risk of bias"):
    """Traffic-light plot of `cartpool.analysis.appraisal.Appraisal.risk_of_bias`.

    Parameters
    ----------
    rob : pandas.DataFrame
        One row per study and domain (columns study, domain, outcomes, judgement, overall); rows with
        outcomes are outcome-specific and drawn as a ring inside the domain's circle.
    domains : dict
        Domain code -> label, in order.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        7 inches wide; no text below 8 pt at that size.
    """
    appraised = rob[rob["domain"] != ""]
    studies = list(dict.fromkeys(appraised["study"]))
    codes = list(domains)
    n_rows, n_cols = len(studies), len(codes) + 1
    with plt.rc_context(RC):
        height = 0.36 * n_rows + 1.9
        fig, ax = plt.subplots(figsize=(7.0, height))
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(n_rows - 0.5, -1.2)
        ax.axis("off")
        for j, d in enumerate(codes):
            ax.text(j, -0.8, domains[d], ha="center", va="center", fontsize=8.5, fontweight="bold")
        ax.text(n_cols - 1, -0.8, "Overall", ha="center", va="center", fontsize=8.5, fontweight="bold")
        for i, study in enumerate(studies):
            ax.text(-0.75, i, study, ha="right", va="center", fontsize=9)
            sub = appraised[appraised["study"] == study]
            whole = sub[sub["outcomes"] == ""].set_index("domain")
            for j, d in enumerate(codes):
                colour, symbol, _ = JUDGEMENTS[whole.loc[d, "judgement"]]
                ax.scatter(j, i, s=300, color=colour, edgecolor="#555555", linewidth=0.6, zorder=2)
                ax.text(j, i, symbol, ha="center", va="center", fontsize=11, fontweight="bold", zorder=3)
                specific = sub[(sub["outcomes"] != "") & (sub["domain"] == d)]
                if not specific.empty:  # an outcome-specific judgement: a ring in its colour, and a mark
                    c2 = JUDGEMENTS[specific["judgement"].iloc[0]][0]
                    ax.scatter(j, i, s=560, facecolor="none", edgecolor=c2, linewidth=2.2, zorder=1)
                    ax.text(j + 0.27, i - 0.28, "*", ha="center", va="center", fontsize=9, fontweight="bold")
            colour, symbol, _ = JUDGEMENTS[sub["overall"].iloc[0]]
            ax.scatter(n_cols - 1, i, s=360, color=colour, edgecolor="#333333", linewidth=0.9, zorder=2)
            ax.text(n_cols - 1, i, symbol, ha="center", va="center", fontsize=11, fontweight="bold", zorder=3)
        ax.axvline(n_cols - 1.5, color="#999999", linewidth=0.6)
        _legend(fig, 0.11 / height * 1.0)
        fig.text(0.02, 0.02, "*: a different judgement for some outcomes (ring in its colour); see the table.",
                 fontsize=8, va="bottom", ha="left")
        # the study labels sit left of the circles: room for the longest, so that a long label never
        # widens the figure past its 7 inches (and shrinks its text below 8 pt in print)
        left = max(0.2, (max(text_width_in(s, 9) for s in studies) + 0.45) / 7.0) if studies else 0.2
        fig.subplots_adjust(left=min(left, 0.45), right=0.98, top=1 - 0.45 / height, bottom=0.8 / height)
        fig.suptitle(title, x=0.02, ha="left", fontsize=10, fontweight="bold")
    return fig


def summary_bars(rob: pd.DataFrame, domains: dict[str, str], weights: dict[str, int], *, groups: list[str],
                 title: str):
    """robvis's summary plot, one panel per population: for each domain and overall, the share of
    patients by judgement (weighted by patients, as robvis's ``weighted=TRUE``).

    Parameters
    ----------
    rob : pandas.DataFrame
        As for `traffic_light`, with a `group` column (the population of each study).
    domains : dict
        Domain code -> label, in order.
    weights : dict
        Study label -> patients.
    groups : list of str
        The populations, one panel each, in order (never mixed in one bar).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    appraised = rob[(rob["domain"] != "") & (rob["outcomes"] == "")]
    rows = list(domains.items()) + [("overall", "Overall")]
    with plt.rc_context(RC):
        panel = 0.18 * len(rows) + 0.42  # compact enough that it shares a printed page with the traffic lights
        height = panel * len(groups) + 0.98
        fig, axes = plt.subplots(len(groups), 1, figsize=(6.6, height), sharex=True, squeeze=False)
        for ax, group in zip(axes[:, 0], groups, strict=True):
            sub = appraised[appraised["group"] == group]
            total = sum(weights.get(st, 0) for st in sub["study"].unique()) or 1
            for i, (code, _label) in enumerate(rows):
                left = 0.0
                if code == "overall":
                    judged = sub.drop_duplicates("study")[["study", "overall"]].rename(columns={"overall": "judgement"})
                else:
                    judged = sub[sub["domain"] == code][["study", "judgement"]]
                for j in ORDER:
                    share = sum(weights.get(st, 0) for st in judged.loc[judged["judgement"] == j, "study"]) / total
                    if share:
                        ax.barh(i, share, left=left, color=JUDGEMENTS[j][0], edgecolor="#555555", linewidth=0.5,
                                height=0.72)
                        left += share
            ax.set_yticks(range(len(rows)), [r[1] for r in rows], fontsize=8)
            ax.invert_yaxis()
            ax.set_xlim(0, 1)
            ax.set_title(f"{group} ({', '.join(sub['study'].unique())})", loc="left", fontsize=8.5)
        axes[-1, 0].set_xticks([0, 0.25, 0.5, 0.75, 1], ["0%", "25%", "50%", "75%", "100%"], fontsize=8)
        axes[-1, 0].set_xlabel("Share of patients", fontsize=8.5)
        _legend(fig, 0.0)
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.5 / height, bottom=0.72 / height, hspace=0.55)
        fig.suptitle(title, x=0.02, ha="left", fontsize=10, fontweight="bold")
    return fig

"""Forest plots in the layout of R meta's `forest()`: study, events, total, the proportion with
its 95% CI as a square sized by weight, the numbers, and the weight; a diamond per subgroup
with its heterogeneity written under it; the overall diamond; the prediction interval; and
the method line."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from .style import OKABE_ITO


@dataclass
class ForestRow:
    kind: str  # header | study | diamond | prediction | text
    label: str
    events: int | None = None
    total: int | None = None
    est: float | None = None
    lo: float | None = None
    hi: float | None = None
    weight: float | None = None
    bold: bool = False
    events_high: int | None = None  # a range's high end (a bound kept with both ends)
    est_high: float | None = None


def _fmt_ci(est, lo, hi, est_high=None) -> str:
    if est is None or not np.isfinite(est):
        return ""
    point = f"{100 * est:.1f}" + (f"–{100 * est_high:.1f}" if est_high is not None and est_high != est else "")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return point
    return f"{point} ({100 * lo:.1f}–{100 * hi:.1f})"


@dataclass
class ForestGroup:
    """One group of a forest plot: its studies and its pooled result (a
    `cartpool.analysis.pooling.Pooled`), with the words to print under it."""

    label: str
    pooled: object
    role_note: str = ""


def forest_rows(groups: list[ForestGroup], *, test_text: str = "") -> list[ForestRow]:
    """Rows of an R-meta-style forest plot: per group a header, its studies, and then what the group
    shows: nothing more for one study; for two studies the range of their estimates, not pooled; for
    three or more the random-effects diamond and the prediction interval. Every group of two or more
    studies gets its heterogeneity line. Weights appear only where the model defines them (inverse
    variance); R meta prints none for a GLMM."""
    rows: list[ForestRow] = []
    for g in groups:
        r = g.pooled
        notes = [g.role_note] * bool(g.role_note) + ["one study, not pooled"] * (r.k == 1)
        rows.append(ForestRow("header", g.label + (f" ({'; '.join(notes)})" if notes else ""), bold=True))
        for st in r.studies.itertuples():
            w = st.weight if r.k > 1 and np.isfinite(st.weight) else None
            high = int(getattr(st, "events_high", st.events))
            rows.append(ForestRow("study", str(st.study), int(st.events), int(st.total), st.proportion, st.ci_low,
                                  st.ci_high, w,
                                  events_high=high if high != int(st.events) else None,
                                  est_high=high / st.total if high != int(st.events) else None))
        if r.k == 1:
            continue
        if r.rule == "not estimable":
            rows.append(ForestRow("text", r.note[:1].upper() + r.note[1:]))
            rows.append(ForestRow("text", heterogeneity_text(r)))
            continue
        if r.rule == "two studies, not pooled":
            ests = [x for x in r.studies["proportion"]] + [x for x in r.studies.get("events_high", r.studies["events"])
                                                             / r.studies["total"]]
            rows.append(ForestRow("text", f"Not pooled (2 studies): estimates from {100 * min(ests):.1f}% to "
                                          f"{100 * max(ests):.1f}%; one common rate is not assumed"))
            rows.append(ForestRow("text", heterogeneity_text(r)))
            continue
        label = {"random effects": "Random-effects model", "common effect": f"Common-effect model (k = {r.k})",
                 "no events": "Combined count (no events)", "all events": "Combined count (all events)"}.get(
                     r.rule, r.rule)
        rows.append(ForestRow("diamond", label, r.events, r.total, r.estimate, r.ci_low, r.ci_high, None,
                              events_high=r.events_high if r.estimate_high is not None else None,
                              est_high=r.estimate_high))
        if r.pi_low is not None and np.isfinite(r.pi_low):
            rows.append(ForestRow("prediction", "Prediction interval", lo=r.pi_low, hi=r.pi_high))
        rows.append(ForestRow("text", heterogeneity_text(r)))
    if test_text:
        rows.append(ForestRow("text", test_text))
    return rows


def _p(p: float) -> str:
    """A p-value as R meta prints it, with its relation sign."""
    if p is None or not np.isfinite(p):
        return "p not estimable"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def heterogeneity_text(r) -> str:
    """R meta's heterogeneity line: the likelihood-ratio test of one common rate, I² and τ² (both
    uninformative with two studies, and said so)."""
    if r.k < 2 or r.het_lrt is None or not np.isfinite(r.het_lrt):
        return "Heterogeneity: not applicable (one study)"
    text = f"Heterogeneity: LRT χ²({r.het_df}) = {r.het_lrt:.2f} ({_p(r.het_lrt_p)})"
    if r.i2 is not None and np.isfinite(r.i2) and r.tau2 is not None:
        text += f"; I² = {r.i2:.0f}%, τ² = {r.tau2:.2f}"
    if r.k == 2:
        text += " (I² and τ² uninformative with 2 studies)"
    return text


#: Printed size of a forest plot: A4 text width, and no text below 8 pt at that size.
FOREST_WIDTH_IN = 6.85  # the tight bounding box stays within the 7-inch print column: no downscaling
FONT_BODY, FONT_SMALL, FONT_HEAD = 8.5, 8.0, 9.0


def forest_plot(rows: list[ForestRow], *, title: str, xlabel: str = "Proportion (%)", method_line: str = "",
                reference: float | None = None):
    """Draw the rows as a forest plot 7 inches wide (printed at full size, no text below 8 pt).

    `reference` draws R meta's dashed vertical line at a pooled estimate.
    """
    n = len(rows)
    height = 0.21 * n + 1.2
    fig = plt.figure(figsize=(FOREST_WIDTH_IN, height))
    gs = fig.add_gridspec(1, 3, width_ratios=[3.0, 2.1, 1.9], wspace=0.03,
                          top=1 - 0.42 / height, bottom=0.62 / height, left=0.01, right=0.99)
    axl, ax, axr = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    for a in (axl, ax, axr):  # transparent, so that long text rows can run across columns
        a.patch.set_alpha(0)
    axl.set_zorder(3)
    ys = np.arange(n, 0, -1, dtype=float)
    top = n + 1.1
    for a in (axl, axr):
        a.set_ylim(0.4, top + 0.4)
        a.set_xlim(0, 1)
        a.axis("off")
    ax.set_ylim(0.4, top + 0.4)
    ax.set_xlim(-0.02, 1.02)
    head = dict(fontsize=FONT_HEAD, fontweight="bold", va="center")
    axl.text(0.0, top, "Study", **head)
    axl.text(0.78, top, "Events", ha="right", **head)
    axl.text(0.99, top, "Total", ha="right", **head)
    axr.text(0.02, top, "% (95% CI)", **head)
    weighted = any(r.weight is not None for r in rows if r.kind == "study")
    if weighted:
        axr.text(1.0, top, "Weight", ha="right", **head)
    wmax = max([r.weight or 0 for r in rows if r.kind == "study"] + [1])
    if reference is not None and np.isfinite(reference):
        ax.axvline(reference, color="#555555", linestyle="--", linewidth=0.8, zorder=0)
    for y, r in zip(ys, rows, strict=True):
        weight = "bold" if r.bold else "normal"
        if r.kind == "text":
            axl.text(0.0, y, r.label, fontsize=FONT_SMALL, va="center", style="italic", clip_on=False)
            continue
        axl.text(0.0 if r.kind != "study" else 0.03, y, r.label, fontsize=FONT_BODY, va="center", fontweight=weight)
        if r.kind == "header":
            continue
        if r.events is not None:
            events = f"{r.events}–{r.events_high}" if r.events_high is not None else str(r.events)
            axl.text(0.78, y, events, ha="right", fontsize=FONT_BODY, va="center", fontweight=weight)
            axl.text(0.99, y, str(r.total), ha="right", fontsize=FONT_BODY, va="center", fontweight=weight)
        if r.kind == "study":
            ax.plot([r.lo, r.hi], [y, y], color="black", linewidth=1)
            if r.est_high is not None:  # a range: a thick bar between its two ends
                ax.plot([r.est, r.est_high], [y, y], color=OKABE_ITO["grey"], linewidth=4.5, solid_capstyle="butt")
            side = 0.12 + 0.3 * np.sqrt((r.weight if r.weight is not None else wmax * 0.3) / wmax)
            ax.add_patch(plt.Rectangle((r.est - side * 0.035, y - side / 2), side * 0.07, side,
                                       facecolor=OKABE_ITO["grey"], edgecolor="black", linewidth=0.5))
        elif r.kind == "diamond":
            ax.fill([r.lo, r.est, r.hi, r.est], [y, y + 0.3, y, y - 0.3],
                    color=OKABE_ITO["blue"] if r.bold else OKABE_ITO["sky"], edgecolor="black", linewidth=0.6)
        elif r.kind == "prediction":
            ax.add_patch(plt.Rectangle((r.lo, y - 0.12), r.hi - r.lo, 0.24, facecolor=OKABE_ITO["vermillion"],
                                       edgecolor="black", linewidth=0.5))
            axr.text(0.02, y, f"({100 * r.lo:.1f}–{100 * r.hi:.1f})", fontsize=FONT_BODY, va="center")
            continue
        axr.text(0.02, y, _fmt_ci(r.est, r.lo, r.hi, r.est_high), fontsize=FONT_BODY, va="center", fontweight=weight)
        if r.weight is not None:
            axr.text(1.0, y, f"{r.weight:.1f}%", ha="right", fontsize=FONT_BODY, va="center", fontweight=weight)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{int(x * 100)}" for x in np.linspace(0, 1, 6)], fontsize=FONT_BODY)
    ax.set_yticks([])
    for sp in ("left", "right", "top"):
        ax.spines[sp].set_visible(False)
    ax.set_xlabel(xlabel, fontsize=FONT_BODY)
    fig.suptitle(title, x=0.01, y=1 - 0.06 / height, ha="left", va="top", fontsize=10, fontweight="bold")
    if method_line:
        fig.text(0.01, 0.005, method_line, fontsize=FONT_SMALL, ha="left", va="bottom", color="#444444", wrap=True)
    return fig


def medians_plot(items, *, title: str):
    """Median PFS/OS per study with CIs; 'not reached' upper limits as open arrows, medians
    not reached as an open arrow from the lower limit."""
    fig, ax = plt.subplots(figsize=(6.75, 0.42 * len(items) + 1.5), layout="constrained")
    xmax = 1.0
    for _lab, est, _lo, hi, _nr in items:
        if est is not None:
            xmax = max(xmax, est, hi or 0)
    xmax *= 1.25
    for i, (_lab, est, lo, hi, nr_high) in enumerate(items):
        y = len(items) - i
        if est is None:
            if lo is None:  # nothing is known but that half the patients had no event: no bar
                ax.text(0.01 * xmax, y, "median not reached (no limits printed)", fontsize=8, va="center")
                continue
            ax.annotate("", xy=(xmax * 0.95, y), xytext=(lo, y),
                        arrowprops=dict(arrowstyle="-|>", color="black", lw=1, fill=False))
            ax.text(lo, y - 0.3, "median not reached", fontsize=8, va="top")
            continue
        if lo is not None:
            ax.plot([lo, est], [y, y], color="black", lw=1.2)
        if nr_high:
            ax.annotate("", xy=(min(xmax * 0.95, est + 0.3 * xmax), y), xytext=(est, y),
                        arrowprops=dict(arrowstyle="-|>", color="black", lw=1, fill=False))
        elif hi is not None:
            ax.plot([est, hi], [y, y], color="black", lw=1.2)
        ax.plot(est, y, "s", color=OKABE_ITO["blue"], markersize=7)
    ax.set_yticks(range(len(items), 0, -1), [textwrap.fill(it[0], 38) for it in items], fontsize=8.5)
    ax.set_ylim(0.3, len(items) + 0.6)
    ax.set_xlim(0, xmax)
    ax.set_xlabel("Months since CAR-T infusion")
    fig.suptitle(title, x=0.01, ha="left", fontsize=plt.rcParams["axes.titlesize"])
    return fig

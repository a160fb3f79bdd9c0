"""Forest plots in the layout of R meta's `forest()`: study, events, total, the proportion with
its 95% CI as a square (sized by weight where the model defines weights: none for the GLMM, as R
meta prints none), the numbers, and the weight; per group the random-effects diamond where the rule
pools by random effects, the prediction interval, and the heterogeneity line (I², τ², the
likelihood-ratio χ² and its p) under it; and beside each study row its risk of bias by domain as
robvis's `rob_forest()` draws it (a traffic light per domain and overall).

References
----------
Balduzzi S, Rücker G, Schwarzer G. How to perform a meta-analysis with R: a practical tutorial.
Evid Based Ment Health 2019;22:153-160 (meta's `forest()`).
McGuinness LA, Higgins JPT. Risk-of-bias VISualization (robvis). Res Synth Methods 2021;12:55-61.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.transforms import blended_transform_factory

from .. import formatting as fmt
from ..analysis.pooling import Rule
from ..frames import frame_rows
from .export import attach_titles
from .risk_of_bias import JUDGEMENTS
from .style import OKABE_ITO, text_width_in


@dataclass(frozen=True)
class RowSource:
    """Where a row's numbers come from, for a reader: `mark` is drawn after its label (the numbers
    of its sources, so that print shows them too), `href` is where the row links (its sources, or a
    pooled estimate's inputs) and `title` the words shown on hover and keyboard focus (the row's
    SVG <title>: the source, its location and the verbatim quote, or how a number was derived)."""

    mark: str
    href: str
    title: str


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
    rob: tuple[str, ...] | None = None  # a study's judgement per domain, then overall (robvis keys)
    model: bool = True  # a diamond from a model (filled); False: a combined count (open)
    source: RowSource | None = None  # a study's sources, a pooled estimate's inputs


def _fmt_ci(est, lo, hi, est_high=None) -> str:
    if est is None or not np.isfinite(est):
        return ""
    point = f"{100 * est:.1f}"
    if est_high is not None and est_high != est:  # a range, smaller end first (fmt.pct_range)
        point = f"{100 * min(est, est_high):.1f}–{100 * max(est, est_high):.1f}"
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
    sources: list[RowSource] | None = None  # each study's, in the order of `pooled.studies`
    inputs: RowSource | None = None  # the pooled estimate's inputs (its diamond's link)


def rob_of(label: str, rob: Mapping[str, tuple[str, ...]] | None) -> tuple[str, ...] | None:
    """The risk-of-bias marks of the study a forest row names: its label is the study's label, or
    the study's label followed by " (...)" (a subset or a range) or ", " (a population)."""
    if not rob:
        return None
    if label in rob:
        return rob[label]
    for study in sorted(rob, key=len, reverse=True):
        if label.startswith((study + " (", study + ", ")):
            return rob[study]
    return None


def forest_rows(groups: list[ForestGroup], *, test_text: str = "",
                rob: Mapping[str, tuple[str, ...]] | None = None) -> list[ForestRow]:
    """Rows of an R-meta-style forest plot: per group a header, its studies, and then what the group
    shows: nothing more for one study; for two studies the range of their estimates, not pooled; for
    three or more the random-effects diamond and the prediction interval. Every group of two or more
    studies gets its heterogeneity line. Weights appear only where the model defines them (inverse
    variance); R meta prints none for a GLMM. `rob` maps a study's label to its risk-of-bias marks
    (each domain's judgement, then the overall one) for the traffic lights beside its row."""
    rows: list[ForestRow] = []
    for g in groups:
        r = g.pooled
        notes = [g.role_note] * bool(g.role_note) + ["one study, not pooled"] * (r.k == 1)
        header = g.label if not notes else (f"{g.label[:-1]}; {'; '.join(notes)})" if g.label.endswith(")")
                                            else f"{g.label} ({'; '.join(notes)})")  # one pair of brackets
        rows.append(ForestRow("header", header, bold=True))
        for i, st in enumerate(frame_rows(r.studies)):
            w = st.weight if r.k > 1 and np.isfinite(st.weight) else None
            high = int(getattr(st, "events_high", st.events))
            rows.append(ForestRow("study", str(st.study), int(st.events), int(st.total), st.proportion, st.ci_low,
                                  st.ci_high, w,
                                  events_high=high if high != int(st.events) else None,
                                  est_high=high / st.total if high != int(st.events) else None,
                                  rob=rob_of(str(st.study), rob), source=g.sources[i] if g.sources else None))
        if r.k == 1:
            continue
        if r.rule == Rule.NOT_ESTIMABLE:
            rows.append(ForestRow("text", r.note[:1].upper() + r.note[1:]))
            rows.append(ForestRow("text", heterogeneity_text(r)))
            continue
        if r.rule == Rule.TWO:
            ests = [x for x in r.studies["proportion"]] + [x for x in r.studies.get("events_high", r.studies["events"])
                                                             / r.studies["total"]]
            rows.append(ForestRow("text", f"Not pooled ({r.k} studies): estimates from {100 * min(ests):.1f}% to "
                                          f"{100 * max(ests):.1f}%; one common rate is not assumed"))
            rows.append(ForestRow("text", heterogeneity_text(r)))
            continue
        model = r.rule in (Rule.RANDOM, Rule.COMMON)
        label = {Rule.RANDOM: "Random-effects model", Rule.COMMON: "Common-effect model"}.get(
            r.rule, "Combined count")
        # a model's diamond is filled; a combined count (no model can be fitted) is an open diamond
        rows.append(ForestRow("diamond", label, r.events, r.total, r.estimate, r.ci_low, r.ci_high, None,
                              events_high=r.events_high if r.estimate_high is not None else None,
                              est_high=r.estimate_high, model=model, source=g.inputs))
        if not model and r.note:
            rows.append(ForestRow("text", f"Combined count: {r.note}"))
        if r.pi_low is not None and np.isfinite(r.pi_low):
            rows.append(ForestRow("prediction", "Prediction interval", lo=r.pi_low, hi=r.pi_high))
        rows.append(ForestRow("text", heterogeneity_text(r)))
    if test_text:
        rows.append(ForestRow("text", test_text))
    return rows


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def heterogeneity_text(r) -> str:
    """R meta's heterogeneity line ("Heterogeneity: I² = 42%, τ² = 0.91, χ²₁ = 4.32 (p = 0.04)", as
    `forest()` prints it with `LRT = TRUE`): I² and τ² of the GLMM, then the likelihood-ratio test of
    one common rate, the test the analysis uses (docs/statistics.md), and with two studies Fisher's
    exact test. With two studies I² and τ² are uninformative, and the line says so."""
    if r.k < 2 or r.het_lrt is None or not np.isfinite(r.het_lrt):
        return "Heterogeneity: not applicable (one study)"
    parts = []
    with_i2 = r.i2 is not None and np.isfinite(r.i2) and r.tau2 is not None and np.isfinite(r.tau2)
    if with_i2:
        parts.append(f"I² = {r.i2:.0f}%, τ² = {r.tau2:.2f}")
    parts.append(f"likelihood-ratio χ²{str(r.het_df).translate(_SUBSCRIPT)} = {r.het_lrt:.2f} "
                 f"({fmt.p_value(r.het_lrt_p)})")
    fisher = getattr(r, "het_fisher_p", None)  # computed for two studies only
    if r.k == 2 and fisher is not None and np.isfinite(fisher):
        parts.append(f"Fisher's exact test {fmt.p_value(fisher)}")
    text = "Heterogeneity: " + ", ".join(parts)
    if r.k == 2 and with_i2:
        text += " (I² and τ² uninformative with 2 studies)"
    high = getattr(r, "events_high", None)
    if high is not None and high == high and int(high) != int(r.events):  # a count that is a range
        text += "; tested at the lower end of each range"
    return text


def _events(r: ForestRow) -> str:
    return f"{r.events}–{r.events_high}" if r.events_high is not None else str(r.events)


#: Printed size of a forest plot: within the A4 text column (7.17 in), no text below 8 pt.
FOREST_WIDTH_IN = 6.9  # 7.1 in with the 0.1-in margins of a tight bounding box: within the 7.17-in column
FONT_BODY, FONT_SMALL, FONT_HEAD = 8.5, 8.0, 9.0
ROW_IN = 0.2  # one row's height
ROB_STEP = 0.2  # from one traffic light to the next
MIN_PLOT_IN = 1.2  # the plot's least width: a study label longer than the room left is cut with "…"
FOOT_CHARS = 112  # characters of an 8-pt footnote line across the figure


def _fit(text: str, size: float, bold: bool, width_in: float) -> str:
    """`text`, cut to `width_in` with an ellipsis if it is wider (the full label is in the table
    under the figure and in its description)."""
    if text_width_in(text, size, bold) <= width_in:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if text_width_in(text[:mid].rstrip() + "…", size, bold) <= width_in:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


MARK_GAP = 0.03  # from a label to its sources' mark


def _wrap_line(text: str, size: float, width_in: float) -> list[str]:
    """`text` broken between words into lines no wider than `width_in` (a heterogeneity line with
    Fisher's exact test is wider than the figure)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width_in(f"{lines[-1]} {word}", size) <= width_in:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _mark_width(r: ForestRow) -> float:
    """The width a row's sources' mark takes after its label (none without a mark)."""
    if r.source is None or not r.source.mark:
        return 0.0
    return MARK_GAP + text_width_in(r.source.mark, FONT_SMALL, False)


def forest_plot(rows: list[ForestRow], *, title: str, xlabel: str = "Proportion (%)", method_line: str = "",
                reference: float | None = None, rob_domains: Mapping[str, str] | None = None):
    """Draw the rows as a forest plot 6.9 inches wide (printed at full size, no text below 8 pt).

    Columns, left to right: study, events, total; the plot; % (95% CI); the weight where any row has
    one; and, where `rob_domains` is given and a row carries marks, the risk-of-bias traffic lights
    (D1, D2 ... in the order of `rob_domains`, then overall), keyed in a footnote. `reference` draws
    R meta's dashed vertical line at a pooled estimate. Everything is placed in inches, so the
    footnotes sit under the axis label whatever their length.
    """
    # a text line wider than the figure continues on the next row, indented
    rows = [ForestRow("text", ("" if i == 0 else "   ") + line) if r.kind == "text" else r
            for r in rows for i, line in enumerate(_wrap_line(r.label, FONT_SMALL, FOREST_WIDTH_IN - 0.25)
                                                    if r.kind == "text" else [r.label])]
    weighted = any(r.weight is not None for r in rows if r.kind == "study")
    with_rob = bool(rob_domains) and any(r.rob for r in rows)
    n_rob = len(rob_domains) + 1 if with_rob else 0
    # columns (inches from the left), as wide as their widest text, right to left; the study column
    # gets what is left once the plot has at least MIN_PLOT_IN
    drawn = [r for r in rows if r.kind not in ("header", "text")]
    events_w = max([text_width_in(_events(r), FONT_BODY, r.bold) for r in drawn if r.events is not None]
                   + [text_width_in("Events", FONT_HEAD, True)])
    total_w = max([text_width_in(str(r.total), FONT_BODY, r.bold) for r in drawn if r.events is not None]
                  + [text_width_in("Total", FONT_HEAD, True)])
    ci_w = max([text_width_in(_fmt_ci(r.est, r.lo, r.hi, r.est_high), FONT_BODY, r.bold) for r in drawn]
               + [text_width_in("% (95% CI)", FONT_HEAD, True)])
    rob_w = ROB_STEP * n_rob + (0.1 if with_rob else 0.0)
    right_edge = FOREST_WIDTH_IN - rob_w
    weight_x = right_edge - 0.05
    ci_x = right_edge - (0.6 if weighted else 0.0) - ci_w - 0.05
    label_room = ci_x - 0.12 - MIN_PLOT_IN - 0.15 - total_w - 0.1 - events_w - 0.12
    marks = {id(r): _mark_width(r) for r in drawn}
    labels = {id(r): _fit(r.label, FONT_BODY, r.bold, label_room - (0.15 if r.kind == "study" else 0.05)
                          - marks[id(r)]) for r in drawn}
    label_end = max([(0.15 if r.kind == "study" else 0.05) + text_width_in(labels[id(r)], FONT_BODY, r.bold)
                     + marks[id(r)] for r in drawn] + [0.05 + text_width_in("Study", FONT_HEAD, True)])
    events_x = label_end + 0.12 + events_w
    total_x = events_x + 0.1 + total_w
    plot_x0, plot_x1 = total_x + 0.15, ci_x - 0.12
    # rows and footnotes (inches from the bottom)
    notes = []
    if method_line:
        notes += textwrap.wrap(method_line, FOOT_CHARS)
    if with_rob:
        key = ", ".join(f"D{i} {name.lower()}" for i, name in enumerate(rob_domains.values(), start=1))
        marks = "; ".join(f"{sym} {text.lower()}" for _c, sym, text in JUDGEMENTS.values())
        notes += textwrap.wrap(f"Risk of bias (traffic lights as in robvis): {key}, O overall; {marks}.", FOOT_CHARS)
    foot_h = 0.155 * len(notes) + (0.06 if notes else 0.0)
    axis_h = 0.42
    top_h = 0.62
    n = len(rows)
    rows_h = ROW_IN * (n + 0.4)
    height = foot_h + axis_h + rows_h + top_h
    fig = plt.figure(figsize=(FOREST_WIDTH_IN, height))
    # the table: one axes over the whole figure, in inches
    tab = fig.add_axes((0, 0, 1, 1))
    tab.set_xlim(0, FOREST_WIDTH_IN)
    tab.set_ylim(0, height)
    tab.axis("off")
    tab.patch.set_alpha(0)
    rows_bottom = foot_h + axis_h
    ys = rows_bottom + ROW_IN * (n - np.arange(n) - 0.3)
    head_y = rows_bottom + rows_h + 0.14
    ax = fig.add_axes((plot_x0 / FOREST_WIDTH_IN, rows_bottom / height, (plot_x1 - plot_x0) / FOREST_WIDTH_IN,
                       rows_h / height))
    ax.set_ylim(rows_bottom, rows_bottom + rows_h)
    ax.set_xlim(-0.02, 1.02)
    ax.patch.set_alpha(0)
    head = dict(fontsize=FONT_HEAD, fontweight="bold", va="center")
    tab.text(0.05, head_y, "Study", **head)
    tab.text(events_x, head_y, "Events", ha="right", **head)
    tab.text(total_x, head_y, "Total", ha="right", **head)
    tab.text(ci_x, head_y, "% (95% CI)", **head)
    if weighted:
        tab.text(weight_x, head_y, "Weight", ha="right", **head)
    rob_xs = []
    if with_rob:
        x0 = right_edge + 0.12
        rob_xs = [x0 + ROB_STEP * i for i in range(n_rob - 1)] + [x0 + ROB_STEP * (n_rob - 1) + 0.06]
        tab.text((rob_xs[0] + rob_xs[-1]) / 2, head_y + 0.19, "Risk of bias", ha="center", **head)
        for i, x in enumerate(rob_xs):
            tab.text(x, head_y, f"D{i + 1}" if i < n_rob - 1 else "O", ha="center", fontsize=FONT_SMALL,
                     fontweight="bold", va="center")
    wmax = max([r.weight or 0 for r in rows if r.kind == "study"] + [1])
    titles: dict[str, str] = {}  # a linked row's gid -> the words shown on hover and focus
    lights: list[tuple[float, float, str]] = []  # (x, y, colour) of each traffic light
    if reference is not None and np.isfinite(reference):
        ax.axvline(reference, color="#555555", linestyle="--", linewidth=0.8, zorder=0)
    for y, r in zip(ys, rows, strict=True):
        weight = "bold" if r.bold else "normal"
        if r.kind == "text":
            tab.text(0.05, y, r.label, fontsize=FONT_SMALL, va="center", style="italic")
            continue
        label = tab.text(0.05 if r.kind != "study" else 0.15, y, labels.get(id(r), r.label), fontsize=FONT_BODY,
                         va="center", fontweight=weight)
        if r.source is not None:  # its sources: the mark after the label, and the whole row as a link
            if r.source.mark:  # placed against the label as drawn
                tab.annotate(r.source.mark, xy=(1, 0.5), xycoords=label, xytext=(MARK_GAP * 72, 0),
                             textcoords="offset points", fontsize=FONT_SMALL, va="center", color=OKABE_ITO["blue"])
            gid = f"cp-row-{len(titles)}"
            titles[gid] = r.source.title
            link = plt.Rectangle((0, y - ROW_IN / 2), FOREST_WIDTH_IN, ROW_IN, facecolor="white", alpha=0,
                                 linewidth=0, zorder=10)
            link.set_gid(gid)
            link.set_url(r.source.href)
            tab.add_patch(link)
        if r.kind == "header":
            continue
        if r.events is not None:
            tab.text(events_x, y, _events(r), ha="right", fontsize=FONT_BODY, va="center", fontweight=weight)
            tab.text(total_x, y, str(r.total), ha="right", fontsize=FONT_BODY, va="center", fontweight=weight)
        if r.kind == "study":
            ax.plot([r.lo, r.hi], [y, y], color="black", linewidth=1)
            if r.est_high is not None:  # a range: a thick bar between its two ends
                ax.plot([r.est, r.est_high], [y, y], color=OKABE_ITO["grey"], linewidth=4.5, solid_capstyle="butt")
            side = (0.06 + 0.08 * np.sqrt(r.weight / wmax)) if r.weight is not None else 0.1  # inches
            ax.add_patch(plt.Rectangle((r.est - side / 2 / (plot_x1 - plot_x0) * 1.04, y - side / 2),
                                       side / (plot_x1 - plot_x0) * 1.04, side, facecolor=OKABE_ITO["grey"],
                                       edgecolor="black", linewidth=0.5, zorder=3,
                                       clip_on=False))  # a square at 0% or 100% is drawn whole
            for x, judgement in zip(rob_xs, r.rob or (), strict=False):
                colour, symbol, _ = JUDGEMENTS[judgement]
                lights.append((x, y, colour))
                tab.text(x, y, symbol, ha="center", va="center", fontsize=FONT_SMALL, fontweight="bold", zorder=3)
        elif r.kind == "diamond":
            ax.fill([r.lo, r.est, r.hi, r.est], [y, y + 0.075, y, y - 0.075],
                    facecolor=(OKABE_ITO["blue"] if r.bold else OKABE_ITO["sky"]) if r.model else "white",
                    edgecolor="black", linewidth=0.6, zorder=3)
        elif r.kind == "prediction":
            ax.add_patch(plt.Rectangle((r.lo, y - 0.03), r.hi - r.lo, 0.06, facecolor=OKABE_ITO["vermillion"],
                                       edgecolor="black", linewidth=0.5))
            tab.text(ci_x, y, f"({100 * r.lo:.1f}–{100 * r.hi:.1f})", fontsize=FONT_BODY, va="center")
            continue
        tab.text(ci_x, y, _fmt_ci(r.est, r.lo, r.hi, r.est_high), fontsize=FONT_BODY, va="center", fontweight=weight)
        if r.weight is not None:
            tab.text(weight_x, y, f"{r.weight:.1f}%", ha="right", fontsize=FONT_BODY, va="center", fontweight=weight)
    ticks = np.linspace(0, 1, 5 if plot_x1 - plot_x0 >= 1.2 else 3)
    ax.set_xticks(ticks, [f"{round(x * 100)}" for x in ticks], fontsize=FONT_BODY)
    ax.set_yticks([])
    for sp in ("left", "right", "top"):
        ax.spines[sp].set_visible(False)
    if lights:  # one marker, reused: 0.16 in across (a circle patch each would weigh 0.6 KB in SVG)
        xs, ys_, colours = zip(*lights, strict=True)
        tab.scatter(xs, ys_, s=(0.16 * 72) ** 2, c=list(colours), edgecolors="#555555", linewidths=0.5, zorder=2)
    ax.set_xlabel(xlabel, fontsize=FONT_BODY, labelpad=2)
    tab.text(0.05, height - 0.08, title, ha="left", va="top", fontsize=10, fontweight="bold")
    if notes:
        tab.text(0.05, 0.04, "\n".join(notes), fontsize=FONT_SMALL, ha="left", va="bottom", color="#444444",
                 linespacing=1.35)
    attach_titles(fig, titles)
    return fig


def medians_plot(items, *, title: str, sources: list[RowSource | None] | None = None):
    """Median PFS/OS per study with CIs; 'not reached' upper limits as open arrows, medians
    not reached as an open arrow from the lower limit. `sources` (one per item, or None) gives each
    row its sources' mark after its label, and makes the row a link whose title says where its
    median comes from (as a forest plot's rows, `RowSource`)."""
    sources = list(sources) if sources is not None else [None] * len(items)
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
    ax.set_yticks(range(len(items), 0, -1), [textwrap.fill(it[0] + (f" {src.mark}" if src and src.mark else ""), 38)
                                              for it, src in zip(items, sources, strict=True)], fontsize=8.5)
    titles: dict[str, str] = {}
    row_band = blended_transform_factory(fig.transFigure, ax.transData)  # the figure's width, one row's height
    for i, src in enumerate(sources):
        if src is None:
            continue
        gid = f"cp-row-{len(titles)}"
        titles[gid] = src.title
        link = plt.Rectangle((0, len(items) - i - 0.5), 1, 1, transform=row_band, facecolor="white", alpha=0,
                             linewidth=0, zorder=10, clip_on=False)
        link.set_gid(gid)
        link.set_url(src.href)
        link.set_in_layout(False)  # the figure keeps its size: the link spans it, it does not widen it
        fig.add_artist(link)
    attach_titles(fig, titles)
    ax.set_ylim(0.3, len(items) + 0.6)
    ax.set_xlim(0, xmax)
    ax.set_xlabel("Months since CAR-T infusion")
    fig.suptitle(title, x=0.01, ha="left", fontsize=plt.rcParams["axes.titlesize"])
    return fig

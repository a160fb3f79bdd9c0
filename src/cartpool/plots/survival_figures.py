"""Survival figures that put patient data and printed numbers side by side, and never let one pass
for the other: Kaplan-Meier curves from per-patient tables drawn as survminer draws them (steps, a
light confidence band, "+" at each censoring), printed milestones as markers with whiskers (a
landmark rate with its 95% CI; a median at 50% with its CI along the time axis), and, only through
two or more printed milestones, a thin dashed approximate curve.

A study that prints a single milestone gets no figure of its own: a compact dot plot on its page
(`milestone_dots`) and a row of a table on the pooled page.

References
----------
Kassambara A, Kosinski M, Biecek P. survminer: drawing survival curves using ggplot2 (ggsurvplot).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .style import OKABE_ITO, SERIES, text_width_in

#: Light band of a Kaplan-Meier curve (survminer's conf.int.alpha is 0.3 over a white ground; lighter
#: here, where several curves overlap)
BAND_ALPHA = 0.13
WIDTH_IN = 6.9  # within the 7.17-in print column: printed at full size, no text below 8 pt
NAMES = {"pfs": "PFS", "os": "OS", "dor": "DOR"}


def draw_km(ax, km, colour: str, *, linestyle: str = "-", band: bool = True, label: str | None = None) -> None:
    """A Kaplan-Meier curve: steps, its pointwise confidence band, "+" at each censoring."""
    t = np.concatenate([[0.0], km.table["time"].to_numpy(float)])
    s = np.concatenate([[1.0], km.table["survival"].to_numpy(float)])
    ax.step(t, s, where="post", color=colour, linestyle=linestyle, linewidth=1.7, label=label)
    if band:
        lo = np.concatenate([[1.0], km.table["ci_low"].fillna(1.0).to_numpy(float)])
        hi = np.concatenate([[1.0], km.table["ci_high"].fillna(1.0).to_numpy(float)])
        zero = np.concatenate([[False], (km.table["survival"] <= 0).to_numpy()])
        lo, hi = np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)
        ax.fill_between(t, lo, hi, step="post", color=colour, alpha=BAND_ALPHA, linewidth=0)
    cens = km.table[km.table["n_censor"] > 0]
    ax.plot(cens["time"], cens["survival"], "+", color=colour, markersize=7, markeredgewidth=1.3)


def draw_milestones(ax, points, colour: str, *, xmax: float, dodge: float = 0.0) -> float:
    """Printed milestones as markers with whiskers: a landmark rate as a circle with its 95% CI
    (vertical), a median as a square at 50% with its CI along the time axis (an arrow where the
    upper limit is not reached). Landmarks are drawn `dodge` months aside, so that series printed
    at the same time do not hide each other's whiskers. Returns the latest time drawn."""
    latest = 0.0
    for p in points:
        if p.value is None:
            continue
        if p.kind == "landmark":
            yerr = None
            if p.ci_low is not None and p.ci_high is not None:
                yerr = [[p.value - p.ci_low], [p.ci_high - p.value]]
            ax.errorbar(p.time_months + dodge, p.value, yerr=yerr, fmt="o", color=colour, ecolor=colour, capsize=3,
                        markersize=5.5, markeredgecolor="white", markeredgewidth=0.6, elinewidth=1.1, zorder=4)
            latest = max(latest, p.time_months)
        elif p.kind == "median":
            lo = p.ci_low if p.ci_low is not None else p.value
            hi = p.ci_high if p.ci_high is not None else p.value
            ax.plot([lo, hi], [0.5, 0.5], color=colour, linewidth=1.1, zorder=4)
            for end in {lo, hi} - {p.value}:
                ax.plot([end, end], [0.485, 0.515], color=colour, linewidth=1.1, zorder=4)
            if p.high_not_reached:
                ax.annotate("", xy=(min(xmax, p.value + max(3.0, 0.25 * p.value)), 0.5), xytext=(p.value, 0.5),
                            arrowprops=dict(arrowstyle="->", color=colour, lw=1.1), zorder=4)
            ax.plot(p.value, 0.5, "s", color=colour, markersize=6, markeredgecolor="white", markeredgewidth=0.6,
                    zorder=5)
            latest = max(latest, hi)
    return latest


def draw_approximate(ax, curve, colour: str) -> None:
    """The approximate curve through printed milestones: thin and dashed, ending at the last one."""
    ax.plot(curve.times, curve.survival, color=colour, linestyle=(0, (4, 2.5)), linewidth=1.1, zorder=3)


def dodge(i: int, n: int, span: float) -> float:
    """The offset of the i-th of n series printed at the same times: 1.2% of the axis apart."""
    return (i - (n - 1) / 2) * 0.012 * span


def _probability_axis(ax) -> None:
    ax.set_ylim(-0.02, 1.03)
    ticks = np.linspace(0, 1, 6)
    ax.set_yticks(ticks, [f"{int(v * 100)}%" for v in ticks])
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)


@dataclass
class Series:
    """One study in one panel: its Kaplan-Meier fit, or its printed milestones (`SurvivalPoint`s)
    with the approximate curve through them where the drawing rule allows one."""

    label: str
    km: object | None = None
    points: list = field(default_factory=list)
    curve: object | None = None


def survival_overlay(panels: dict[str, list[Series]], *, time_label: str = "Months since CAR-T infusion"):
    """The pooled survival figure: one panel per endpoint (title -> its studies). Each study keeps
    its colour in every panel; the legend under the panels says, study by study, whether it is a
    Kaplan-Meier curve from patient data or printed milestones."""
    studies = list(dict.fromkeys(s.label for series in panels.values() for s in series))
    colour = {st: SERIES[i % len(SERIES)] for i, st in enumerate(studies)}
    kinds = {s.label: "km" if s.km is not None else "printed" for series in panels.values() for s in series}
    height = 3.0
    keys = [f"{st}: Kaplan-Meier (patient data)" if kinds[st] == "km" else f"{st}: printed (95% CI)" for st in studies]
    keys += ["95% band", "censored", "approximate curve"]
    # as many legend rows as its columns need to fit the width (each column as wide as its widest
    # entry): a longer legend adds a row instead of widening the figure past its print width
    widest = max(text_width_in(k, 8) for k in keys) + 0.6
    legend_rows = -(-len(keys) // max(1, int((WIDTH_IN - 0.3) // widest)))
    height += 0.25 * legend_rows
    fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH_IN, height), sharey=True, squeeze=False)
    fig.subplots_adjust(left=0.75 / WIDTH_IN, right=1 - 0.08 / WIDTH_IN, top=1 - 0.3 / height,
                        bottom=(0.55 + 0.25 * legend_rows) / height, wspace=0.12)
    approximate = False
    for ax, (title, series) in zip(axes[0], panels.items(), strict=True):
        tmax = 1.0
        for s in series:
            c = colour[s.label]
            if s.km is not None:
                draw_km(ax, s.km, c)
                tmax = max(tmax, float(s.km.table["time"].max()))
        xmax_guess = max([tmax] + [p.time_months or 0 for s in series for p in s.points]
                         + [p.value or 0 for s in series for p in s.points if p.kind == "median"]) * 1.1
        printed = [s for s in series if s.km is None]
        for i, s in enumerate(printed):
            if s.curve is not None:
                draw_approximate(ax, s.curve, colour[s.label])
                approximate = True
            tmax = max(tmax, draw_milestones(ax, s.points, colour[s.label], xmax=xmax_guess,
                                             dodge=dodge(i, len(printed), xmax_guess)))
        ax.set_xlim(0, max(tmax, xmax_guess / 1.1) * 1.05)
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xlabel(time_label, fontsize=8.5)
        ax.tick_params(labelsize=8.5)
        _probability_axis(ax)
    axes[0, 0].set_ylabel("Probability", fontsize=8.5)
    handles = []
    for st in studies:
        if kinds[st] == "km":
            handles.append(Line2D([], [], color=colour[st], linewidth=1.7, label=f"{st}: Kaplan-Meier (patient data)"))
        else:
            handles.append(Line2D([], [], color=colour[st], marker="o", markersize=5.5, markeredgecolor="white",
                                  linestyle="none", label=f"{st}: printed (95% CI)"))
    if "km" in kinds.values():
        handles += [Patch(facecolor="grey", alpha=BAND_ALPHA * 2, label="95% band"),
                    Line2D([], [], color="grey", marker="+", linestyle="none", markersize=7, markeredgewidth=1.3,
                           label="censored")]
    if approximate:
        handles.append(Line2D([], [], color="grey", linestyle=(0, (4, 2.5)), linewidth=1.1,
                              label="approximate curve"))
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.05 / WIDTH_IN, 0.02), fontsize=8,
               ncol=-(-len(handles) // legend_rows), frameon=False, columnspacing=1.0, handlelength=1.6,
               borderaxespad=0)
    return fig


def milestone_dots(points, *, title: str):
    """A study's printed milestones where none has a second one to draw a curve through: one row
    each, as a dot plot (a landmark rate with its 95% CI on a probability axis; a median with its CI
    on a time axis), a few lines high instead of half a page."""
    landmarks = sorted((p for p in points if p.kind == "landmark" and p.value is not None),
                       key=lambda p: (p.endpoint, p.time_months))
    medians = sorted((p for p in points if p.kind == "median" and p.value is not None), key=lambda p: p.endpoint)
    groups = [g for g in (landmarks, medians) if g]
    rows = sum(len(g) for g in groups)
    height = 0.45 + 0.3 * rows + 0.62 * len(groups)
    fig, axes = plt.subplots(len(groups), 1, figsize=(WIDTH_IN, height), squeeze=False,
                             gridspec_kw={"height_ratios": [len(g) + 0.6 for g in groups]})
    labels = [_milestone_label(p) for g in groups for p in g]
    left = max(text_width_in(lab, 8.5) for lab in labels) + 0.2
    fig.subplots_adjust(left=left / WIDTH_IN, right=1 - 0.15 / WIDTH_IN, top=1 - 0.38 / height,
                        bottom=0.45 / height, hspace=0.9)
    for ax, group in zip(axes[:, 0], groups, strict=True):
        is_median = group[0].kind == "median"
        ys = np.arange(len(group))[::-1]
        for y, p in zip(ys, group, strict=True):
            c = OKABE_ITO["blue"] if p.endpoint == "os" else OKABE_ITO["vermillion"]
            lo = p.ci_low if p.ci_low is not None else p.value
            hi = p.ci_high if p.ci_high is not None else p.value
            ax.plot([lo, hi], [y, y], color=c, linewidth=1.2)
            for end in {lo, hi} - {p.value}:
                ax.plot([end, end], [y - 0.12, y + 0.12], color=c, linewidth=1.2)
            if is_median and p.high_not_reached:
                ax.annotate("", xy=(p.value * 1.4 + 2, y), xytext=(p.value, y),
                            arrowprops=dict(arrowstyle="->", color=c, lw=1.2))
            ax.plot(p.value, y, "s" if is_median else "o", color=c, markersize=6)
        ax.set_yticks(ys, [_milestone_label(p) for p in group], fontsize=8.5)
        ax.set_ylim(-0.6, len(group) - 0.4)
        if is_median:
            top = max((p.ci_high or p.value) for p in group)
            ax.set_xlim(0, max(top * 1.3, max(p.value for p in group) * 1.6, 6))
            ax.set_xlabel("Months since CAR-T infusion", fontsize=8.5)
        else:
            ax.set_xlim(0, 1)
            ticks = np.linspace(0, 1, 6)
            ax.set_xticks(ticks, [f"{int(v * 100)}%" for v in ticks])
            ax.set_xlabel("Probability (95% CI)", fontsize=8.5)
        ax.tick_params(labelsize=8.5)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
    fig.suptitle(title, x=0.05 / WIDTH_IN, y=1 - 0.04 / height, ha="left", va="top",
                 fontsize=plt.rcParams["axes.titlesize"])
    return fig


def _milestone_label(p) -> str:
    name = NAMES.get(p.endpoint, p.endpoint.upper())
    return f"Median {name}" if p.kind == "median" else f"{name} at {p.time_months:g} months"

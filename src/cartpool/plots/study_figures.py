"""Figures of a single study: response bar, Kaplan-Meier with numbers at risk, swimmer plot,
adverse-event grid, and reported survival milestones with an approximate curve."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import style
from .style import GRADE_COLOURS, OKABE_ITO, RESPONSE_HATCH, RESPONSE_ORDER, SERIES
from .survival_figures import (
    BAND_ALPHA,
    WIDTH_IN,
    dodge,
    draw_approximate,
    draw_km,
    draw_milestones,
    milestone_dots,
)


def response_bar(counts: dict[str, int], total: int, title: str):
    """Best-response distribution as one 100% stacked horizontal bar in IMWG order. Patients
    whose category the source does not give are shown as a hatched grey 'not reported' part."""
    fig, ax = plt.subplots(figsize=(8, 1.9))
    left = 0.0
    handles = []

    def order(cat: str) -> int:
        first = cat.split("/")[0]
        return RESPONSE_ORDER.index(first) if first in RESPONSE_ORDER else 99

    for cat in sorted(counts, key=order):
        n = counts[cat]
        if n <= 0:
            continue
        first = cat.split("/")[0]
        frac = n / total
        ax.barh(0, frac, left=left, color=style.response_colour(first), hatch=RESPONSE_HATCH.get(first, ""),
                edgecolor="white", linewidth=1)
        if frac > 0.04:
            ax.text(left + frac / 2, 0, f"{cat}\n{n}", ha="center", va="center", fontsize=8.5,
                    color="white" if first in ("sCR", "CR", "PD") else "black")
        handles.append(Patch(facecolor=style.response_colour(first), hatch=RESPONSE_HATCH.get(first, ""),
                             label=f"{cat} ({n})"))
        left += frac
    if left < 1 - 1e-9:
        rest = round((1 - left) * total)
        ax.barh(0, 1 - left, left=left, color="#eeeeee", hatch="////", edgecolor="#bbbbbb")
        handles.append(Patch(facecolor="#eeeeee", hatch="////", edgecolor="#bbbbbb",
                             label=f"not reported ({rest})"))
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xticks(np.linspace(0, 1, 6), [f"{int(x * 100)}%" for x in np.linspace(0, 1, 6)])
    ax.set_title(title, loc="left")
    ax.spines["left"].set_visible(False)
    ax.legend(handles=handles, ncol=min(len(handles), 5), loc="upper center", bbox_to_anchor=(0.5, -0.45),
              fontsize=8.5)
    return fig


KM_WIDTH_IN = WIDTH_IN


def km_plot(curves: dict[str, object], *, title: str, xlabel: str = "Months since CAR-T infusion",
            risk_times=None, p_text: str | None = None, band: bool = True):
    """Kaplan-Meier curves as survminer's ``ggsurvplot`` draws them: a step curve per stratum with a
    light pointwise confidence band in its colour, "+" at each censoring, dashed lines to the median
    where it is reached, and the numbers at risk in a table under the time axis, one row per stratum
    in its colour.

    References
    ----------
    Kassambara A, Kosinski M, Biecek P. survminer: drawing survival curves using ggplot2 (ggsurvplot).
    """
    tmax = max([float(km.table["time"].max()) for km in curves.values()] + [1.0])
    step = 3 if tmax <= 30 else 6 if tmax <= 60 else 12
    if risk_times is None:
        risk_times = list(np.arange(0, tmax + 1e-9, step))
    nrow = len(curves)
    # the risk table names each stratum without the words they all share ("PCL type: pPCL" -> "pPCL")
    prefix = next(iter(curves)).split(": ", 1)[0] + ": " if nrow > 1 else ""
    if not all(k.startswith(prefix) and len(k) > len(prefix) for k in curves):
        prefix = ""
    short = {lab: lab.removeprefix(prefix) for lab in curves}
    # the left margin holds the y axis and the longest stratum label of the risk table
    left_in = max(0.72, max(style.text_width_in(lab, 8.5) for lab in short.values()) + 0.3)
    # the legend goes above the plot, as survminer's does ("First CAR target:  — BCMA  -- GPRC5D ..."),
    # in as few rows as fit the width
    keys = [*([prefix] if prefix else []), *short.values(), *(["95% CI"] if band else []),
            "censored", "median"]
    entry_in = [style.text_width_in(k, 8.5) + 0.5 for k in keys]
    per_row = len(keys)
    while per_row > 1 and sum(sorted(entry_in, reverse=True)[:per_row]) > KM_WIDTH_IN - 0.2:
        per_row -= 1
    legend_in = 0.22 * -(-len(keys) // per_row)
    # placed in inches, top down: title, legend, the curves (2 in), time axis, numbers at risk
    plot_in, axis_in, risk_in = 2.0, 0.45, 0.25 + 0.2 * nrow
    height = 0.3 + legend_in + 0.08 + plot_in + axis_in + risk_in + 0.05
    fig = plt.figure(figsize=(KM_WIDTH_IN, height))
    x0, w = left_in / KM_WIDTH_IN, 1 - (left_in + 0.08) / KM_WIDTH_IN
    ax = fig.add_axes((x0, (axis_in + risk_in + 0.05) / height, w, plot_in / height))
    axr = fig.add_axes((x0, 0.05 / height, w, (risk_in - 0.25) / height))
    medians = False
    for i, (label, km) in enumerate(curves.items()):
        c, ls = SERIES[i % len(SERIES)], style.LINESTYLES[i % len(style.LINESTYLES)]
        draw_km(ax, km, c, linestyle=ls, band=band, label=label)
        median = km.median()[0]
        if median is not None:  # survminer's surv.median.line = "hv"
            ax.plot([0, median, median], [0.5, 0.5, 0], color="#555555", linestyle="--", linewidth=0.8, zorder=1)
            medians = True
    ax.set_ylim(-0.02, 1.03)
    ax.set_xlim(0, max(risk_times[-1], tmax) * 1.02)
    ax.set_xticks(risk_times)
    ax.set_yticks(np.linspace(0, 1, 6), [f"{int(v * 100)}%" for v in np.linspace(0, 1, 6)])
    ax.set_ylabel("Probability")
    ax.set_xlabel(xlabel)
    fig.suptitle(title, x=0.05 / KM_WIDTH_IN, y=1 - 0.04 / height, ha="left", va="top",
                 fontsize=plt.rcParams["axes.titlesize"])
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    handles = [Line2D([], [], linestyle="none", label=prefix)] if prefix else []
    handles += [Line2D([], [], color=SERIES[i % len(SERIES)], linestyle=style.LINESTYLES[i % 4], label=short[lab])
                for i, lab in enumerate(curves)]
    if band:
        handles.append(Patch(facecolor="grey", alpha=BAND_ALPHA * 2, label="95% CI"))
    handles.append(Line2D([], [], color="grey", marker="+", linestyle="none", markersize=7, markeredgewidth=1.3,
                          label="censored"))
    if medians:
        handles.append(Line2D([], [], color="#555555", linestyle="--", linewidth=0.8, label="median"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.05 / KM_WIDTH_IN, 1 - 0.3 / height),
               ncol=per_row, fontsize=8.5, borderaxespad=0, handlelength=1.8, columnspacing=1.2)
    if p_text:
        ax.text(0.02, 0.04, p_text, transform=ax.transAxes, fontsize=9)
    # numbers at risk, aligned with the time axis, each stratum in its colour
    axr.set_xlim(ax.get_xlim())
    axr.set_ylim(-0.5, nrow - 0.5)
    axr.axis("off")
    axr.set_title("Number at risk", loc="left", fontsize=9, pad=4)
    for i, (label, km) in enumerate(curves.items()):
        y = nrow - 1 - i
        c = SERIES[i % len(SERIES)]
        for t, n in zip(risk_times, km.n_at_risk(risk_times), strict=True):
            axr.text(t, y, str(n), ha="center", va="center", fontsize=8.5, color=c)
        axr.text(-0.2 / (KM_WIDTH_IN - left_in - 0.08), y, short[label], ha="right", va="center", fontsize=8.5, color=c,
                 transform=axr.get_yaxis_transform())
    return fig


SWIMMER_MARKERS = {
    "progression": dict(marker="v", color=OKABE_ITO["vermillion"], markersize=9, label="Progression/relapse"),
    "death": dict(marker="X", color=OKABE_ITO["black"], markersize=9, label="Death"),
    "alive": dict(marker=">", color=OKABE_ITO["green"], markersize=8, label="Alive at last follow-up"),
    "second CAR-T": dict(marker="D", color=OKABE_ITO["purple"], markersize=7, label="Second CAR-T infusion"),
    "allo-HSCT": dict(marker="*", color=OKABE_ITO["orange"], markersize=12, label="Allo-HSCT"),
}


def swimmer(d: pd.DataFrame, events: dict[str, list[tuple[float, str]]], *, title: str, label_col: str | None = None):
    """One bar per patient (length = follow-up, coloured by best response) with markers for
    progression, death, alive at last contact, second CAR-T infusion and allo-HSCT."""
    d = d.sort_values("os_time")
    n = len(d)
    fig, ax = plt.subplots(figsize=(7.0, 0.24 * n + 1.4))
    for i, (pid, row) in enumerate(d.iterrows()):
        cat = row.get("best_response") or "NR"
        ax.barh(i, row["os_time"], color=style.response_colour(cat), hatch=RESPONSE_HATCH.get(cat, ""),
                edgecolor="white", height=0.62)
        if row.get("progressed"):
            ax.plot(row["pfs_time"], i, linestyle="none", **_mk("progression"))
        ax.plot(row["os_time"] + (0.25 if not row["os_event"] else 0), i, linestyle="none",
                **_mk("death" if row["os_event"] else "alive"))
        for t, kind in events.get(str(pid), []):
            ax.plot(t, i, linestyle="none", **_mk(kind))
    labels = [f"{pid}" + (f" ({d.loc[pid, label_col]})" if label_col else "") for pid in d.index]
    ax.set_yticks(range(n), labels, fontsize=8.5)
    ax.set_ylabel("Patient" + (f" ({label_col.replace('_', ' ')})" if label_col else ""))
    ax.set_xlabel(f"{d['time_unit'].iloc[0].capitalize()} since first CAR-T infusion")
    ax.set_title(title, loc="left")
    ax.set_xlim(0, max(float(d["os_time"].max()), 1.0) * 1.08)
    cats = [c for c in RESPONSE_ORDER if c in set(d["best_response"].dropna())]
    handles = [Patch(facecolor=style.response_colour(c), hatch=RESPONSE_HATCH.get(c, ""), label=f"Best response {c}")
               for c in cats]
    used = {"progression", "death", "alive"} | {k for v in events.values() for _, k in v}
    handles += [Line2D([], [], linestyle="none", **{k: v for k, v in SWIMMER_MARKERS[m].items()})
                for m in SWIMMER_MARKERS if m in used]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.2 / (n + 4)), ncol=3, fontsize=8)
    return fig


def _mk(kind: str) -> dict:
    m = dict(SWIMMER_MARKERS[kind])
    m.pop("label")
    m["markeredgecolor"] = "white" if kind != "alive" else m["color"]
    return m


def ae_grid(grades: pd.DataFrame, *, title: str, scale_note: str):
    """Patients (columns) by adverse events (rows), each cell coloured and labelled by grade."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    data = grades.to_numpy(dtype=float)
    # at most 6.75 inches wide (the print column), legend below: no text is scaled below 8 pt in print
    fig, ax = plt.subplots(figsize=(min(6.75, 0.45 * grades.shape[1] + 2.6), 0.34 * grades.shape[0] + 2.2),
                           layout="constrained")
    cmap = ListedColormap(GRADE_COLOURS)
    ax.imshow(np.nan_to_num(data, nan=0), cmap=cmap, norm=BoundaryNorm(np.arange(-0.5, 6.5), cmap.N), aspect="auto")
    for (r, c), v in np.ndenumerate(data):
        ax.text(c, r, "–" if np.isnan(v) else ("" if v == 0 else f"{int(v)}"), ha="center", va="center",
                fontsize=8, color="white" if v >= 4 else "black")
    ax.set_xticks(range(grades.shape[1]), [str(c) for c in grades.columns], fontsize=8.5)
    ax.set_yticks(range(grades.shape[0]), grades.index, fontsize=8.5)
    ax.set_xlabel("Patient")
    ax.set_title(title, loc="left")
    ax.set_xticks(np.arange(-0.5, grades.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, grades.shape[0]), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.2)
    ax.tick_params(which="minor", length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    handles = [Patch(facecolor=GRADE_COLOURS[g], edgecolor="#cccccc", label=("none" if g == 0 else f"grade {g}"))
               for g in range(0, 6)]
    fig.legend(handles=handles, loc="outside lower center", ncols=6, fontsize=8, title=scale_note,
               title_fontsize=8, frameon=False)
    return fig


def milestones_plot(points, curves, *, title: str):
    """Reported medians (at S = 50%) and landmark rates with their CIs on a time axis, and the
    approximate curves through them, drawn thin and dashed and labelled as approximate. Where no
    endpoint has the two milestones a curve needs, a compact dot plot instead (`milestone_dots`):
    a single printed number does not get half a page."""
    if not any(c is not None for c in curves.values()):
        return milestone_dots(points, title=title)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.6), layout="constrained")
    endpoints = sorted({p.endpoint for p in points})
    colour = {ep: SERIES[i] for i, ep in enumerate(endpoints)}
    xmax = max([p.time_months or 0 for p in points] + [(p.ci_high or p.value or 0) for p in points
                                                        if p.kind == "median"] + [1.0]) * 1.25
    tmax = 1.0
    for i, ep in enumerate(endpoints):
        tmax = max(tmax, draw_milestones(ax, [p for p in points if p.endpoint == ep], colour[ep], xmax=xmax,
                                         dodge=dodge(i, len(endpoints), xmax)))
    for ep, curve in curves.items():
        if curve is not None:
            draw_approximate(ax, curve, colour.get(ep, "grey"))
    ax.axhline(0.5, color="#cccccc", linewidth=0.8, zorder=0)
    ax.set_xlim(0, tmax * 1.25)
    ax.set_ylim(0, 1.03)
    ax.set_yticks(np.linspace(0, 1, 6), [f"{int(v * 100)}%" for v in np.linspace(0, 1, 6)])
    ax.set_xlabel("Months since CAR-T infusion")
    ax.set_ylabel("Probability")
    ax.set_title(title, loc="left")
    names = {"pfs": "PFS", "os": "OS", "dor": "DOR"}
    handles = [Line2D([], [], color=colour[ep], marker="o", linestyle="none", label=f"{names.get(ep, ep)}: printed")
               for ep in endpoints]
    handles += [Line2D([], [], color="grey", linestyle=(0, (4, 2.5)), linewidth=1.1,
                       label="approximate curve (not patient data)")]
    ax.legend(handles=handles, loc="upper right", fontsize=8.5)
    return fig

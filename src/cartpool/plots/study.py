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


def km_plot(curves: dict[str, object], *, title: str, xlabel: str = "Months since CAR-T infusion",
            risk_times=None, p_text: str | None = None, band: bool = True):
    """Kaplan-Meier curves with censor marks, pointwise CI bands and a numbers-at-risk table."""
    tmax = max([float(km.table["time"].max()) for km in curves.values()] + [1.0])
    step = 3 if tmax <= 30 else 6 if tmax <= 60 else 12
    if risk_times is None:
        risk_times = list(np.arange(0, tmax + 1e-9, step))
    nrow = len(curves)
    # 7 inches wide (the printed text width, so no scaling) and short enough for two per page
    fig = plt.figure(figsize=(7.0, 3.3 + 0.28 * nrow))
    gs = fig.add_gridspec(2, 1, height_ratios=[3.2, 0.35 + 0.28 * nrow], hspace=0.45)
    ax, axr = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
    for i, (label, km) in enumerate(curves.items()):
        c, ls = SERIES[i % len(SERIES)], style.LINESTYLES[i % len(style.LINESTYLES)]
        t = np.concatenate([[0.0], km.table["time"].to_numpy(float)])
        s = np.concatenate([[1.0], km.table["survival"].to_numpy(float)])
        ax.step(t, s, where="post", color=c, linestyle=ls, linewidth=1.8, label=label)
        if band:
            lo = np.concatenate([[1.0], km.table["ci_low"].fillna(1.0 if True else 0).to_numpy(float)])
            hi = np.concatenate([[1.0], km.table["ci_high"].fillna(1.0).to_numpy(float)])
            zero = np.concatenate([[False], (km.table["survival"] <= 0).to_numpy()])
            lo, hi = np.where(zero, 0.0, lo), np.where(zero, 0.0, hi)
            ax.fill_between(t, lo, hi, step="post", color=c, alpha=0.13, linewidth=0)
        cens = km.table[km.table["n_censor"] > 0]
        ax.plot(cens["time"], cens["survival"], "|", color=c, markersize=10, markeredgewidth=1.6)
    ax.set_ylim(-0.02, 1.03)
    ax.set_xlim(0, max(risk_times[-1], tmax) * 1.02)
    ax.set_xticks(risk_times)
    ax.set_yticks(np.linspace(0, 1, 6), [f"{int(v * 100)}%" for v in np.linspace(0, 1, 6)])
    ax.set_ylabel("Probability")
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    handles = [Line2D([], [], color=SERIES[i % len(SERIES)], linestyle=style.LINESTYLES[i % 4], label=lab)
               for i, lab in enumerate(curves)]
    handles.append(Line2D([], [], color="grey", marker="|", linestyle="none", markersize=9, label="censored"))
    ax.legend(handles=handles, loc="upper right", fontsize=8.5)
    if p_text:
        ax.text(0.02, 0.04, p_text, transform=ax.transAxes, fontsize=9)
    # numbers at risk, aligned with the time axis
    axr.set_xlim(ax.get_xlim())
    axr.set_ylim(-0.5, nrow - 0.5)
    axr.axis("off")
    axr.set_title("Number at risk", loc="left", fontsize=9)
    for i, (label, km) in enumerate(curves.items()):
        y = nrow - 1 - i
        for t, n in zip(risk_times, km.n_at_risk(risk_times), strict=True):
            axr.text(t, y, str(n), ha="center", va="center", fontsize=8.5, color=SERIES[i % len(SERIES)])
        axr.text(-0.02, y, label, ha="right", va="center", fontsize=8.5, transform=axr.get_yaxis_transform())
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
    approximate curves through them, drawn dashed and labelled as approximate."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    endpoints = sorted({p.endpoint for p in points})
    colour = {ep: SERIES[i] for i, ep in enumerate(endpoints)}
    tmax = 1.0
    for p in points:
        c = colour[p.endpoint]
        if p.kind == "landmark" and p.value is not None:
            yerr = None
            if p.ci_low is not None and p.ci_high is not None:
                yerr = [[p.value - p.ci_low], [p.ci_high - p.value]]
            ax.errorbar(p.time_months, p.value, yerr=yerr, fmt="o", color=c, capsize=4, markersize=6)
            tmax = max(tmax, p.time_months)
        elif p.kind == "median" and p.value is not None:
            lo = p.ci_low if p.ci_low is not None else p.value
            ax.plot([lo, p.value], [0.5, 0.5], color=c, linewidth=2)
            ax.plot(p.value, 0.5, "s", color=c, markersize=7)
            if p.high_not_reached:
                ax.annotate("", xy=(p.value + max(3, 0.25 * p.value), 0.5), xytext=(p.value, 0.5),
                            arrowprops=dict(arrowstyle="->", color=c, lw=1.5))
            elif p.ci_high is not None:
                ax.plot([p.value, p.ci_high], [0.5, 0.5], color=c, linewidth=2)
            tmax = max(tmax, p.ci_high or p.value * 1.3)
    for ep, curve in curves.items():
        if curve is None:
            continue
        ax.plot(curve.times, curve.survival, linestyle="--", color=colour.get(ep, "grey"), linewidth=1.4)
    ax.axhline(0.5, color="#cccccc", linewidth=0.8, zorder=0)
    ax.set_xlim(0, tmax * 1.25)
    ax.set_ylim(0, 1.03)
    ax.set_yticks(np.linspace(0, 1, 6), [f"{int(v * 100)}%" for v in np.linspace(0, 1, 6)])
    ax.set_xlabel("Months since CAR-T infusion")
    ax.set_ylabel("Probability")
    ax.set_title(title, loc="left")
    names = {"pfs": "PFS", "os": "OS", "dor": "DOR"}
    handles = [Line2D([], [], color=colour[ep], marker="o", linestyle="none", label=f"{names.get(ep, ep)}: reported")
               for ep in endpoints]
    handles += [Line2D([], [], color="grey", linestyle="--", label="approximate curve (not patient data)")]
    ax.legend(handles=handles, loc="upper right", fontsize=8.5)
    return fig

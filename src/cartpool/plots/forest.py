"""Forest plots in the layout of R meta's `forest()`: study, events, total, the proportion with
its 95% CI as a square sized by weight, the numbers, and the weight; a diamond per subgroup
with its heterogeneity written under it; the overall diamond; the prediction interval; and
the method line."""

from __future__ import annotations

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


def _fmt_ci(est, lo, hi) -> str:
    if est is None or not np.isfinite(est):
        return ""
    return f"{100 * est:.1f} [{100 * lo:.1f}; {100 * hi:.1f}]"


def forest_rows(sub, *, hetero_under_subgroups: bool = True) -> list[ForestRow]:
    """Rows for a `cartpool.stats.meta.SubgroupResult` (or a MetaResult with `subgroups={}`)."""
    overall = sub.overall
    w_overall = dict(zip(overall.studies["study"], overall.studies["weight"], strict=True))
    rows: list[ForestRow] = []
    multi = len(sub.subgroups) > 1
    for name, r in sub.subgroups.items():
        if multi:
            rows.append(ForestRow("header", name, bold=True))
        for _, s in r.studies.iterrows():
            rows.append(ForestRow("study", str(s["study"]), int(s["events"]), int(s["total"]), s["proportion"],
                                  s["ci_low"], s["ci_high"], w_overall.get(s["study"])))
        if multi:
            rows.append(ForestRow("diamond", f"Random effects, {name}", r.events, r.total, r.estimate,
                                  r.ci_low, r.ci_high, float(sum(w_overall.get(x, 0) for x in r.studies["study"]))))
            if hetero_under_subgroups:
                rows.append(ForestRow("text", heterogeneity_text(r)))
            if r.note:
                rows.append(ForestRow("text", r.note))
    rows.append(ForestRow("diamond", "Random effects model", overall.events, overall.total, overall.estimate,
                          overall.ci_low, overall.ci_high, 100.0, bold=True))
    if overall.k > 1 and np.isfinite(overall.pi_low):
        rows.append(ForestRow("prediction", "Prediction interval", est=None, lo=overall.pi_low, hi=overall.pi_high))
    rows.append(ForestRow("text", heterogeneity_text(overall)))
    if overall.note:
        rows.append(ForestRow("text", overall.note))
    if multi and np.isfinite(sub.q_between):
        rows.append(ForestRow("text", f"Test for subgroup differences: χ² = {sub.q_between:.2f}, "
                                      f"df = {sub.df} (p = {_p(sub.p_between)})"))
    return rows


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def heterogeneity_text(r) -> str:
    if r.k < 2:
        return "Heterogeneity: not applicable (one study)"
    return (f"Heterogeneity: I² = {r.i2:.0f}%, τ² = {r.tau2:.4f}, "
            f"χ²({r.k - 1}) = {r.q:.2f} (p = {_p(r.q_p)})")


def forest_plot(rows: list[ForestRow], *, title: str, xlabel: str = "Proportion (%)", method_line: str = ""):
    n = len(rows)
    height = 0.3 * n + 1.6
    fig = plt.figure(figsize=(11, height))
    gs = fig.add_gridspec(1, 3, width_ratios=[4.3, 3.4, 3.2], wspace=0.02,
                          top=1 - 0.45 / height, bottom=0.75 / height)
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
    head = dict(fontsize=9, fontweight="bold", va="center")
    axl.text(0.0, top, "Study", **head)
    axl.text(0.80, top, "Events", ha="right", **head)
    axl.text(0.99, top, "Total", ha="right", **head)
    axr.text(0.04, top, "Proportion (%) [95% CI]", **head)
    axr.text(1.0, top, "Weight", ha="right", **head)
    wmax = max([r.weight or 0 for r in rows if r.kind == "study"] + [1])
    for y, r in zip(ys, rows, strict=True):
        weight = "bold" if r.bold else "normal"
        if r.kind == "text":
            axl.text(0.0, y, r.label, fontsize=8, va="center", style="italic", clip_on=False)
            continue
        axl.text(0.0 if r.kind != "study" else 0.03, y, r.label, fontsize=9, va="center", fontweight=weight)
        if r.kind == "header":
            continue
        if r.events is not None:
            axl.text(0.80, y, str(r.events), ha="right", fontsize=9, va="center", fontweight=weight)
            axl.text(0.99, y, str(r.total), ha="right", fontsize=9, va="center", fontweight=weight)
        if r.kind == "study":
            ax.plot([r.lo, r.hi], [y, y], color="black", linewidth=1)
            side = 0.05 + 0.3 * np.sqrt((r.weight or 0) / wmax)
            ax.add_patch(plt.Rectangle((r.est - side * 0.045, y - side / 2), side * 0.09, side,
                                       facecolor=OKABE_ITO["grey"], edgecolor="black", linewidth=0.5))
        elif r.kind == "diamond":
            ax.fill([r.lo, r.est, r.hi, r.est], [y, y + 0.3, y, y - 0.3],
                    color=OKABE_ITO["blue"] if r.bold else OKABE_ITO["sky"], edgecolor="black", linewidth=0.6)
        elif r.kind == "prediction":
            ax.add_patch(plt.Rectangle((r.lo, y - 0.12), r.hi - r.lo, 0.24, facecolor=OKABE_ITO["vermillion"],
                                       edgecolor="black", linewidth=0.5))
            axr.text(0.04, y, f"[{100 * r.lo:.1f}; {100 * r.hi:.1f}]", fontsize=9, va="center")
            continue
        axr.text(0.04, y, _fmt_ci(r.est, r.lo, r.hi), fontsize=9, va="center", fontweight=weight)
        if r.weight is not None:
            axr.text(1.0, y, f"{r.weight:.1f}%", ha="right", fontsize=9, va="center", fontweight=weight)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{int(x * 100)}" for x in np.linspace(0, 1, 6)])
    ax.set_yticks([])
    for s in ("left", "right", "top"):
        ax.spines[s].set_visible(False)
    ax.set_xlabel(xlabel)
    fig.suptitle(title, x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=11, fontweight="bold")
    if method_line:
        fig.text(0.01, 0.005, method_line, fontsize=8, ha="left", va="bottom", color="#444444")
    return fig


def medians_plot(items, *, title: str):
    """Median PFS/OS per study with CIs; 'not reached' upper limits as open arrows, medians
    not reached as an open arrow from the lower limit."""
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(items) + 1.5))
    xmax = 1.0
    for _lab, est, _lo, hi, _nr in items:
        if est is not None:
            xmax = max(xmax, est, hi or 0)
    xmax *= 1.25
    for i, (_lab, est, lo, hi, nr_high) in enumerate(items):
        y = len(items) - i
        if est is None:
            start = lo if lo is not None else 0.0
            ax.annotate("", xy=(xmax * 0.95, y), xytext=(start, y),
                        arrowprops=dict(arrowstyle="-|>", color="black", lw=1, fill=False))
            ax.text(start, y + 0.22, "median not reached", fontsize=8)
            continue
        if lo is not None:
            ax.plot([lo, est], [y, y], color="black", lw=1.2)
        if nr_high:
            ax.annotate("", xy=(min(xmax * 0.95, est + 0.3 * xmax), y), xytext=(est, y),
                        arrowprops=dict(arrowstyle="-|>", color="black", lw=1, fill=False))
        elif hi is not None:
            ax.plot([est, hi], [y, y], color="black", lw=1.2)
        ax.plot(est, y, "s", color=OKABE_ITO["blue"], markersize=7)
    ax.set_yticks(range(len(items), 0, -1), [it[0] for it in items], fontsize=8.5)
    ax.set_xlim(0, xmax)
    ax.set_xlabel("Months since CAR-T infusion")
    ax.set_title(title, loc="left")
    return fig

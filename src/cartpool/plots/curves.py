"""Survival curves of several studies overlaid: Kaplan-Meier steps from per-patient tables, and
approximate curves through printed milestones, each drawn in its own way."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .style import LINESTYLES, SERIES


def survival_overlay(curves, panels) -> plt.Figure | None:
    """One panel per survival endpoint with every study's curve.

    Parameters
    ----------
    curves : list of SurvivalCurve
        `cartpool.analysis.synthesis.SurvivalCurve`: study, endpoint, kind ("Kaplan-Meier" or
        "approximate"), times, survival and, for an approximate curve, its milestones.
    panels : list of (endpoint, title)
        The panels, in order.

    Returns
    -------
    matplotlib.figure.Figure or None
        None where no study has a curve.
    """
    if not curves:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(7.0, 3.4), sharey=True)
    for ax, (endpoint, title) in zip(axes, panels, strict=True):
        drawn = 0
        for c in (c for c in curves if c.endpoint == endpoint):
            colour = SERIES[drawn % len(SERIES)]
            if c.kind == "Kaplan-Meier":
                ax.step(c.times, c.survival, where="post", color=colour, linewidth=1.6, label=f"{c.study} (Kaplan-Meier)")
            else:
                ax.plot(c.times, c.survival, color=colour, linestyle=LINESTYLES[1 + c.order % 3], linewidth=1.3,
                        label=f"{c.study} (approximate)")
                ax.plot([p[0] for p in c.points], [p[1] for p in c.points], "o", color=colour, markersize=3.5)
            drawn += 1
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xlabel("Months since CAR-T infusion", fontsize=8.5)
        ax.tick_params(labelsize=8)
        ax.set_ylim(0, 1.03)
        ax.grid(axis="y", color="#e5e5e5")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    axes[0].set_ylabel("Probability", fontsize=8.5)
    return fig

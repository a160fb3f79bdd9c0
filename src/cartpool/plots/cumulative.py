"""The cumulative forest plot, in the layout of R meta's ``forest()`` of a ``metacum`` object: one
row per study added, in publication order, each showing the estimate from every study up to it.

Rows follow the main analysis's rule: a single study as a square with its exact interval; two
studies as a line of text (not pooled: the two estimates); three or more as the random-effects
diamond. The forest itself is drawn by `cartpool.plots.forest.forest_plot`.

References
----------
.. [1] Schwarzer G. meta: ``metacum`` and ``forest.meta``. R package.
"""

from __future__ import annotations

from dataclasses import dataclass

from .forest import ForestRow, forest_plot


@dataclass(frozen=True)
class CumulativePoint:
    """One step of a cumulative analysis as the plot draws it.

    `kind` is "single" (one study: a square), "pooled" (a diamond) or "text" (studies not pooled,
    or no estimate: `text` is printed instead)."""

    label: str
    kind: str
    events: int | None = None
    total: int | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    events_high: int | None = None
    estimate_high: float | None = None
    text: str = ""


def cumulative_forest(blocks: list[tuple[str, list[CumulativePoint]]], *, title: str, method_line: str = ""):
    """A cumulative forest plot: for each block (an outcome), a header row and one row per step.

    Parameters
    ----------
    blocks : list of (str, list of CumulativePoint)
        Each outcome's heading and its steps, in order.
    title : str
    method_line : str
        The line under the plot saying how each row was computed.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows: list[ForestRow] = []
    for heading, points in blocks:
        rows.append(ForestRow("header", heading, bold=True))
        for p in points:
            if p.kind == "text":
                rows.append(ForestRow("text", f"{p.label}: {p.text}"))
                continue
            rows.append(ForestRow("study" if p.kind == "single" else "diamond", p.label, p.events, p.total,
                                  p.estimate, p.ci_low, p.ci_high, None, events_high=p.events_high,
                                  est_high=p.estimate_high))
    return forest_plot(rows, title=title, method_line=method_line)

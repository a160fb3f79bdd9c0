"""Figures in the field's conventions and as inline SVG (issue 30): the SVG a page embeds, the forest
plot's rows and layout (R meta, robvis), Kaplan-Meier and milestone figures, and how a missing
interval is written. Fast: no build, no browser."""

from __future__ import annotations

import re

import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cartpool import formatting as fmt
from cartpool.analysis.pooling import pool
from cartpool.plots import forest as F
from cartpool.plots.export import svg_markup
from cartpool.report.render import Figures

DOMAINS = {"selection": "Selection", "ascertainment": "Ascertainment", "causality": "Causality",
           "reporting": "Reporting"}


def _bbox(fig, artist):
    return artist.get_window_extent(fig.canvas.get_renderer())


# --- writing intervals ---------------------------------------------------------------------------


def test_an_interval_with_neither_end_prints_one_dash():
    assert fmt.ci(None, None) == "(—)"
    assert fmt.ci(float("nan"), float("nan")) == "(—)"
    assert fmt.pct_ci(0.4, None, None) == "40.0% (—)"
    assert fmt.ci(0.1, 0.5) == "(10.0–50.0)"
    assert fmt.ci(4.6, None, as_pct=False, nr_high=True) == "(4.6–NR)"
    assert "—–—" not in fmt.ci(None, None, nr_high=True)


def test_a_range_prints_its_smaller_end_first():
    """A pooled estimate over a range of counts can fall as the count rises; the range still reads
    smaller–larger, in the tables and in the forest plot's column."""
    assert fmt.pct_range(0.852, 0.845) == fmt.pct_range(0.845, 0.852) == "84.5–85.2%"
    assert F._fmt_ci(0.852, 0.208, 0.992, 0.845) == "84.5–85.2 (20.8–99.2)"


# --- inline SVG ----------------------------------------------------------------------------------


def _small_figure(title="Alpha & <b>beta</b>"):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.fill_between([0, 1], [0, 0.2], [0.5, 0.8], alpha=0.2)
    ax.bar([0.5], [0.3], hatch="//")
    ax.set_title(title)
    return fig


def test_figures_are_inline_svg_with_escaped_text_unique_ids_and_no_metadata(tmp_path):
    figs = Figures(tmp_path)
    one = figs.embed(_small_figure(), name="one", alt='A "quoted" <alt>', caption="c")
    two = figs.embed(_small_figure(), name="two", alt="second", caption="c")
    svg1, svg2 = str(one["svg"]), str(two["svg"])
    assert svg1.startswith('<svg role="img" aria-label="A &#34;quoted&#34; &lt;alt&gt;"')
    assert "<?xml" not in svg1 and "<!DOCTYPE" not in svg1 and "<metadata" not in svg1
    assert "Alpha &amp; &lt;b&gt;beta&lt;/b&gt;</text>" in svg1  # text as text, escaped
    ids1, ids2 = set(re.findall(r' id="([^"]+)"', svg1)), set(re.findall(r' id="([^"]+)"', svg2))
    assert ids1 and not ids1 & ids2  # clip paths and hatches: prefixed by the figure's number
    for ref in re.findall(r'url\(#([^)]+)\)|xlink:href="#([^"]+)"', svg1):
        assert (ref[0] or ref[1]) in ids1
    assert "font-family: 'DejaVu Sans'" not in svg1 and 'font-family="\'DejaVu Sans\'' in svg1
    assert not (tmp_path / "01-one.svg").exists()  # embedding writes nothing: the export step does
    figs.write()
    assert (tmp_path / "01-one.svg").read_text(encoding="utf-8") == svg1
    sizes = (tmp_path / "figure-sizes.csv").read_text(encoding="utf-8").splitlines()
    assert sizes[0] == "figure,file,format,width_in,height_in,smallest_text_pt" and ",svg," in sizes[1]


def test_the_same_figure_gives_the_same_bytes():
    a = str(Figures(None).embed(_small_figure(), name="x", alt="a", caption="c")["svg"])
    b = str(Figures(None).embed(_small_figure(), name="x", alt="a", caption="c")["svg"])
    assert a == b


def test_svg_markup_keeps_referenced_ids_only():
    svg = ('<?xml version="1.0"?>\n<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" height="5pt">'
           '<metadata>x</metadata><g id="figure_1"><clipPath id="p1"></clipPath>'
           '<path clip-path="url(#p1)"/></g></svg>')
    out = svg_markup(svg, "f9-", "label")
    assert 'id="figure_1"' not in out and 'id="f9-p1"' in out and "url(#f9-p1)" in out


# --- forest plots --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def groups():
    random = pool([6, 8, 6, 3], [11, 8, 6, 10], ["Alpha 2020", "Beta 2021", "Gamma 2022", "Delta 2023 (range)"],
                  events_high=[6, 8, 6, 5])
    two = pool([9, 11], [12, 11], ["Eps 2024", "Zeta 2025"])
    none = pool([0, 0, 0], [5, 7, 9], ["Eta 2020", "Theta 2021", "Iota 2022"])
    return [F.ForestGroup("Relapsed/refractory PCL", random), F.ForestGroup("Frontline PCL", two),
            F.ForestGroup("Multiple myeloma", none, "context")]


def test_forest_rows_follow_r_meta(groups):
    rob = {"Alpha 2020": ("low", "high", "some_concerns", "no_information", "high"),
           "Delta 2023": ("low",) * 5}
    rows = F.forest_rows(groups, rob=rob)
    kinds = [r.kind for r in rows]
    # random effects: filled diamond and prediction interval; two studies: no diamond; no events: open diamond
    diamonds = [r for r in rows if r.kind == "diamond"]
    assert [d.model for d in diamonds] == [True, False]
    assert diamonds[0].label == "Random-effects model" and kinds.count("prediction") == 1
    # the GLMM defines no weights: no study row carries one
    assert all(r.weight is None for r in rows if r.kind == "study")
    het = [r.label for r in rows if r.label.startswith("Heterogeneity")]
    assert len(het) == 3
    assert re.fullmatch(r"Heterogeneity: I² = \d+%, τ² = \d+\.\d\d, likelihood-ratio χ²₃ = \d+\.\d\d "
                        r"\(p [=<] [\d.]+\); tested at the lower end of each range", het[0]), het[0]
    assert het[1].endswith("(I² and τ² uninformative with 2 studies)")
    # two studies: Fisher's exact test too, as the methods promise (9/12 against 11/11)
    from scipy.stats import fisher_exact
    assert f"Fisher's exact test {fmt.p_value(fisher_exact([[9, 3], [11, 0]]).pvalue)}" in het[1]
    assert "range" not in het[1]  # no range in that group
    # no I² or τ² to call uninformative (no events at the lower ends): the line does not mention them;
    # a group header already in brackets gets its note inside them
    other = F.forest_rows([F.ForestGroup("R/R PCL (23 patients)", pool([0, 0], [12, 11], ["A", "B"], events_high=[2, 0])),
                          F.ForestGroup("Frontline PCL (9 patients)", pool([8], [9], ["C"]))])
    line = next(r.label for r in other if r.label.startswith("Heterogeneity"))
    assert "I²" not in line and line.endswith("; tested at the lower end of each range"), line
    assert [r.label for r in other if r.kind == "header"][1] == "Frontline PCL (9 patients; one study, not pooled)"
    # traffic lights: by study label, a range's label included; an unappraised study has none
    marks = {r.label: r.rob for r in rows if r.kind == "study"}
    assert marks["Alpha 2020"] == rob["Alpha 2020"] and marks["Delta 2023 (range)"] == rob["Delta 2023"]
    assert marks["Beta 2021"] is None


def test_forest_plot_columns_do_not_overlap_and_footnotes_clear_the_axis(groups):
    rob = {f"{n} 20{y}": ("low", "some_concerns", "high", "no_information", "some_concerns")
           for n, y in (("Alpha", 20), ("Beta", 21), ("Gamma", 22), ("Delta", 23), ("Eps", 24), ("Zeta", 25))}
    method = ("Random-effects model: random-intercept logistic regression (GLMM), z-based 95% CI; prediction "
              "interval t-based; study CIs Clopper-Pearson (widened over a range's two ends). " * 2)
    fig = F.forest_plot(F.forest_rows(groups, rob=rob), title="Overall response", method_line=method,
                        rob_domains=DOMAINS)
    fig.canvas.draw()
    tab, ax = fig.axes
    texts = [t for t in tab.texts if t.get_text().strip()]
    foot = next(t for t in texts if t.get_text().startswith("Random-effects model: random"))
    assert _bbox(fig, foot).y1 < _bbox(fig, ax.xaxis.label).y0  # the footnote sits under the axis label
    assert "Risk of bias (traffic lights as in robvis)" in foot.get_text()
    # on one row, no two texts overlap (a long label never runs into the events column)
    by_row: dict[float, list] = {}
    for t in texts:
        by_row.setdefault(round(t.get_position()[1], 3), []).append(_bbox(fig, t))
    for boxes in by_row.values():
        boxes.sort(key=lambda b: b.x0)
        for left, right in zip(boxes, boxes[1:], strict=False):
            assert left.x1 <= right.x0 + 0.5
    width, _ = fig.get_size_inches()
    assert width <= 7.0 and min(t.get_fontsize() for t in texts) >= 8
    assert (ax.get_position().width * width) > 1.2  # the plot keeps room to read
    # a study's square at 0% or 100% (Beta 2021 8/8, Eta 2020 0/5) is drawn whole, not cut at the axis
    grey = matplotlib.colors.to_rgba(F.OKABE_ITO["grey"])
    squares = [p for p in ax.patches if isinstance(p, plt.Rectangle) and p.get_facecolor() == grey]
    assert len(squares) == 9
    plot_box, fig_box = ax.get_window_extent(), fig.bbox
    for square in squares:
        box = _bbox(fig, square)
        assert fig_box.x0 <= box.x0 and box.x1 <= fig_box.x1
        assert not square.get_clip_on() or (plot_box.x0 <= box.x0 and box.x1 <= plot_box.x1)
    assert any(_bbox(fig, s).x1 > plot_box.x1 for s in squares)  # the 100% square reaches past the axis
    plt.close(fig)


# --- survival ------------------------------------------------------------------------------------


def test_stratified_kaplan_meier_has_bands_median_lines_and_numbers_at_risk():
    from cartpool.plots.study_figures import km_plot
    from cartpool.stats.kaplan_meier import kaplan_meier

    rng = np.random.default_rng(1)
    fits = {f"PCL type: {g}": kaplan_meier(rng.exponential(10, 15), rng.random(15) < 0.7) for g in ("pPCL", "sPCL")}
    fig = km_plot(fits, title="PFS by PCL type")
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one light band per stratum
    medians = [ln for ln in ax.lines if ln.get_linestyle() == "--" and list(ln.get_ydata()) == [0.5, 0.5, 0]]
    assert len(medians) == sum(km.median()[0] is not None for km in fits.values())
    risk = [t.get_text() for t in fig.axes[1].texts]
    assert "pPCL" in risk and "sPCL" in risk and "PCL type: pPCL" not in risk
    assert fig.get_size_inches()[0] <= 7.0
    plt.close(fig)


def test_a_single_printed_milestone_gets_a_few_lines_not_half_a_page():
    from cartpool.domain.survival_rules import SurvivalPoint
    from cartpool.plots.study_figures import milestones_plot

    pts = [SurvivalPoint("s", "os", "landmark", 48.0, 0.63, 0.55, 0.73, False, "reported", "all"),
           SurvivalPoint("s", "pfs", "median", 6.0, 6.0, None, None, False, "reported", "all")]
    fig = milestones_plot(pts, {}, title="Printed milestones")
    assert fig.get_size_inches()[1] < 2.6
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert labels == ["OS at 48 months", "Median PFS"]
    assert not any("approximate" in t.get_text() for ax in fig.axes for t in ax.texts)
    plt.close(fig)


def test_a_very_long_study_label_is_cut_and_the_plot_keeps_its_width():
    r = pool([3, 5], [10, 12], ["=HYPERLINK(\"http://example.org\", \"a study label far longer than any column\")",
                                "Beta 2021"])
    rows = F.forest_rows([F.ForestGroup("Relapsed/refractory PCL", r)])
    fig = F.forest_plot(rows, title="Long labels", rob_domains=DOMAINS)
    ax = fig.axes[1]
    assert ax.get_position().width * fig.get_size_inches()[0] >= F.MIN_PLOT_IN - 1e-6
    assert any(t.get_text().endswith("…") for t in fig.axes[0].texts)
    plt.close(fig)


def test_a_forest_row_with_sources_links_to_them_with_its_quote_as_title():
    """A study row's sources (issue 30, part 2): its numbers drawn after its label (so that print
    shows them), the whole row a focusable link to the sources list, and the quote as its <title>;
    a pooled diamond links to its inputs."""
    from cartpool.plots.export import figure_file

    r = pool([6, 8, 6], [11, 8, 6], ["Alpha 2020", "Beta 2021", "Gamma 2022"])
    sources = [F.RowSource(f"[{i}]", f"#src-{i}", f"Alpha 2020, Table {i}: “6 of 11 <responded>”")
               for i in (1, 2, 3)]
    group = F.ForestGroup("Relapsed/refractory PCL", r, sources=sources,
                          inputs=F.RowSource("", "#outcome-orr-1", "3 studies, 25 patients"))
    fig = F.forest_plot(F.forest_rows([group]), title="Overall response")
    assert {"[1]", "[2]", "[3]"} <= {t.get_text() for t in fig.axes[0].texts}
    svg = figure_file(fig, name="forest", id_prefix="f1-", alt="Forest plot").svg
    links = re.findall(r'<a href="([^"]+)" tabindex="0" data-cp-src=""><title>([^<]*)</title>', svg)
    assert [h for h, _ in links] == ["#src-1", "#src-2", "#src-3", "#outcome-orr-1"]
    assert links[0][1] == "Alpha 2020, Table 1: “6 of 11 &lt;responded&gt;”"  # escaped, verbatim
    assert 'target="_blank"' not in svg and "cp-row-" not in svg

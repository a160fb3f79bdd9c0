"""Renderers of the pooled page's outcome sections: efficacy and safety (each outcome's forest plot
by population, its table with each study's count and source, subgroups, heterogeneity and what
differs between the studies) and survival (medians, landmarks and the curves). Each formats one
result of `cartpool.analysis.synthesis` into a fragment, as `cartpool.report.pooled_renderers` does
for the rest of the page.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import pooled_results as results
from ..analysis import pooled_rows
from ..analysis.pooling import METHOD_LABELS, Rule
from ..data.risk_of_bias import DOMAINS as ROB_DOMAINS
from ..domain import registry
from ..frames import frame_rows
from ..plots.forest import (
    ForestGroup,
    ForestRow,
    RowSource,
    forest_plot,
    forest_rows,
    heterogeneity_text,
    rob_of,
)
from . import labels
from .pooled_words import GROUP_NOTES, NOT_APPLICABLE, events_text, row_estimate_text
from .provenance import OWN_PROPORTION, computed, how_words, model_words, refs, study_number
from .render import Fragment, Table, render


def _count_cell(page, x) -> Markup:
    """A study's count in a pooled row, its source on hover and focus and its source numbers."""
    text = f"{x.study}: " + fmt.count_range(x.events, x.events_high, x.total)
    return study_number(page, text, x) + Markup(" ({})").format(labels.lower_first(x.population))


def _row_source(page, x) -> RowSource:
    """A forest plot's study row: its source numbers, a link to the first, and its title (the count,
    how it was obtained, and each source with its quote)."""
    ns = refs(page, x.study_id, x.result_ids, x.how)
    count = fmt.count_range(x.events, x.events_high, x.total)
    title = f"{x.study}: {count} ({how_words(x.how, x.detail)}). " + " ".join(f"[{n}] {page.cites.tip(n)}" for n in ns)
    return RowSource("[" + ",".join(map(str, ns)) + "]" if ns else "", f"#src-{ns[0]}" if ns else "", title.strip())


def _inputs_source(view: results.OutcomeView, group: str, r, href: str) -> RowSource:
    """A pooled estimate's inputs, for its diamond's title: the model, the studies and their counts."""
    inp = view.result.inputs
    counts = "; ".join(f"{x.study} {fmt.count_range(x.events, x.events_high, x.total)}" for x in frame_rows(inp[inp["group"] == group]))
    model = METHOD_LABELS.get(r.method, r.method) if r.rule == Rule.RANDOM else labels.lower_first(r.ci_how or "")
    return RowSource("", href, f"{group}: {row_estimate_text(r)}, from {r.k} studies and {r.total} patients "
                               f"({counts}); {labels.lower_first(r.rule)}" + (f", {model}" if model else "")
                     + ". Its inputs are in the table under the figure.")


#: What the heterogeneity column holds, for its cells' tooltips.
HETEROGENEITY_HOW = ("heterogeneity between the studies: I² and τ² of the random-intercept logistic model "
                     "(GLMM), and the likelihood-ratio test against one common rate (with two studies, also "
                     "Fisher's exact test)")


def _sum_cell(page, r, rows) -> Markup:
    """A row's events/patients: one study's count with its sources, or the sum of several."""
    rows = list(rows)
    if len(rows) == 1:
        return study_number(page, events_text(r), rows[0])
    return computed(page, events_text(r), f"the sum of the {len(rows)} studies' counts", rows)


def _estimate_cell(page, r, rows, text: str) -> Markup:
    """A row's estimate (`text`, with its notes): one study's proportion with its sources, or what
    this report computed from several (side by side, or pooled) with its model and inputs."""
    rows = list(rows)
    if r.rule == Rule.SINGLE and len(rows) == 1:
        return study_number(page, text, rows[0], what=OWN_PROPORTION)
    return computed(page, text, model_words(r.rule, r.method, r.note, r.ci_how), rows)


def _group_table(page, view: results.OutcomeView) -> Table:
    rows = []
    res = view.result
    for g, r in res.groups.items():
        inputs = view.row_inputs((pooled_rows.PRIMARY, pooled_rows.CONTEXT), g, pooled_rows.A_MAIN)
        used = list(frame_rows(inputs[inputs["in_fit"]]))
        who = Markup("; ").join(_count_cell(page, x) for x in frame_rows(inputs))
        note = "" if r.rule in (Rule.TWO, Rule.SINGLE) else labels.sentence_case(r.note)
        if r.range_left_out:
            note = (note + "; " if note else "") + f"Left out (a range with an uninformative end): {r.range_left_out}"
        if r.rule == Rule.RANDOM:
            note = (note + "; " if note else "") + f"Random-effects model: {METHOD_LABELS.get(r.method, r.method)}"
        rows.append([g + (" (context)" if res.roles[g] == pooled_rows.CONTEXT else ""), who, _sum_cell(page, r, used),
                     _estimate_cell(page, r, used, row_estimate_text(r) + (f". {note}" if note else "")),
                     computed(page, heterogeneity_text(r).removeprefix("Heterogeneity: "), HETEROGENEITY_HOW, used,
                              marks=False) if r.k > 1 else NOT_APPLICABLE])
    return Table(f"{view.spec.label}: by population, with each study's count and the patients it counts",
                 ["Population", "Each study: events/patients (who is counted)", "Events/patients",
                  "Estimate (95% CI)", "Heterogeneity"], rows,
                 numeric={"Events/patients"}, compact=True, csv=page.csv_href("estimates"), csv_whole=False,
                 sortable=True, row_ids=[group_anchor(view, i) for i in range(len(rows))], words={"Population"})


def _subgroup_table(page, view: results.OutcomeView, subgroup_labels: dict, min_k: int) -> Table | None:
    """The plan's subgroups (CAR target, PCL type) within each PCL population."""
    res = view.result
    if not res.subgroups:
        return None
    rows = []
    for (g, field_, level), r in res.subgroups.items():
        test = res.tests.get((g, field_))
        tested = f"; test between levels {fmt.p_value(test.p)}" if test is not None and test.tested else ""
        inputs = view.row_inputs(pooled_rows.SUBGROUP, g, subgroup_labels[field_], level)
        used = list(frame_rows(inputs[inputs["in_fit"]]))
        rows.append([f"{g}: {labels.lower_first(subgroup_labels[field_])}", level, _sum_cell(page, r, used),
                     _estimate_cell(page, r, used, row_estimate_text(r) + tested)])
    return Table(f"{view.spec.label}: subgroups named in the analysis plan (levels are compared only where each has "
                 f"{fmt.number_words(min_k)} or more studies)", ["Population and subgroup", "Level", "Events/patients",
                                            "Estimate (95% CI)"],
                 rows, numeric={"Events/patients"}, compact=True, csv=page.csv_href("estimates"), csv_whole=False,
                 words={"Population and subgroup", "Level"})


def _method_line(res, min_k: int) -> str:
    enough, few = fmt.number_words(min_k).capitalize(), fmt.too_few_words(min_k).capitalize()
    if any(r.rule == Rule.RANDOM for r in res.groups.values()):
        return (f"{enough} or more studies: random-effects logistic-normal model (GLMM), τ² by maximum likelihood; "
                f"prediction interval t-based. {few} studies: not pooled. Study CIs Clopper-Pearson.")
    return f"Study CIs Clopper-Pearson. {few} studies are shown side by side, not pooled; one study is shown alone."


def _notes(spec: registry.OutcomeSpec, t: pd.DataFrame) -> list[str]:
    notes = []
    for f in spec.comparability:
        if f in t.columns and t[f].nunique() > 1:
            what = registry.DEFINING_FACTS.get(f, labels.humanise(f).lower())
            notes.append(f"Definitions differ between studies ({what}): "
                         + "; ".join(f"{x.study}: {getattr(x, f)}" for x in frame_rows(t)) + ".")
    derived = [f"{x.study} ({labels.how(x.how, x.detail)})" for x in frame_rows(t) if x.derived]
    if derived:
        notes.append("Counts derived rather than printed: " + "; ".join(derived) + ".")
    return notes


def _interpretation(view: results.OutcomeView) -> str:
    """What each PCL population shows, with its certainty; MM only as context."""
    bits, context = [], []
    res = view.result
    for g, r in res.groups.items():
        text = (f"{events_text(r)} patients in one study, {row_estimate_text(r)}" if r.k == 1 else
                f"{row_estimate_text(r)}" if r.rule == Rule.TWO else
                f"{row_estimate_text(r)} from {r.k} studies and {r.total} patients")
        if res.roles[g] == pooled_rows.PRIMARY:
            c = view.certainty.get(g)
            bits.append(f"in {labels.lower_first(g)}, {text}" + (f"; {c['certainty']} certainty" if c is not None
                                                                 else ""))
        else:
            context.append(f"{labels.lower_first(g)}, {text}")
    out = f"{view.spec.label}: " + ("; ".join(bits) if bits else "no PCL study reports it") + "."
    if context:
        out += " For context, " + "; ".join(context) + "."
    return out


def _outcome(page, view: results.OutcomeView, subgroup_labels: dict, min_k: int, *, draw: bool = True) -> Fragment:
    spec, res = view.spec, view.result
    t = res.inputs
    anchor = f"outcome-{spec.key}"
    if t.empty:
        return render("pooled_outcome.html.j2", spec=spec, anchor=anchor, figure=None, table=None, notes=[],
                      missing="No study reports it.", interpretation="", subgroups=None)
    missing = (f"Not available from: {', '.join(res.missing)} (not reported, or not derivable from what is "
               "printed)." if res.missing else "Available from every study.")
    groups = [ForestGroup(f"{g} ({int(r.total)} patients)", r, GROUP_NOTES[res.roles[g]],
                          sources=[_row_source(page, x) for x in frame_rows(t[t["group"] == g])],
                          inputs=_inputs_source(view, g, r, "#" + group_anchor(view, i)))
              for i, (g, r) in enumerate(res.groups.items())]
    test_text = ""
    if res.test.tested:
        test_text = (f"Test for subgroup differences (PCL groups): χ² = {res.test.q:.2f}, df = {res.test.df} "
                     f"({fmt.p_value(res.test.p)})")
    elif len([g for g in res.roles.values() if g == pooled_rows.PRIMARY]) > 1:
        test_text = f"Test for subgroup differences (PCL groups): {res.test.note}"
    figure = None
    if draw:
        alt = "; ".join(f"{g}: {row_estimate_text(r)}" for g, r in res.groups.items())
        figure = page.figures.draw(
            forest_plot, forest_rows(groups, test_text=test_text, rob=view.rob), title=f"{spec.label}",
            method_line=_method_line(res, min_k), rob_domains=ROB_DOMAINS, name=f"forest-{spec.key}",
            alt=f"Forest plot of {labels.lower_first(spec.label)} by population: {alt}",
            caption=f"{spec.label}: each study's proportion with its exact 95% CI (a grey bar marks a range), by "
                    f"population; {fmt.too_few_words(min_k)} studies are shown side by side, not pooled; "
                    f"{fmt.number_words(min_k)} or more are pooled by the "
                    "random-effects model (diamond) with a prediction interval. Each population's size and "
                    "denominator are in the table below. Plasma cell leukemia populations answer the question; "
                    "multiple myeloma populations are context.")
    return render("pooled_outcome.html.j2", spec=spec, anchor=anchor, figure=figure, table=_group_table(page, view),
                  notes=_notes(spec, t), missing=missing, interpretation=_interpretation(view),
                  subgroups=_subgroup_table(page, view, subgroup_labels, min_k))


def _single_study_figure(page, views: list[results.OutcomeView], section: str) -> Fragment:
    """One forest plot for the outcomes where every population has one study."""
    rows, described = [], []
    for v in views:
        res = v.result
        if res.inputs.empty:
            continue
        rows.append(ForestRow("header", v.spec.label, bold=True))
        for g, r in res.groups.items():
            inputs = list(frame_rows(res.inputs[res.inputs["group"] == g]))
            for s, x in zip(frame_rows(r.studies), inputs, strict=True):
                where = g.replace("Relapsed/refractory", "R/R")
                high = int(getattr(s, "events_high", s.events))
                label = f"{s.study}, {where}"
                rows.append(ForestRow("study", label, int(s.events), int(s.total),
                                      s.proportion, s.ci_low, s.ci_high,
                                      events_high=high if high != int(s.events) else None,
                                      est_high=high / s.total if high != int(s.events) else None,
                                      rob=rob_of(label, v.rob), source=_row_source(page, x)))
                described.append(f"{v.spec.label}, {s.study}: {fmt.count(s.events, s.total)}")
    if not rows:
        return Fragment(Markup(""))
    what = f"{section} outcomes"
    figure = page.figures.draw(
        forest_plot, rows, title=f"{labels.sentence_case(what)} with one study per population",
        method_line="Study CIs Clopper-Pearson (widened over a range's two ends); one study: not pooled.",
        rob_domains=ROB_DOMAINS, name=f"forest-single-{section}", alt="Forest plot: " + "; ".join(described),
        caption=f"{labels.sentence_case(what)} for which every population has one study: each study's proportion "
                "with its exact 95% CI, by outcome; multiple myeloma (MM) studies are context. A grey bar marks a "
                "range (a bound with both of its ends).")
    return render("pooled_single_figure.html.j2", figure=figure)


def outcomes(page, r: results.OutcomesResult) -> Fragment:
    """Every outcome of a section, each with its forest plot, its rows by population and by the plan's
    subgroups, and what differs between studies; outcomes with one study per population share a figure."""
    parts = [_outcome(page, v, r.subgroup_labels, r.min_k) for v in r.drawn]
    if r.single:
        parts.append(_single_study_figure(page, r.single, r.section))
        parts += [_outcome(page, v, r.subgroup_labels, r.min_k, draw=False) for v in r.single]
    return Fragment(Markup("").join(parts))


efficacy = safety = outcomes


# --- sensitivity analyses -----------------------------------------------------------------------


def sensitivity_estimate(r, inputs: pd.DataFrame) -> str:
    if r.rule == Rule.TWO:
        sub = inputs[(inputs["outcome"] == r.outcome) & (inputs["view"] == r.view) & (inputs["subgroup"] == r.subgroup)
                     & (inputs["analysis"] == r.analysis)]
        return "; ".join(f"{s.study} {fmt.pct_range(s.events / s.total, s.events_high / s.total, 1)}"
                         for s in frame_rows(sub)) + "; not pooled"
    return fmt.pct_range(fmt.finite(r.estimate), fmt.finite(r.estimate_high), 1) + " " + fmt.ci(fmt.finite(r.ci_low), fmt.finite(r.ci_high)) \
        if fmt.finite(r.estimate) is not None else fmt.MISSING_TEXT


# --- checks, limits and appendices ------------------------------------------------------------------


def group_anchor(view: results.OutcomeView, i: int) -> str:
    """The id of a population's row in an outcome's table (where its forest plot's diamond links)."""
    return f"outcome-{view.spec.key}-{i + 1}"

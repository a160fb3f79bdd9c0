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
from ..analysis import pooled_rows
from ..analysis import synthesis as results
from ..analysis.landmark_rows import landmark_detail
from ..analysis.pooling import METHOD_LABELS, Rule
from ..analysis.synthesis import finite, pct_range
from ..data.risk_of_bias import DOMAINS as ROB_DOMAINS
from ..domain import registry, survival_rules
from ..domain.record_counts import HOW_PER_PATIENT, HOW_PRINTED
from ..plots.forest import (
    ForestGroup,
    ForestRow,
    RowSource,
    forest_plot,
    forest_rows,
    heterogeneity_text,
    medians_plot,
    rob_of,
)
from ..plots.survival_figures import Series, survival_overlay
from . import labels
from .pooled_words import GROUP_NOTES, NOT_APPLICABLE, events_text, row_estimate_text
from .render import Fragment, Table, render


def _count_sources(page, x) -> list[int]:
    """The numbers of the sources of one study's count in a pooled row (`x`, a row of the outcome's
    inputs): its printed records, or, for a count computed from a per-patient table, that table."""
    sd = page.study_data[x.study_id]
    source = labels.source_name(sd.study)
    ns = [page.cites.record_ref(sd, rid, source) for rid in x.result_ids.split(";") if rid]
    if not ns and x.how == HOW_PER_PATIENT:
        ns += [n for n in [_table_ref(page, sd)] if n is not None]
    return ns


def _table_ref(page, sd) -> int | None:
    """The number of the source that is a study's per-patient table (None without one)."""
    if sd.study.patients is None:
        return None
    where = "; ".join(t.location for t in sd.study.patients.tables.values())
    return page.cites.ref(f"t:{sd.study.id}", "The per-patient table", where, "",
                          "numbers computed by this report from the table as published (its study report "
                          "reproduces it)", labels.source_name(sd.study))


def _count_how(x) -> str:
    """How a study's count was obtained, in words (nothing more for a count printed as it is)."""
    if x.how == HOW_PRINTED:
        return "printed count"
    return labels.how(x.how, x.detail)


def _count_cell(page, x) -> Markup:
    """A study's count in a pooled row, its source on hover and focus and its source numbers."""
    text = f"{x.study}: " + (f"{x.events}–{x.events_high}/{x.total}" if x.events_high != x.events
                             else fmt.count(x.events, x.total))
    ns = _count_sources(page, x)
    shown = Markup('<span class="cp-src" tabindex="0">{}<span class="cp-tip" role="tooltip">{}</span></span>{}').format(
        text, labels.sentence_case(_count_how(x)) + ". " + " ".join(page.cites.tip(n) for n in ns),
        page.cites.marks(ns)) if ns else Markup("{}").format(text)
    return shown + Markup(" ({})").format(labels.lower_first(x.population))


def _row_source(page, x) -> RowSource:
    """A forest plot's study row: its source numbers, a link to the first, and its title (the count,
    how it was obtained, and each source with its quote)."""
    ns = _count_sources(page, x)
    count = (f"{x.events}–{x.events_high}/{x.total}" if x.events_high != x.events else f"{x.events}/{x.total}")
    title = f"{x.study}: {count} ({_count_how(x)}). " + " ".join(f"[{n}] {page.cites.tip(n)}" for n in ns)
    return RowSource("[" + ",".join(map(str, ns)) + "]" if ns else "", f"#src-{ns[0]}" if ns else "", title.strip())


def _inputs_source(view: results.OutcomeView, group: str, r, href: str) -> RowSource:
    """A pooled estimate's inputs, for its diamond's title: the model, the studies and their counts."""
    inp = view.result.inputs
    counts = "; ".join(f"{x.study} {x.events}–{x.events_high}/{x.total}" if x.events_high != x.events else
                       f"{x.study} {x.events}/{x.total}" for x in inp[inp["group"] == group].itertuples())
    model = METHOD_LABELS.get(r.method, r.method) if r.rule == Rule.RANDOM else labels.lower_first(r.ci_how or "")
    return RowSource("", href, f"{group}: {row_estimate_text(r)}, from {r.k} studies and {r.total} patients "
                               f"({counts}); {labels.lower_first(r.rule)}" + (f", {model}" if model else "")
                     + ". Its inputs are in the table under the figure.")


def _group_table(page, view: results.OutcomeView) -> Table:
    rows = []
    res = view.result
    inp = res.inputs
    for g, r in res.groups.items():
        who = Markup("; ").join(_count_cell(page, x) for x in inp[inp["group"] == g].itertuples())
        note = "" if r.rule in (Rule.TWO, Rule.SINGLE) else labels.sentence_case(r.note)
        if r.range_left_out:
            note = (note + "; " if note else "") + f"Left out (a range with an uninformative end): {r.range_left_out}"
        if r.rule == Rule.RANDOM:
            note = (note + "; " if note else "") + f"Random-effects model: {METHOD_LABELS.get(r.method, r.method)}"
        rows.append([g + (" (context)" if res.roles[g] == pooled_rows.CONTEXT else ""), who, events_text(r),
                     row_estimate_text(r) + (f". {note}" if note else ""),
                     heterogeneity_text(r).removeprefix("Heterogeneity: ") if r.k > 1 else NOT_APPLICABLE])
    return Table(f"{view.spec.label}: by population, with each study's count and the patients it counts",
                 ["Population", "Each study: events/patients (who is counted)", "Events/patients",
                  "Estimate (95% CI)", "Heterogeneity"], rows,
                 numeric={"Events/patients"}, compact=True, csv=page.csv_href("estimates"), csv_whole=False,
                 sortable=True, row_ids=[group_anchor(view, i) for i in range(len(rows))])


def _subgroup_table(page, view: results.OutcomeView, subgroup_labels: dict, min_k: int) -> Table | None:
    """The plan's subgroups (CAR target, PCL type) within each PCL population."""
    res = view.result
    if not res.subgroups:
        return None
    rows = []
    for (g, field_, level), r in res.subgroups.items():
        test = res.tests.get((g, field_))
        tested = f"; test between levels {fmt.p_value(test.p)}" if test is not None and test.tested else ""
        rows.append([f"{g}: {labels.lower_first(subgroup_labels[field_])}", level, events_text(r),
                     row_estimate_text(r) + tested])
    return Table(f"{view.spec.label}: subgroups named in the analysis plan (levels are compared only where each has "
                 f"{fmt.number_words(min_k)} or more studies)", ["Population and subgroup", "Level", "Events/patients",
                                            "Estimate (95% CI)"],
                 rows, numeric={"Events/patients"}, compact=True, csv=page.csv_href("estimates"), csv_whole=False)


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
                         + "; ".join(f"{x.study}: {getattr(x, f)}" for x in t.itertuples()) + ".")
    derived = [f"{x.study} ({labels.how(x.how, x.detail)})" for x in t.itertuples() if x.derived]
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
                          sources=[_row_source(page, x) for x in t[t["group"] == g].itertuples()],
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
            inputs = list(res.inputs[res.inputs["group"] == g].itertuples())
            for s, x in zip(r.studies.itertuples(), inputs, strict=True):
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


# --- survival -------------------------------------------------------------------------------------------


def _landmark_study(page, s) -> Markup:
    """One study's landmark rate in the landmark table: a printed rate cited to its record, a
    Kaplan-Meier one to the per-patient table it is computed from."""
    how = {survival_rules.SOURCE_KM: "Kaplan-Meier", survival_rules.SOURCE_REPORTED: "printed",
           survival_rules.SOURCE_ZERO_EVENTS: "no events"}[s.source]
    value = f"{fmt.pct(s.value)} {fmt.ci(finite(s.ci_low), finite(s.ci_high))}"
    sd = page.study_data[s.study_id]
    if s.result_id:
        value = page.cites.records(sd, s.result_id, value, labels.source_name(sd.study))
    elif s.source == survival_rules.SOURCE_KM:
        n = _table_ref(page, sd)
        if n is not None:
            value = Markup('<span class="cp-src" tabindex="0">{}<span class="cp-tip" role="tooltip">{}</span></span>{}'
                           ).format(value, "Kaplan-Meier estimate from the per-patient table. " + page.cites.tip(n),
                                    page.cites.marks([n]))
    detail = landmark_detail(s)
    return Markup("{} {} ({}, {} patients){}").format(s.study, value, how, s.n, f": {detail}" if detail else "")


def sensitivity_estimate(r, inputs: pd.DataFrame) -> str:
    if r.rule == Rule.TWO:
        sub = inputs[(inputs["outcome"] == r.outcome) & (inputs["view"] == r.view) & (inputs["subgroup"] == r.subgroup)
                     & (inputs["analysis"] == r.analysis)]
        return "; ".join(f"{s.study} {pct_range(s.events / s.total, s.events_high / s.total, 1)}"
                         for s in sub.itertuples()) + "; not pooled"
    return pct_range(finite(r.estimate), finite(r.estimate_high), 1) + " " + fmt.ci(finite(r.ci_low), finite(r.ci_high)) \
        if finite(r.estimate) is not None else fmt.MISSING_TEXT


def survival(page, r: results.PooledSurvivalResult) -> Fragment:
    med = r.medians
    figures = []
    for spec in registry.SURVIVAL:
        sub = med[med["endpoint"] == spec.endpoint]
        if sub.empty:
            continue
        sub = sub.assign(_order=sub["group"].map(r.group_order)).sort_values(["_order", "study"], kind="stable")
        items = [(f"{x.study}, {x.group.replace('Relapsed/refractory', 'R/R')} "
                  f"({'Kaplan-Meier' if x.source != survival_rules.SOURCE_REPORTED else 'printed'}, {x.n} patients"
                  f"{'; follow-up ' + r.follow_up[x.study] if r.follow_up.get(x.study) else ''})",
                  finite(x.value), finite(x.ci_low), finite(x.ci_high), bool(x.high_not_reached))
                 for x in sub.itertuples()]
        desc = "; ".join(f"{i[0]}: {'not reached' if i[1] is None else f'{i[1]:.1f} months'}" for i in items)
        figures.append(page.figures.draw(
            medians_plot, items, title=f"Median {spec.label.lower()} by study", name=f"medians-{spec.key}",
            alt=f"Median {spec.label.lower()} with 95% CIs by study: {desc}",
            caption=f"Median {spec.label.lower()} (months) with its 95% CI, by study, plasma cell leukemia "
                    "first and multiple myeloma (context) last; an open arrow marks an upper limit not reached. "
                    "Kaplan-Meier: recomputed from the per-patient table. The studies differ in population and "
                    "follow-up, and later treatment (a second CAR-T, allogeneic transplant) affects both "
                    "medians."))
    lm = r.landmarks
    lrows = []
    for x in r.landmark_rows.itertuples():
        spec = registry.LANDMARK_BY_KEY[x.outcome]
        studies_ = lm[(lm["endpoint"] == spec.endpoint) & (lm["months"] == spec.months) & (lm["group"] == x.subgroup)
                      & (lm["kind"] == "all patients")]
        per = Markup("; ").join(_landmark_study(page, s) for s in studies_.itertuples())
        if x.rule == Rule.RANDOM:
            pooled = f"{sensitivity_estimate(x, pd.DataFrame())}; small-sample {fmt.ci(x.small_ci_low, x.small_ci_high)}"
        else:
            pooled = labels.sentence_case(x.note)
        lrows.append([spec.short, x.subgroup, str(int(x.k)), per, pooled])
    ltable = Table("Survival at 12 and 24 months by population: each study (all its patients), and pooled only "
                   f"where {fmt.number_words(r.min_k)} or more report it", ["Landmark", "Population", "Studies",
                                                                            "Each study (95% CI)",
                                                      "Pooled"], lrows, numeric={"Studies"},
                   compact=True, csv=page.csv_href("landmarks"), csv_whole=False) if lrows else None
    panels: dict[str, list] = {}
    described = []
    names = {s.endpoint: s for s in registry.SURVIVAL}
    for x in r.series:
        spec = names[x.endpoint]
        panels.setdefault(spec.label, []).append(Series(x.study, km=x.km, points=x.points, curve=x.curve))
        described.append(f"{x.study} {spec.short} Kaplan-Meier" if x.km is not None else
                         f"{x.study} {spec.short}: {len(x.points)} printed milestones with an approximate curve")
    single = None
    if r.single:
        rows = [[st, names[ep].short, f"median, {fmt.months(p.value)}" if p.kind == "median" else
                 f"{p.time_months:g} months, {fmt.pct(p.value)}",
                 fmt.ci(p.ci_low, p.ci_high, as_pct=p.kind != "median", nr_high=p.high_not_reached)]
                for st, ep, p in r.single]
        single = Table("Studies that print a single survival milestone (not drawn as a curve)",
                       ["Study", "Outcome", "Printed milestone", "95% CI"], rows, numeric={"95% CI"}, compact=True,
                       csv=page.csv_href("medians"), csv_whole=False)
    overlay = None
    if panels:
        overlay = page.figures.draw(
            survival_overlay, panels, name="survival-overlay",
            alt="Survival curves side by side: " + "; ".join(described),
            caption="Kaplan-Meier curves from per-patient tables (solid steps with a light 95% band; +: a censored "
                    "patient) beside printed survival milestones (circles: landmark rates with their 95% CI; "
                    "squares: medians at 50% with their CI; an arrow: an upper limit not reached), with a thin "
                    "dashed approximate curve through a study's printed milestones where it prints at least two "
                    "(not patient data, never beyond the last).")
    return render("pooled_survival.html.j2", figures=figures, landmarks=ltable, overlay=overlay, single=single)


# --- checks, limits and appendices ------------------------------------------------------------------


def group_anchor(view: results.OutcomeView, i: int) -> str:
    """The id of a population's row in an outcome's table (where its forest plot's diamond links)."""
    return f"outcome-{view.spec.key}-{i + 1}"

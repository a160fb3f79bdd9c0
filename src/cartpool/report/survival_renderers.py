"""Renderer of the pooled page's survival section: the medians by study (a figure whose rows carry
their sources), survival at 12 and 24 months by population (each study's rate with its source, the
pooled estimate with its model and inputs), the curves side by side with what each is drawn from,
and the studies that print a single milestone. It formats `cartpool.analysis.synthesis.
PooledSurvivalResult` as `cartpool.report.outcome_renderers` does the other outcomes.
"""

from __future__ import annotations

from types import SimpleNamespace

from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import pooled_results as results
from ..analysis.pooling import Rule
from ..domain import registry, survival_rules
from ..frames import frame_rows
from ..plots.forest import RowSource, medians_plot
from ..plots.survival_figures import Series, survival_overlay
from . import labels
from .outcome_renderers import sensitivity_estimate
from .provenance import computed, how_words, number_text, refs, study_number
from .render import Fragment, Table, render

#: How a study's survival number was obtained, in the tables' short words.
SHORT_HOW = {survival_rules.SOURCE_KM: "Kaplan-Meier", survival_rules.SOURCE_REPORTED: "printed",
             survival_rules.SOURCE_ZERO_EVENTS: "no events"}
#: How a landmark row is pooled, for its tooltip.
LANDMARK_MODEL = ("pooled on the log(−log) scale by the random-effects model (inverse variance, REML) from each "
                  "study's rate and its printed or recomputed 95% CI; the small-sample interval is Knapp-Hartung's")


def _landmark_study(page, x) -> Markup:
    """One study's landmark rate in the landmark table (`x`: its row of the inputs), with what a reader
    must know of it: cited to its record, or to the per-patient table it is computed from."""
    detail = f": {x.detail}" if x.detail else ""
    return study_number(page, f"{x.study} {number_text(x)} ({SHORT_HOW[x.how]}, {int(x.total)} patients){detail}", x)


def _interval(lo, hi, *, as_pct: bool, nr_high: bool) -> str | None:
    """A printed value's 95% CI, "(4.1–NR)"; None where the paper printed neither limit."""
    if fmt.is_missing(lo) and fmt.is_missing(hi) and not nr_high:
        return None
    return fmt.ci(lo, hi, as_pct=as_pct, nr_high=nr_high)


def _median_source(page, x, label: str) -> RowSource:
    """A row of the medians figure: the numbers of its sources, a link to the first, and its title."""
    ns = refs(page, x.study_id, x.result_id, x.source)
    value = "not reached" if fmt.finite(x.value) is None else f"{x.value:.1f} months"
    ci = _interval(fmt.finite(x.ci_low), fmt.finite(x.ci_high), as_pct=False, nr_high=bool(x.high_not_reached))
    title = f"{label}: median {value} {ci or 'without a 95% CI'} ({how_words(x.source)}). " + " ".join(
        f"[{n}] {page.cites.tip(n)}" for n in ns)
    return RowSource("[" + ",".join(map(str, ns)) + "]" if ns else "", f"#src-{ns[0]}" if ns else "", title.strip())


def _medians_figures(page, r: results.PooledSurvivalResult) -> list[dict]:
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
                  fmt.finite(x.value), fmt.finite(x.ci_low), fmt.finite(x.ci_high), bool(x.high_not_reached))
                 for x in frame_rows(sub)]
        sources = [_median_source(page, x, f"{x.study}, {labels.lower_first(spec.label)}") for x in frame_rows(sub)]
        desc = "; ".join(f"{i[0]}: {'not reached' if i[1] is None else f'{i[1]:.1f} months'}" for i in items)
        figures.append(page.figures.draw(
            medians_plot, items, title=f"Median {spec.label.lower()} by study", sources=sources,
            name=f"medians-{spec.key}",
            alt=f"Median {spec.label.lower()} with 95% CIs by study: {desc}",
            caption=f"Median {spec.label.lower()} (months) with its 95% CI, by study, plasma cell leukemia "
                    "first and multiple myeloma (context) last; an open arrow marks an upper limit not reached. "
                    "A row marked Kaplan-Meier is recomputed from the per-patient table; one marked printed is "
                    "as the paper prints it. The studies differ in population and "
                    "follow-up, and later treatment (a second CAR-T, allogeneic transplant) affects both "
                    "medians. Each row's numbers in brackets lead to its sources."))
    return figures


def _landmark_table(page, r: results.PooledSurvivalResult) -> Table | None:
    rows = []
    for x in frame_rows(r.landmark_rows):
        spec = registry.LANDMARK_BY_KEY[x.outcome]
        studies = list(frame_rows(r.row_inputs(x)))
        per = Markup("; ").join(_landmark_study(page, s) for s in studies)
        used = [s for s in studies if s.in_fit]
        if x.rule == Rule.RANDOM:
            pooled = computed(page, f"{sensitivity_estimate(x, r.inputs.iloc[0:0])}; small-sample "
                                    f"{fmt.ci(x.small_ci_low, x.small_ci_high)}", LANDMARK_MODEL, used)
        else:
            pooled = computed(page, labels.sentence_case(x.note), "not pooled; each study is shown on its own",
                              studies, marks=False)
        rows.append([spec.short, x.subgroup, computed(page, str(int(x.k)), "the studies that report it", studies,
                                                      marks=False), per, pooled])
    if not rows:
        return None
    return Table("Survival at 12 and 24 months by population: each study (all its patients), and pooled only "
                 f"where {fmt.number_words(r.min_k)} or more report it",
                 ["Landmark", "Population", "Studies", "Each study (95% CI)", "Pooled"], rows, numeric={"Studies"},
                 compact=True, csv=page.csv_href("landmarks"), csv_whole=False, words={"Landmark", "Population"})


def _milestone(p) -> str:
    """A printed milestone in words: "median 8.0 months (5.1–NR)", "12 months 55.6% (20.4–80.5)"."""
    ci = fmt.ci(p.ci_low, p.ci_high, as_pct=p.kind != "median", nr_high=p.high_not_reached)
    if p.kind == "median":
        return f"median {fmt.months(p.value)} {ci}"
    return f"{p.time_months:g} months {fmt.pct(p.value)} {ci}"


def _curves_table(page, r: results.PooledSurvivalResult) -> Table | None:
    """What each curve of the overlay is drawn from, with its sources: the per-patient table, or each
    printed milestone."""
    names = {s.endpoint: s for s in registry.SURVIVAL}
    rows = []
    for x in r.series:
        sd = page.study_data[x.study_id]
        source = labels.source_name(sd.study)
        if x.km is not None:
            drawn = "Kaplan-Meier, per-patient table"
            table = SimpleNamespace(study_id=x.study_id, result_ids="", how=survival_rules.SOURCE_KM, detail="")
            what = study_number(page, f"{x.km.n} patients", table, what="The curve is the Kaplan-Meier estimate "
                                "this report computes from their times.")
        else:
            drawn = "Printed milestones" + (" (with an approximate curve)" if x.curve is not None else "")
            what = Markup("; ").join(page.cites.record(sd, p.result_id, _milestone(p), source) if p.result_id
                                     else _milestone(p) for p in x.points)
        rows.append([x.study, names[x.endpoint].short, drawn, what])
    if not rows:
        return None
    return Table("The curves in the figure above and what each is drawn from", ["Study", "Outcome", "Drawn from",
                                                                               "Patients, or milestones (95% CI)"],
                 rows, compact=True, csv=page.csv_href("survival-curves"), csv_whole=False,
                 words={"Study", "Outcome", "Drawn from"})


def _single_table(page, r: results.PooledSurvivalResult) -> Table | None:
    """The studies that print a single survival milestone, each cited to its record."""
    if not r.single:
        return None
    names = {s.endpoint: s for s in registry.SURVIVAL}
    rows = []
    for st, ep, p in r.single:
        sd = page.study_data[p.study_id]
        source = labels.source_name(sd.study)
        milestone = f"median, {fmt.months(p.value)}" if p.kind == "median" else \
            f"{p.time_months:g} months, {fmt.pct(p.value)}"
        ci = _interval(p.ci_low, p.ci_high, as_pct=p.kind != "median", nr_high=p.high_not_reached) or "not printed"
        rows.append([st, names[ep].short, page.cites.record(sd, p.result_id, milestone, source) if p.result_id
                     else milestone, page.cites.record(sd, p.result_id, ci, source) if p.result_id and
                     p.ci_low is not None else ci])
    return Table("Studies that print a single survival milestone (not drawn as a curve)",
                 ["Study", "Outcome", "Printed milestone", "95% CI"], rows, numeric={"95% CI"}, compact=True,
                 csv=page.csv_href("medians"), csv_whole=False, words={"Study", "Outcome"})


def survival(page, r: results.PooledSurvivalResult) -> Fragment:
    figures = _medians_figures(page, r)
    ltable = _landmark_table(page, r)
    panels: dict[str, list] = {}
    described = []
    names = {s.endpoint: s for s in registry.SURVIVAL}
    for x in r.series:
        spec = names[x.endpoint]
        panels.setdefault(spec.label, []).append(Series(x.study, km=x.km, points=x.points, curve=x.curve))
        described.append(f"{x.study} {spec.short} Kaplan-Meier" if x.km is not None else
                         f"{x.study} {spec.short}: {len(x.points)} printed milestones with an approximate curve")
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
    return render("pooled_survival.html.j2", figures=figures, landmarks=ltable, overlay=overlay,
                  curves=_curves_table(page, r) if panels else None, single=_single_table(page, r))

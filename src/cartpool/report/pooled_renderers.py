"""Renderers of the pooled page's sections: each formats one result of
`cartpool.analysis.synthesis.Synthesis` into a fragment (Jinja2 templates, `cartpool.formatting`,
`report.labels` and figures from `cartpool.plots`). Nothing here selects outcomes, pools, rates
certainty or writes a file; the page (`cartpool.report.pooled_page.PooledPage`, the first argument of
every renderer) holds the figures they add to.
"""

from __future__ import annotations

import json

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import audit as audit_mod
from ..analysis import pooled_analysis
from ..analysis import synthesis as results
from ..analysis.appraisal import NOT_REVIEWED, REVIEWED, STALE
from ..analysis.pooling import METHOD_LABELS, PRIMARY_METHOD, Rule
from ..analysis.synthesis import finite, pct_range
from ..data.risk_of_bias import DOMAINS as ROB_DOMAINS
from ..data.risk_of_bias import JUDGEMENT_LABELS, QUESTIONS
from ..data.risk_of_bias import RULE as RISK_OF_BIAS_RULE
from ..data.risk_of_bias import TOOL as RISK_OF_BIAS_TOOL
from ..data.risk_of_bias import TOOL_REFERENCE as RISK_OF_BIAS_REFERENCE
from ..domain import certainty as grade
from ..domain import registry, survival_rules
from ..domain.counts import HOW_PER_PATIENT, HOW_PRINTED
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
from ..plots.risk_of_bias import summary_bars, traffic_light
from ..plots.survival_figures import Series, survival_overlay
from . import labels
from .render import Fragment, Table, cell, render

GROUP_NOTES = {pooled_analysis.PRIMARY: "", pooled_analysis.CONTEXT: "context"}
STATUS_WORDS = {REVIEWED: "reviewer's judgement", STALE: "proposal: the evidence changed since the reviewer's "
                "judgement, which awaits review", NOT_REVIEWED: "proposal: not yet reviewed"}
#: A cell whose statistic does not apply to the row (one study, two studies, no model).
NOT_APPLICABLE = "n/a"


def certainty_mark(rating: str) -> Markup:
    """GRADE's certainty symbols (⊕⊕◯◯) with the rating in words."""
    if not rating:
        return Markup("")
    n = grade.LEVELS.index(rating) + 1
    return Markup('<span class="cp-grade" aria-hidden="true">{}</span> {}').format("⊕" * n + "◯" * (4 - n),
                                                                                    labels.sentence_case(rating))


def study_text(s: dict, digits: int = 0, *, with_ci: bool = False) -> str:
    """One study's result in a summary: "Hu 2026 64% (7/11)", "Guo 2026 83–100% (10–12/12)"."""
    if s.get("events") is not None:
        count = (f"{s['events']}–{s['events_high']}" if s.get("events_high") not in (None, s["events"])
                 else f"{s['events']}") + f"/{s['patients']}"
        text = f"{s['study']} {pct_range(s['low'], s['high'], digits)}"
        if with_ci:
            text += f" {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}"
        return f"{text} ({count})"
    text = f"{s['study']} {fmt.pct(s['low'], digits)}"
    if with_ci and finite(s.get("ci_low")) is not None:
        text += f" {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}"
    return text + (f", {s['patients']} patients" if s.get("patients") else "")


def estimate_text(r, *, digits: int = 0, ci: bool = True) -> str:
    """A summary-of-findings estimate, by what the row shows: one study, two or more side by side
    (not pooled), a pooled estimate, no events during follow-up, or nothing reported."""
    studies = json.loads(r.per_study) if isinstance(r.per_study, str) and r.per_study else []
    if r.display == "none":
        return "Not reported"
    if r.display == "side by side":
        return "; ".join(study_text(s, digits, with_ci=ci) for s in studies) + "; not pooled"
    if r.display == "zero":
        s = studies[0]
        return f"{fmt.pct(s['low'], digits)} {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}; {s['detail']}"
    if r.display == "single":
        s = studies[0]
        point = pct_range(s["low"], s["high"], digits)
        text = f"{point} {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}" if ci else point
        return text + (f" ({s['events']}{'–' + str(s['events_high']) if s['events_high'] not in (None, s['events']) else ''}"
                       f"/{s['patients']})" if s.get("events") is not None else "")
    point = pct_range(r.estimate, finite(r.estimate_high), digits)
    return f"{point} {fmt.ci(r.ci_low, r.ci_high, digits=digits)}; {r.k} studies, {r.patients} patients"


def events_text(r) -> str:
    if r.events_high is not None and r.events_high != r.events:
        return f"{r.events}–{r.events_high}/{r.total}"
    return fmt.count(r.events, r.total)


def row_estimate_text(r) -> str:
    """A pooled group's result: the studies side by side, or the estimate with its CI."""
    if r.rule == Rule.NOT_ESTIMABLE:
        return "not estimable"
    if r.rule == Rule.TWO:
        st = r.studies
        highs = st["events_high"] if "events_high" in st else st["events"]
        parts = [f"{s.study} {pct_range(e / n, h / n, 1)}" for s, e, h, n in
                 zip(st.itertuples(), st["events"], highs, st["total"], strict=True)]
        return "; ".join(parts) + "; not pooled"
    point = pct_range(r.estimate, finite(r.estimate_high), 1)
    return f"{point} {fmt.ci(r.ci_low, r.ci_high)}"


# --- the sections, in page order ----------------------------------------------------------------------


def bottom_line(page, r: results.BottomLineResult) -> Fragment:
    """The findings first: one sentence per key outcome and population."""
    groups = [(pop, list(sub["sentence"])) for pop, sub in r.frame.groupby("population", sort=False)]
    return render("pooled_bottom_line.html.j2", groups=groups, pending=r.pending, min_k=r.min_k)


def _links_table(page, frame: pd.DataFrame) -> Table | None:
    if frame.empty:
        return None
    return Table("Links between the included studies", ["Studies", "Link", "What the sources show",
                                                         "Patients reported twice"],
                 [[x.studies, labels.sentence_case(x.kinds), x.description, labels.sentence_case(x.patient_overlap)]
                  for x in frame.itertuples()], compact=True, csv=page.csv_href("study-links"), csv_whole=False)


def _known_table(page, known: pd.DataFrame) -> Table | None:
    if known.empty:
        return None
    relevance = {"pcl": "Plasma cell leukemia", "mm_context": "Multiple myeloma (context)"}
    rows = [[x.citation, relevance[x.relevance], labels.sentence_case(x.reason), x.known_from, x.note]
            for x in known.itertuples()]
    return Table(f"Relevant studies known but not included ({len(rows)})",
                 ["Study", "Relevant to", "Why not included", "Cited by", "Note"], rows, compact=True,
                 csv=page.csv_href("known-not-included"), csv_whole=False)


def scope(page, r: results.ScopeResult) -> Fragment:
    """What the report is, the question, which studies are included and how they were chosen, what
    each source is, relevant studies known but not included, and links between studies."""
    kinds = r.studies.groupby("document_type")["study"].apply(list)
    documents = [f"{labels.sentence_case(labels.document_type(k).split(' (')[0])}: {', '.join(v)}"
                 for k, v in kinds.items()]
    short = []
    for rel, label in (("pcl", "in PCL"), ("mm_context", "in multiple myeloma")):
        names = list(r.known.loc[r.known["relevance"] == rel, "short"])
        if names:
            short.append(f"{len(names)} {label} ({', '.join(names)})")
    return render("pooled_scope.html.j2", plan=r.plan, n=len(r.studies), groups=r.groups, documents=documents,
                  excluded=_known_table(page, r.known), excluded_short=short,
                  excluded_reasons=list(dict.fromkeys(r.known["reason"])), links=_links_table(page, r.links))


def _sof_table(page, frame: pd.DataFrame, caption: str) -> tuple[Table, list[tuple[int, str]]]:
    rows, classes, notes = [], [], []
    numbers: dict[str, int] = {}
    for r in frame.itertuples():
        marks = []
        if r.k:
            foot = json.loads(r.footnotes) if r.footnotes else {}
            for domain, text in foot.items():
                rating = getattr(r, domain.replace(" ", "_"))
                if rating not in (grade.SERIOUS, grade.VERY_SERIOUS):
                    continue  # footnotes explain the domains that rated down
                note = f"{labels.sentence_case(domain)} ({rating}): {text}"
                if note not in numbers:  # one footnote for one reason, however many rows share it
                    numbers[note] = len(numbers) + 1
                    notes.append((numbers[note], note))
                marks.append(str(numbers[note]))
        certainty = certainty_mark(r.certainty) if r.k else Markup("")
        if r.k and r.status != REVIEWED:
            certainty += Markup('<br><small class="cp-proposal">{}</small>').format(STATUS_WORDS[r.status])
        if marks:
            certainty += Markup(" <sup>{}</sup>").format(",".join(marks))
        rows.append([Markup("{}<br><small>{}</small>").format(r.outcome_label, labels.importance(r.importance)),
                     "—" if not r.k else f"{r.k} ({r.patients})", estimate_text(r, digits=1), certainty])
        classes.append(f"cp-certainty-{r.certainty.replace(' ', '-')}" if r.certainty else "")
    return Table(caption, ["Outcome (importance)", "Studies (patients)", "Result (95% CI)", "Certainty (GRADE)"],
                 rows, numeric={"Studies (patients)"}, row_classes=classes, compact=True,
                 csv=page.csv_href("summary-of-findings"), csv_whole=False), notes


def summary_of_findings(page, r: results.SummaryResult) -> Fragment:
    """The summary of findings: for each PCL population, the most important outcomes ranked in the
    analysis plan (up to its maximum), with the certainty the page shows, its status, and the
    footnotes that explain each rating."""
    sof = r.summary
    blocks = []
    for pop, sub in sof[sof["in_summary"]].groupby("population", sort=False):
        table, notes = _sof_table(page, sub, f"Summary of findings: CAR-T cell therapy in {labels.lower_first(pop)}")
        blocks.append({"table": table, "notes": notes})
    counts = sof[(sof["certainty"] != "") & sof["in_summary"]]["certainty"].value_counts()
    return render("pooled_sof.html.j2", blocks=blocks, plan=r.plan,
                  counts=[(c, int(counts.get(c, 0))) for c in reversed(grade.LEVELS) if counts.get(c, 0)],
                  start=grade.START)


def studies(page, r: results.FrameResult) -> Fragment:
    rows = []
    for x in r.frame.itertuples():
        sizes = "; ".join(f"{int(n)} {k}" for k, n in (("enrolled", x.enrolled), ("infused", x.infused))
                          if n is not None and n == n) or cell(x.n)
        rows.append([Markup('<a href="{}.html">{}</a>').format(x.study_id, x.study), x.design,
                     f"{x.setting} {x.disease}" + (f" ({x.pcl_types.replace(',', ' and')})" if x.pcl_types else ""),
                     x.targets, sizes, x.follow_up or "not reported",
                     x.pcl_definition or "n/a", x.co_interventions or "none reported",
                     labels.sentence_case(labels.document_type(x.document_type).split(" (")[0])])
    t = Table("Studies included", ["Study", "Design", "Population", "Target(s)", "Patients", "Median follow-up",
                                   "PCL definition", "Given with or after CAR-T", "Source"], rows,
              row_ids=[f"study-{i}" for i in r.frame["study_id"]], compact=True, csv=page.csv_href("studies"),
              csv_whole=False)
    return render("pooled_studies.html.j2", table=t)


def risk_of_bias(page, r: results.RiskOfBiasResult) -> Fragment:
    """Each study's risk of bias by domain (robvis traffic lights and summary bars per population),
    with the reasons, and the numbers each study's audit could not reproduce beside it."""
    rob = r.rob
    appraised = rob[rob["domain"] != ""]
    figures = []
    if not appraised.empty:
        figures.append(page.figures.draw(
            traffic_light, rob, ROB_DOMAINS, title="Risk of bias of each study, by domain", name="risk-of-bias",
            alt="Risk of bias by study and domain: " + "; ".join(
                f"{s}: overall {JUDGEMENT_LABELS[o].lower()}" for s, o in
                appraised.groupby("study", sort=False)["overall"].first().items()),
            caption="Risk of bias of each study by domain and overall, in robvis's conventions. A study known "
                    "only from an abstract or summary gets 'no information' where it is silent."))
        figures.append(page.figures.draw(
            summary_bars, rob, ROB_DOMAINS, r.sizes, groups=r.groups,
            title="Risk of bias by population: share of patients by judgement",
            name="risk-of-bias-summary",
            alt="Summary of risk of bias by population, weighted by patients: " + "; ".join(r.groups),
            caption="Risk of bias domain by domain in each population, as the share of its patients in studies "
                    "with each judgement (robvis's summary plot, weighted by patients); populations are never "
                    "mixed in one bar."))
    rows = []
    for sid, sub in rob.groupby("study_id", sort=False):
        link = Markup('<a href="{}.html#risk-of-bias">{}</a>').format(sid, sub["study"].iloc[0])
        if sub["domain"].iloc[0] == "":
            rows.append([link, "Not appraised", "", ""])
            continue
        whole = sub[sub["outcomes"] == ""]
        specific = sub[sub["outcomes"] != ""]
        domains = "; ".join(f"{ROB_DOMAINS[d.domain].lower()}: {JUDGEMENT_LABELS[d.judgement].lower()}"
                            for d in whole.itertuples())
        if not specific.empty:
            domains += "; for " + "; ".join(f"{labels.outcome_names(d.outcomes)}: {ROB_DOMAINS[d.domain].lower()} "
                                            f"{JUDGEMENT_LABELS[d.judgement].lower()}" for d in specific.itertuples())
        n = int(sub["not_reproduced"].iloc[0])
        rows.append([link, JUDGEMENT_LABELS[sub["overall"].iloc[0]], domains,
                     f"{n} printed number{'s' if n != 1 else ''} not reproduced" if n else "none"])
    table = Table("Risk of bias by study, and numbers the checks could not reproduce",
                  ["Study", "Overall", "By domain", "Trustworthiness: numbers not reproduced"], rows, compact=True,
                  csv=page.csv_href("risk-of-bias"), csv_whole=False)
    return render("pooled_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, reference=RISK_OF_BIAS_REFERENCE,
                  rule=RISK_OF_BIAS_RULE, figures=figures, table=table,
                  questions=[(ROB_DOMAINS[d], q) for d, q in QUESTIONS.items()])


def methods(page, r: results.MethodsResult) -> Fragment:
    """How the studies were synthesised, in plain words (the exact methods are in the appendix)."""
    return render("pooled_methods.html.j2", n=r.n, outcomes=r.outcomes, plan=r.plan, itt=r.itt,
                  evaluable=r.evaluable, subgroups=r.subgroups, confounded=r.confounded)


# --- outcomes -------------------------------------------------------------------------------------------


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
        rows.append([g + (" (context)" if res.roles[g] == pooled_analysis.CONTEXT else ""), who, events_text(r),
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
        if res.roles[g] == pooled_analysis.PRIMARY:
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
    elif len([g for g in res.roles.values() if g == pooled_analysis.PRIMARY]) > 1:
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
    detail = pooled_analysis.landmark_detail(s)
    return Markup("{} {} ({}, {} patients){}").format(s.study, value, how, s.n, f": {detail}" if detail else "")


def _sensitivity_estimate(r, inputs: pd.DataFrame) -> str:
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
            pooled = f"{_sensitivity_estimate(x, pd.DataFrame())}; small-sample {fmt.ci(x.small_ci_low, x.small_ci_high)}"
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


def audit(page, r: results.FrameResult) -> Fragment:
    df = r.frame
    if df.empty:
        return render("pooled_audit.html.j2", table=None)
    summ = df.pivot_table(index="study_id", columns="status", values="item", aggfunc="count", fill_value=0)
    label = page.study_labels
    rows = []
    for sid, x in summ.iterrows():
        rows.append([Markup('<a href="{}.html#Checks-against-the-paper">{}</a>').format(sid, label[sid]),
                     str(int(x.sum()))] + [str(int(x.get(s, 0))) for s in audit_mod.STATUSES])
    t = Table("Printed numbers checked per study (details in each study report)",
              ["Study", "Checked", *[labels.sentence_case(s) for s in audit_mod.STATUSES]], rows,
              numeric={"Checked", *[labels.sentence_case(s) for s in audit_mod.STATUSES]}, csv=page.csv_href("audit"),
              csv_whole=False)
    return render("pooled_audit.html.j2", table=t)


def limits(page, r: results.LimitsResult) -> Fragment:
    """What this evidence cannot support, in plain words."""
    return render("pooled_limits.html.j2", k=r.k, max_k=r.max_k, small=r.small, abstracts=r.abstracts,
                  links=r.links, min_k=r.min_k)


def summary_of_findings_appendix(page, r: results.SummaryResult) -> Fragment:
    """The other ranked outcomes, in the same format."""
    sof = r.summary
    blocks = []
    for pop, sub in sof[~sof["in_summary"]].groupby("population", sort=False):
        table, notes = _sof_table(page, sub, f"Other outcomes: CAR-T cell therapy in {labels.lower_first(pop)}")
        blocks.append({"table": table, "notes": notes})
    return render("pooled_sof_appendix.html.j2", blocks=blocks)


def judgements(page, r: results.JudgementsResult) -> Fragment:
    """Every GRADE rating in full: the proposal and the reviewer's judgement of each domain, with
    departures and the review status (appendix)."""
    table = Table("GRADE domain by domain: the analysis's proposal and the reviewer's judgement",
                  ["Outcome", "Domain", "Proposed", "Reviewer", "Why the reviewer departs"],
                  r.rows.values.tolist(), compact=True, csv=page.csv_href("grade-judgements"), csv_whole=False)
    return render("pooled_judgements.html.j2", table=table, pb=r.publication_bias, pb_proposal=r.publication_bias_proposal,
                  waiting=[f"{x.outcome_label}, {labels.lower_first(x.population)}: {STATUS_WORDS[x.status]}"
                           for x in r.waiting.itertuples()])


def sensitivity(page, r: results.SensitivityResult) -> Fragment:
    blocks = []
    for label, sens, loo in r.blocks:
        rows = [[x.subgroup, x.analysis, str(int(x.k)), _sensitivity_estimate(x, r.inputs), cell(x.note)]
                for x in sens.itertuples()]
        loo_rows = [[x.subgroup, x.omitted, str(int(x.k)), fmt.pct_ci(x.estimate, x.ci_low, x.ci_high)]
                    for x in loo.itertuples()] if not loo.empty else []
        blocks.append({
            "label": label,
            "table": Table(f"{label}: sensitivity analyses", ["Population", "Analysis", "Studies",
                                                              "Estimate (95% CI or CrI)", "Note"], rows,
                           numeric={"Studies", "Estimate (95% CI or CrI)"}, compact=True, csv=page.csv_href("estimates"),
                           csv_whole=False) if rows else None,
            "loo": Table(f"{label}: leave-one-out", ["Population", "Study left out", "Studies", "Estimate (95% CI)"],
                         loo_rows, numeric={"Studies", "Estimate (95% CI)"}, compact=True,
                         csv=page.csv_href("leave-one-out"), csv_whole=False) if loo_rows else None,
        })
    return render("pooled_sensitivity.html.j2", blocks=blocks, min_k=r.min_k)


def plan_history(page, r: results.PlanResult) -> Fragment:
    """The analysis plan in force, and every dated entry."""
    return render("pooled_plan.html.j2", plan=r.plan,
                  ranked=[(i, label, labels.importance(importance),
                           ", ".join(fmt.pct(t, 0) for t in thresholds) or "none", why)
                          for i, label, importance, thresholds, why in r.ranked], csv=page.csv_href("plan-outcomes"))


def statistical_methods(page, r: results.StatisticalMethodsResult) -> Fragment:
    return render("pooled_statistical_methods.html.j2", primary=METHOD_LABELS[PRIMARY_METHOD],
                  methods=METHOD_LABELS, loo_min_k=r.loo_min_k, grade=grade, plan=r.plan,
                  prior_median=0.6745 * r.plan.bayes.tau_prior_scale)


def results_note(page, r: results.EstimatesResult) -> Fragment:
    return render("pooled_results_note.html.j2", n=len(r.estimates), columns=list(r.estimates.columns),
                  estimates=page.csv_href("estimates"), inputs=page.csv_href("inputs"))


def group_anchor(view: results.OutcomeView, i: int) -> str:
    """The id of a population's row in an outcome's table (where its forest plot's diamond links)."""
    return f"outcome-{view.spec.key}-{i + 1}"


def sources(page, r=None) -> Fragment:
    """The sources of every number on the page taken from a paper, in citation order (written last)."""
    rows = [[str(e["n"]), e["source"], labels.sentence_case(e["what"]), e["location"],
             f"“{e['quote']}”" if e["quote"] else "", labels.sentence_case(e["note"] or "")] for e in page.cites.entries]
    t = Table("Sources of the numbers on this page", ["#", "Source", "What", "Where", "Verbatim quote", "Note"],
              rows, numeric={"#"}, row_ids=[f"src-{e['n']}" for e in page.cites.entries], compact=True,
              csv=page.csv_href("sources"), sortable=True)
    return render("pooled_sources.html.j2", table=t if rows else None, n=len(rows), csv=page.csv_href("sources"))

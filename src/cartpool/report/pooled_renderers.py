"""Renderers of the pooled page's sections (the outcome sections are in
`cartpool.report.outcome_renderers`, the living review's in `cartpool.report.living_renderers`):
each formats one result of
`cartpool.analysis.synthesis.Synthesis` into a fragment (Jinja2 templates, `cartpool.formatting`,
`report.labels` and figures from `cartpool.plots`). Nothing here selects outcomes, pools, rates
certainty or writes a file; the page (`cartpool.report.pooled_page.PooledPage`, the first argument of
every renderer) holds the figures they add to.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import audit as audit_mod
from ..analysis import pooled_results as results
from ..analysis.appraisal import REVIEWED
from ..analysis.pooling import METHOD_LABELS, PRIMARY_METHOD
from ..data.risk_of_bias import DOMAINS as ROB_DOMAINS
from ..data.risk_of_bias import JUDGEMENT_LABELS, QUESTIONS
from ..data.risk_of_bias import RULE as RISK_OF_BIAS_RULE
from ..data.risk_of_bias import TOOL as RISK_OF_BIAS_TOOL
from ..data.risk_of_bias import TOOL_REFERENCE as RISK_OF_BIAS_REFERENCE
from ..domain import certainty as grade
from ..frames import frame_rows
from ..plots.risk_of_bias import summary_bars, traffic_light
from . import labels
from .outcome_renderers import sensitivity_estimate
from .pooled_words import STATUS_WORDS, certainty_mark, estimate_text, study_text
from .provenance import OWN_PROPORTION, computed, computed_only, model_words, study_number
from .render import Fragment, Table, cell, render


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
                  for x in frame_rows(frame)], compact=True, csv=page.csv_href("study-links"), csv_whole=False,
                 words={"Studies", "Link", "What the sources show", "Patients reported twice"})


def _known_table(page, known: pd.DataFrame) -> Table | None:
    if known.empty:
        return None
    relevance = {"pcl": "Plasma cell leukemia", "mm_context": "Multiple myeloma (context)"}
    rows = [[x.citation, relevance[x.relevance], labels.sentence_case(x.reason), x.known_from, x.note]
            for x in frame_rows(known)]
    columns = ["Study", "Relevant to", "Why not included", "Cited by", "Note"]
    return Table(f"Relevant studies known but not included ({len(rows)})", columns, rows, compact=True,
                 csv=page.csv_href("known-not-included"), csv_whole=False, words=set(columns))


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
    for r in frame_rows(frame):
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
        studies = _sof_studies(r)
        size = "—" if not r.k else computed(
            page, f"{r.k} ({r.patients})", f"1 study with {r.patients} patients" if r.k == 1 else
            f"{r.k} studies with {r.patients} patients in all",
            studies, show=lambda x: f"{x.total} patients", marks=False)
        rows.append([Markup("{}<br><small>{}</small>").format(r.outcome_label, labels.importance(r.importance)),
                     size, _sof_result(page, r, studies), certainty])
        classes.append(f"cp-certainty-{r.certainty.replace(' ', '-')}" if r.certainty else "")
    return Table(caption, ["Outcome (importance)", "Studies (patients)", "Result (95% CI)", "Certainty (GRADE)"],
                 rows, numeric={"Studies (patients)"}, row_classes=classes, compact=True,
                 csv=page.csv_href("summary-of-findings"), csv_whole=False,
                 words={"Outcome (importance)", "Certainty (GRADE)"}), notes


def _sof_studies(r) -> list[SimpleNamespace]:
    """A summary-of-findings row's studies (each with its count or rate, how it was obtained and its
    record ids), as the row recorded them."""
    return [SimpleNamespace(**s, total=s["patients"], estimate=s["low"])
            for s in (json.loads(r.per_study) if r.per_study else [])]


def _sof_result(page, r, studies: list) -> Markup | str:
    """A summary-of-findings result: each study's number with its sources, or a pooled estimate with
    its model and inputs."""
    text = estimate_text(r, digits=1)
    counted = OWN_PROPORTION
    if r.display == "none":
        return text
    if r.display == "side by side":
        return Markup("; ").join(study_number(page, study_text(vars(s), 1, with_ci=True), s,
                                              what=counted if s.events is not None else "")
                                 for s in studies) + "; not pooled"
    if r.display in ("single", "zero"):
        return study_number(page, text, studies[0], what=counted if studies[0].events is not None else "")
    return computed(page, text, model_words(r.rule, r.method), studies)


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
    for x in frame_rows(r.frame):
        sd = page.study_data[x.study_id]
        source = labels.source_name(sd.study)
        # cited in the order of the columns, so that the sources list reads as the row does
        design = page.cites.fact(sd, "design", x.design, source)
        population = f"{x.setting} {x.disease}" + (f" ({x.pcl_types.replace(',', ' and')})" if x.pcl_types else "")
        ns = [n for n in (page.cites.fact_ref(sd, f, source) for f in ("setting", "disease")) if n is not None]
        if ns:
            population = page.cites.derived(population, "Setting and disease as the paper states them.", ns)
        targets = page.cites.fact(sd, "targets", x.targets, source)
        sizes = Markup("; ").join(page.cites.record(sd, rid, f"{int(n)} {k}", source)
                                  for k, n, rid in (("enrolled", x.enrolled, x.enrolled_result_id),
                                                    ("infused", x.infused, x.infused_result_id))
                                  if n is not None and n == n)
        if not sizes:
            sizes = page.cites.record(sd, x.n_result_id, cell(x.n), source) if x.n_result_id else cell(x.n)
        follow_up = page.cites.record(sd, x.follow_up_result_id, x.follow_up, source) if x.follow_up \
            else "not reported"
        definition = page.cites.fact(sd, "pcl_definition", x.pcl_definition, source) if x.pcl_definition else "n/a"
        treated = Markup("; ").join(page.cites.co_intervention(sd, i, c.description, source)
                                    for i, c in enumerate(sd.study.co_interventions)) or "none reported"
        rows.append([Markup('<a href="{}.html">{}</a>').format(x.study_id, x.study), design, population, targets,
                     sizes, follow_up, definition, treated,
                     labels.sentence_case(labels.document_type(x.document_type).split(" (")[0])])
    t = Table("Studies included", ["Study", "Design", "Population", "Target(s)", "Patients", "Median follow-up",
                                   "PCL definition", "Given with or after CAR-T", "Source"], rows,
              row_ids=[f"study-{i}" for i in r.frame["study_id"]], compact=True, csv=page.csv_href("studies"),
              csv_whole=False, words={"Study", "Source"}, tall=True)
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
                            for d in frame_rows(whole))
        if not specific.empty:
            domains += "; for " + "; ".join(f"{labels.outcome_names(d.outcomes)}: {ROB_DOMAINS[d.domain].lower()} "
                                            f"{JUDGEMENT_LABELS[d.judgement].lower()}" for d in frame_rows(specific))
        n = int(sub["not_reproduced"].iloc[0])
        rows.append([link, JUDGEMENT_LABELS[sub["overall"].iloc[0]], domains,
                     computed_only(page, f"{n} printed number{'s' if n != 1 else ''} not reproduced",
                             f"{n} of the {r.checked.get(sid, n)} printed numbers of {sub['study'].iloc[0]} that it "
                             f"checks could not be reproduced: {'; '.join(r.not_reproduced.get(sid, []))}. Each check "
                             "is in the study report.") if n else "none"])
    table = Table("Risk of bias by study, and numbers the checks could not reproduce",
                  ["Study", "Overall", "By domain", "Trustworthiness: numbers not reproduced"], rows, compact=True,
                  csv=page.csv_href("risk-of-bias"), csv_whole=False, words={"Study", "Overall", "By domain"})
    return render("pooled_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, reference=RISK_OF_BIAS_REFERENCE,
                  rule=RISK_OF_BIAS_RULE, figures=figures, table=table,
                  questions=[(ROB_DOMAINS[d], q) for d, q in QUESTIONS.items()])


def methods(page, r: results.MethodsResult) -> Fragment:
    """How the studies were synthesised, in plain words (the exact methods are in the appendix)."""
    return render("pooled_methods.html.j2", n=r.n, outcomes=r.outcomes, plan=r.plan, itt=r.itt,
                  evaluable=r.evaluable, subgroups=r.subgroups, confounded=r.confounded)


# --- outcomes -------------------------------------------------------------------------------------------


def audit(page, r: results.FrameResult) -> Fragment:
    df = r.frame
    if df.empty:
        return render("pooled_audit.html.j2", table=None)
    summ = df.pivot_table(index="study_id", columns="status", values="item", aggfunc="count", fill_value=0)
    label = page.study_labels
    rows = []
    for sid, x in summ.iterrows():
        rows.append([Markup('<a href="{}.html#Checks-against-the-paper">{}</a>').format(sid, label[sid]),
                     computed_only(page, str(int(x.sum())), f"the printed numbers of {label[sid]} that it recomputed from "
                             "the paper's own numbers (or its per-patient table) and compared with what the paper "
                             "prints. Each check is listed in the study report.")]
                    + [computed_only(page, str(int(x.get(s, 0))), f"the checks of the printed numbers of {label[sid]} "
                               f"whose result is: {s}. Each check is listed in the study report.")
                       for s in audit_mod.STATUSES])
    t = Table("Printed numbers checked per study (details in each study report)",
              ["Study", "Checked", *[labels.sentence_case(s) for s in audit_mod.STATUSES]], rows,
              numeric={"Checked", *[labels.sentence_case(s) for s in audit_mod.STATUSES]}, csv=page.csv_href("audit"),
              csv_whole=False, words={"Study"})
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
                  r.rows.values.tolist(), compact=True, csv=page.csv_href("grade-judgements"), csv_whole=False,
                  words={"Outcome", "Domain", "Proposed", "Reviewer", "Why the reviewer departs"})
    return render("pooled_judgements.html.j2", table=table, pb=r.publication_bias, pb_proposal=r.publication_bias_proposal,
                  waiting=[f"{x.outcome_label}, {labels.lower_first(x.population)}: {STATUS_WORDS[x.status]}"
                           for x in frame_rows(r.waiting)])


def sensitivity(page, r: results.SensitivityResult) -> Fragment:
    blocks = []
    for label, sens, loo in r.blocks:
        rows = []
        for x in frame_rows(sens):
            studies = list(frame_rows(r.row_inputs(x)))
            rows.append([x.subgroup, x.analysis,
                         computed(page, str(int(x.k)), "the one study of this analysis" if x.k == 1 else
                                  f"the {int(x.k)} studies of this analysis", studies, marks=False),
                         computed(page, sensitivity_estimate(x, r.inputs), f"{x.analysis}: "
                                  + model_words(x.rule, x.method, cell(x.note), x.ci_how if isinstance(x.ci_how, str)
                                                else ""), studies), cell(x.note)])
        loo_rows = []
        for x in frame_rows(loo) if not loo.empty else ():
            studies = list(frame_rows(r.left_in(x)))
            loo_rows.append([x.subgroup, x.omitted,
                             computed(page, str(int(x.k)), f"the {int(x.k)} studies left", studies, marks=False),
                             computed(page, fmt.pct_ci(x.estimate, x.ci_low, x.ci_high),
                                      f"the main analysis refitted with {x.omitted} left out, "
                                      + model_words(x.rule, x.method, "", ""), studies)])
        blocks.append({
            "label": label,
            "table": Table(f"{label}: sensitivity analyses", ["Population", "Analysis", "Studies",
                                                              "Estimate (95% CI or CrI)", "Note"], rows,
                           numeric={"Studies", "Estimate (95% CI or CrI)"}, compact=True, csv=page.csv_href("estimates"),
                           csv_whole=False, words={"Population", "Analysis", "Note"}) if rows else None,
            "loo": Table(f"{label}: leave-one-out", ["Population", "Study left out", "Studies", "Estimate (95% CI)"],
                         loo_rows, numeric={"Studies", "Estimate (95% CI)"}, compact=True,
                         csv=page.csv_href("leave-one-out"), csv_whole=False,
                         words={"Population", "Study left out"}) if loo_rows else None,
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


def sources(page, r=None) -> Fragment:
    """The sources of every number on the page taken from a paper, in citation order (written last)."""
    rows = [[str(e["n"]), e["source"], labels.sentence_case(e["what"]), e["location"],
             f"“{e['quote']}”" if e["quote"] else "", labels.sentence_case(e["note"] or "")] for e in page.cites.entries]
    columns = ["#", "Source", "What", "Where", "Verbatim quote", "Note"]
    t = Table("Sources of the numbers on this page", columns,
              rows, numeric={"#"}, row_ids=[f"src-{e['n']}" for e in page.cites.entries], compact=True,
              csv=page.csv_href("sources"), sortable=True, words=set(columns), css_class="cp-sources")
    return render("pooled_sources.html.j2", table=t if rows else None, n=len(rows), csv=page.csv_href("sources"))

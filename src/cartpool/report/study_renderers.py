"""Renderers of the study page's sections (the clinical ones are in
`cartpool.report.study_outcome_renderers`): each formats one result of
`cartpool.analysis.study_results` into a fragment (Jinja2 templates, `cartpool.formatting`, `report.labels`
and figures from `cartpool.plots`). Nothing here selects, computes or writes a file; the page
(`cartpool.report.study_page.StudyPage`, the first argument of every renderer; it imports this module,
so its type is named in words only) holds the citations and figures they add to.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import audit as audit_mod
from ..analysis import study_results as results
from ..data.risk_of_bias import DOMAINS, JUDGEMENT_LABELS, QUESTIONS
from ..data.risk_of_bias import RULE as RISK_OF_BIAS_RULE
from ..data.risk_of_bias import TOOL as RISK_OF_BIAS_TOOL
from ..frames import frame_rows
from ..plots import study_figures as study_plots
from . import labels, provenance
from .render import Fragment, Table, cell, render
from .study_tables import (
    columns_table,
    records_table,
)


def header(page, r: results.HeaderResult) -> Fragment:
    s = r.study
    pops = []
    for row in frame_rows(r.populations):
        if row.size is None or pd.isna(row.size):
            continue
        pops.append(Markup("{}: {}").format(labels.words(row.label),
                                            page.cites.record(page.sd, row.result_id, str(int(row.size)))))
    fu = [Markup("{} ({})").format(page.cites.record(page.sd, f.result_id, f"{f.value:g} {f.unit}"),
                                    labels.words(labels.lower_first(f.population_label))) for f in r.follow_up]
    missing = Markup('<span class="cp-missing">not reported</span>')
    facts = [
        ("Citation", s.citation),
        ("Trial registration", ", ".join(s.registry_ids) or Markup('<span class="cp-missing">none stated</span>')),
        ("Source", labels.sentence_case(labels.document_type(s.document_type))),
        ("Design", Markup("{}; phase {}").format(page.fact("design"), page.fact("phase"))),
        ("Setting", page.fact("setting")),
        ("Disease", page.fact("disease")),
        ("CAR target(s)", page.fact("targets")),
        ("Product(s)", page.fact("products")),
        ("Dose", page.fact("dose")),
        ("Lymphodepletion", page.fact("lymphodepletion")),
        ("Enrolment", page.fact("enrolment_period")),
        ("Data cutoff", page.fact("data_cutoff")),
        ("Published", page.fact("published")),
        ("Patients", Markup("; ").join(pops) if pops else missing),
        ("Median follow-up", Markup("; ").join(fu) if fu else missing),
        ("Grading scales", Markup("CRS: {}; ICANS: {}; other neurotoxicity: {}; CTCAE version: {}").format(
            page.fact("crs_grading"), page.fact("icans_grading"), page.fact("neurotoxicity_grading"),
            page.fact("ctcae_version"))),
    ]
    if s.disease_group == "PCL":
        facts.insert(6, ("PCL definition", page.fact("pcl_definition")))
    facts.append(("Given with or after CAR-T", Markup("{} (see Treatment with and after CAR-T)").format(
        ", ".join(dict.fromkeys(labels.co_intervention(k) for k in r.co_interventions["kind"])))
        if len(r.co_interventions) else Markup('<span class="cp-missing">none reported</span>')))
    for i, link in enumerate(frame_rows(r.links)):
        overlap = {"possible": "patients may be reported in both", "unlikely": "patient overlap unlikely",
                   "not applicable": "no patient overlap"}[link.patient_overlap]
        words = (page.cites.cite(link.kinds, key=f"l:{i}", what=link.description, location=link.location,
                                 quote=link.quote) if link.quote else link.kinds)
        facts.append((f"Linked study: {link.others}", Markup("{}: {}. {}").format(
            labels.sentence_case(overlap), words, labels.words(link.description))))
    return render("study_header.html.j2", s=s, doi=s.doi, facts=facts, words={"Citation", "Trial registration", "Source"},
                  subtitle=f"{s.label} · {s.setting_label} · {s.disease_group}")


def glance(page, r: results.FrameResult) -> Fragment:
    boxes = []
    for row in r.frame.to_dict("records"):
        if row["kind"] == "patients":
            boxes.append((f"{int(row['value'])}", f"patients ({labels.lower_first(row['label'])})"))
        elif row["kind"] == "outcome":
            if row["source"] == "range":
                boxes.append((fmt.pct_range(row["value"], row["value_high"], 0),
                              f"{row['label']} ({row['events']}–{row['events_high']}/{row['total']}; a range)"))
            else:
                boxes.append((fmt.pct(row["value"]), f"{row['label']} ({row['events']}/{row['total']})"))
        else:
            v = "NR" if row["value"] is None or pd.isna(row["value"]) else f"{row['value']:.1f} mo"
            what = "not reached" if v == "NR" else row["source"]
            rec = page.sd.result(row["result_id"]) if isinstance(row.get("result_id"), str) else None
            if v != "NR" and rec is not None and rec.unit != "months":
                what = f"printed as {rec.value} {rec.unit}"
            boxes.append((v, f"{row['label']} ({what}; {labels.lower_first(row['population'])})"))
    return render("study_glance.html.j2", boxes=boxes[:6])


def audit(page, r: results.FrameResult) -> Fragment:
    df = r.frame
    if df.empty:
        return render("study_audit.html.j2", findings=[], summary="", empty=True)
    summary = audit_mod.status_counts_text(df)
    findings = {}
    for status in audit_mod.FINDINGS:
        items = []
        for x in frame_rows(df[df["status"] == status]):
            if x.check == "contradiction" and not x.result_id:
                i = next((k for k, c in enumerate(page.s.contradictions) if c.label == x.item), None)
                if i is not None:
                    c = page.s.contradictions[i]
                    first = page.cites.cite(c.first.location, key=f"x:{i}:1", what=c.label, location=c.first.location,
                                            quote=c.first.quote)
                    second = page.cites.cite(c.second.location, key=f"x:{i}:2", what=c.label,
                                             location=c.second.location, quote=c.second.quote)
                    items.append(Markup("<strong>{}</strong>: {} (“{}”) against {} (“{}”). {}").format(
                        labels.sentence_case(x.item), first, c.first.quote, second, c.second.quote,
                        labels.sentence_case(x.note)))
                    continue
                items.append(Markup("<strong>{}</strong>: {} against {}. {}").format(
                    labels.sentence_case(x.item), x.reported, x.recomputed, labels.sentence_case(x.note)))
                continue
            rep = page.cites.record(page.sd, x.result_id, x.reported) if x.result_id and x.reported else x.reported
            items.append(Markup("<strong>{}</strong>: printed {}; recomputed {}. {}").format(
                labels.sentence_case(x.item), rep, x.recomputed or fmt.MISSING_TEXT, labels.sentence_case(x.note)))
        findings[status] = items
    return render("study_audit.html.j2", inconsistent=findings[audit_mod.INCONSISTENT],
                  reading=findings[audit_mod.READING], summary=f"{len(df)} checks: {summary}.",
                  held=audit_mod.what_held(df), empty=False)


def patients(page, r: results.PatientsResult) -> Fragment:
    rows = []
    for x in frame_rows(r.baseline):
        rec = page.sd.result(x.result_id)
        row = [labels.characteristic(x.endpoint, x.category), x.population_label,
               page.cites.record(page.sd, x.result_id, rec.as_printed())]
        if r.has_patients:
            row.append(cell(x.recomputed) if fmt.is_missing(x.recomputed) else provenance.counted(
                page, x.recomputed, f"the summary the paper prints, of the same patients "
                                    f"({labels.lower_first(x.population_label)}).", "from"))
        rows.append(row)
    cols = ["Characteristic", "Population", "Published"] + (["Recomputed from the per-patient table"]
                                                            if r.has_patients else [])
    table = Table("Baseline characteristics as published" + (", with the same summary recomputed from the "
                                                             "per-patient table" if r.has_patients else ""),
                  cols, rows, csv=page.csv_href("baseline"), csv_whole=False,
                  words={"Characteristic", "Population"}) if rows else None
    return render("study_patients.html.j2", table=table,
                  also=records_table(page, r.also_printed, "Other numbers on the patients as printed",
                                     "baseline-also-printed"))


def course(page, r: results.CourseResult) -> Fragment:
    d = r.derived
    if d is None:
        return render("study_course.html.j2", figure=None)
    n_prog = int(d.get("progressed", pd.Series(dtype=bool)).sum())
    n_dead = int(d["os_event"].sum())
    fig = page.figures.embed(
        study_plots.swimmer(d, r.events, title=f"Course of each patient after CAR-T, {page.s.label}",
                            label_col=r.label_column),
        name="swimmer",
        alt=(f"Swimmer plot of {len(d)} patients: bars show follow-up coloured by best response; {n_prog} "
             f"progressions, {n_dead} deaths, {sum(len(v) for v in r.events.values())} subsequent therapies marked"),
        caption="One bar per patient, from the first CAR-T infusion to death or last follow-up, coloured by best "
                "response. Markers: progression (triangle), death (cross), alive at last follow-up (arrow), second "
                "CAR-T infusion (diamond), allo-HSCT (star). From the per-patient table.")
    return render("study_course.html.j2", figure=fig)


def coverage(page, r: results.FrameResult) -> Fragment:
    """What clinicians look for in a CAR-T series: given (with where), not reported, or not in the
    source we have."""
    rows = []
    for x in frame_rows(r.frame):
        if x.status == "reported":
            where = [page.fact(f) for f in x.facts.split(";") if f]
            where += [page.cites.record(page.sd, i, labels.record_what(page.sd.result(i)))
                      for i in x.result_ids.split(";") if i]
            for i in (int(i) for i in x.co_interventions.split(";") if i):
                c = page.s.co_interventions[i]
                where.append(page.cites.cite(c.description, key=f"c:{i}", what=c.description, location=c.location,
                                             quote=c.quote))
            status = Markup("; ").join(where)
        else:
            status = labels.missing(x.status)
        rows.append([x.label, status])
    return render("study_coverage.html.j2", table=Table("What clinicians look for in a CAR-T series",
                                                         ["Item", "In this study"], rows, compact=True, words={"Item"},
                                                         csv=page.csv_href("coverage"), csv_whole=False))


def risk_of_bias(page, r: results.FrameResult) -> Fragment:
    """The study's risk of bias by domain, each judgement with its reason and the paper's words, and the
    judgements that touch some outcomes only."""
    rob = r.frame
    if rob.empty:
        return render("study_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, rule=RISK_OF_BIAS_RULE, overall=None,
                      table=None)
    rows = []
    for x in frame_rows(rob):
        what = Markup('<span title="{}">{}</span>').format(QUESTIONS[x.domain], DOMAINS[x.domain])
        if x.outcomes:
            what = Markup("{} (for {})").format(what, labels.outcome_names(x.outcomes))
        words = f"{x.location}: “{x.quote}”" if x.quote else (f"Trial registry: {x.registry}" if x.registry else "")
        rows.append([what, Markup('<span class="cp-rob-{}">{}</span>').format(x.judgement,
                                                                              JUDGEMENT_LABELS[x.judgement]),
                     x.reason, words])
    columns = ["Domain", "Judgement", "Why", "In the paper's words"]  # a reviewer's judgements and the quotes
    table = Table(f"Risk of bias by domain ({RISK_OF_BIAS_TOOL})", columns, rows, compact=True,
                  csv=page.csv_href("risk-of-bias"), csv_whole=False, words=set(columns))
    first = rob.iloc[0]
    return render("study_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, rule=RISK_OF_BIAS_RULE,
                  overall=JUDGEMENT_LABELS[first["overall"]].lower(), overall_reason=first["overall_reason"],
                  proposed=JUDGEMENT_LABELS[first["proposed_overall"]].lower(), departure=first["departure"],
                  table=table)


def limitations(page, r: results.FrameResult) -> Fragment:
    return render("study_limitations.html.j2", items=list(r.frame["text"]))


def audit_appendix(page, r: results.FrameResult) -> Fragment:
    df = r.frame
    if df.empty:
        return Fragment("")
    order = {s: i for i, s in enumerate([audit_mod.INCONSISTENT, audit_mod.READING, audit_mod.ROUNDING,
                                         audit_mod.NOT_CHECKABLE, audit_mod.CONSISTENT])}
    df = df.sort_values("status", key=lambda s: s.map(order), kind="stable")
    cls = {audit_mod.CONSISTENT: "consistent", audit_mod.ROUNDING: "rounding", audit_mod.READING: "reading",
           audit_mod.INCONSISTENT: "inconsistent", audit_mod.NOT_CHECKABLE: "notcheckable"}
    rows = [[labels.sentence_case(x.item), *_check_values(page, x),
             Markup('<span class="cp-status-{}">{}</span>').format(cls[x.status], x.status),
             labels.sentence_case(x.note)] for x in frame_rows(df)]
    return render("study_audit_appendix.html.j2", n=len(rows), csv=page.csv_href("audit"),
                  table=Table("Every check: printed next to recomputed", ["Item", "Printed", "Recomputed",
                                                                          "Status", "Note"], rows, compact=True,
                              csv=page.csv_href("audit"), csv_whole=False, sortable=True,
                              words={"Item", "Status", "Note"}))


def _check_values(page, x) -> list:
    """A check's printed value, cited to its record (or, for two passages that contradict each other,
    each cited to its place), and the recomputed value with how it was recomputed."""
    if x.check == "contradiction" and not x.result_id:
        i = next((k for k, c in enumerate(page.s.contradictions) if c.label == x.item), None)
        if i is not None:
            c = page.s.contradictions[i]
            return [page.cites.cite(x.reported, key=f"x:{i}:1", what=c.label, location=c.first.location,
                                    quote=c.first.quote),
                    page.cites.cite(x.recomputed, key=f"x:{i}:2", what=c.label, location=c.second.location,
                                    quote=c.second.quote)]
    printed = page.cites.record(page.sd, x.result_id, x.reported) if x.result_id and x.reported else cell(x.reported)
    if not x.recomputed:
        return [printed, cell(x.recomputed)]
    if x.check == "per_patient":
        return [printed, provenance.counted(page, x.recomputed, f"{audit_mod.HOW_RECOMPUTED[x.check]}.", "from")]
    return [printed, provenance.computed_only(page, x.recomputed, f"{audit_mod.HOW_RECOMPUTED[x.check]}.")]


def per_patient_tables(page, r: results.PerPatientResult) -> Fragment:
    """The per-patient tables exactly as published, and every column not summarised in its own section."""
    tables, names, csvs = [], [], []
    refs = dict(zip(r.tables, provenance.patient_table_refs(page), strict=False))
    for name, (location, pub) in r.tables.items():
        csv = page.csv_href(f"{name}-as-published")
        n, head = refs[name], list(pub[0])
        rows = [[provenance.published_cell(page, v, n, location, x[0], head[j]) if str(v).strip() else v
                 for j, v in enumerate(x)] for x in pub[1:]]
        tables.append(Table(Markup("{} as published ({} rows){}").format(location, len(pub) - 1,
                                                                          page.cites.marks([n])),
                            head, rows, compact=True, csv=csv, sortable=True))
        names.append(location)
        csvs.append(csv)
    pf = r.columns
    summary = columns_table(page, pf[~pf["home"].isin(r.summarised_elsewhere)],
                            "The other columns of the per-patient tables, summarised")
    return render("study_per_patient.html.j2", tables=tables, names=names, csvs=csvs, summary=summary)


def sources(page, r=None) -> Fragment:
    """The sources of every number on the page, in citation order (written last)."""
    rows = [[str(e["n"]), labels.sentence_case(e["what"]), e["location"], f"“{e['quote']}”" if e["quote"] else "",
             e["note"] or ""] for e in page.cites.entries]
    columns = ["#", "What", "Where", "Verbatim quote", "Note"]
    t = Table(f"Sources of the numbers on this page ({page.cites.source})", columns,
              rows, numeric={"#"}, row_ids=[f"src-{e['n']}" for e in page.cites.entries], compact=True,
              csv=page.csv_href("sources"), words=set(columns), css_class="cp-sources")
    return render("study_sources.html.j2", table=t if rows else None, citation=page.s.citation)

"""Renderers of the study page's sections: each formats one result of
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
from ..domain import registry, survival_rules
from ..domain.counts import HOW_EVALUABLE, HOW_ITT, HOW_PER_PATIENT, HOW_PRINTED
from ..plots import study_figures as study_plots
from ..units import DAYS_PER_MONTH
from . import labels
from .render import Fragment, Table, cell, render

SURVIVAL_NAMES = {s.endpoint: s.label for s in registry.SURVIVAL}


# --- tables shared by several sections -------------------------------------------------------------


def records_table(page, frame: pd.DataFrame, caption: str, csv: str) -> Table | None:
    """Records as printed: what, for whom, the printed value (cited), the count it gives, and how it
    was obtained where it is not printed as a number."""
    if frame is None or frame.empty:
        return None
    rows = []
    for r in frame.itertuples():
        rec = page.sd.result(r.result_id)
        if pd.isna(r.events):
            count = ""
        elif r.is_range and r.events_high != r.events:
            count = f"{r.events}–{r.events_high}/{r.total}"
        else:
            count = fmt.count(r.events, r.total)
        notes = [labels.derivation(r.derived)] if r.derived else []
        if rec.bound is not None:
            notes.append(rec.bound.reason)
        if r.note:
            notes.append(r.note)
        rows.append([labels.record_what(rec), r.population_label,
                     page.cites.record(page.sd, r.result_id, rec.as_printed()), count,
                     " ".join(n if n.endswith(".") else n + "." for n in notes)])
    return Table(caption, ["What", "Population", "As printed", "n/N", "Note"], rows, numeric={"n/N"}, compact=True,
                 csv=page.csv_href(csv), csv_whole=False)


def columns_table(page, frame: pd.DataFrame, caption: str) -> Table | None:
    """Per-patient columns summarised, each cited to its table and column."""
    if frame is None or frame.empty:
        return None
    rows = []
    for field, g in frame.groupby("field", sort=False):
        first = g.iloc[0]
        if first["parse"] in ("number", "integer", "percent", "sci_number"):
            text = (f"median {fmt.significant(first['median'])} (range {fmt.significant(first['low'])}–"
                    f"{fmt.significant(first['high'])}), {int(first['count'])} patients")
        else:
            shown = g[g["count"] > 0] if (g["count"] > 0).any() else g
            text = "; ".join(f"{lv} {int(c)}" for lv, c in zip(shown["level"], shown["count"], strict=True))
            text += f" (of {int(first['total'])})"
        group = first["column"].startswith("@")
        rows.append([labels.sentence_case(first["label"]),
                     page.cites.cite(text, key=f"p:{field}", what=f"{first['label']} (per-patient table)",
                                     location=(f"{first['table']}, patient label" if group
                                               else f"{first['table']}, column “{first['column']}”"),
                                     quote=first["column"].lstrip("@") or first["label"])])
    return Table(caption, ["Column", "Counted from the table"], rows, compact=True,
                 csv=page.csv_href("per-patient-columns"), csv_whole=False)


def contradictions(page, frame: pd.DataFrame) -> list[Markup]:
    """The paper's self-contradictions about one section, both places cited."""
    items = []
    for c in frame.itertuples():
        first = page.cites.cite(c.first_location, key=f"x:{c.index}:1", what=c.label, location=c.first_location,
                                quote=c.first_quote)
        second = page.cites.cite(c.second_location, key=f"x:{c.index}:2", what=c.label, location=c.second_location,
                                 quote=c.second_quote)
        items.append(Markup("<strong>The paper contradicts itself: {}.</strong> {} (“{}”) against {} (“{}”). {}")
                     .format(labels.lower_first(c.label), first, c.first_quote, second, c.second_quote, c.note))
    return items


def outcome_table(page, frame: pd.DataFrame, caption: str, csv: str) -> Table:
    """Registered outcomes with their counts, exact CIs and how each was obtained."""
    rows = []
    for r in frame.itertuples():
        if r.events is None or pd.isna(r.events):
            why = r.detail if r.how != "not reported" and r.detail else "not reported"
            rows.append([r.label, fmt.MISSING_TEXT, fmt.MISSING_TEXT, labels.sentence_case(why)])
            continue
        text = (f"{int(r.events)}–{int(r.events_high)}/{int(r.total)}" if r.is_range
                else fmt.count(r.events, r.total))
        n = page.cites.records(page.sd, r.result_ids, text) if r.result_ids else text
        how = r.how if r.how in (HOW_PER_PATIENT, HOW_PRINTED) else labels.how(r.how, r.detail)
        if r.how not in (HOW_ITT, HOW_EVALUABLE):  # those two say whom they count
            how += f"; {labels.lower_first(r.population_label)}" if r.population_label else ""
            how += f"; {r.infused_text}" if r.infused_text else ""
        if r.note:
            how += f". Note: {r.note}"
        rows.append([r.label, n, fmt.pct_range(r.estimate, r.estimate_high) + " " + fmt.ci(r.ci_low, r.ci_high),
                     labels.sentence_case(how)])
    return Table(caption, ["Outcome", "n/N", "% (exact 95% CI)", "How obtained"], rows,
                 numeric={"n/N", "% (exact 95% CI)"}, csv=page.csv_href(csv), csv_whole=False)


def _records_section(page, r: results.RecordsResult, *, caption: str, empty: str, intro: str = "",
                     columns_caption: str = "") -> Fragment:
    return render("study_records.html.j2", intro=intro,
                  table=records_table(page, r.records, caption, r.home.replace("_", "-")),
                  fields=columns_table(page, r.columns, columns_caption or caption + ", per-patient table"),
                  extra=None, contradictions=contradictions(page, r.contradictions), empty=empty)


# --- the sections, in page order ----------------------------------------------------------------------


def header(page, r: results.HeaderResult) -> Fragment:
    s = r.study
    pops = []
    for row in r.populations.itertuples():
        if row.size is None or pd.isna(row.size):
            continue
        pops.append(Markup("{}: {}").format(row.label, page.cites.record(page.sd, row.result_id, str(int(row.size)))))
    fu = [Markup("{} ({})").format(page.cites.record(page.sd, f.result_id, f"{f.value:g} {f.unit}"),
                                    labels.lower_first(f.population_label)) for f in r.follow_up]
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
    for i, link in enumerate(r.links.itertuples()):
        overlap = {"possible": "patients may be reported in both", "unlikely": "patient overlap unlikely",
                   "not applicable": "no patient overlap"}[link.patient_overlap]
        words = (page.cites.cite(link.kinds, key=f"l:{i}", what=link.description, location=link.location,
                                 quote=link.quote) if link.quote else link.kinds)
        facts.append((f"Linked study: {link.others}", Markup("{}: {}. {}").format(
            labels.sentence_case(overlap), words, link.description)))
    return render("study_header.html.j2", s=s, doi=s.doi, facts=facts,
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


def efficacy(page, r: results.EfficacyResult) -> Fragment:
    dist = r.distribution
    figure = None
    if not dist.empty:
        counts = dict(zip(dist["category"], dist["count"], strict=True))
        total = int(dist["total"].iloc[0])
        how = "computed from the per-patient table" if dist["how"].iloc[0] == HOW_PER_PATIENT else "as printed"
        rest = total - sum(counts.values())
        desc = ", ".join(f"{k} {v}" for k, v in counts.items())
        figure = page.figures.embed(
            study_plots.response_bar(counts, total, f"Best response (IMWG), {page.s.label}, N = {total}"),
            name="best-response",
            alt=f"Stacked bar of best response in {total} patients: {desc}" + (f"; {rest} not reported" if rest else ""),
            caption=f"Best response by IMWG category ({how}); categories in the same colour order in every report"
                    + ("; the hatched grey part is patients whose category the source does not give." if rest else "."))
    table = outcome_table(page, r.outcomes, "Response and MRD negativity with exact (Clopper-Pearson) 95% confidence "
                                            "intervals", "efficacy")
    sub_table = None
    if not r.subgroups.empty:
        sub_table = Table("Response by subgroup, computed from the per-patient table",
                          ["Subgroup", "Outcome", "n/N", "% (95% CI)"],
                          [[f"{x.field_label}: {x.level}", registry.outcome(x.outcome).short,
                            fmt.count(x.events, x.total), fmt.pct_ci(x.estimate, x.ci_low, x.ci_high)]
                           for x in r.subgroups.itertuples()], numeric={"n/N", "% (95% CI)"},
                          csv=page.csv_href("subgroups"), csv_whole=False)
    also = records_table(page, r.also_printed, "Other response numbers as printed (other populations, subgroups, "
                                               "timing)", "efficacy-also-printed")
    return render("study_efficacy.html.j2", figure=figure, table=table, subgroups=sub_table,
                  has_patients=r.has_patients, mrd=r.mrd_definition, also=also)


def durability(page, r: results.RecordsResult) -> Fragment:
    return _records_section(
        page, r, caption="Relapse, progression and remission as printed",
        empty="The source reports no counts of relapse, progression or continuing remission beyond the survival "
              "estimates.",
        intro="“No progression recorded” counts patients in whom no progression was recorded, alive or dead; "
              "“alive without progression” counts only those alive." if r.extra.get("two_readings") else "")


def _km_figures(page, r: results.SurvivalResult) -> list[dict]:
    figures = []
    defs = r.definitions
    for (ep, _g), km in r.km.items():
        est, lo, hi = km.median()
        d_txt = f" Definition ({defs[ep].location}): {defs[ep].value}." if ep in defs else ""
        figures.append(page.figures.embed(
            study_plots.km_plot({"All patients": km}, title=f"{SURVIVAL_NAMES[ep]}, {page.s.label} (N = {km.n})"),
            name=f"km-{ep}",
            alt=(f"Kaplan-Meier curve of {SURVIVAL_NAMES[ep].lower()} in {km.n} patients; median "
                 f"{fmt.months(est)} (95% CI {fmt.months(lo)} to {fmt.months(hi)}); numbers at risk under "
                 "the time axis"),
            caption=(f"{SURVIVAL_NAMES[ep]} computed from the per-patient table (months). Shaded: pointwise "
                     f"95% confidence band ({survival_rules.KM_CONF_TYPE} transform, Greenwood variance); +: a "
                     f"censored patient; dashed: the median, where reached.{d_txt}")))
    for comp in r.comparisons:
        label = r.patient_fields.fields[comp.field].label or labels.humanise(comp.field)
        p_text = f"Log-rank {fmt.p_value(comp.p_value)} (χ² = {comp.chisq:.2f}, {comp.df} df)"
        meds = "; ".join(f"{g}: median {fmt.months(km.median()[0])}" for g, km in comp.fits.items())
        figures.append(page.figures.embed(
            study_plots.km_plot({f"{label}: {g}": km for g, km in comp.fits.items()},
                                title=f"{SURVIVAL_NAMES[comp.endpoint]} by {labels.lower_first(label)}",
                                p_text=p_text),
            name=f"km-{comp.endpoint}-by-{comp.field}",
            alt=f"Kaplan-Meier curves of {SURVIVAL_NAMES[comp.endpoint].lower()} by "
                f"{labels.lower_first(label)}: {meds}; {p_text}",
            caption=f"{SURVIVAL_NAMES[comp.endpoint]} by {labels.lower_first(label)} (per-patient table). "
                    "Shaded: pointwise 95% confidence bands; +: a censored patient; dashed: medians, where "
                    f"reached. {p_text}. Small groups: read as descriptive."))
    return figures


def _milestones_figure(page, r: results.SurvivalResult) -> dict:
    curves, pts = r.curves, r.milestones
    built = "; ".join(f"{ep.upper()} through " + ", ".join(f"{lab} ({fmt.months(t)}, {fmt.pct(s)})"
                                                          for t, s, lab in c.points)
                      for ep, c in curves.items())
    single = [ep.upper() for ep in sorted({p.endpoint for p in pts}) if ep not in curves]
    return page.figures.embed(
        study_plots.milestones_plot(pts, curves, title=f"Reported survival milestones, {page.s.label}"),
        name="survival-milestones",
        alt="Reported survival milestones with 95% CIs" + (f" and approximate curves: {built}" if built else ""),
        caption=("Printed medians (squares at 50%, with their CI; an arrow marks an upper limit not "
                 "reached) and landmark rates (dots with 95% CI)." if curves else
                 "Printed medians (squares, in months, with their CI where printed) and landmark rates "
                 "(dots with 95% CI), one row each.")
                + (f" Dashed: approximate curve through the printed points, ending at the last one ({built})."
                   if built else "")
                + (f" {', '.join(single)}: fewer than two printed milestones, so no curve is drawn."
                   if single else ""))


def survival(page, r: results.SurvivalResult) -> Fragment:
    figures = _km_figures(page, r) if r.km else ([_milestones_figure(page, r)] if r.milestones else [])
    rows = []
    for p in r.points.itertuples():
        name = {"pfs": "PFS", "os": "OS", "dor": "DOR"}[p.endpoint]
        if p.kind == "median":
            what = f"Median {name}"
            val = fmt.months(None if pd.isna(p.value) else p.value)
            cis = "" if pd.isna(p.ci_low) and pd.isna(p.ci_high) else \
                f"({fmt.months(None if pd.isna(p.ci_low) else p.ci_low, unit=False)}–" \
                f"{'NR' if p.high_not_reached else fmt.months(p.ci_high, unit=False)})"
        else:
            what = f"{name} at {p.time_months:g} months"
            val = fmt.pct(p.value)
            cis = fmt.ci(p.ci_low, p.ci_high) if not pd.isna(p.ci_low) else ""
        shown = f"{val} {cis}".strip()
        cell_ = shown
        if p.result_id:
            rec = page.sd.result(p.result_id)
            cell_ = page.cites.record(page.sd, p.result_id, shown)
            if rec.unit == "days":
                cell_ += Markup(" <small>(printed: {})</small>").format(rec.as_printed())
        source = {survival_rules.SOURCE_REPORTED: "printed",
                  survival_rules.SOURCE_KM: "recomputed (Kaplan-Meier, per-patient table)",
                  survival_rules.SOURCE_ZERO_EVENTS: f"no events reported: {p.basis}"}.get(p.source, p.source)
        if p.tie_events:
            source += (f"; {p.tie_events} event{'s' if p.tie_events > 1 else ''} recorded at exactly "
                       f"{p.time_months:g} months count{'' if p.tie_events > 1 else 's'} at the landmark; "
                       f"recorded just after, the estimate would be {fmt.pct(p.value_if_after)}")
        rows.append([what, p.population_label, cell_, labels.sentence_case(source)])
    table = Table("Survival: printed and recomputed", ["Estimate", "Population", "Value (95% CI)", "Source"],
                  rows, numeric={"Value (95% CI)"}, csv=page.csv_href("survival"), csv_whole=False) if rows else None
    fu = "; ".join(f"median follow-up {f.value:g} {f.unit} ({labels.lower_first(f.population_label)})"
                   for f in r.follow_up) or "median follow-up not reported"
    zero = any(p.source == survival_rules.SOURCE_ZERO_EVENTS for p in r.points.itertuples())
    definitions = [Markup("{}: {}").format(SURVIVAL_NAMES.get(ep, labels.humanise(ep)),
                                          page.cites.cite(d.value, key=f"d:{ep}", what=f"Definition of {ep}",
                                                          location=d.location, quote=d.quote))
                   for ep, d in r.definitions.items()]
    return render("study_survival.html.j2", figures=figures, approximate=bool(r.curves) and not r.km, table=table,
                  zero=zero, follow_up=labels.sentence_case(fu), days_per_month=DAYS_PER_MONTH,
                  has_patients=bool(r.km), also=records_table(page, r.also_printed, "Other survival numbers as printed",
                                                    "survival-also-printed"),
                  origin=page.fact("survival_origin"), definitions=definitions)


def treatment(page, r: results.TreatmentResult) -> Fragment:
    rows = [[labels.sentence_case(labels.co_intervention(x.kind)), labels.sentence_case(x.description),
             page.cites.cite(x.patients, key=f"c:{i}", what=x.description, location=x.location, quote=x.quote),
             x.population] for i, x in enumerate(r.co_interventions.itertuples())]
    given = Table("Treatments given with or after the CAR-T cells", ["Kind", "What", "Patients", "Population"],
                  rows, csv=page.csv_href("co-interventions"), csv_whole=False) if rows else None
    return render("study_records.html.j2", intro="", table=given,
                  fields=columns_table(page, r.columns, "Treatment and re-treatment counted from the per-patient "
                                                        "table"),
                  extra=records_table(page, r.records, "Dose, treatment status and re-treatment as printed",
                                      "treatment"),
                  contradictions=contradictions(page, r.contradictions),
                  empty="The source reports no treatment given with or after the CAR-T cells, and no re-treatment.")


def _crs_icans_table(page, frame: pd.DataFrame) -> Table | None:
    rows = []
    for r in frame.itertuples():
        ranged = r.events is not None and not pd.isna(r.events) and r.events_high != r.events
        count = f"{int(r.events)}–{int(r.events_high)}/{int(r.total)}" if ranged else fmt.count(r.events, r.total)
        rows.append([r.event.upper(), labels.grade(r.grade),
                     page.cites.record(page.sd, r.result_id, count) if r.result_id and count != fmt.MISSING_TEXT
                     else count,
                     fmt.pct_range(None if r.events is None or pd.isna(r.events) or not r.total
                                   else r.events / r.total, r.events_high / r.total if ranged else None),
                     r.scale, labels.sentence_case(r.how) + (f". Note: {r.note}" if r.note else "")])
    return Table("Cytokine release syndrome (CRS) and ICANS by grade", ["Event", "Grade", "n/N", "%", "Scale",
                                                                        "How obtained"],
                 rows, numeric={"n/N", "%"}, csv=page.csv_href("crs-icans"), csv_whole=False) if rows else None


def _other_events_table(page, frame: pd.DataFrame) -> Table | None:
    rows = []
    for r in frame.itertuples():
        label = labels.endpoint(r.endpoint) + f", grade {labels.grade(r.grade)}" + (f", at {r.timepoint}"
                                                                                      if r.timepoint else "")
        if r.events is not None and not pd.isna(r.events):
            n = page.cites.records(page.sd, r.result_id, fmt.count(r.events, r.total))
        else:
            n = page.cites.record(page.sd, r.result_id, page.sd.result(r.result_id).as_printed())
        rows.append([label, n, fmt.pct_ci(r.estimate, r.ci_low, r.ci_high), labels.sentence_case(r.how)])
    return Table("Other adverse events of grade ≥3 as printed", ["Adverse event", "n/N", "% (exact 95% CI)",
                                                                 "How obtained"],
                 rows, numeric={"n/N", "% (exact 95% CI)"}, csv=page.csv_href("adverse-events"),
                 csv_whole=False) if rows else None


def _grid_figure(page, g: pd.DataFrame, scale: str) -> dict:
    names = [labels.endpoint(c.removeprefix("ae:").strip().lower().replace(" ", "_")) if c.startswith("ae:")
             else {"crs_grade": "CRS", "icans_grade": "ICANS"}[c] for c in g.index]
    g = g.set_axis(names, axis=0)
    worst = {idx: int(row.max()) for idx, row in g.iterrows() if row.notna().any()}
    return page.figures.embed(
        study_plots.ae_grid(g, title=f"Adverse events by patient and grade, {page.s.label}", scale_note=scale),
        name="ae-grid",
        alt="Grid of patients by adverse event coloured by grade; highest grade per event: "
            + ", ".join(f"{k} {v}" for k, v in worst.items()),
        caption=f"Highest grade of each adverse event per patient (per-patient table; {scale}). Blank: none.")


def safety(page, r: results.SafetyResult) -> Fragment:
    crs = _crs_icans_table(page, r.crs_icans)  # cited first: the sources list follows the page's order
    shown = outcome_table(page, r.shown, "Other safety outcomes with exact (Clopper-Pearson) 95% confidence intervals",
                          "safety")
    return render("study_safety.html.j2", crs=crs, safety=shown if len(shown.rows) else None,
                  not_reported=r.not_reported,
                  other=_other_events_table(page, r.other_events),
                  grid=_grid_figure(page, r.grid, r.grid_scale) if r.grid is not None else None,
                  fields=columns_table(page, r.columns, "Other adverse events counted from the per-patient table"),
                  also=records_table(page, r.also_printed, "Other safety numbers as printed", "safety-also-printed"))


def neurological(page, r: results.RecordsResult) -> Fragment:
    return _records_section(
        page, r, caption="Neurological events as printed, unclassified",
        intro="Events the paper names without calling them ICANS or grading them as neurotoxicity are shown "
              "in its own words and counted in no neurotoxicity outcome.",
        empty="The source names no neurological event beyond ICANS and graded neurotoxicity.")


def haematological_immune(page, r: results.RecordsResult) -> Fragment:
    intro = (Markup("ICAHT (immune effector cell-associated haematotoxicity) is graded on its own scale, {} "
                    "(grades I–IV), not by CTCAE.").format(page.fact("icaht_grading"))
             if r.extra.get("icaht_scale") else "")
    return _records_section(
        page, r, caption="Haematological and immune effects as printed", intro=intro,
        columns_caption="Haematological and immune effects counted from the per-patient table",
        empty="The source reports no haematotoxicity grading, B-cell aplasia, hypogammaglobulinaemia or "
              "recovery counts.")


def deaths(page, r: results.DeathsResult) -> Fragment:
    """All-cause deaths (a total, a range, or "at least" where the paper gives no total), each
    printed cause, and non-relapse mortality."""
    total = r.total
    headline = None
    if total is not None:
        n = total.total
        if total.high is None:
            text = (f"at least {total.events}" + (f" of {n}" if n else "")) if total.events else "none reported"
        elif total.high != total.events:
            text = f"{total.events} to {total.high}" + (f" of {n}" if n else "") + f" (at least {total.events})"
        else:
            text = fmt.count(total.events, n) if n else str(total.events)
        shown = page.cites.records(page.sd, list(total.result_ids), text) if total.result_ids else text
        why = (total.detail if total.how != HOW_PER_PATIENT else "counted from the per-patient table")
        headline = Markup("<strong>All-cause deaths: {}</strong> ({}). {}").format(
            shown, labels.lower_first(labels.population_label(page.sd, total.population)),
            labels.sentence_case(why) + ("." if why and not why.endswith(".") else ""))
    rows = []
    for x in r.deaths.itertuples():
        what = labels.sentence_case(x.cause) if x.cause else "All causes"
        if x.relapse_related is not None and not pd.isna(x.relapse_related):
            what += " (relapse or progression)" if x.relapse_related else " (not relapse-related)"
        text = (f"{x.events}–{x.events_high}" if x.events_high != x.events else str(x.events)) + \
            (f"/{x.total}" if x.total else "")
        n = page.cites.record(page.sd, x.result_id, text) if x.result_id else text
        rows.append([what, x.population_label, n,
                     "recomputed from the per-patient table" if x.how == HOW_PER_PATIENT else
                     "a range (see above)" if x.events_high != x.events else "printed"])
    table = Table("Deaths and their causes", ["Deaths", "Population", "n", "Source"], rows,
                  numeric={"n"}, csv=page.csv_href("deaths"), csv_whole=False) if rows else None
    return render("study_deaths.html.j2", headline=headline, table=table,
                  also=records_table(page, r.also_printed, "Other numbers on deaths as printed", "deaths-also-printed"))


def pharmacokinetics(page, r: results.RecordsResult) -> Fragment:
    return _records_section(page, r, caption="CAR-T expansion and persistence as printed",
                            empty="The source reports no CAR-T expansion or persistence measures.")


def prognostic(page, r: results.PrognosticResult) -> Fragment:
    rows = [[labels.sentence_case(x.factor), x.outcome,
             page.cites.cite(x.finding, key=f"k:{x.index}", what=f"{x.factor} and {x.outcome}", location=x.location,
                             quote=x.quote), x.p_value or fmt.MISSING_TEXT]
            for x in r.risk_factors.itertuples()]
    table = Table("Factors the paper tested for association with an outcome", ["Factor", "Outcome", "Finding", "p"],
                  rows, csv=page.csv_href("prognostic-factors"), csv_whole=False) if rows else None
    return render("study_records.html.j2", intro="As the paper reports them; small series have little power to "
                                                 "find an association, and none of these is adjusted for the "
                                                 "others unless the paper says so.",
                  table=table, fields=None, extra=records_table(page, r.records, "Risk factors as printed",
                                                                "prognostic-records"),
                  contradictions=contradictions(page, r.contradictions),
                  empty="The source reports no factor tested for association with an outcome.")


def other_numbers(page, r: results.RecordsResult) -> Fragment:
    return _records_section(page, r, caption="Other numbers the paper reports",
                            columns_caption="Other columns of the per-patient table",
                            empty="Every number extracted from the source is shown in the sections above.")


def audit(page, r: results.FrameResult) -> Fragment:
    df = r.frame
    if df.empty:
        return render("study_audit.html.j2", findings=[], summary="", empty=True)
    summary = audit_mod.status_counts_text(df)
    findings = {}
    for status in audit_mod.FINDINGS:
        items = []
        for x in df[df["status"] == status].itertuples():
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
    for x in r.baseline.itertuples():
        rec = page.sd.result(x.result_id)
        row = [labels.characteristic(x.endpoint, x.category), x.population_label,
               page.cites.record(page.sd, x.result_id, rec.as_printed())]
        if r.has_patients:
            row.append(cell(x.recomputed))
        rows.append(row)
    cols = ["Characteristic", "Population", "Published"] + (["Recomputed from the per-patient table"]
                                                            if r.has_patients else [])
    table = Table("Baseline characteristics as published" + (", with the same summary recomputed from the "
                                                             "per-patient table" if r.has_patients else ""),
                  cols, rows, csv=page.csv_href("baseline"), csv_whole=False) if rows else None
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
    for x in r.frame.itertuples():
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
                                                         ["Item", "In this study"], rows, compact=True,
                                                         csv=page.csv_href("coverage"), csv_whole=False))


def risk_of_bias(page, r: results.FrameResult) -> Fragment:
    """The study's risk of bias by domain, each judgement with its reason and the paper's words, and the
    judgements that touch some outcomes only."""
    rob = r.frame
    if rob.empty:
        return render("study_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, rule=RISK_OF_BIAS_RULE, overall=None,
                      table=None)
    rows = []
    for x in rob.itertuples():
        what = Markup('<span title="{}">{}</span>').format(QUESTIONS[x.domain], DOMAINS[x.domain])
        if x.outcomes:
            what = Markup("{} (for {})").format(what, labels.outcome_names(x.outcomes))
        words = f"{x.location}: “{x.quote}”" if x.quote else (f"Trial registry: {x.registry}" if x.registry else "")
        rows.append([what, Markup('<span class="cp-rob-{}">{}</span>').format(x.judgement,
                                                                              JUDGEMENT_LABELS[x.judgement]),
                     x.reason, words])
    table = Table(f"Risk of bias by domain ({RISK_OF_BIAS_TOOL})", ["Domain", "Judgement", "Why",
                                                                   "In the paper's words"], rows, compact=True,
                  csv=page.csv_href("risk-of-bias"), csv_whole=False)
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
    rows = [[labels.sentence_case(x.item),
             page.cites.record(page.sd, x.result_id, x.reported) if x.result_id and x.reported else cell(x.reported),
             cell(x.recomputed),
             Markup('<span class="cp-status-{}">{}</span>').format(cls[x.status], x.status),
             labels.sentence_case(x.note)] for x in df.itertuples()]
    return render("study_audit_appendix.html.j2", n=len(rows), csv=page.csv_href("audit"),
                  table=Table("Every check: printed next to recomputed", ["Item", "Printed", "Recomputed",
                                                                          "Status", "Note"], rows, compact=True,
                              csv=page.csv_href("audit"), csv_whole=False, sortable=True))


def per_patient_tables(page, r: results.PerPatientResult) -> Fragment:
    """The per-patient tables exactly as published, and every column not summarised in its own section."""
    tables, names, csvs = [], [], []
    for name, (location, pub) in r.tables.items():
        csv = page.csv_href(f"{name}-as-published")
        tables.append(Table(f"{location} as published ({len(pub) - 1} rows)", list(pub[0]),
                            [list(x) for x in pub[1:]], compact=True, csv=csv, sortable=True))
        names.append(location)
        csvs.append(csv)
    pf = r.columns
    summary = columns_table(page, pf[~pf["home"].isin(r.summarised_elsewhere)],
                            "The other columns of the per-patient tables, summarised")
    return render("study_per_patient.html.j2", tables=tables, names=names, csvs=csvs, summary=summary)


def sources(page, r=None) -> Fragment:
    """The sources of every number on the page, in citation order (written last)."""
    rows = [[str(e["n"]), labels.sentence_case(e["what"]), e["location"], f"“{e['quote']}”",
             e["note"] or ""] for e in page.cites.entries]
    t = Table(f"Sources of the numbers on this page ({page.cites.source})", ["#", "What", "Where", "Verbatim quote",
                                                                             "Note"],
              rows, numeric={"#"}, row_ids=[f"src-{e['n']}" for e in page.cites.entries], compact=True,
              csv=page.csv_href("sources"))
    return render("study_sources.html.j2", table=t if rows else None, citation=page.s.citation, n=len(rows),
                  csv=page.csv_href("sources"))

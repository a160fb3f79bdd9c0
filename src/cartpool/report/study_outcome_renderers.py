"""Renderers of a study page's clinical sections: efficacy, durability, survival, treatment with and
after CAR-T, safety (with neurological and haematological and immune effects), deaths,
pharmacokinetics, prognostic factors and the other printed numbers. Each formats one result of
`cartpool.analysis.study_results` into a fragment, as `cartpool.report.study_renderers` does for the
rest of the page.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import study_results as results
from ..analysis.study_limitations import missing_words
from ..domain import registry, survival_rules
from ..domain.record_counts import HOW_PER_PATIENT
from ..frames import frame_rows
from ..plots import study_figures as study_plots
from ..units import DAYS_PER_MONTH
from . import labels, provenance
from .render import Fragment, Table, render
from .study_tables import (
    SURVIVAL_NAMES,
    columns_table,
    contradictions,
    outcome_table,
    records_section,
    records_table,
)


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
                            provenance.counted(page, fmt.count(x.events, x.total), provenance.patients_words(
                                x.events, x.total, f"{registry.outcome(x.outcome).short}, among the patients with "
                                                   f"{labels.lower_first(x.field_label)} {x.level}")),
                            provenance.from_count(page, fmt.pct_ci(x.estimate, x.ci_low, x.ci_high), x.events,
                                                  x.total)]
                           for x in frame_rows(r.subgroups)], numeric={"n/N", "% (95% CI)"},
                          csv=page.csv_href("subgroups"), csv_whole=False, words={"Subgroup", "Outcome"})
    also = records_table(page, r.also_printed, "Other response numbers as printed (other populations, subgroups, "
                                               "timing)", "efficacy-also-printed")
    return render("study_efficacy.html.j2", figure=figure, table=table, subgroups=sub_table,
                  has_patients=r.has_patients, mrd=r.mrd_definition, also=also)


def durability(page, r: results.RecordsResult) -> Fragment:
    return records_section(
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
                     f"95% confidence band ({survival_rules.KM_CI_METHOD}); +: a "
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
    for p in frame_rows(r.points):
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
        if p.source == survival_rules.SOURCE_KM:
            cell_ = provenance.counted(page, shown, verb="from", what="the Kaplan-Meier estimate, with its pointwise 95% CI "
                                       f"({survival_rules.KM_CI_METHOD})"
                                       + (f"; the median and its 95% CI {survival_rules.KM_MEDIAN_CI_METHOD}"
                                          if p.kind == "median" else "")
                                       + ".")
        elif p.source == survival_rules.SOURCE_ZERO_EVENTS:
            cell_ = provenance.computed_from_records(
                page, shown, f"no event was reported during follow-up ({p.basis}); so the rate is 100%, with "
                             f"the {provenance.EXACT_CI} of that many patients all event-free.", p.basis_ids)
        else:
            cell_ = shown
        if p.result_id:
            rec = page.sd.result(p.result_id)
            cell_ = page.cites.record(page.sd, p.result_id, shown)
            if rec.unit == "days":
                n = page.cites.record_ref(page.sd, p.result_id)  # its number is beside the value already
                cell_ += Markup(" <small>(printed: {})</small>").format(page.cites.shown(rec.as_printed(),
                                                                                        page.cites.tip(n)))
        source = {survival_rules.SOURCE_REPORTED: "printed",
                  survival_rules.SOURCE_KM: "recomputed (Kaplan-Meier, per-patient table)",
                  survival_rules.SOURCE_ZERO_EVENTS: f"no events reported: {p.basis}"}.get(p.source, p.source)
        if p.tie_events:
            source += (f"; {p.tie_events} event{'s' if p.tie_events > 1 else ''} recorded at exactly "
                       f"{p.time_months:g} months count{'' if p.tie_events > 1 else 's'} at the landmark; "
                       f"recorded just after, the estimate would be {fmt.pct(p.value_if_after)}")
        rows.append([what, p.population_label, cell_, labels.sentence_case(source)])
    table = Table("Survival: printed and recomputed", ["Estimate", "Population", "Value (95% CI)", "Source"],
                  rows, numeric={"Value (95% CI)"}, csv=page.csv_href("survival"), csv_whole=False,
                  words={"Estimate", "Population", "Source"}) if rows else None
    fu = "; ".join(f"median follow-up {f.value:g} {f.unit} ({labels.lower_first(f.population_label)})"
                   for f in r.follow_up) or f"median follow-up {missing_words(page.s.missing)}"
    zero = any(p.source == survival_rules.SOURCE_ZERO_EVENTS for p in frame_rows(r.points))
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
             x.population] for i, x in enumerate(frame_rows(r.co_interventions))]
    given = Table("Treatments given with or after the CAR-T cells", ["Kind", "What", "Patients", "Population"],
                  rows, csv=page.csv_href("co-interventions"), csv_whole=False,
                  words={"Kind", "What", "Population"}) if rows else None
    return render("study_records.html.j2", intro="", table=given,
                  fields=columns_table(page, r.columns, "Treatment and re-treatment counted from the per-patient "
                                                        "table"),
                  extra=records_table(page, r.records, "Dose, treatment status and re-treatment as printed",
                                      "treatment"),
                  contradictions=contradictions(page, r.contradictions),
                  empty="The source reports no treatment given with or after the CAR-T cells, and no re-treatment.")


def _crs_icans_table(page, frame: pd.DataFrame) -> Table | None:
    rows = []
    for r in frame_rows(frame):
        ranged = r.events is not None and not pd.isna(r.events) and r.events_high != r.events
        count = fmt.count_range(r.events, r.events_high, r.total)
        known = count != fmt.MISSING_TEXT
        pct = fmt.pct_range(None if r.events is None or pd.isna(r.events) or not r.total
                            else r.events / r.total, r.events_high / r.total if ranged else None)
        rows.append([r.event.upper(), labels.grade(r.grade),
                     page.cites.record(page.sd, r.result_id, count) if r.result_id and known else
                     provenance.counted(page, count, provenance.patients_words(
                         r.events, r.total, f"{r.event.upper()}, {labels.grade_words(r.grade)}")) if known else count,
                     provenance.from_count(page, pct, r.events, r.total, events_high=r.events_high if ranged else None)
                     if known and pct != fmt.MISSING_TEXT else pct,
                     r.scale, labels.sentence_case(r.how) + (f". Note: {r.note}" if r.note else "")])
    return Table("Cytokine release syndrome (CRS) and ICANS by grade", ["Event", "Grade", "n/N", "%", "Scale",
                                                                        "How obtained"],
                 rows, numeric={"n/N", "%"}, csv=page.csv_href("crs-icans"), csv_whole=False,
                 words={"Event", "Grade", "Scale", "How obtained"}) if rows else None


def _other_events_table(page, frame: pd.DataFrame) -> Table | None:
    rows = []
    for r in frame_rows(frame):
        label = labels.endpoint(r.endpoint) + f", grade {labels.grade(r.grade)}" + (f", at {r.timepoint}"
                                                                                      if r.timepoint else "")
        if r.events is not None and not pd.isna(r.events):
            n = page.cites.records(page.sd, r.result_id, fmt.count(r.events, r.total))
        else:
            n = page.cites.record(page.sd, r.result_id, page.sd.result(r.result_id).as_printed())
        pct = fmt.pct_ci(r.estimate, r.ci_low, r.ci_high)
        rows.append([label, n, pct if fmt.is_missing(r.estimate) else provenance.from_count(page, pct, r.events,
                                                                                              r.total),
                     labels.sentence_case(r.how)])
    return Table("Other adverse events of grade ≥3 as printed", ["Adverse event", "n/N", "% (exact 95% CI)",
                                                                 "How obtained"],
                 rows, numeric={"n/N", "% (exact 95% CI)"}, csv=page.csv_href("adverse-events"),
                 csv_whole=False, words={"Adverse event", "How obtained"}) if rows else None


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
    return records_section(
        page, r, caption="Neurological events as printed, unclassified",
        intro="Events the paper names without calling them ICANS or grading them as neurotoxicity are shown "
              "in its own words and counted in no neurotoxicity outcome.",
        empty="The source names no neurological event beyond ICANS and graded neurotoxicity.")


def haematological_immune(page, r: results.RecordsResult) -> Fragment:
    intro = (Markup("ICAHT (immune effector cell-associated haematotoxicity) is graded on its own scale, {} "
                    "(grades I–IV), not by CTCAE.").format(page.fact("icaht_grading"))
             if r.extra.get("icaht_scale") else "")
    return records_section(
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
    for x in frame_rows(r.deaths):
        what = labels.sentence_case(x.cause) if x.cause else "All causes"
        if x.relapse_related is not None and not pd.isna(x.relapse_related):
            what += " (relapse or progression)" if x.relapse_related else " (not relapse-related)"
        text = (f"{x.events}–{x.events_high}" if x.events_high != x.events else str(x.events)) + \
            (f"/{x.total}" if x.total else "")
        n = (page.cites.record(page.sd, x.result_id, text) if x.result_id else
             provenance.counted(page, text, f"deaths, {labels.lower_first(what)}.") if x.how == HOW_PER_PATIENT
             else text)
        rows.append([what, x.population_label, n,
                     "recomputed from the per-patient table" if x.how == HOW_PER_PATIENT else
                     "a range (see above)" if x.events_high != x.events else "printed"])
    table = Table("Deaths and their causes", ["Deaths", "Population", "n", "Source"], rows,
                  numeric={"n"}, csv=page.csv_href("deaths"), csv_whole=False,
                  words={"Deaths", "Population", "Source"}) if rows else None
    return render("study_deaths.html.j2", headline=headline, table=table,
                  also=records_table(page, r.also_printed, "Other numbers on deaths as printed", "deaths-also-printed"))


def pharmacokinetics(page, r: results.RecordsResult) -> Fragment:
    return records_section(page, r, caption="CAR-T expansion and persistence as printed",
                            empty="The source reports no CAR-T expansion or persistence measures.")


def prognostic(page, r: results.PrognosticResult) -> Fragment:
    rows = [[labels.sentence_case(x.factor), x.outcome,
             page.cites.cite(x.finding, key=f"k:{x.index}", what=f"{x.factor} and {x.outcome}", location=x.location,
                             quote=x.quote),
             page.cites.cite(x.p_value, key=f"k:{x.index}", what=f"{x.factor} and {x.outcome}", location=x.location,
                             quote=x.quote) if x.p_value else fmt.MISSING_TEXT]
            for x in frame_rows(r.risk_factors)]
    table = Table("Factors the paper tested for association with an outcome", ["Factor", "Outcome", "Finding", "p"],
                  rows, csv=page.csv_href("prognostic-factors"), csv_whole=False,
                  words={"Factor", "Outcome"}) if rows else None
    return render("study_records.html.j2", intro="As the paper reports them; small series have little power to "
                                                 "find an association, and none of these is adjusted for the "
                                                 "others unless the paper says so.",
                  table=table, fields=None, extra=records_table(page, r.records, "Risk factors as printed",
                                                                "prognostic-records"),
                  contradictions=contradictions(page, r.contradictions),
                  empty="The source reports no factor tested for association with an outcome.")


def other_numbers(page, r: results.RecordsResult) -> Fragment:
    return records_section(page, r, caption="Other numbers the paper reports",
                            columns_caption="Other columns of the per-patient table",
                            empty="Every number extracted from the source is shown in the sections above.")

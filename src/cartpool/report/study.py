"""The study report: renders a `cartpool.analysis.study.StudyAnalysis`, section by section.

Each method returns a `Fragment` for one notebook cell: HTML from a Jinja2 template, figures from
`cartpool.plots`, and the CSV of every table written straight from the analysis frame. Nothing
here computes a statistic or chooses what to count.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from markupsafe import Markup

from ..analysis import audit as audit_mod
from ..analysis.study import FACTS, StudyAnalysis, analyse_study
from ..domain import registry
from ..domain import survival as srules
from ..domain.counts import HOW_EVALUABLE, HOW_ITT, HOW_PER_PATIENT, HOW_PRINTED
from ..plots import study as splots
from ..units import DAYS_PER_MONTH
from . import format as fmt
from . import labels
from .render import Citations, Figures, Fragment, Table, cell, render, write_csv

SURVIVAL_NAMES = {s.endpoint: s.label for s in registry.SURVIVAL}


class StudyPage:
    """Renders one study's analysis.

    Parameters
    ----------
    analysis : StudyAnalysis
        The computed results.
    output_dir : path, optional
        Where figures (``figures/<id>/``) and tables (``tables/<id>-*.csv``) are written; None
        writes nothing (interactive use).
    """

    def __init__(self, analysis: StudyAnalysis, output_dir: Path | str | None = None):
        self.a = analysis
        self.sd = analysis.sd
        self.s = analysis.study
        self.id = analysis.id
        self.out = Path(output_dir) if output_dir else None
        self.cites = Citations(f"{self.s.label}, {labels.document_type(self.s.document_type)}")
        self.figures = Figures(self.out / "figures" / self.id if self.out else None)

    @classmethod
    def load(cls, study_id, *, data_dir="data/studies", output_dir=None) -> StudyPage:
        return cls(analyse_study(study_id, data_dir=data_dir), output_dir)

    # --- helpers -------------------------------------------------------------------------------

    def _csv(self, df: pd.DataFrame, name: str) -> None:
        write_csv(df, self.out / "tables" / f"{self.id}-{name}.csv" if self.out else None)

    def _fact(self, name: str):
        v = getattr(self.s, name, None)
        if v is None or isinstance(v, str):
            return Markup('<span class="cp-missing">not reported</span>')
        return self.cites.cite(labels.fact_value(name, v.value), key=f"f:{name}", what=self._fact_label(name),
                               location=v.location, quote=v.quote)

    @staticmethod
    def _fact_label(name: str) -> str:
        return dict(FACTS).get(name, labels.humanise(name))

    def _cited_count(self, events, total, rids, *, how: str = "") -> Markup | str:
        text = fmt.count(events, total)
        if text == fmt.MISSING_TEXT:
            return text
        return self.cites.records(self.sd, rids, text) if rids else text

    # --- 1. header -----------------------------------------------------------------------------

    def header(self) -> Fragment:
        s, a = self.s, self.a
        pops = []
        for row in a.populations.itertuples():
            if row.size is None or pd.isna(row.size):
                continue
            pops.append(Markup("{}: {}").format(row.label, self.cites.record(self.sd, row.result_id, str(int(row.size)))))
        fu = [Markup("{} ({})").format(self.cites.record(self.sd, f.result_id, f"{f.value:g} {f.unit}"),
                                        labels.lower_first(f.population_label)) for f in a.follow_up]
        facts = [
            ("Citation", s.citation),
            ("Trial registration", ", ".join(s.registry_ids) or Markup('<span class="cp-missing">none stated</span>')),
            ("Source", labels.sentence_case(labels.document_type(s.document_type))),
            ("Design", Markup("{}; phase {}").format(self._fact("design"), self._fact("phase"))),
            ("Setting", self._fact("setting")),
            ("Disease", self._fact("disease")),
            ("CAR target(s)", self._fact("targets")),
            ("Product(s)", self._fact("products")),
            ("Dose", self._fact("dose")),
            ("Lymphodepletion", self._fact("lymphodepletion")),
            ("Enrolment", self._fact("enrolment_period")),
            ("Data cutoff", self._fact("data_cutoff")),
            ("Patients", Markup("; ").join(pops) if pops else Markup('<span class="cp-missing">not reported</span>')),
            ("Median follow-up", Markup("; ").join(fu) if fu else Markup('<span class="cp-missing">not reported</span>')),
            ("Grading scales", Markup("CRS: {}; ICANS: {}; CTCAE version: {}").format(
                self._fact("crs_grading"), self._fact("icans_grading"), self._fact("ctcae_version"))),
        ]
        if s.disease_group == "PCL":
            facts.insert(6, ("PCL definition", self._fact("pcl_definition")))
        given = [Markup("{}: {}").format(labels.sentence_case(c.description),
                                          self.cites.cite(c.patients, key=f"c:{i}", what=c.description,
                                                          location=c.location, quote=c.quote))
                 for i, c in enumerate(a.co_interventions.itertuples())]
        self._csv(a.co_interventions, "co-interventions")
        facts.append(("Given with or after CAR-T", Markup("; ").join(given) if given else
                      Markup('<span class="cp-missing">none reported</span>')))
        return render("study_header.html.j2", s=s, doi=s.doi, facts=facts,
                      subtitle=f"{s.label} · {s.setting_label} · {s.disease_group}")

    def glance(self) -> Fragment:
        boxes = []
        for row in self.a.glance.to_dict("records"):
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
                rec = self.sd.result(row["result_id"]) if isinstance(row.get("result_id"), str) else None
                if v != "NR" and rec is not None and rec.unit != "months":
                    what = f"printed as {rec.value} {rec.unit}"
                boxes.append((v, f"{row['label']} ({what}; {labels.lower_first(row['population'])})"))
        return render("study_glance.html.j2", boxes=boxes[:6])

    # --- 2. patients -----------------------------------------------------------------------------

    def patients(self) -> Fragment:
        b = self.a.baseline
        has_patients = self.a.derived is not None
        rows = []
        for r in b.itertuples():
            rec = self.sd.result(r.result_id)
            row = [labels.characteristic(r.endpoint, r.category), r.population_label,
                   self.cites.record(self.sd, r.result_id, printed(rec))]
            if has_patients:
                row.append(cell(r.recomputed))
            rows.append(row)
        cols = ["Characteristic", "Population", "Published"] + (["Recomputed from the per-patient table"]
                                                                if has_patients else [])
        self._csv(b.assign(characteristic=[labels.characteristic(e, c) for e, c in zip(b["endpoint"], b["category"],
                                                                                       strict=True)],
                           published=[printed(self.sd.result(i)) for i in b["result_id"]]), "baseline")
        table = Table("Baseline characteristics as published" + (", with the same summary recomputed from the "
                                                                 "per-patient table" if has_patients else ""),
                      cols, rows) if rows else None
        return render("study_patients.html.j2", table=table)

    def per_patient_tables(self) -> Fragment:
        """The per-patient tables exactly as published (appendix)."""
        tables, names, csvs = [], [], []
        for name, t in self.sd.tables.items():
            pub = t.published
            tables.append(Table(f"{t.location} as published ({len(pub) - 1} rows)", list(pub[0]),
                                [list(r) for r in pub[1:]], compact=True))
            self._csv(pd.DataFrame(pub[1:], columns=pub[0]), f"{name}-as-published")
            names.append(t.location)
            csvs.append(f"tables/{self.id}-{name}-as-published.csv")
        return render("study_per_patient.html.j2", tables=tables, names=names, csvs=csvs)

    # --- 3. efficacy ---------------------------------------------------------------------------

    def efficacy(self) -> Fragment:
        a = self.a
        dist = a.response_distribution
        figure = None
        if not dist.empty:
            counts = dict(zip(dist["category"], dist["count"], strict=True))
            total = int(dist["total"].iloc[0])
            how = "computed from the per-patient table" if dist["how"].iloc[0] == HOW_PER_PATIENT else "as printed"
            rest = total - sum(counts.values())
            desc = ", ".join(f"{k} {v}" for k, v in counts.items())
            figure = self.figures.embed(
                splots.response_bar(counts, total, f"Best response (IMWG), {self.s.label}, N = {total}"),
                name="best-response",
                alt=f"Stacked bar of best response in {total} patients: {desc}" + (f"; {rest} not reported" if rest else ""),
                caption=f"Best response by IMWG category ({how}); categories in the same colour order in every report"
                        + ("; the hatched grey part is patients whose category the source does not give." if rest else "."))
        eff = a.outcomes_in("efficacy")
        self._csv(eff, "efficacy")
        table = self._outcome_table(eff, "Response and MRD negativity with exact (Clopper-Pearson) 95% confidence "
                                         "intervals")
        sub = a.subgroup_response
        self._csv(sub, "subgroups")
        sub_table = None
        if not sub.empty:
            sub_table = Table("Response by subgroup, computed from the per-patient table",
                              ["Subgroup", "Outcome", "n/N", "% (95% CI)"],
                              [[f"{r.field_label}: {r.level}", registry.outcome(r.outcome).short,
                                fmt.count(r.events, r.total), fmt.pct_ci(r.estimate, r.ci_low, r.ci_high)]
                               for r in sub.itertuples()], numeric={"n/N", "% (95% CI)"})
        mrd = self._mrd_definition()
        return render("study_efficacy.html.j2", figure=figure, table=table, subgroups=sub_table,
                      has_patients=a.derived is not None, mrd=mrd)

    def _mrd_definition(self) -> str:
        v = getattr(self.s, "mrd_assessment", None)
        if v is None or isinstance(v, str):
            return ""
        return str(getattr(v, "value", ""))

    def _outcome_table(self, frame: pd.DataFrame, caption: str) -> Table:
        rows = []
        for r in frame.itertuples():
            if r.events is None or pd.isna(r.events):
                why = r.detail if r.how != "not reported" and r.detail else "not reported"
                rows.append([r.label, fmt.MISSING_TEXT, fmt.MISSING_TEXT, labels.sentence_case(why)])
                continue
            text = (f"{int(r.events)}–{int(r.events_high)}/{int(r.total)}" if r.is_range
                    else fmt.count(r.events, r.total))
            n = self.cites.records(self.sd, r.result_ids, text) if r.result_ids else text
            how = r.how if r.how in (HOW_PER_PATIENT, HOW_PRINTED) else labels.how(r.how, r.detail)
            if r.how not in (HOW_ITT, HOW_EVALUABLE):  # those two say whom they count
                how += f"; {labels.lower_first(r.population_label)}" if r.population_label else ""
                how += f"; {r.infused_text}" if r.infused_text else ""
            if r.note:
                how += f". Note: {r.note}"
            rows.append([r.label, n, fmt.pct_range(r.estimate, r.estimate_high) + " " + fmt.ci(r.ci_low, r.ci_high),
                         labels.sentence_case(how)])
        return Table(caption, ["Outcome", "n/N", "% (exact 95% CI)", "How obtained"], rows,
                     numeric={"n/N", "% (exact 95% CI)"})

    # --- 4. survival -----------------------------------------------------------------------------

    def survival(self) -> Fragment:
        a = self.a
        figures, note_approx = [], None
        if a.km:
            defs = self.s.patients.definitions
            for (ep, _g), km in a.km.items():
                est, lo, hi = km.median()
                d_txt = f" Definition ({defs[ep].location}): {defs[ep].value}." if ep in defs else ""
                figures.append(self.figures.embed(
                    splots.km_plot({"All patients": km}, title=f"{SURVIVAL_NAMES[ep]}, {self.s.label} (N = {km.n})"),
                    name=f"km-{ep}",
                    alt=(f"Kaplan-Meier curve of {SURVIVAL_NAMES[ep].lower()} in {km.n} patients; median "
                         f"{fmt.months(est)} (95% CI {fmt.months(lo)} to {fmt.months(hi)}); numbers at risk under "
                         "the time axis"),
                    caption=(f"{SURVIVAL_NAMES[ep]} computed from the per-patient table (months). Shaded: pointwise "
                             f"95% confidence band ({srules.KM_CONF_TYPE} transform, Greenwood variance); +: a censored "
                             f"patient; dashed: the median, where reached.{d_txt}")))
            for comp in a.km_comparisons:
                label = self.s.patients.fields[comp.field].label or labels.humanise(comp.field)
                p_text = f"Log-rank {fmt.p_value(comp.p_value)} (χ² = {comp.chisq:.2f}, {comp.df} df)"
                meds = "; ".join(f"{g}: median {fmt.months(km.median()[0])}" for g, km in comp.fits.items())
                figures.append(self.figures.embed(
                    splots.km_plot({f"{label}: {g}": km for g, km in comp.fits.items()},
                                   title=f"{SURVIVAL_NAMES[comp.endpoint]} by {labels.lower_first(label)}",
                                   p_text=p_text),
                    name=f"km-{comp.endpoint}-by-{comp.field}",
                    alt=f"Kaplan-Meier curves of {SURVIVAL_NAMES[comp.endpoint].lower()} by "
                        f"{labels.lower_first(label)}: {meds}; {p_text}",
                    caption=f"{SURVIVAL_NAMES[comp.endpoint]} by {labels.lower_first(label)} (per-patient table). "
                            "Shaded: pointwise 95% confidence bands; +: a censored patient; dashed: medians, where "
                            f"reached. {p_text}. Small groups: read as descriptive."))
        else:
            pts = [p for p in a.points if p.population == a.main_population and p.value is not None]
            if pts:
                curves = a.approximate_curves
                built = "; ".join(f"{ep.upper()} through " + ", ".join(f"{lab} ({t:.1f} months, {100 * s:.1f}%)"
                                                                      for t, s, lab in c.points)
                                  for ep, c in curves.items())
                single = [ep.upper() for ep in sorted({p.endpoint for p in pts}) if ep not in curves]
                figures.append(self.figures.embed(
                    splots.milestones_plot(pts, curves, title=f"Reported survival milestones, {self.s.label}"),
                    name="survival-milestones",
                    alt="Reported survival milestones with 95% CIs" + (f" and approximate curves: {built}" if built else ""),
                    caption=("Printed medians (squares at 50%, with their CI; an arrow marks an upper limit not "
                             "reached) and landmark rates (dots with 95% CI)." if curves else
                             "Printed medians (squares, in months, with their CI where printed) and landmark rates "
                             "(dots with 95% CI), one row each.")
                            + (f" Dashed: approximate curve through the printed points, ending at the last one ({built})."
                               if built else "")
                            + (f" {', '.join(single)}: fewer than two printed milestones, so no curve is drawn."
                               if single else "")))
                note_approx = bool(curves)
        sp = a.survival_points
        self._csv(sp, "survival")
        rows = []
        for p in sp.itertuples():
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
                r = self.sd.result(p.result_id)
                cell_ = self.cites.record(self.sd, p.result_id, shown)
                if r.unit == "days":
                    cell_ += Markup(" <small>(printed: {})</small>").format(printed(r))
            source = {srules.SOURCE_REPORTED: "printed", srules.SOURCE_KM: "recomputed (Kaplan-Meier, per-patient table)",
                      srules.SOURCE_ZERO_EVENTS: f"no events reported: {p.basis}"}.get(p.source, p.source)
            rows.append([what, p.population_label, cell_, labels.sentence_case(source)])
        table = Table("Survival: printed and recomputed", ["Estimate", "Population", "Value (95% CI)", "Source"],
                      rows, numeric={"Value (95% CI)"}) if rows else None
        fu = "; ".join(f"median follow-up {f.value:g} {f.unit} ({labels.lower_first(f.population_label)})"
                       for f in a.follow_up) or "median follow-up not reported"
        zero = any(p.source == srules.SOURCE_ZERO_EVENTS for p in sp.itertuples())
        return render("study_survival.html.j2", figures=figures, approximate=note_approx, table=table, zero=zero,
                      follow_up=labels.sentence_case(fu), days_per_month=DAYS_PER_MONTH,
                      has_patients=bool(a.km))

    # --- 5. per-patient course -------------------------------------------------------------------

    def course(self) -> Fragment:
        d = self.a.derived
        if d is None or "os_time" not in d.columns:
            return render("study_course.html.j2", figure=None)
        events: dict[str, list] = {}
        raw = self.sd.patients
        if "subsequent" in raw.columns:
            for pid, v in raw["subsequent"].items():
                if v is not None and not (isinstance(v, float) and pd.isna(v)):
                    kind = "allo-HSCT" if "hsct" in v.label.lower() or "transplant" in v.label.lower() \
                        else "second CAR-T"
                    events.setdefault(str(pid), []).append((v.time, kind))
        label_col = next((c for c in ("target", "pcl_type") if c in d.columns), None)
        n_prog = int(d.get("progressed", pd.Series(dtype=bool)).sum())
        n_dead = int(d["os_event"].sum())
        fig = self.figures.embed(
            splots.swimmer(d, events, title=f"Course of each patient after CAR-T, {self.s.label}", label_col=label_col),
            name="swimmer",
            alt=(f"Swimmer plot of {len(d)} patients: bars show follow-up coloured by best response; {n_prog} "
                 f"progressions, {n_dead} deaths, {sum(len(v) for v in events.values())} subsequent therapies marked"),
            caption="One bar per patient, from the first CAR-T infusion to death or last follow-up, coloured by best "
                    "response. Markers: progression (triangle), death (cross), alive at last follow-up (arrow), second "
                    "CAR-T infusion (diamond), allo-HSCT (star). From the per-patient table.")
        return render("study_course.html.j2", figure=fig)

    # --- 6. safety -------------------------------------------------------------------------------

    def safety(self) -> Fragment:
        a = self.a
        ci_ = a.crs_icans
        self._csv(ci_, "crs-icans")
        crs_rows = []
        for r in ci_.itertuples():
            ranged = r.events is not None and not pd.isna(r.events) and r.events_high != r.events
            count = (f"{int(r.events)}–{int(r.events_high)}/{int(r.total)}" if ranged else fmt.count(r.events, r.total))
            crs_rows.append([r.event.upper(), labels.grade(r.grade),
                             self.cites.record(self.sd, r.result_id, count) if r.result_id and count != fmt.MISSING_TEXT
                             else count,
                             fmt.pct_range(None if r.events is None or pd.isna(r.events) or not r.total
                                           else r.events / r.total, r.events_high / r.total if ranged else None),
                             r.scale, labels.sentence_case(r.how) + (f". Note: {r.note}" if r.note else "")])
        crs = Table("Cytokine release syndrome (CRS) and ICANS by grade", ["Event", "Grade", "n/N", "%", "Scale",
                                                                            "How obtained"],
                    crs_rows, numeric={"n/N", "%"}) if crs_rows else None
        saf = a.other_safety
        self._csv(a.outcomes_in("safety"), "safety")
        safety = self._outcome_table(saf[saf["events"].notna()],
                                     "Other safety outcomes with exact (Clopper-Pearson) 95% confidence intervals")
        not_rep = [r.label for r in saf.itertuples() if r.events is None or pd.isna(r.events)]
        other = a.other_adverse_events
        self._csv(other, "adverse-events")
        other_rows = []
        for r in other.itertuples():
            label = labels.endpoint(r.endpoint) + f", grade {labels.grade(r.grade)}" + (f", at {r.timepoint}"
                                                                                          if r.timepoint else "")
            other_rows.append([label, self._cited_count(r.events, r.total, r.result_id)
                               if r.events is not None and not pd.isna(r.events) else
                               self.cites.record(self.sd, r.result_id, printed(self.sd.result(r.result_id))),
                               fmt.pct_ci(r.estimate, r.ci_low, r.ci_high), labels.sentence_case(r.how)])
        other_t = Table("Other adverse events of grade ≥3 as printed", ["Adverse event", "n/N", "% (exact 95% CI)",
                                                                         "How obtained"],
                        other_rows, numeric={"n/N", "% (exact 95% CI)"}) if other_rows else None
        grid = None
        g = a.adverse_event_grid
        if g is not None:
            names = [labels.endpoint(c.removeprefix("ae:").strip().lower().replace(" ", "_")) if c.startswith("ae:")
                     else {"crs_grade": "CRS", "icans_grade": "ICANS"}[c] for c in g.index]
            g = g.set_axis(names, axis=0)
            scale = (f"CRS/ICANS: {getattr(self.s.crs_grading, 'value', 'scale not reported')}; others: CTCAE"
                     + (f" v{self.s.ctcae_version.value}" if not isinstance(self.s.ctcae_version, str) else ""))
            worst = {idx: int(row.max()) for idx, row in g.iterrows() if row.notna().any()}
            grid = self.figures.embed(
                splots.ae_grid(g, title=f"Adverse events by patient and grade, {self.s.label}", scale_note=scale),
                name="ae-grid",
                alt="Grid of patients by adverse event coloured by grade; highest grade per event: "
                    + ", ".join(f"{k} {v}" for k, v in worst.items()),
                caption=f"Highest grade of each adverse event per patient (per-patient table; {scale}). Blank: none.")
        deaths = a.deaths
        self._csv(deaths, "deaths")
        death_rows = []
        for r in deaths.itertuples():
            what = labels.sentence_case(r.cause) if r.cause else "All causes"
            if r.relapse_related is not None and not pd.isna(r.relapse_related):
                what += " (relapse or progression)" if r.relapse_related else " (not relapse-related)"
            n = (self.cites.record(self.sd, r.result_id, fmt.count(r.events, r.total) if r.total else str(r.events))
                 if r.result_id else fmt.count(r.events, r.total))
            death_rows.append([what, r.population_label, n,
                               "recomputed from the per-patient table" if r.how == HOW_PER_PATIENT else "printed"])
        deaths_t = Table("Deaths and their causes", ["Deaths", "Population", "n", "Source"], death_rows,
                         numeric={"n"}) if death_rows else None
        return render("study_safety.html.j2", crs=crs, safety=safety if len(safety.rows) else None,
                      not_reported=not_rep, other=other_t, grid=grid, deaths=deaths_t)

    # --- 7. checks against the paper ---------------------------------------------------------------

    def audit(self) -> Fragment:
        df = self.a.audit
        self._csv(df, "audit")
        if df.empty:
            return render("study_audit.html.j2", findings=[], summary="", empty=True)
        summary = audit_mod.status_counts_text(df)
        findings = {}
        for status in audit_mod.FINDINGS:
            items = []
            for r in df[df["status"] == status].itertuples():
                if r.check == "contradiction" and not r.result_id:
                    items.append(Markup("<strong>{}</strong>: {} against {}. {}").format(
                        labels.sentence_case(r.item), r.reported, r.recomputed, labels.sentence_case(r.note)))
                    continue
                rep = self.cites.record(self.sd, r.result_id, r.reported) if r.result_id and r.reported else r.reported
                items.append(Markup("<strong>{}</strong>: printed {}; recomputed {}. {}").format(
                    labels.sentence_case(r.item), rep, r.recomputed or fmt.MISSING_TEXT, labels.sentence_case(r.note)))
            findings[status] = items
        return render("study_audit.html.j2", inconsistent=findings[audit_mod.INCONSISTENT],
                      reading=findings[audit_mod.READING], summary=f"{len(df)} checks: {summary}.",
                      held=audit_mod.what_held(df), empty=False)

    def audit_appendix(self) -> Fragment:
        df = self.a.audit
        if df.empty:
            return Fragment("")
        order = {s: i for i, s in enumerate([audit_mod.INCONSISTENT, audit_mod.READING, audit_mod.ROUNDING,
                                             audit_mod.NOT_CHECKABLE, audit_mod.CONSISTENT])}
        df = df.sort_values("status", key=lambda s: s.map(order), kind="stable")
        cls = {audit_mod.CONSISTENT: "consistent", audit_mod.ROUNDING: "rounding", audit_mod.READING: "reading",
               audit_mod.INCONSISTENT: "inconsistent", audit_mod.NOT_CHECKABLE: "notcheckable"}
        rows = [[labels.sentence_case(r.item),
                 self.cites.record(self.sd, r.result_id, r.reported) if r.result_id and r.reported else cell(r.reported),
                 cell(r.recomputed),
                 Markup('<span class="cp-status-{}">{}</span>').format(cls[r.status], r.status),
                 labels.sentence_case(r.note)] for r in df.itertuples()]
        return render("study_audit_appendix.html.j2", n=len(rows), csv=f"tables/{self.a.id}-audit.csv",
                      table=Table("Every check: printed next to recomputed", ["Item", "Printed", "Recomputed",
                                                                              "Status", "Note"], rows, compact=True))

    # --- 8. limitations ----------------------------------------------------------------------------

    def risk_of_bias(self) -> Fragment:
        """The study's risk of bias by domain, each judgement with its reason and the paper's words, and
        the judgements that touch some outcomes only."""
        from ..data.appraisal import DOMAINS, JUDGEMENT_LABELS, QUESTIONS
        from ..data.appraisal import RULE as RISK_OF_BIAS_RULE
        from ..data.appraisal import TOOL as RISK_OF_BIAS_TOOL

        rob = self.a.risk_of_bias
        self._csv(rob, "risk-of-bias")
        if rob.empty:
            return render("study_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, rule=RISK_OF_BIAS_RULE,
                          overall=None, table=None)
        rows = []
        for r in rob.itertuples():
            what = Markup('<span title="{}">{}</span>').format(QUESTIONS[r.domain], DOMAINS[r.domain])
            if r.outcomes:
                what = Markup("{} (for {})").format(what, labels.outcome_names(r.outcomes))
            words = f"{r.location}: “{r.quote}”" if r.quote else (f"Trial registry: {r.registry}" if r.registry else "")
            rows.append([what, Markup('<span class="cp-rob-{}">{}</span>').format(r.judgement,
                                                                                  JUDGEMENT_LABELS[r.judgement]),
                         r.reason, words])
        table = Table(f"Risk of bias by domain ({RISK_OF_BIAS_TOOL})", ["Domain", "Judgement", "Why",
                                                                       "In the paper's words"], rows, compact=True)
        first = rob.iloc[0]
        return render("study_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, rule=RISK_OF_BIAS_RULE,
                      overall=JUDGEMENT_LABELS[first["overall"]].lower(), overall_reason=first["overall_reason"],
                      proposed=JUDGEMENT_LABELS[first["proposed_overall"]].lower(), departure=first["departure"],
                      table=table)

    def limitations(self) -> Fragment:
        lim = self.a.limitations
        self._csv(lim, "limitations")
        return render("study_limitations.html.j2", items=list(lim["text"]))

    # --- 9. sources --------------------------------------------------------------------------------

    def sources(self) -> Fragment:
        rows = [[str(e["n"]), labels.sentence_case(e["what"]), e["location"], f"“{e['quote']}”",
                 e["note"] or ""] for e in self.cites.entries]
        t = Table(f"Sources of the numbers on this page ({self.cites.source})", ["#", "What", "Where", "Verbatim quote",
                                                                                 "Note"],
                  rows, numeric={"#"}, row_ids=[f"src-{e['n']}" for e in self.cites.entries], compact=True)
        self._csv(pd.DataFrame(self.cites.entries, columns=["n", "what", "location", "quote", "note"]), "sources")
        return render("study_sources.html.j2", table=t if rows else None, citation=self.s.citation, n=len(rows),
                      csv=f"tables/{self.a.id}-sources.csv")


    def render_all(self) -> Fragment:
        """Every section in the notebook's order (for tests and non-notebook use)."""
        parts = [self.header(), self.glance(), self.efficacy(), self.survival(), self.safety(), self.audit(),
                 self.patients(), self.course(), self.risk_of_bias(), self.limitations(), self.audit_appendix(),
                 self.per_patient_tables(), self.sources()]
        return Fragment(Markup("").join(parts))


def printed(r) -> str:
    """A record's value as the source printed it: "75.0% (9/12)", "290 days (95% CI 90–NR)"."""
    v = str(r.value)
    if r.statistic in ("proportion", "landmark_rate") and r.unit == "percent":
        v += "%"
    elif r.unit and r.statistic in ("median", "mean", "maximum"):
        v += f" {r.unit}"
    if r.numerator is not None and r.denominator is not None:
        v += f" ({r.numerator}/{r.denominator})"
    elif r.statistic == "count" and r.denominator is not None:
        v += f"/{r.denominator}"
    if r.spread is not None:
        v += f" ({'IQR' if r.spread.kind == 'iqr' else 'range'} {r.spread.low}–{r.spread.high})"
    if r.ci is not None:
        v += f" (95% CI {r.ci.low if r.ci.low is not None else '—'}–{r.ci.high if r.ci.high is not None else '—'})"
    return v

"""The per-study report: each section as an HTML fragment that a notebook cell displays.

Every section shows what the study's data support and says in one line what the source
does not report. Numbers carry their source (hover, focus, footnote and the sources table);
recomputed numbers say how they were computed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import audit as audit_mod
from ..data.derive import RESPONSE_ORDER, derive_endpoints
from ..data.load import StudyData, load_study_by_id
from ..data.model import NOT_REPORTED
from ..outcomes import (
    KM_CONF_TYPE,
    OUTCOME_BY_KEY,
    km_curves,
    km_survival,
    mixed_targets,
    outcome_count,
    reported_survival,
)
from ..plots import study as splots
from ..stats.proportions import proportion_ci
from ..stats.summaries import approximate_curve
from ..stats.survival import logrank_test
from ..units import DAYS_PER_MONTH, convert
from .html import MISSING_TEXT, Sources, ci, esc, figure, missing, note, pct, save_table, table, wrap_table

DOC_TYPES = {"full_article": "Full article", "abstract": "Conference or journal abstract",
             "summary": "Summary page (abstract and key findings; full text not available)"}
DISEASES = {"primary_pcl": "primary PCL", "secondary_pcl": "secondary PCL", "mm": "multiple myeloma"}


BASELINE_LABELS = {
    "age": "Age", "sex": "Sex", "pcl_type": "PCL type", "paraprotein": "Paraprotein", "r_iss_stage": "R-ISS stage",
    "iss_stage": "ISS stage", "karnofsky": "Karnofsky performance score", "high_tumor_burden": "High tumour burden",
    "soft_tissue": "Soft tissue involvement", "complex_karyotype": "Complex karyotype",
    "renal_impairment": "Renal impairment", "prior_lines": "Prior lines of therapy", "prior_asct": "Prior ASCT",
    "prior_allo_hsct": "Prior allo-HSCT", "prior_anti_cd38": "Prior anti-CD38 antibody", "emd": "Extramedullary disease",
    "bcma_expression": "BCMA expression on myeloma cells", "beta2_microglobulin": "β2-microglobulin",
}


class Fragment(str):
    """An HTML string that Jupyter displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


class StudyReport:
    def __init__(self, sd: StudyData, output_dir: Path | str | None = None):
        self.sd = sd
        self.s = sd.study
        self.id = sd.study.id
        self.out = Path(output_dir) if output_dir else None
        self.src = Sources(sd.study.source_document)
        self.d = derive_endpoints(sd)
        self._fig_n = 0

    @classmethod
    def load(cls, study_id, *, data_dir="data/studies", output_dir=None) -> StudyReport:
        """Load and validate a study by id; an unknown id raises with the list of known ids."""
        return cls(load_study_by_id(data_dir, study_id), output_dir)

    # --- helpers ------------------------------------------------------------------------------

    def _fig(self, fig, name: str, alt: str, caption: str) -> str:
        self._fig_n += 1
        path = self.out / "figures" / self.id / f"{self._fig_n:02d}-{name}.png" if self.out else None
        return figure(fig, alt=alt, caption=f"Figure {self._fig_n}. {caption}", save_to=path)

    def _table(self, df: pd.DataFrame, name: str, **kw) -> str:
        if self.out is not None:
            plain = df.copy()
            for c in kw.get("html_cols", set()):
                plain[c] = plain[c].map(_strip_tags)
            save_table(plain, self.out / "tables" / f"{self.id}-{name}.csv")
        return table(df, **kw)

    def _fact(self, name: str) -> str:
        v = getattr(self.s, name)
        if v == NOT_REPORTED or v is None:
            return '<span class="cp-missing">not reported</span>'
        val = v.value
        if isinstance(val, list):
            val = ", ".join(DISEASES.get(x, x) for x in val)
        val = {"relapsed_refractory": "relapsed/refractory", "frontline": "frontline"}.get(val, val)
        return self.src.cite(esc(val), f"study.{name}", v.location, v.quote)

    def _result(self, rid: str, text: str | None = None) -> str:
        r = self.sd.result(rid)
        return self.src.cite_result(esc(text if text is not None else _printed(r)), r)

    def _find(self, endpoint: str, **kw):
        for r in self.sd.results:
            if r.endpoint == endpoint and all(getattr(r, k) == v for k, v in kw.items()):
                yield r

    # --- 1. header -----------------------------------------------------------------------------

    def header(self) -> Fragment:
        s = self.s
        doi = (f'<a href="https://doi.org/{esc(s.doi)}">doi:{esc(s.doi)}</a>' if s.doi else
               '<span class="cp-missing">no DOI in the source</span>')
        reg = ", ".join(esc(x) for x in s.registry_ids) or '<span class="cp-missing">none stated</span>'
        pops = []
        for r in self.sd.results:
            if r.endpoint == "patients" and r.statistic == "count":
                pops.append(f"{esc(s.populations[r.population].label)}: {self._result(r.id)}")
        fu = [r for r in self.sd.results if r.endpoint == "follow_up" and r.statistic == "median"]
        fu_html = "; ".join(f"{self._result(r.id, f'{r.value} {r.unit}')} ({esc(s.populations[r.population].label)})"
                            for r in fu) or '<span class="cp-missing">not reported</span>'
        grading = (f"CRS: {self._fact('crs_grading')}; ICANS: {self._fact('icans_grading')}; "
                   f"CTCAE version: {self._fact('ctcae_version')}")
        items = [
            ("Citation", f"{esc(s.citation)} {doi}"),
            ("Trial registration", reg),
            ("Source document", f"{DOC_TYPES[s.document_type]} ({esc(s.source_document)})"),
            ("Design", f"{self._fact('design')}; phase {self._fact('phase')}"),
            ("Setting", self._fact("setting")),
            ("Disease", self._fact("disease")),
            ("CAR target(s)", self._fact("targets")),
            ("Product(s)", self._fact("products")),
            ("Dose", self._fact("dose")),
            ("Lymphodepletion", self._fact("lymphodepletion")),
            ("Enrolment", self._fact("enrolment_period")),
            ("Data cutoff", self._fact("data_cutoff")),
            ("Patients", "; ".join(pops) or '<span class="cp-missing">not reported</span>'),
            ("Median follow-up", fu_html),
            ("Grading scales", grading),
        ]
        facts = "".join(f"<tr><th scope='row'>{esc(k)}</th><td>{v}</td></tr>" for k, v in items)
        return Fragment(f"<h1>{esc(s.title)}</h1><p class='cp-prose'><strong>{esc(s.label)}</strong> · "
                        f"{esc(s.setting_label)} · {esc(s.disease_group)}</p>"
                        f"<table class='cp-facts'><caption class='cp-sr'>Study facts</caption><tbody>{facts}</tbody>"
                        f"</table>{self.glance()}")

    def glance(self) -> str:
        boxes = []
        n = self.sd.population_size(next(iter(self.s.populations)))
        if n is not None:
            boxes.append((str(n), f"patients ({self.s.populations[next(iter(self.s.populations))].label.lower()})"))
        for key in ("orr", "cr_or_better", "crs_ge3"):
            c = outcome_count(self.sd, key)
            if c.available:
                boxes.append((pct(c.proportion), f"{OUTCOME_BY_KEY[key].label} ({c.events}/{c.total})"))
        for ep in ("pfs", "os"):
            meds = [p for p in self._survival_points() if p.endpoint == ep and p.kind == "median"]
            pts = [p for p in meds if p.population == self._main_population()] or meds[:1]
            if pts:
                p = pts[0]
                v = "NR" if p.value is None else f"{p.value:.1f} mo"
                boxes.append((v, f"median {ep.upper()} ({'recomputed' if p.source != 'reported' else 'reported'})"))
        if not boxes:
            return ""
        inner = "".join(f'<div><span class="v">{esc(v)}</span><span class="k">{esc(k)}</span></div>'
                        for v, k in boxes[:6])
        return f'<section aria-label="Study at a glance"><h2 id="Study-at-a-glance">Study at a glance</h2><div class="cp-glance">{inner}</div></section>'

    def _main_population(self) -> str:
        if self.s.patients:
            return self.s.patients.population
        return next(iter(self.s.populations))

    def _survival_points(self):
        if not hasattr(self, "_sp"):
            self._sp = km_survival(self.sd) + reported_survival(self.sd)
        return self._sp

    # --- 2. patients ---------------------------------------------------------------------------

    def patients(self) -> Fragment:
        baseline_eps = {"age", "sex", "pcl_type", "paraprotein", "r_iss_stage", "iss_stage", "karnofsky",
                        "high_tumor_burden", "soft_tissue", "complex_karyotype", "renal_impairment",
                        "prior_lines", "prior_asct", "prior_allo_hsct", "emd", "bcma_expression",
                        "beta2_microglobulin"}
        rows = []
        for r in self.sd.results:
            if not (r.endpoint in baseline_eps or r.endpoint.startswith("prior_")):
                continue
            label = BASELINE_LABELS.get(r.endpoint, r.endpoint.replace("_", " ").capitalize())
            label += f": {r.category}" if r.category else ""
            rec = self._recompute_baseline(r)
            rows.append({"Characteristic": esc(label),
                         "Population": esc(self.s.populations[r.population].label),
                         "Published": self._result(r.id, _printed(r)),
                         "Recomputed from per-patient table": rec})
        parts = []
        if rows:
            df = pd.DataFrame(rows)
            if self.d is None:
                df = df.drop(columns=["Recomputed from per-patient table"])
            parts.append(self._table(df, "baseline", caption="Baseline characteristics as published"
                                     + (", with the same summary computed from the per-patient table"
                                        if self.d is not None else ""),
                                     html_cols=set(df.columns)))
        else:
            parts.append(missing("The source reports no baseline characteristics."))
        if self.d is not None:
            parts.append(self.patient_table())
        return Fragment("".join(parts))

    def _recompute_baseline(self, r) -> str:
        if self.d is None:
            return MISSING_TEXT
        d = self.d
        if r.population != self._main_population():
            return MISSING_TEXT
        if r.endpoint in d.columns:
            col = d[r.endpoint]
            if r.statistic == "median":
                x = pd.to_numeric(col, errors="coerce").dropna()
                if len(x) == 0:
                    return MISSING_TEXT
                q1, q3 = np.quantile(x, [0.25, 0.75])
                spread = (f"IQR {q1:g}–{q3:g}" if r.spread and r.spread.kind == "iqr"
                          else f"range {x.min():g}–{x.max():g}")
                return esc(f"{np.median(x):g} ({spread})")
            if r.category is not None:
                k = int(col.map(lambda v, c=r.category: audit_mod._category_match(v, c)).sum())
            elif col.dropna().map(type).eq(bool).all():
                k = int(col.fillna(False).astype(bool).sum())
            else:
                return MISSING_TEXT
            return esc(f"{k}/{len(col)} ({pct(k / len(col))})")
        return MISSING_TEXT

    def patient_table(self) -> str:
        """The per-patient table as published (every cell as printed)."""
        out = []
        for name, t in self.sd.tables.items():
            rows = t.published
            header = "".join(f"<th scope='col'>{esc(h)}</th>" for h in rows[0])
            body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            out.append(f"<details><summary>{esc(t.location)} as published ({len(rows) - 1} rows)</summary>"
                       + wrap_table(f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody>",
                                    caption=f"{t.location}, {self.s.source_document}") + "</details>")
            if self.out is not None:
                pd.DataFrame(rows[1:], columns=rows[0]).to_csv(
                    self.out / "tables" / f"{self.id}-{name}-as-published.csv", index=False, lineterminator="\n")
        return "".join(out)

    # --- 3. efficacy ---------------------------------------------------------------------------

    def efficacy(self) -> Fragment:
        parts = [self._response_figure(), self._efficacy_table(), self._subgroups()]
        return Fragment("".join(p for p in parts if p))

    def _response_counts(self) -> tuple[dict[str, int], int, str] | None:
        if self.d is not None and "best_response" in self.d.columns:
            c = self.d["best_response"].value_counts()
            return {k: int(v) for k, v in c.items()}, len(self.d), "computed from the per-patient table"
        cats = list(self._find("best_response"))
        if not cats:
            return None
        pop = cats[0].population
        total = self.sd.population_size(pop)
        counts = {}
        for r in cats:
            if r.population != pop:
                continue
            k = int(r.value) if r.statistic == "count" else r.numerator
            if k is None and total and r.unit == "percent":
                from ..stats.proportions import numerator_for
                k = numerator_for(r.value, total)
            if k is not None:
                counts[r.category] = k
        if not counts or not total:
            return None
        return counts, total, "as reported"

    def _response_figure(self) -> str:
        got = self._response_counts()
        if got is None:
            return missing("The source does not report the distribution of best responses.")
        counts, total, how = got
        fig = splots.response_bar(counts, total, f"Best response (IMWG), {self.s.label}, N = {total}")
        desc = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: _resp_rank(kv[0])))
        rest = total - sum(counts.values())
        return self._fig(fig, "best-response",
                         alt=f"Stacked bar of best response in {total} patients: {desc}"
                             + (f"; {rest} not reported" if rest else ""),
                         caption=f"Best response by IMWG category ({how}); categories in the same colour order in "
                                 "every report" + ("; the hatched grey part is patients whose category the source "
                                                   "does not give." if rest else "."))

    def _efficacy_table(self) -> str:
        rows = []
        for key in ("orr", "cr_or_better", "mrd_negative"):
            c = outcome_count(self.sd, key)
            label = OUTCOME_BY_KEY[key].label
            if not c.available:
                rows.append({"Outcome": esc(label), "n/N": MISSING_TEXT, "% (exact 95% CI)": MISSING_TEXT,
                             "How obtained": esc("not reported" if c.source == "not reported" else c.note)})
                continue
            e = proportion_ci(c.events, c.total)
            cell = f"{pct(e.estimate)} {ci(e.ci_low, e.ci_high)}"
            nn = f"{c.events}/{c.total}"
            if c.result_ids:
                nn = self._result(c.result_ids[0], nn)
            rows.append({"Outcome": esc(label), "n/N": nn, "% (exact 95% CI)": esc(cell),
                         "How obtained": esc(c.source + (f" ({c.note})" if c.note and c.source != "reported count" else ""))})
        df = pd.DataFrame(rows)
        return self._table(df, "efficacy", caption="Response and MRD with Clopper-Pearson exact 95% CIs",
                           numeric={"n/N", "% (exact 95% CI)"}, html_cols={"Outcome", "n/N", "How obtained",
                                                                          "% (exact 95% CI)"})

    def _subgroups(self) -> str:
        if self.d is None or not self.s.patients.subgroups or "responder" not in self.d.columns:
            return missing("Subgroup response data: the source has no per-patient table, so response by "
                           "subgroup can only be shown where the paper prints it.")
        rows = []
        for sg in self.s.patients.subgroups:
            label = self.s.patients.fields[sg].label or sg
            for level, sub in self.d.groupby(sg, sort=True):
                for key, col in (("Responders", "responder"), ("CR or better", "cr_or_better")):
                    k, n = int(sub[col].sum()), len(sub)
                    e = proportion_ci(k, n)
                    rows.append({"Subgroup": f"{label}: {level}", "Outcome": key, "n/N": f"{k}/{n}",
                                 "% (exact 95% CI)": f"{pct(e.estimate)} {ci(e.ci_low, e.ci_high)}"})
        return self._table(pd.DataFrame(rows), "subgroups",
                           caption="Response by subgroup, computed from the per-patient table",
                           numeric={"n/N", "% (exact 95% CI)"})

    # --- 4. survival ---------------------------------------------------------------------------

    def survival(self) -> Fragment:
        parts = []
        curves = km_curves(self.sd)
        if curves:
            parts.append(self._km_figures(curves))
        else:
            parts.append(self._milestones())
        parts.append(self._survival_table())
        return Fragment("".join(parts))

    def _km_figures(self, curves) -> str:
        out = []
        names = {"pfs": "Progression-free survival", "os": "Overall survival"}
        defs = self.s.patients.definitions
        for ep in ("pfs", "os"):
            km = curves.get((ep, "all"))
            if km is None:
                continue
            est, lo, hi = km.median()
            fig = splots.km_plot({"All patients": km}, title=f"{names[ep]}, {self.s.label} (N = {km.n})")
            d_txt = f" Definition ({defs[ep].location}): {defs[ep].value}." if ep in defs else ""
            out.append(self._fig(
                fig, f"km-{ep}",
                alt=(f"Kaplan-Meier curve of {names[ep].lower()} in {km.n} patients; median "
                     f"{_months_txt(est)} (95% CI {_months_txt(lo)} to {_months_txt(hi)}); "
                     f"numbers at risk shown under the time axis"),
                caption=(f"{names[ep]} computed from the per-patient table (months). Shaded: pointwise 95% CI "
                         f"({KM_CONF_TYPE}, Greenwood variance); ticks: censored patients.{d_txt}")))
        for sg in self.s.patients.subgroups:
            by = km_curves(self.sd, by=sg)
            label = self.s.patients.fields[sg].label or sg
            for ep in ("pfs", "os"):
                groups = {g: km for (e, g), km in by.items() if e == ep}
                if len(groups) < 2:
                    continue
                sub = self.d.dropna(subset=[sg])
                lr = logrank_test(sub[f"{ep}_time"], sub[f"{ep}_event"].astype(bool), sub[sg])
                p_text = f"Log-rank p = {lr.p_value:.3f} (χ² = {lr.chisq:.2f}, {lr.df} df)"
                fig = splots.km_plot({f"{label}: {g}": km for g, km in groups.items()},
                                     title=f"{names[ep]} by {label.lower()}", p_text=p_text, band=False)
                meds = "; ".join(f"{g}: median {_months_txt(km.median()[0])}" for g, km in groups.items())
                out.append(self._fig(fig, f"km-{ep}-by-{sg}",
                                     alt=f"Kaplan-Meier curves of {names[ep].lower()} by {label.lower()}: {meds}; {p_text}",
                                     caption=f"{names[ep]} by {label.lower()} (per-patient table). {p_text}. "
                                             "Small groups: read as descriptive."))
        return "".join(out)

    def _milestones(self) -> str:
        pts = [p for p in reported_survival(self.sd) if p.population == self._main_population() or True]
        usable = [p for p in pts if (p.kind == "landmark" and p.value is not None)
                  or (p.kind == "median" and p.value is not None)]
        if not usable:
            text = ("The source reports no survival medians or landmark rates"
                    + (" other than 'not reached'" if pts else "") + ", so no curve can be drawn.")
            return missing(text)
        main = self._main_population()
        curves = {}
        for ep in sorted({p.endpoint for p in usable}):
            ms = [(p.time_months, p.value, p.label) for p in usable
                  if p.endpoint == ep and p.population == main and p.kind == "landmark"]
            ms += [(p.value, 0.5, "median") for p in usable
                   if p.endpoint == ep and p.population == main and p.kind == "median"]
            curves[ep] = approximate_curve(ms, horizon=max(t for t, _, _ in ms) * 1.2) if ms else None
        shown = [p for p in usable if p.population == main]
        fig = splots.milestones_plot(shown, curves, title=f"Reported survival milestones, {self.s.label}")
        built = "; ".join(f"{ep.upper()} through " + ", ".join(f"{lab} ({t:.1f} mo, {100 * s:.1f}%)"
                                                               for t, s, lab in c.points)
                          for ep, c in curves.items() if c is not None)
        return (note("<strong>Approximate curves.</strong> The source gives no per-patient data. The dashed "
                     "lines are piecewise-exponential curves drawn through the reported milestones only; they "
                     "are not Kaplan-Meier estimates and must not be read as patient data.", approx=True)
                + self._fig(fig, "survival-milestones",
                            alt=f"Reported survival milestones with 95% CIs and approximate curves: {built}",
                            caption="Reported medians (squares at 50%, with CI; an arrow marks an upper limit not "
                                    "reached) and landmark rates (dots with 95% CI). Dashed: approximate curve "
                                    f"through the reported points ({built})."))

    def _survival_table(self) -> str:
        rows = []
        for p in self._survival_points():
            name = {"pfs": "PFS", "os": "OS", "dor": "DOR"}[p.endpoint]
            pop = self.s.populations[p.population].label if p.population in self.s.populations else p.population
            if p.kind == "median":
                what = f"Median {name}"
                val = "NR" if p.value is None else f"{p.value:.1f} mo"
                cis = "" if p.ci_low is None and p.ci_high is None else \
                    f"({_months_txt(p.ci_low, unit=False)}–{'NR' if p.high_not_reached else _months_txt(p.ci_high, unit=False)})"
            else:
                what = f"{name} at {p.time_months:g} months"
                val = pct(p.value)
                cis = ci(p.ci_low, p.ci_high) if p.ci_low is not None else ""
            shown = esc(f"{val} {cis}".strip())
            if p.result_id:
                r = self.sd.result(p.result_id)
                orig = _printed(r)
                shown = self.src.cite_result(shown, r) + (f" <small>(printed: {esc(orig)})</small>"
                                                          if r.unit == "days" else "")
            rows.append({"Estimate": esc(what), "Population": esc(pop), "Value (95% CI)": shown,
                         "Source": esc(p.source)})
        if not rows:
            return missing("The source reports no survival estimates.")
        df = pd.DataFrame(rows)
        fu = [r for r in self.sd.results if r.endpoint == "follow_up" and r.statistic == "median"]
        fu_txt = ("; ".join(f"median follow-up {r.value} {r.unit}" for r in fu)) or "median follow-up not reported"
        return (self._table(df, "survival", caption="Survival: reported and recomputed", numeric={"Value (95% CI)"},
                            html_cols=set(df.columns))
                + f"<p class='cp-prose'><small>Times in months; days are converted with 1 month = "
                  f"{DAYS_PER_MONTH} days (365.25/12). {esc(fu_txt.capitalize())}.</small></p>")

    # --- 5. per-patient course -----------------------------------------------------------------

    def course(self) -> Fragment:
        if self.d is None or "os_time" not in self.d.columns:
            return Fragment(missing("No swimmer plot: the source has no per-patient follow-up data."))
        events: dict[str, list] = {}
        raw = self.sd.patients
        if "subsequent" in raw.columns:
            for pid, v in raw["subsequent"].items():
                if v is not None and not (isinstance(v, float) and np.isnan(v)):
                    kind = "allo-HSCT" if "hsct" in v.label.lower() or "transplant" in v.label.lower() \
                        else "second CAR-T"
                    events.setdefault(str(pid), []).append((v.time, kind))
        label_col = next((c for c in ("target", "pcl_type") if c in self.d.columns), None)
        fig = splots.swimmer(self.d, events, title=f"Course of each patient after CAR-T, {self.s.label}",
                             label_col=label_col)
        n_prog = int(self.d.get("progressed", pd.Series(dtype=bool)).sum())
        n_dead = int(self.d["os_event"].sum())
        return Fragment(self._fig(
            fig, "swimmer",
            alt=(f"Swimmer plot of {len(self.d)} patients: bars show follow-up coloured by best response; "
                 f"{n_prog} progressions, {n_dead} deaths, {sum(len(v) for v in events.values())} subsequent "
                 "therapies marked"),
            caption="One bar per patient, from the first CAR-T infusion to death or last follow-up, coloured by "
                    "best response. Markers: progression (triangle), death (cross), alive at last follow-up "
                    "(arrow), second CAR-T infusion (diamond), allo-HSCT (star). From the per-patient table."))

    # --- 6. safety -----------------------------------------------------------------------------

    def safety(self) -> Fragment:
        parts = [self._crs_icans(), self._ae_table(), self._ae_grid(), self._deaths()]
        return Fragment("".join(p for p in parts if p))

    def _crs_icans(self) -> str:
        rows = []
        for ep, scale_field in (("crs", "crs_grading"), ("icans", "icans_grading")):
            scale = getattr(self.s, scale_field)
            scale_txt = scale.value if scale != NOT_REPORTED else "scale not reported"
            if self.d is not None and f"{ep}_grade" in self.d.columns:
                g = self.d[f"{ep}_grade"]
                for grade in range(1, 6):
                    k = int((g == grade).sum())
                    if k:
                        rows.append({"Event": ep.upper(), "Grade": str(grade), "n/N": f"{k}/{len(g)}",
                                     "%": pct(k / len(g)), "Scale": scale_txt,
                                     "Source": "computed from the per-patient table"})
                k = int((g >= 1).sum())
                rows.append({"Event": ep.upper(), "Grade": "any", "n/N": f"{k}/{len(g)}", "%": pct(k / len(g)),
                             "Scale": scale_txt, "Source": "computed from the per-patient table"})
                continue
            for r in self._find(ep):
                if r.category is not None:
                    continue
                n = r.denominator or self.sd.population_size(r.population)
                k = int(r.value) if r.statistic == "count" else r.numerator
                rows.append({"Event": ep.upper(), "Grade": (r.grade or "any").replace(">=", "≥"),
                             "n/N": self._result(r.id, f"{k}/{n}" if k is not None and n else _printed(r)),
                             "%": esc(pct(k / n) if k is not None and n else _printed(r)),
                             "Scale": esc(scale_txt), "Source": esc("reported")})
        if not rows:
            return missing("CRS and ICANS: not reported by the source.")
        df = pd.DataFrame(rows)
        html_cols = set(df.columns) if any("cp-src" in str(v) for v in df["n/N"]) else set()
        if html_cols:
            for c in ("Event", "Grade"):
                df[c] = df[c].map(esc)
        return self._table(df, "crs-icans", caption="Cytokine release syndrome and ICANS by grade",
                           numeric={"n/N", "%"}, html_cols=html_cols)

    def _ae_table(self) -> str:
        rows = []
        for key in ("neutropenia_ge3", "thrombocytopenia_ge3", "anemia_ge3"):
            c = outcome_count(self.sd, key)
            label = OUTCOME_BY_KEY[key].label
            if c.available:
                e = proportion_ci(c.events, c.total)
                nn = self._result(c.result_ids[0], f"{c.events}/{c.total}") if c.result_ids else f"{c.events}/{c.total}"
                rows.append({"Adverse event": esc(label), "n/N": nn,
                             "% (exact 95% CI)": esc(f"{pct(e.estimate)} {ci(e.ci_low, e.ci_high)}"),
                             "How obtained": esc(c.source + (f" ({c.note})" if c.source != "reported count" and c.note else ""))})
            else:
                rows.append({"Adverse event": esc(label), "n/N": MISSING_TEXT, "% (exact 95% CI)": MISSING_TEXT,
                             "How obtained": esc(c.note or "not reported")})
        seen = {"neutropenia", "thrombocytopenia", "anemia", "crs", "icans"}
        for r in self.sd.results:
            if r.grade not in (">=3", "3-4", "3-5") or r.endpoint in seen or r.statistic not in ("count", "proportion"):
                continue
            n = r.denominator or self.sd.population_size(r.population)
            k = int(r.value) if r.statistic == "count" else r.numerator
            if k is None and n and r.unit == "percent":
                from ..stats.proportions import numerator_for
                k = numerator_for(r.value, n)
            when = f" at {r.timepoint.value} {r.timepoint.unit}" if r.timepoint else ""
            label = f"{r.endpoint.replace('_', ' ').capitalize()} grade {r.grade.replace('>=', '≥')}{when}"
            if k is not None and n:
                e = proportion_ci(k, n)
                rows.append({"Adverse event": esc(label), "n/N": self._result(r.id, f"{k}/{n}"),
                             "% (exact 95% CI)": esc(f"{pct(e.estimate)} {ci(e.ci_low, e.ci_high)}"),
                             "How obtained": esc("reported" if r.numerator or r.statistic == "count"
                                                 else "derived from the printed percentage")})
            else:
                rows.append({"Adverse event": esc(label), "n/N": self._result(r.id, _printed(r)),
                             "% (exact 95% CI)": MISSING_TEXT,
                             "How obtained": esc(f"{r.value}% printed; no whole number of {n} fits" if n else
                                                 "denominator unknown")})
        df = pd.DataFrame(rows)
        return self._table(df, "adverse-events", caption="Grade ≥3 adverse events with Clopper-Pearson exact 95% CIs",
                           numeric={"n/N", "% (exact 95% CI)"}, html_cols=set(df.columns))

    def _ae_grid(self) -> str:
        if self.d is None:
            return ""
        cols = [c for c in self.d.columns if c.startswith("ae:")]
        graded = [c for c in cols if self.d[c].dropna().map(lambda v: isinstance(v, int | np.integer)
                                                            and not isinstance(v, bool)).all()]
        grid_cols = [c for c in ("crs_grade", "icans_grade") if c in self.d.columns] + graded
        if not grid_cols:
            return ""
        g = self.d[grid_cols].T.astype(float)
        g.index = [c.removeprefix("ae:").replace("crs_grade", "CRS").replace("icans_grade", "ICANS") for c in grid_cols]
        scale = (f"CRS/ICANS: {getattr(self.s.crs_grading, 'value', 'n/r')}; "
                 f"others: CTCAE v{getattr(self.s.ctcae_version, 'value', '?')}")
        fig = splots.ae_grid(g, title=f"Adverse events by patient and grade, {self.s.label}", scale_note=scale)
        worst = {idx: int(np.nanmax(row)) for idx, row in g.iterrows()}
        return self._fig(fig, "ae-grid",
                         alt="Grid of patients by adverse event coloured by grade; highest grade per event: "
                             + ", ".join(f"{k} {v}" for k, v in worst.items()),
                         caption=f"Highest grade of each adverse event per patient (per-patient table; {scale}). "
                                 "Blank: none.")

    def _deaths(self) -> str:
        rows = []
        for r in self._find("death"):
            rows.append({"Deaths": esc(r.category or "all causes"),
                         "Population": esc(self.s.populations[r.population].label),
                         "n": self._result(r.id, str(r.value) + (f"/{r.denominator}" if r.denominator else ""))})
        if self.d is not None and "os_event" in self.d.columns:
            rows.append({"Deaths": "all causes (recomputed)", "Population": esc(self.s.populations[self._main_population()].label),
                         "n": f"{int(self.d['os_event'].sum())}/{len(self.d)}"})
        if not rows:
            return missing("Deaths and their causes: not reported by the source.")
        return "<h3>Deaths</h3>" + self._table(pd.DataFrame(rows), "deaths", caption="Deaths and causes",
                                               numeric={"n"}, html_cols={"Deaths", "Population", "n"})

    # --- 7. checks against the paper -----------------------------------------------------------

    def _audit_frame(self) -> pd.DataFrame:
        if not hasattr(self, "_audit_df"):
            self._audit_df = audit_mod.audit_frame(audit_mod.audit_study(self.sd))
        return self._audit_df

    def audit(self) -> Fragment:
        df = self._audit_frame()
        if self.out is not None:
            save_table(df, self.out / "tables" / f"{self.id}-audit.csv")
        if df.empty:
            return Fragment(missing("No reported number could be checked."))
        counts = df["status"].value_counts()
        summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in audit_mod.STATUSES)
        order = {s: i for i, s in enumerate([audit_mod.INCONSISTENT, audit_mod.ROUNDING, audit_mod.NOT_CHECKABLE,
                                             audit_mod.CONSISTENT])}
        df = df.sort_values("status", key=lambda s: s.map(order), kind="stable")
        cls = {audit_mod.CONSISTENT: "consistent", audit_mod.ROUNDING: "rounding",
               audit_mod.INCONSISTENT: "inconsistent", audit_mod.NOT_CHECKABLE: "notcheckable"}
        show = pd.DataFrame({
            "Item": df["item"].map(esc),
            "Reported": [self._result(rid, rep) if rid and rep else esc(rep)
                         for rid, rep in zip(df["result_id"], df["reported"], strict=True)],
            "Recomputed": df["recomputed"].map(esc),
            "Check": df["check"].map(esc),
            "Status": [f'<span class="cp-status-{cls[s]}">{esc(s)}</span>' for s in df["status"]],
            "Note": df["note"].map(esc),
        })
        return Fragment(f"<p class='cp-prose'>{len(df)} checks: {esc(summary)}. The analysis keeps the "
                        "published values; this table only reports.</p>"
                        + table(show, caption="Reported next to recomputed", html_cols=set(show.columns)))

    # --- 8. limitations ------------------------------------------------------------------------

    def limitations(self) -> Fragment:
        items = []
        s = self.s
        n = self.sd.population_size(self._main_population())
        if n is not None and n < 20:
            items.append(f"Small sample: {n} patients; exact CIs are wide and subgroup results are descriptive.")
        if s.document_type != "full_article":
            items.append(f"Source is a {DOC_TYPES[s.document_type].lower()}: methods, denominators and definitions "
                         "are incompletely reported; several outcomes are not available.")
        if mixed_targets(self.sd):
            items.append(f"Mixed CAR targets ({', '.join(s.targets.value)}): pooled analyses use the BCMA-directed "
                         "patients where the per-patient table allows it.")
        if s.products != NOT_REPORTED and (";" in s.products.value or " or " in s.products.value):
            items.append(f"More than one product: {s.products.value}.")
        if s.crs_grading == NOT_REPORTED:
            items.append("The CRS grading scale is not reported, so CRS rates are not comparable with confidence.")
        elif s.crs_grading.value != "ASTCT":
            items.append(f"CRS graded by {s.crs_grading.value}, not ASTCT: grade ≥3 rates are not directly "
                         "comparable with ASTCT-graded studies.")
        fu = [r for r in self.sd.results if r.endpoint == "follow_up" and r.statistic == "median"]
        if fu and all(convert(float(r.value), r.unit, "months") < 24 for r in fu):
            items.append(f"Short follow-up (median {fu[0].value} {fu[0].unit}): late relapses and deaths are not captured.")
        if not fu and self.d is None:
            items.append("Median follow-up is not reported.")
        if self.s.design == NOT_REPORTED:
            items.append("Study design (prospective or retrospective) is not reported.")
        elif s.design.value == "retrospective":
            items.append("Retrospective design: selection and reporting bias are possible.")
        df = self._audit_frame()
        k = int((df["status"] == audit_mod.INCONSISTENT).sum()) if not df.empty else 0
        if k:
            items.append(f"{k} reported number(s) could not be reproduced (see Checks against the paper).")
        return Fragment("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")

    # --- 9. sources ----------------------------------------------------------------------------

    def sources(self) -> Fragment:
        return Fragment(self.src.table())


def _printed(r) -> str:
    v = str(r.value)
    if r.statistic in ("proportion", "landmark_rate") and r.unit == "percent":
        v += "%"
    elif r.unit and r.statistic in ("median", "mean", "maximum"):
        v += f" {r.unit}"
    if r.numerator is not None and r.denominator is not None:
        v += f" ({r.numerator}/{r.denominator})"
    if r.spread is not None:
        v += f" ({'IQR' if r.spread.kind == 'iqr' else 'range'} {r.spread.low}–{r.spread.high})"
    if r.ci is not None:
        v += f" (95% CI {r.ci.low if r.ci.low is not None else '—'}–{r.ci.high if r.ci.high is not None else '—'})"
    return v


def _resp_rank(cat: str) -> int:
    first = cat.split("/")[0]
    return RESPONSE_ORDER.index(first) if first in RESPONSE_ORDER else 99


def _months_txt(v, unit: bool = True) -> str:
    return "NR" if v is None else f"{v:.1f}" + (" months" if unit else "")


def _strip_tags(v) -> str:
    import html as _h
    import re

    s = re.sub(r'<span class="cp-tip".*?</span>', "", str(v), flags=re.S)
    s = re.sub(r"<sup.*?</sup>", "", s, flags=re.S)
    return _h.unescape(re.sub(r"<[^>]+>", "", s)).strip()

"""The pooled cross-study report: studies table, forest plots by disease and by setting,
comparability rules, survival side by side, audit summary, machine-readable results and a
data-driven interpretation. Adding a study folder flows into every table and plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import audit as audit_mod
from ..data.load import StudyData, load_all
from ..outcomes import OUTCOMES, km_curves, km_survival, mixed_targets, outcome_table, reported_survival
from ..plots.forest import forest_plot, forest_rows, medians_plot
from ..stats.meta import METHOD_LABELS, leave_one_out, subgroup_analysis
from ..stats.summaries import approximate_curve, pool_landmark
from .html import MISSING_TEXT, ci, esc, figure, missing, note, pct, save_table, table
from .study import DOC_TYPES, Fragment

PRIMARY_METHOD = "glmm"
SENSITIVITY_METHOD = "logit"
RESULT_COLUMNS = ["outcome", "view", "subgroup", "analysis", "method", "k", "events", "total", "estimate",
                  "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "p", "studies"]


LOO_GLMM_MAX_K = 30  # above this, leave-one-out uses the closed-form logit model (k GLMM fits is O(k^2))


class PooledReport:
    def __init__(self, studies: list[StudyData], output_dir: Path | str | None = None, *, draw: bool = True):
        self.draw = draw  # False: compute every estimate but draw no figure (benchmarks, tests)
        self.studies = studies
        self.by_id = {s.study.id: s for s in studies}
        self.out = Path(output_dir) if output_dir else None
        self.primary = outcome_table(studies, bcma_only=True)
        self.all_patients = outcome_table(studies, bcma_only=False)
        self.results: list[dict] = []
        self._fig_n = 0

    @classmethod
    def load(cls, *, data_dir="data/studies", output_dir=None) -> PooledReport:
        return cls(load_all(data_dir), output_dir)

    # --- helpers ------------------------------------------------------------------------------

    def _fig(self, fig, name, alt, caption) -> str:
        if not self.draw:
            import matplotlib.pyplot as plt

            plt.close(fig)
            return ""
        self._fig_n += 1
        path = self.out / "figures" / "pooled" / f"{self._fig_n:02d}-{name}.png" if self.out else None
        return figure(fig, alt=alt, caption=f"Figure {self._fig_n}. {caption}", save_to=path)

    def _save(self, df: pd.DataFrame, name: str) -> None:
        if self.out is not None:
            save_table(df, self.out / "tables" / f"pooled-{name}.csv")

    # --- 1. studies table -----------------------------------------------------------------------

    def studies_table(self) -> Fragment:
        rows, ids = [], []
        for sd in self.studies:
            s = sd.study
            pop = s.patients.population if s.patients else next(iter(s.populations))
            n = sd.population_size(pop)
            fu = [r for r in sd.results if r.endpoint == "follow_up" and r.statistic == "median"]
            rows.append({
                "Study": f'<a href="{esc(s.id)}.html">{esc(s.label)}</a>',
                "Design": esc(getattr(s.design, "value", "not reported")),
                "Setting": esc(s.setting_label),
                "Disease": esc(s.disease_group),
                "Target(s)": esc(", ".join(s.targets.value)),
                "N": esc(n if n is not None else MISSING_TEXT),
                "Median follow-up": esc("; ".join(f"{r.value} {r.unit}" for r in fu) or "not reported"),
                "CRS scale": esc(getattr(s.crs_grading, "value", "not reported")),
                "Document": esc(DOC_TYPES[s.document_type].split(" (")[0]),
            })
            ids.append(f"study-{s.id}")
        df = pd.DataFrame(rows)
        html = table(df, caption="Studies included", numeric={"N"}, html_cols=set(df.columns))
        # give each row an anchor so that study reports can link to their row
        for rid in ids:
            html = html.replace("<tr><td><a", f'<tr id="{rid}"><td><a', 1)
        plain = df.copy()
        for c in plain.columns:
            plain[c] = plain[c].str.replace(r"<[^>]+>", "", regex=True)
        self._save(plain, "studies")
        return Fragment(html)

    # --- 2. forest plots --------------------------------------------------------------------------

    def _available(self, frame: pd.DataFrame, key: str) -> pd.DataFrame:
        t = frame[(frame["outcome"] == key)].copy()
        t = t[t["events"].notna() & t["total"].notna() & (t["total"] > 0)]
        t["events"], t["total"] = t["events"].astype(int), t["total"].astype(int)
        return t

    def _record(self, key, view, res, analysis, method):
        def row(subgroup, r, studies):
            self.results.append({
                "outcome": key, "view": view, "subgroup": subgroup, "analysis": analysis, "method": method,
                "k": r.k, "events": r.events, "total": r.total, "estimate": r.estimate, "ci_low": r.ci_low,
                "ci_high": r.ci_high, "pi_low": r.pi_low, "pi_high": r.pi_high, "tau2": r.tau2, "i2": r.i2,
                "q": r.q, "p": r.q_p, "studies": ";".join(map(str, studies))})

        for name, r in res.subgroups.items():
            if len(res.subgroups) > 1:
                row(name, r, r.studies["study"])
        row("all", res.overall, res.overall.studies["study"])
        if len(res.subgroups) > 1:
            self.results.append({"outcome": key, "view": view, "subgroup": "test for subgroup differences",
                                 "analysis": analysis, "method": method, "k": res.overall.k, "q": res.q_between,
                                 "p": res.p_between, "studies": f"df={res.df}"})

    def outcome(self, key: str) -> Fragment:
        """Forest plots of one outcome by disease and by setting, with sensitivity analyses."""
        o = next(x for x in OUTCOMES if x.key == key)
        t = self._available(self.primary, key)
        missing_ = sorted(set(self.primary[self.primary["outcome"] == key]["label"]) - set(t["label"]))
        miss_txt = (f"Not available from: {', '.join(missing_)} (not reported, or not derivable from what "
                    "is printed).") if missing_ else "Available from every study."
        if t.empty:
            return Fragment(missing(f"{o.label}: no study reports it."))
        parts = [f"<p class='cp-prose'>{esc(miss_txt)}</p>"]
        if len(t) < 2:
            r = t.iloc[0]
            parts.append(missing(f"Only one study ({r['label']}: {r['events']}/{r['total']}) reports this outcome; "
                                 "nothing to pool."))
            return Fragment("".join(parts))
        flags = []
        if t["setting"].nunique() > 1:
            flags.append("The overall diamond pools frontline and relapsed/refractory cohorts: read it together "
                         "with the view by setting below.")
        if key.startswith("crs") and t["crs_grading"].nunique() > 1:
            flags.append("CRS grading differs between studies (" + ", ".join(
                f"{r.label}: {r.crs_grading}" for r in t.itertuples()) + "); see the sensitivity analysis "
                "restricted to ASTCT-graded studies.")
        subsets = [f"{r.label}: {r.subset}" for r in t.itertuples() if r.subset != "all patients"]
        if subsets:
            flags.append("Primary analysis restricted to BCMA-directed patients where a cohort mixes targets: "
                         + "; ".join(subsets) + ".")
        derived = [f"{r.label} ({r.note})" for r in t.itertuples() if r.source.startswith("derived")]
        if derived:
            flags.append("Counts derived from printed percentages or categories: " + "; ".join(derived) + ".")
        if flags:
            parts.append(note("<br>".join(esc(f) for f in flags)))
        for view, col in (("disease", "disease"), ("setting", "setting")):
            if view == "setting" and t["setting"].nunique() < 2:
                parts.append(missing("All studies reporting this outcome share one setting; no view by setting."))
                continue
            res = subgroup_analysis(t["events"], t["total"], t[col], labels=list(t["label"]),
                                    method=PRIMARY_METHOD)
            self._record(key, view, res, "primary (BCMA-directed)", PRIMARY_METHOD)
            if not self.draw:
                parts.append(self._interpretation(o.label, res) if view == "disease" else "")
                continue
            rows = forest_rows(res)
            fig = forest_plot(rows, title=f"{o.label} by {view}",
                              method_line=(f"Random effects: {METHOD_LABELS[PRIMARY_METHOD]}; τ² by maximum "
                                           "likelihood; 95% CI of each study: Clopper-Pearson; prediction interval: "
                                           "metafor convention (z, √(SE² + τ²))."))
            subs = "; ".join(f"{g}: {pct(r.estimate)} {ci(r.ci_low, r.ci_high)}, k = {r.k}"
                             for g, r in res.subgroups.items())
            ov = res.overall
            parts.append(self._fig(
                fig, f"forest-{key}-{view}",
                alt=(f"Forest plot of {o.label.lower()} by {view}: {subs}; overall {pct(ov.estimate)} "
                     f"{ci(ov.ci_low, ov.ci_high)}; prediction interval {ci(ov.pi_low, ov.pi_high)}; "
                     f"test for subgroup differences p = {res.p_between:.2f}"),
                caption=(f"{o.label}: study proportions with exact 95% CIs (squares sized by weight), pooled "
                         f"estimates by {view} (diamonds) with their heterogeneity, the overall estimate and the "
                         "95% prediction interval (bar).")))
            if view == "disease":
                parts.append(self._interpretation(o.label, res))
        parts.append(self._sensitivity(key, t))
        return Fragment("".join(parts))

    def _interpretation(self, label: str, res) -> str:
        bits = [f"{g} {pct(r.estimate)} {ci(r.ci_low, r.ci_high)} (k = {r.k}, {r.events}/{r.total})"
                for g, r in res.subgroups.items()]
        txt = f"{label}: " + " vs ".join(bits)
        if np.isfinite(res.p_between):
            txt += f"; test for subgroup difference p = {res.p_between:.2f}"
        ov = res.overall
        txt += (f". Overall {pct(ov.estimate)} {ci(ov.ci_low, ov.ci_high)} with I² = {ov.i2:.0f}%"
                + (f" and a 95% prediction interval of {ci(ov.pi_low, ov.pi_high)}" if np.isfinite(ov.pi_low) else "")
                + ".")
        small = [g for g, r in res.subgroups.items() if r.k < 3]
        if small:
            txt += f" Subgroups with fewer than three studies ({', '.join(small)}) give imprecise pooled values."
        return f"<p class='cp-prose cp-interpret'>{esc(txt)}</p>"

    def _sensitivity(self, key: str, t: pd.DataFrame) -> str:
        rows = []

        def add(analysis, frame, method):
            if len(frame) < 2:
                rows.append({"Analysis": analysis, "k": len(frame), "Pooled % (95% CI)": "fewer than 2 studies",
                             "I²": MISSING_TEXT, "τ²": MISSING_TEXT})
                return
            res = subgroup_analysis(frame["events"], frame["total"], ["all"] * len(frame),
                                    labels=list(frame["label"]), method=method)
            self._record(key, "overall", res, analysis, method)
            r = res.overall
            rows.append({"Analysis": analysis, "k": r.k,
                         "Pooled % (95% CI)": f"{pct(r.estimate)} {ci(r.ci_low, r.ci_high)}",
                         "I²": f"{r.i2:.0f}%", "τ²": f"{r.tau2:.4f}"})

        add("Primary: GLMM, BCMA-directed patients", t, PRIMARY_METHOD)
        add("Inverse-variance logit (REML τ²)", t, SENSITIVITY_METHOD)
        add("Freeman-Tukey double arcsine (REML τ²)", t, "ft")
        allp = self._available(self.all_patients, key)
        if any(mixed_targets(self.by_id[s]) for s in allp["study_id"]):
            add("All patients, including non-BCMA targets (GLMM)", allp, PRIMARY_METHOD)
        if key.startswith("crs"):
            astct = t[t["crs_grading"] == "ASTCT"]
            add("ASTCT-graded studies only (GLMM)", astct, PRIMARY_METHOD)
        rr = t[t["setting"] == "Relapsed/refractory"]
        if 0 < len(rr) < len(t):
            add("Relapsed/refractory cohorts only (GLMM)", rr, PRIMARY_METHOD)
        out = table(pd.DataFrame(rows), caption="Sensitivity analyses", numeric={"k", "Pooled % (95% CI)", "I²", "τ²"})
        loo_method = PRIMARY_METHOD if len(t) <= LOO_GLMM_MAX_K else SENSITIVITY_METHOD
        loo = leave_one_out(t["events"], t["total"], labels=list(t["label"]), method=loo_method)
        lrows = pd.DataFrame({"Study left out": loo["omitted"], "k": loo["k"],
                              "Pooled % (95% CI)": [f"{pct(e)} {ci(lo, hi)}" for e, lo, hi in
                                                    zip(loo["estimate"], loo["ci_low"], loo["ci_high"], strict=True)],
                              "I²": [f"{v:.0f}%" for v in loo["i2"]]})
        self._save(loo.assign(outcome=key), f"leave-one-out-{key}")
        cap = ("Leave-one-out (GLMM)" if loo_method == PRIMARY_METHOD else
               f"Leave-one-out (inverse-variance logit: with more than {LOO_GLMM_MAX_K} studies, k GLMM refits "
               "would dominate the build)")
        return out + table(lrows, caption=cap, numeric={"k", "Pooled % (95% CI)", "I²"})

    def comparability(self) -> Fragment:
        items = [
            "Pooled only within an outcome defined the same way: grade ≥3 adverse events measured at a later "
            "timepoint (for example 'persisting at 1 month') are not pooled with 'ever grade ≥3'.",
            "Subgroups by disease (PCL vs MM) and a second view by setting (frontline vs relapsed/refractory); "
            "an overall estimate that mixes settings is flagged.",
            "CRS grading scales are listed per study (ASTCT vs Lee 2014); CRS outcomes have a sensitivity analysis "
            "restricted to ASTCT-graded studies.",
            "Cohorts mixing CAR targets enter the primary analysis with their BCMA-directed patients only, taken from "
            "the per-patient table; the all-patients version is a sensitivity analysis.",
            "Counts a paper prints only as a percentage are used when exactly one whole number of the stated N "
            "gives that percentage, and are labelled as derived; otherwise the study is left out of that outcome.",
            "Primary model: GLMM (random-intercept logistic regression), as in R meta's metaprop; inverse-variance "
            "logit and Freeman-Tukey as sensitivity analyses; leave-one-out for every outcome.",
        ]
        rows = []
        for sd in self.studies:
            s = sd.study
            rows.append({"Study": s.label, "CRS scale": getattr(s.crs_grading, "value", "not reported"),
                         "ICANS scale": getattr(s.icans_grading, "value", "not reported"),
                         "CTCAE": getattr(s.ctcae_version, "value", "not reported"),
                         "Targets": ", ".join(s.targets.value),
                         "Mixed targets": "yes" if mixed_targets(sd) else "no"})
        return Fragment("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"
                        + table(pd.DataFrame(rows), caption="Grading scales and targets by study"))

    # --- 3. survival ----------------------------------------------------------------------------

    def survival(self) -> Fragment:
        parts = []
        pts = []
        for sd in self.studies:
            main = sd.study.patients.population if sd.study.patients else next(iter(sd.study.populations))
            fu = [r for r in sd.results if r.endpoint == "follow_up" and r.statistic == "median"]
            fu_txt = f"FU {fu[0].value} {fu[0].unit}" if fu else "FU n/r"
            km = [p for p in km_survival(sd) if p.kind == "median"]
            meds = [p for p in reported_survival(sd) if p.kind == "median"]
            rep = [p for p in meds if p.population == main] or [
                p for p in meds if p.population == meds[0].population] if meds else []
            for p in (km or rep):
                pts.append((sd.study.label, p, fu_txt))
        for ep, name in (("pfs", "Progression-free survival"), ("os", "Overall survival")):
            items = [(f"{lab} ({'KM' if p.source != 'reported' else 'reported'}; {fu})", p.value, p.ci_low,
                      p.ci_high, p.high_not_reached) for lab, p, fu in pts if p.endpoint == ep]
            if not items:
                parts.append(missing(f"{name}: no study reports a median."))
                continue
            fig = medians_plot(items, title=f"Median {name.lower()} by study")
            desc = "; ".join(f"{i[0]}: {'not reached' if i[1] is None else f'{i[1]:.1f} months'}" for i in items)
            parts.append(self._fig(fig, f"medians-{ep}", alt=f"Median {name.lower()} with 95% CIs by study: {desc}",
                                   caption=f"Median {name.lower()} (months) with 95% CI; an open arrow marks a limit "
                                           "(or a median) not reached. KM = recomputed from the per-patient table. "
                                           "Median follow-up (FU) beside each study."))
        parts.append(self._landmarks())
        parts.append(self._overlay())
        return Fragment("".join(parts))

    def _landmarks(self) -> str:
        rows, out = [], []
        points = {sd.study.id: km_survival(sd) + reported_survival(sd) for sd in self.studies}
        for ep in ("pfs", "os"):
            for t in (12.0, 24.0):
                items = []
                for sd in self.studies:
                    cands = [p for p in points[sd.study.id]
                             if p.endpoint == ep and p.kind == "landmark" and abs(p.time_months - t) < 0.01
                             and p.value is not None and p.ci_low is not None and p.ci_high is not None]
                    if cands:
                        items.append((sd.study.label, cands[0]))
                label = f"{ep.upper()} at {t / 12:g} year{'s' if t > 12 else ''}"
                if len(items) < 2:
                    rows.append({"Landmark": label, "k": len(items), "Studies": ", ".join(i[0] for i in items) or "none",
                                 "Pooled (95% CI)": "fewer than 2 studies report it"})
                    continue
                s = [p.value for _, p in items]
                if any(v <= 0 or v >= 1 for v in s):
                    rows.append({"Landmark": label, "k": len(items), "Studies": ", ".join(i[0] for i in items),
                                 "Pooled (95% CI)": "not poolable on log(−log): a rate of 0% or 100%"})
                    continue
                r = pool_landmark(s, [p.ci_low for _, p in items], [p.ci_high for _, p in items],
                                  labels=[i[0] for i in items])
                per = "; ".join(f"{lab} {pct(p.value)} {ci(p.ci_low, p.ci_high)}" for lab, p in items)
                rows.append({"Landmark": label, "k": r.k, "Studies": per,
                             "Pooled (95% CI)": f"{pct(r.estimate)} {ci(r.ci_low, r.ci_high)}; I² {r.i2:.0f}%"})
                self.results.append({"outcome": f"{ep}_{int(t)}m", "view": "overall", "subgroup": "all",
                                     "analysis": "landmark, log(-log) scale", "method": "inverse variance REML",
                                     "k": r.k, "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                                     "pi_low": r.pi_low, "pi_high": r.pi_high, "tau2": r.tau2, "i2": r.i2,
                                     "q": r.q, "p": r.q_p, "studies": ";".join(i[0] for i in items)})
        df = pd.DataFrame(rows)
        out.append(table(df, caption="Landmark survival pooled on the log(−log S) scale (random effects, REML); "
                                     "each study's SE from its 95% CI", numeric={"k"}))
        return "".join(out)

    def _overlay(self) -> str:
        import matplotlib.pyplot as plt

        from ..plots.style import LINESTYLES, SERIES

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        described = []
        for ax, ep, name in ((axes[0], "pfs", "PFS"), (axes[1], "os", "OS")):
            for i, sd in enumerate(self.studies):
                c = SERIES[i % len(SERIES)]
                km = km_curves(sd).get((ep, "all"))
                if km is not None:
                    tt = np.concatenate([[0.0], km.table["time"].to_numpy(float)])
                    ss = np.concatenate([[1.0], km.table["survival"].to_numpy(float)])
                    ax.step(tt, ss, where="post", color=c, linewidth=1.8, label=f"{sd.study.label} (KM)")
                    described.append(f"{sd.study.label} {name} Kaplan-Meier")
                    continue
                main = next(iter(sd.study.populations))
                pts = [p for p in reported_survival(sd) if p.endpoint == ep and p.population == main
                       and p.value is not None]
                ms = [(p.time_months, p.value, p.label) for p in pts if p.kind == "landmark"]
                ms += [(p.value, 0.5, "median") for p in pts if p.kind == "median"]
                curve = approximate_curve(ms, horizon=max([m[0] for m in ms], default=0) * 1.1) if ms else None
                if curve is not None:
                    ax.plot(curve.times, curve.survival, color=c, linestyle=LINESTYLES[1 + i % 3], linewidth=1.4,
                            label=f"{sd.study.label} (approximate)")
                    ax.plot([p[0] for p in curve.points], [p[1] for p in curve.points], "o", color=c, markersize=4)
                    described.append(f"{sd.study.label} {name} approximate through {len(curve.points)} milestones")
            ax.set_title(name, loc="left")
            ax.set_xlabel("Months since CAR-T infusion")
            ax.set_ylim(0, 1.03)
            ax.grid(axis="y", color="#e5e5e5")
            ax.legend(fontsize=7.5)
        axes[0].set_ylabel("Probability")
        return (note("Solid steps: Kaplan-Meier curves from per-patient tables. Dashed or dotted lines: approximate "
                     "piecewise-exponential curves through each study's reported medians and landmark rates (dots) "
                     "— not patient data.", approx=True)
                + self._fig(fig, "survival-overlay", alt="Survival curves overlaid: " + "; ".join(described),
                            caption="Kaplan-Meier curves (solid) and approximate curves through reported milestones "
                                    "(dashed, not patient data)."))

    # --- 4. audit summary --------------------------------------------------------------------

    def audit_summary(self) -> Fragment:
        frames = [audit_mod.audit_frame(audit_mod.audit_study(sd)) for sd in self.studies]
        df = pd.concat(frames, ignore_index=True) if frames else audit_mod.audit_frame([])
        if self.out is not None:
            save_table(df, self.out / "tables" / "audit.csv")
        if df.empty:
            return Fragment(missing("No reported number could be checked."))
        summ = audit_mod.summary(df)
        labels = {sd.study.id: sd.study.label for sd in self.studies}
        summ.insert(1, "Study", [f'<a href="{esc(i)}.html#Checks-against-the-paper">{esc(labels[i])}</a>'
                                 for i in summ["study_id"]])
        show = summ.drop(columns=["study_id"])
        return Fragment(table(show, caption="Reported numbers checked per study (details in each study report)",
                              numeric=set(show.columns) - {"Study"}, html_cols={"Study"}))

    # --- 5. machine-readable results -----------------------------------------------------------

    def analyse_all(self) -> pd.DataFrame:
        """Every pooled estimate the report shows, without drawing: the analysis alone."""
        for o in OUTCOMES:
            self.outcome(o.key)
        self._landmarks()
        return pd.DataFrame(self.results, columns=RESULT_COLUMNS)

    def results_table(self) -> Fragment:
        df = pd.DataFrame(self.results, columns=RESULT_COLUMNS)
        self._save(df, "estimates")
        for key in df["outcome"].unique():
            self._save(df[df["outcome"] == key], f"estimates-{key}")
        return Fragment(f"<p class='cp-prose'>Every pooled estimate on this page ({len(df)} rows) is in "
                        "<code>tables/pooled-estimates.csv</code>, one CSV per outcome beside it, with columns "
                        f"{esc(', '.join(RESULT_COLUMNS))}.</p>")

    def methods(self) -> Fragment:
        n = len(self.studies)
        return Fragment(
            f"<p class='cp-prose'>{n} studies. Proportions pooled with a random-intercept logistic regression "
            "(GLMM, maximum likelihood, adaptive Gauss-Hermite quadrature with 7 nodes), as R meta's metaprop does by "
            "default; inverse-variance logit (0.5 added only to studies with 0 or all events) and Freeman-Tukey "
            "double arcsine (Miller's back-transformation at the harmonic mean n) as sensitivity analyses. "
            "Heterogeneity: I² from τ² and the typical within-study variance, Cochran's Q. Prediction "
            "intervals: μ ± z·√(SE² + τ²) (metafor). Test for subgroup differences: Q-between of the subgroup "
            "estimates on the logit scale. Every method is tested against published outputs of R's metafor, "
            "meta and survival (see the repository's tests).</p>")


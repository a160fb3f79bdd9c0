"""The pooled report: renders a `cartpool.analysis.pooled.PooledAnalysis`.

Each method returns a `Fragment` for one notebook cell: HTML from a Jinja2 template, figures from
`cartpool.plots`, and CSVs written straight from the analysis frames (`pooled-estimates.csv`,
`pooled-inputs.csv`, ...). Nothing here computes an estimate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..analysis import audit as audit_mod
from ..analysis import pooled as P
from ..analysis.appraisal import OVERALL_RISK, Appraisal
from ..analysis.pooling import BAYES_PRIORS, METHOD_LABELS, PRIMARY_METHOD
from ..data.appraisal import QUESTIONS as RISK_OF_BIAS_QUESTIONS
from ..data.appraisal import RULE as RISK_OF_BIAS_RULE
from ..data.appraisal import TOOL as RISK_OF_BIAS_TOOL
from ..domain import certainty as G
from ..domain import counts as C
from ..domain import registry
from ..domain import survival as srules
from ..plots.forest import ForestGroup, ForestRow, forest_plot, forest_rows, medians_plot
from ..plots.risk_of_bias import traffic_light
from . import format as fmt
from . import labels
from .render import Figures, Fragment, Table, cell, render, write_csv

GROUP_NOTES = {P.PRIMARY: "", P.CONTEXT: "context"}


def _certainty_mark(rating: str) -> Markup:
    """GRADE's certainty symbols (⊕⊕◯◯) with the rating in words."""
    if not rating:
        return Markup("")
    n = G.LEVELS.index(rating) + 1
    return Markup('<span class="cp-grade" aria-hidden="true">{}</span> {}').format("⊕" * n + "◯" * (4 - n),
                                                                                    labels.sentence_case(rating))


#: A cell whose statistic does not apply to the row (one study, two studies, no model).
NOT_APPLICABLE = "n/a"


def _f(x):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else x


class PooledPage:
    """Renders the pooled analysis.

    Parameters
    ----------
    analysis : PooledAnalysis
    output_dir : path, optional
        Where figures (``figures/pooled/``) and tables (``tables/pooled-*.csv``) are written.
    """

    def __init__(self, analysis: P.PooledAnalysis, output_dir: Path | str | None = None):
        self.a = analysis
        self.out = Path(output_dir) if output_dir else None
        self.figures = Figures(self.out / "figures" / "pooled" if self.out else None)
        self.appraisal = Appraisal(analysis)

    @classmethod
    def load(cls, *, data_dir="data/studies", output_dir=None) -> PooledPage:
        return cls(P.PooledAnalysis.load(data_dir), output_dir)

    def _csv(self, df: pd.DataFrame, name: str) -> None:
        write_csv(df, self.out / "tables" / f"{name}.csv" if self.out else None)

    # --- scope and summary of findings ----------------------------------------------------------

    def scope(self) -> Fragment:
        """The question, which studies are included and how they were chosen, what kind of document
        each is, and the relevant studies known but not included."""
        st = self.a.studies
        kinds = st.groupby("document_type")["study"].apply(list)
        documents = [f"{labels.sentence_case(labels.document_type(k).split(' (')[0])}: {', '.join(v)}"
                     for k, v in kinds.items()]
        groups = st.groupby("group", sort=False)["study"].apply(list)
        order = sorted(groups.index, key=P._group_key)
        return render("pooled_scope.html.j2", n=len(st), groups=[(g, groups[g]) for g in order],
                      documents=documents, excluded=self._known_not_included(),
                      excluded_short=self._known_short(),
                      excluded_reasons=list(dict.fromkeys(self.a.known_studies["reason"])))

    def _known_short(self) -> list[str]:
        """The known studies by first author and year, grouped by relevance, for print."""
        known = self.a.known_studies
        out = []
        for rel, label in (("pcl", "in PCL"), ("mm_context", "in multiple myeloma")):
            names = list(known.loc[known["relevance"] == rel, "short"])
            if names:
                out.append(f"{len(names)} {label} ({', '.join(names)})")
        return out

    def _known_not_included(self) -> Table | None:
        known = self.a.known_studies
        self._csv(known, "known-not-included")
        if known.empty:
            return None
        relevance = {"pcl": "Plasma cell leukemia", "mm_context": "Multiple myeloma (context)"}
        rows = [[r.citation, relevance[r.relevance], labels.sentence_case(r.reason), r.known_from,
                 r.note] for r in known.itertuples()]
        return Table(f"Relevant studies known but not included ({len(rows)})",
                     ["Study", "Relevant to", "Why not included", "Cited by", "Note"], rows, compact=True)

    # --- risk of bias ---------------------------------------------------------------------------

    def risk_of_bias(self) -> Fragment:
        """Each study's risk of bias (JBI checklist for case series): the traffic-light figure and a
        table of the overall judgements with what drives them."""
        rob = self.appraisal.risk_of_bias
        self._csv(rob, "risk-of-bias")
        appraised = rob[rob["question"] != ""]
        figure = None
        if not appraised.empty:
            counts = appraised.groupby("study", sort=False)["judgement"].value_counts().unstack(fill_value=0)
            alt = "; ".join(f"{s}: {OVERALL_RISK[o]} ({int(counts.loc[s].get('yes', 0))} of 10 answered yes)"
                            for s, o in appraised.groupby("study", sort=False)["overall"].first().items())
            figure = self.figures.embed(
                traffic_light(rob, title="Risk of bias of each study (JBI checklist for case series)"),
                name="risk-of-bias", alt=f"Risk of bias by study and checklist question. {alt}",
                caption="Risk of bias of each study, question by question, and overall. An abstract or summary "
                        "that does not report something is answered 'unclear', never guessed.")
        rows = []
        for sid, sub in rob.groupby("study_id", sort=False):
            study = sub["study"].iloc[0]
            link = Markup('<a href="{}.html#risk-of-bias">{}</a>').format(sid, study)
            if sub["question"].iloc[0] == "":
                rows.append([link, "Not appraised", "", ""])
                continue
            not_yes = sub[sub["judgement"].isin(["no", "unclear"])]
            rows.append([link, OVERALL_RISK[sub["overall"].iloc[0]].capitalize(),
                         f"{int((sub['judgement'] == 'yes').sum())} of {int((sub['judgement'] != 'not_applicable').sum())}",
                         "; ".join(f"{r.item.lower()} ({r.judgement})" for r in not_yes.itertuples()) or "none"])
        table = Table("Risk of bias: overall judgement of each study", ["Study", "Overall", "Answered yes",
                                                                        "Not met or not reported"], rows,
                      numeric={"Answered yes"}, compact=True)
        return render("pooled_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, rule=RISK_OF_BIAS_RULE,
                      figure=figure, table=table, questions=list(RISK_OF_BIAS_QUESTIONS.values()))

    def summary_of_findings(self) -> Fragment:
        """The summary-of-findings table: each key outcome in each primary population, with its
        GRADE certainty and the reasons (`cartpool.analysis.appraisal`)."""
        sof = self.appraisal.summary
        self._csv(sof, "summary-of-findings")
        rows, classes, previous = [], [], None
        for r in sof.itertuples():
            if r.k == 0:
                est = "Not reported"
            elif r.events is not None and r.events == r.events:
                est = f"{self._bounded(r)}{fmt.pct_ci(r.estimate, r.ci_low, r.ci_high)}"
                est += f" ({int(r.events)}/{int(r.patients)})" if r.k == 1 else ""
            else:
                est = fmt.pct_ci(r.estimate, _f(r.ci_low), _f(r.ci_high))
            how = "" if r.k == 0 else labels.sentence_case(r.note) if r.note else ""
            rows.append(["" if r.outcome_label == previous else r.outcome_label, r.population,
                         "—" if r.k == 0 else f"{r.k} ({r.patients})",
                         est + (f"; {how.lower()}" if how and how.lower() != "single study" else ""),
                         _certainty_mark(r.certainty), labels.sentence_case(r.reasons_short) if r.k else ""])
            previous = r.outcome_label
            classes.append(f"cp-certainty-{r.certainty.replace(' ', '-')}" if r.certainty else "")
        table = Table("Summary of findings: CAR-T cell therapy in plasma cell leukemia, by setting",
                      ["Outcome", "Population", "Studies (patients)", "Estimate (95% CI)", "Certainty",
                       "Rated down for"], rows, numeric={"Studies (patients)"}, row_classes=classes, compact=True)
        counts = sof[sof["certainty"] != ""]["certainty"].value_counts()
        return render("pooled_sof.html.j2", table=table, counts=[(c, int(counts.get(c, 0))) for c in
                                                                 reversed(G.LEVELS) if counts.get(c, 0)])

    @staticmethod
    def _bounded(r) -> str:
        return "at least " if r.bound else ""

    def limits(self) -> Fragment:
        """What this evidence cannot support, in plain words."""
        st = self.a.studies
        return render("pooled_limits.html.j2", k=len(st), max_k=int(st.groupby("group").size().max()),
                      small=int((st["n"].fillna(0) < 20).sum()),
                      abstracts=list(st.loc[st["document_type"] != "full_article", "study"]))

    # --- studies -------------------------------------------------------------------------------

    def studies(self) -> Fragment:
        st = self.a.studies
        self._csv(st, "pooled-studies")
        rows = []
        for r in st.itertuples():
            rows.append([Markup('<a href="{}.html">{}</a>').format(r.study_id, r.study), r.design, r.setting,
                         r.disease, r.targets, cell(None if pd.isna(r.n) else int(r.n)),
                         r.follow_up or "not reported", r.crs_grading,
                         labels.sentence_case(labels.document_type(r.document_type).split(" (")[0])])
        t = Table("Studies included", ["Study", "Design", "Setting", "Disease", "Target(s)", "N", "Median follow-up",
                                       "CRS scale", "Source"], rows, numeric={"N"},
                  row_ids=[f"study-{i}" for i in st["study_id"]], compact=True)
        return render("pooled_studies.html.j2", table=t)

    # --- outcomes ------------------------------------------------------------------------------

    def outcomes(self, section: str | None = None) -> Fragment:
        """Every pooled outcome of the registry (optionally one section), each with its forest plot,
        its estimates by group, and what differs between studies."""
        self._write_estimates()
        specs = [o for o in registry.OUTCOMES if o.pooled and (section is None or o.section == section)]
        pooled = [o for o in specs if any(r.k > 1 for r in self.a.outcome(o.key).groups.values())]
        single = [o for o in specs if o not in pooled]
        parts = [self.outcome(o.key) for o in pooled]
        if single:
            parts.append(self._single_study_figure(single, section))
            parts += [self.outcome(o.key, draw=False) for o in single]
        return Fragment(Markup("").join(parts))

    def _single_study_figure(self, specs: list[registry.OutcomeSpec], section: str | None) -> Fragment:
        """One forest plot for the outcomes that no group pools (each group has one study): each
        study's proportion with its exact CI, grouped by outcome, instead of one plot each."""
        rows, described = [], []
        for o in specs:
            res = self.a.outcome(o.key)
            if res.inputs.empty:
                continue
            rows.append(ForestRow("header", o.label, bold=True))
            for g, r in res.groups.items():
                for s in r.studies.itertuples():
                    where = g.replace("Relapsed/refractory", "R/R")
                    rows.append(ForestRow("study", f"{s.study}, {where}", int(s.events), int(s.total),
                                          s.proportion, s.ci_low, s.ci_high))
                    described.append(f"{o.label}, {s.study}: {fmt.count(s.events, s.total)}")
        if not rows:
            return Fragment(Markup(""))
        what = f"{section} outcomes" if section else "Outcomes"
        fig = forest_plot(rows, title=f"{labels.sentence_case(what)} that no group pools: one study per group",
                          method_line="Study CIs Clopper-Pearson; one study per group: not pooled.")
        figure = self.figures.embed(
            fig, name=f"forest-single-{section or 'all'}", alt="Forest plot: " + "; ".join(described),
            caption=f"{labels.sentence_case(what)} for which every group of studies has one study: each study's "
                    "proportion with its exact 95% CI, by outcome; multiple myeloma (MM) studies are context. "
                    "With one study in a group nothing is pooled; "
                    "the outcomes are drawn together here and described one by one below.")
        return render("pooled_single_figure.html.j2", figure=figure)

    def _write_estimates(self) -> None:
        if getattr(self, "_written", False):
            return
        est, inputs = self.a.estimates, self.a.inputs
        self._csv(est, "pooled-estimates")
        self._csv(inputs, "pooled-inputs")
        for key in est["outcome"].unique():
            self._csv(est[est["outcome"] == key], f"pooled-estimates-{key}")
        loo = self.a.leave_one_out
        if not loo.empty:
            self._csv(loo, "pooled-leave-one-out")
        self._written = True

    def outcome(self, key: str, *, draw: bool = True) -> Fragment:
        spec = registry.outcome(key)
        res = self.a.outcome(key)
        t = res.inputs
        anchor = f"outcome-{key}"
        if t.empty:
            return render("pooled_outcome.html.j2", spec=spec, anchor=anchor, figure=None, table=None, notes=[],
                          missing="No study reports it.", interpretation="", sensitivity=None)
        missing = (f"Not available from: {', '.join(res.missing)} (not reported, or not derivable from what is "
                   "printed)." if res.missing else "Available from every study.")
        notes = self._notes(spec, t)
        groups = [ForestGroup(g, r, GROUP_NOTES[res.roles[g]]) for g, r in res.groups.items()]
        test_text = ""
        if res.test.tested:
            test_text = (f"Test for subgroup differences (PCL groups): χ² = {res.test.q:.2f}, df = {res.test.df} "
                         f"({fmt.p_value(res.test.p)})")
        elif len([g for g in res.roles.values() if g == P.PRIMARY]) > 1:
            test_text = f"Test for subgroup differences (PCL groups): {res.test.note}"
        primary = next((r for g, r in res.groups.items() if res.roles[g] == P.PRIMARY and r.k > 1), None)
        if not draw:
            return render("pooled_outcome.html.j2", spec=spec, anchor=anchor, figure=None, table=self._group_table(spec, res),
                          notes=notes, missing=missing, interpretation=self._interpretation(spec, res), sensitivity=None)
        fig = forest_plot(forest_rows(groups, test_text=test_text), title=f"{spec.label}",
                          method_line=self._method_line(res), reference=primary.estimate if primary else None)
        alt = "; ".join(f"{g}: {self._estimate_text(r)}" for g, r in res.groups.items())
        figure = self.figures.embed(
            fig, name=f"forest-{key}",
            alt=f"Forest plot of {labels.lower_first(spec.label)} by disease and setting: {alt}",
            caption=f"{spec.label}: each study's proportion with its exact 95% CI (squares sized by weight within "
                    "the group), the pooled estimate of each group with two or more studies (diamond) and its "
                    "prediction interval where estimable (bar). Plasma cell leukemia groups answer the question; "
                    "multiple myeloma groups are context. The dashed line marks the pooled estimate of "
                    "relapsed/refractory PCL." if primary else
                    f"{spec.label}: each study's proportion with its exact 95% CI; groups with one study are not "
                    "pooled.")
        return render("pooled_outcome.html.j2", spec=spec, anchor=anchor, figure=figure,
                      table=self._group_table(spec, res), notes=notes, missing=missing,
                      interpretation=self._interpretation(spec, res), sensitivity=None)

    def _group_table(self, spec: registry.OutcomeSpec, res) -> Table:
        rows = []
        for g, r in res.groups.items():
            rows.append([g + (" (context)" if res.roles[g] == P.CONTEXT else ""), str(r.k), fmt.count(r.events, r.total),
                         self._estimate_text(r), *self._few_study_cells(r),
                         fmt.ci(r.pi_low, r.pi_high) if _f(r.pi_low) is not None else NOT_APPLICABLE,
                         labels.sentence_case(r.note) if r.note else ""])
        return Table(f"{spec.label}: estimates by group", ["Group", "Studies", "Events/patients",
                                                           "Estimate (95% CI)", "Small-sample 95% CI",
                                                           "Bayesian (95% CrI)", "95% prediction interval", "Note"],
                     rows, numeric={"Studies", "Events/patients", "Estimate (95% CI)", "Small-sample 95% CI",
                                    "Bayesian (95% CrI)", "95% prediction interval"}, compact=True)

    @staticmethod
    def _estimate_text(r) -> str:
        if r.rule == "not estimable":
            return "not estimable"
        return fmt.pct_ci(r.estimate, r.ci_low, r.ci_high)

    @staticmethod
    def _few_study_cells(r) -> list[str]:
        """The small-sample interval and the Bayesian estimate of a row (tuple or `Pooled`)."""
        small = fmt.ci(r.small_ci_low, r.small_ci_high) if _f(r.small_ci_low) is not None else NOT_APPLICABLE
        bayes = (fmt.pct_ci(r.bayes_estimate, r.bayes_low, r.bayes_high) if _f(r.bayes_estimate) is not None
                 else NOT_APPLICABLE)
        return [small, bayes]

    def _method_line(self, res) -> str:
        if any(r.rule == "random effects" for r in res.groups.values()):
            return ("Random effects: logistic-normal model (GLMM), τ² by maximum likelihood; study CIs Clopper-Pearson; "
                    "prediction interval t-based.")
        return "Study CIs Clopper-Pearson; groups with one study are shown, not pooled."

    def _notes(self, spec: registry.OutcomeSpec, t: pd.DataFrame) -> list[str]:
        notes = []
        for f in spec.comparability:
            if f in t.columns and t[f].nunique() > 1:
                what = registry.DEFINING_FACTS.get(f, labels.humanise(f).lower())
                notes.append(f"Definitions differ between studies ({what}): "
                             + "; ".join(f"{r.study}: {r[f] if isinstance(r, dict) else getattr(r, f)}"
                                         for r in t.itertuples()) + ".")
        derived = [f"{r.study} ({r.how}{': ' + r.detail if r.detail else ''})" for r in t.itertuples() if r.derived]
        if derived:
            notes.append("Counts derived rather than printed: " + "; ".join(derived) + ".")
        bounds = [f"{r.study} ({r.bound} {r.events}/{r.total})" for r in t.itertuples() if r.bound]
        if bounds:
            notes.append("Bounds, not measured counts, enter as printed: " + "; ".join(bounds) + ".")
        return notes

    def _interpretation(self, spec, res) -> str:
        """The estimate in each PCL population with its GRADE certainty; MM only as context."""
        bits, context = [], []
        for g, r in res.groups.items():
            text = (f"{fmt.count(r.events, r.total)} patients in one study, {self._estimate_text(r)}" if r.k == 1 else
                    f"{self._estimate_text(r)} from {r.k} studies and {r.total} patients"
                    + (f" ({r.note})" if r.note else "")
                    + (f"; Bayesian few-studies estimate {fmt.pct_ci(r.bayes_estimate, r.bayes_low, r.bayes_high)}"
                       if _f(r.bayes_estimate) is not None else ""))
            if res.roles[g] == P.PRIMARY:
                c = self.appraisal.certainty(spec.key, g)
                bits.append(f"in {labels.lower_first(g)}, {text}"
                            + (f"; {c['certainty']} certainty" if c is not None else ""))
            else:
                context.append(f"{labels.lower_first(g)}, {text}")
        out = f"{spec.label}: " + ("; ".join(bits) if bits else "no PCL study reports it") + "."
        if context:
            out += " For context, " + "; ".join(context) + "."
        return out

    # --- sensitivity (appendix) ----------------------------------------------------------------

    def sensitivity(self) -> Fragment:
        blocks = []
        for o in registry.OUTCOMES:
            if not o.pooled:
                continue
            res = self.a.outcome(o.key)
            rows = [[r.subgroup, r.analysis, str(int(r.k)), self._row_estimate(r), *self._few_study_cells(r),
                     cell(r.note)] for r in res.sensitivity.itertuples()]
            loo = res.leave_one_out
            loo_rows = [[r.subgroup, r.omitted, str(int(r.k)), fmt.pct_ci(r.estimate, r.ci_low, r.ci_high)]
                        for r in loo.itertuples()] if not loo.empty else []
            if not rows and not loo_rows:
                continue
            blocks.append({
                "label": o.label,
                "table": Table(f"{o.label}: sensitivity analyses", ["Group", "Analysis", "Studies", "Estimate (95% CI)",
                                                                    "Small-sample 95% CI", "Bayesian (95% CrI)",
                                                                    "Note"], rows,
                               numeric={"Studies", "Estimate (95% CI)", "Small-sample 95% CI", "Bayesian (95% CrI)"},
                               compact=True) if rows else None,
                "loo": Table(f"{o.label}: leave-one-out",
                             ["Group", "Study left out", "Studies", "Estimate (95% CI)"],
                             loo_rows, numeric={"Studies", "Estimate (95% CI)"}, compact=True) if loo_rows else None,
            })
        return render("pooled_sensitivity.html.j2", blocks=blocks)

    @staticmethod
    def _row_estimate(r) -> str:
        return fmt.pct_ci(_f(r.estimate), _f(r.ci_low), _f(r.ci_high))

    # --- survival ------------------------------------------------------------------------------

    def survival(self) -> Fragment:
        med = self.a.medians
        self._csv(med, "pooled-medians")
        figures = []
        fu = {r.study: r.follow_up for r in self.a.studies.itertuples()}
        for spec in registry.SURVIVAL:
            sub = med[med["endpoint"] == spec.endpoint]
            if sub.empty:
                continue
            sub = sub.assign(_order=sub["group"].map(P._group_key)).sort_values(["_order", "study"], kind="stable")
            items = [(f"{r.study}, {r.group.replace('Relapsed/refractory', 'R/R')} "
                      f"({'Kaplan-Meier' if r.source != srules.SOURCE_REPORTED else 'printed'}"
                      f"{'; follow-up ' + fu[r.study] if fu.get(r.study) else ''})",
                      _f(r.value), _f(r.ci_low), _f(r.ci_high), bool(r.high_not_reached)) for r in sub.itertuples()]
            desc = "; ".join(f"{i[0]}: {'not reached' if i[1] is None else f'{i[1]:.1f} months'}" for i in items)
            figures.append(self.figures.embed(
                medians_plot(items, title=f"Median {spec.label.lower()} by study"), name=f"medians-{spec.key}",
                alt=f"Median {spec.label.lower()} with 95% CIs by study: {desc}",
                caption=f"Median {spec.label.lower()} (months) with its 95% CI, by study, plasma cell leukemia "
                        "first and multiple myeloma (context) last; an open arrow marks an upper limit not reached. "
                        "Kaplan-Meier: recomputed from the per-patient table. The studies differ in population and "
                        "follow-up, and later treatment (a second CAR-T, allogeneic transplant) affects both "
                        "medians."))
        lm = self.a.landmarks
        self._csv(lm, "pooled-landmarks")
        est = self.a.estimates
        lrows = []
        for r in est[est["analysis"].str.startswith("landmark")].itertuples():
            ep, months = r.outcome.split("_")
            studies = lm[(lm["endpoint"] == ep) & (lm["months"] == float(months.rstrip("m"))) & (lm["group"] == r.subgroup)]
            per = "; ".join(f"{s.study} {fmt.pct_ci(s.value, _f(s.ci_low), _f(s.ci_high))}" for s in studies.itertuples())
            if r.rule == "random effects":
                pooled = f"{self._row_estimate(r)}; small-sample {fmt.ci(r.small_ci_low, r.small_ci_high)}"
            elif r.rule == "common effect":
                pooled = f"{self._row_estimate(r)}, {r.note}"
            else:
                pooled = labels.sentence_case(r.note)
            lrows.append([f"{ep.upper()} at {int(months.rstrip('m')) // 12} year{'s' if int(months.rstrip('m')) > 12 else ''}",
                          r.subgroup, str(int(r.k)), per, pooled])
        ltable = Table("Survival at 12 and 24 months by group, combined where two or more studies report it",
                       ["Landmark", "Group", "Studies", "Each study (95% CI)", "Pooled (95% CI)"], lrows,
                       numeric={"Studies"}, compact=True) if lrows else None
        overlay = self._overlay()
        return render("pooled_survival.html.j2", figures=figures, landmarks=ltable, overlay=overlay)

    def _overlay(self):
        import matplotlib.pyplot as plt

        from ..analysis.survival import approximate_curves, km_fits
        from ..plots.style import LINESTYLES, SERIES

        fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.4), sharey=True)
        described, any_curve = [], False
        for ax, spec in zip(axes, registry.SURVIVAL, strict=True):
            drawn = 0  # colours go to the curves drawn, in order, so that neighbours never share one
            for i, sd in enumerate(self.a.study_data):
                c = SERIES[drawn % len(SERIES)]
                km = km_fits(sd).get((spec.endpoint, "all"))
                if km is not None:
                    tt = np.concatenate([[0.0], km.table["time"].to_numpy(float)])
                    ss = np.concatenate([[1.0], km.table["survival"].to_numpy(float)])
                    ax.step(tt, ss, where="post", color=c, linewidth=1.6, label=f"{sd.study.label} (Kaplan-Meier)")
                    described.append(f"{sd.study.label} {spec.short} Kaplan-Meier")
                    any_curve = True
                    drawn += 1
                    continue
                from ..domain.population import main_population

                pts = self.a.survival_points[sd.study.id]
                curve = approximate_curves(sd, pts, main_population(sd)).get(spec.endpoint)
                if curve is not None:
                    ax.plot(curve.times, curve.survival, color=c, linestyle=LINESTYLES[1 + i % 3], linewidth=1.3,
                            label=f"{sd.study.label} (approximate)")
                    ax.plot([p[0] for p in curve.points], [p[1] for p in curve.points], "o", color=c, markersize=3.5)
                    described.append(f"{sd.study.label} {spec.short} approximate through {len(curve.points)} milestones")
                    any_curve = True
                    drawn += 1
            ax.set_title(spec.label, loc="left", fontsize=10)
            ax.set_xlabel("Months since CAR-T infusion", fontsize=8.5)
            ax.tick_params(labelsize=8)
            ax.set_ylim(0, 1.03)
            ax.grid(axis="y", color="#e5e5e5")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        axes[0].set_ylabel("Probability", fontsize=8.5)
        if not any_curve:
            plt.close(fig)
            return None
        return self.figures.embed(fig, name="survival-overlay", alt="Survival curves overlaid: " + "; ".join(described),
                                  caption="Kaplan-Meier curves from per-patient tables (solid steps) and approximate "
                                          "curves through printed milestones (dashed, not patient data; drawn only "
                                          "between at least two printed milestones and never beyond the last).")

    # --- checks --------------------------------------------------------------------------------

    def audit_summary(self) -> Fragment:
        df = self.a.audit
        self._csv(df, "audit")
        if df.empty:
            return render("pooled_audit.html.j2", table=None)
        summ = df.pivot_table(index="study_id", columns="status", values="item", aggfunc="count", fill_value=0)
        label = {sd.study.id: sd.study.label for sd in self.a.study_data}
        rows = []
        for sid, r in summ.iterrows():
            rows.append([Markup('<a href="{}.html#Checks-against-the-paper">{}</a>').format(sid, label[sid]),
                         str(int(r.sum()))] + [str(int(r.get(s, 0))) for s in audit_mod.STATUSES])
        t = Table("Printed numbers checked per study (details in each study report)",
                  ["Study", "Checked", *[labels.sentence_case(s) for s in audit_mod.STATUSES]], rows,
                  numeric={"Checked", *[labels.sentence_case(s) for s in audit_mod.STATUSES]})
        return render("pooled_audit.html.j2", table=t)

    # --- methods -------------------------------------------------------------------------------

    def methods(self) -> Fragment:
        """How the studies were pooled, in plain words (the exact methods are in the appendix)."""
        outcomes = [o for o in registry.OUTCOMES if o.pooled]
        c = self.a.counts
        mixed = c[(c["subset_kind"] == "primary") & (c["subset"] != "all patients") & c["available"]]
        subsets = []
        for study, rows in mixed.groupby("study", sort=True):
            if (rows["subset"] == C.BCMA_SUBSET).any():
                sizes = c[(c["study"] == study) & (c["subset_kind"] == "all patients") & c["available"]]["total"]
                n_all = int(sizes.max()) if len(sizes) else None
                n_bcma = int(rows[rows["subset"] == C.BCMA_SUBSET]["total"].max())
                subsets.append(f"{study}: the {n_bcma} of {n_all} patients given a BCMA-directed CAR-T"
                               if n_all else f"{study}: its BCMA-directed patients")
            else:
                subsets.append(f"{study}: all patients, as the source does not separate the targets")
        return render("pooled_methods.html.j2", n=len(self.a.study_data), outcomes=outcomes, subsets=subsets)

    def statistical_methods(self) -> Fragment:
        return render("pooled_statistical_methods.html.j2", primary=METHOD_LABELS[PRIMARY_METHOD],
                      methods=METHOD_LABELS, loo_min_k=P.LOO_MIN_K, grade=G, bayes=BAYES_PRIORS)

    def results_note(self) -> Fragment:
        return render("pooled_results_note.html.j2", n=len(self.a.estimates), columns=list(self.a.estimates.columns))

    def render_all(self) -> Fragment:
        """Every section in the notebook's order (for tests and non-notebook use)."""
        parts = [self.scope(), self.summary_of_findings(), self.studies(), self.risk_of_bias(), self.methods(), self.outcomes("efficacy"), self.outcomes("safety"), self.survival(),
                 self.audit_summary(), self.limits(), self.sensitivity(), self.statistical_methods(),
                 self.results_note()]
        return Fragment(Markup("").join(parts))

"""The pooled report: renders a `cartpool.analysis.pooled.PooledAnalysis` and its
`cartpool.analysis.appraisal.Appraisal`.

Each method returns a `Fragment` for one notebook cell: HTML from a Jinja2 template, figures from
`cartpool.plots`, and CSVs written straight from the analysis frames (`pooled-estimates.csv`,
`pooled-summary-of-findings.csv`, ...). Nothing here computes an estimate or a rating.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..analysis import audit as audit_mod
from ..analysis import pooled as P
from ..analysis.appraisal import NOT_REVIEWED, REVIEWED, STALE, Appraisal
from ..analysis.pooling import METHOD_LABELS, PRIMARY_METHOD, Rule
from ..data.appraisal import DOMAINS as ROB_DOMAINS
from ..data.appraisal import JUDGEMENT_LABELS, QUESTIONS
from ..data.appraisal import RULE as RISK_OF_BIAS_RULE
from ..data.appraisal import TOOL as RISK_OF_BIAS_TOOL
from ..data.appraisal import TOOL_REFERENCE as RISK_OF_BIAS_REFERENCE
from ..data.links import KINDS as LINK_KINDS
from ..domain import certainty as G
from ..domain import registry
from ..domain import survival as srules
from ..plots.forest import ForestGroup, ForestRow, forest_plot, forest_rows, heterogeneity_text, medians_plot
from ..plots.risk_of_bias import summary_bars, traffic_light
from . import format as fmt
from . import labels
from .render import Figures, Fragment, Table, cell, render, write_csv

GROUP_NOTES = {P.PRIMARY: "", P.CONTEXT: "context"}
TITLE = "CAR-T cell therapy in plasma cell leukemia: a synthesis of selected studies"
STATUS_WORDS = {REVIEWED: "reviewer's judgement", STALE: "proposal: the evidence changed since the reviewer's "
                "judgement, which awaits review", NOT_REVIEWED: "proposal: not yet reviewed"}
#: A cell whose statistic does not apply to the row (one study, two studies, no model).
NOT_APPLICABLE = "n/a"


def _certainty_mark(rating: str) -> Markup:
    """GRADE's certainty symbols (⊕⊕◯◯) with the rating in words."""
    if not rating:
        return Markup("")
    n = G.LEVELS.index(rating) + 1
    return Markup('<span class="cp-grade" aria-hidden="true">{}</span> {}').format("⊕" * n + "◯" * (4 - n),
                                                                                    labels.sentence_case(rating))


def _f(x):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else x


def _pct_range(lo: float, hi: float | None, digits: int = 0) -> str:
    """"64%" or, for a range, "83–100%"."""
    if hi is None or hi != hi or abs(hi - lo) < 1e-12:
        return fmt.pct(lo, digits)
    return f"{100 * lo:.{digits}f}–{fmt.pct(hi, digits)}"


def study_text(s: dict, digits: int = 0, *, with_ci: bool = False) -> str:
    """One study's result in a summary: "Hu 2026 64% (7/11)", "Guo 2026 83–100% (10–12/12)"."""
    if s.get("events") is not None:
        count = (f"{s['events']}–{s['events_high']}" if s.get("events_high") not in (None, s["events"])
                 else f"{s['events']}") + f"/{s['patients']}"
        text = f"{s['study']} {_pct_range(s['low'], s['high'], digits)}"
        if with_ci:
            text += f" {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}"
        return f"{text} ({count})"
    text = f"{s['study']} {fmt.pct(s['low'], digits)}"
    if with_ci and _f(s.get("ci_low")) is not None:
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
        point = _pct_range(s["low"], s["high"], digits)
        text = f"{point} {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}" if ci else point
        return text + (f" ({s['events']}{'–' + str(s['events_high']) if s['events_high'] not in (None, s['events']) else ''}"
                       f"/{s['patients']})" if s.get("events") is not None else "")
    point = _pct_range(r.estimate, _f(r.estimate_high), digits)
    return f"{point} {fmt.ci(r.ci_low, r.ci_high, digits=digits)}; {r.k} studies, {r.patients} patients"


def page_budget(n_studies: int, n_forest_outcomes: int, n_summary_populations: int) -> int:
    """The most pages the pooled PDF may take: 14 for its fixed sections (bottom line, What's new and
    the version history, scope, risk of bias, methods, checks, limits, appendices), 1 per study, 1 per
    outcome drawn with its own forest plot, and 4 per population of the summary of findings (its table
    and footnotes; its cumulative meta-analysis and when the answer would change). README, "What you
    get", states the same rule."""
    return 14 + n_studies + n_forest_outcomes + 4 * n_summary_populations


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
        self.figures = Figures()
        self.appraisal = Appraisal(analysis)
        self.plan = analysis.plan

    @classmethod
    def load(cls, *, data_dir="data/studies", output_dir=None) -> PooledPage:
        return cls(P.PooledAnalysis.load(data_dir), output_dir)

    def _csv(self, df: pd.DataFrame, name: str) -> None:
        # every file of the pooled report starts with "pooled-": the build owns (and cleans) them by it
        name = name if name.startswith("pooled-") else f"pooled-{name}"
        write_csv(df, self.out / "tables" / f"{name}.csv" if self.out else None)

    # --- the bottom line ------------------------------------------------------------------------

    def bottom_line_frame(self) -> pd.DataFrame:
        """One sentence per summary-of-findings outcome and PCL population, in GRADE's words
        (Santesso et al. 2020): descriptive, with the studies' range where they are not pooled."""
        rows = []
        sof = self.appraisal.summary
        for r in sof[sof["in_summary"]].itertuples():
            what = NOUNS.get(r.outcome, labels.lower_first(r.outcome_label))
            pop = labels.lower_first(r.population)
            if r.display == "none":
                sentence = f"In {pop}, no study reports {what}."
            else:
                sentence = G.statement(r.certainty, what, pop, self._finding(r))
            rows.append({"population": r.population, "outcome": r.outcome, "certainty": r.certainty,
                         "status": r.status, "sentence": sentence})
        return pd.DataFrame(rows, columns=["population", "outcome", "certainty", "status", "sentence"])

    @staticmethod
    def _finding(r) -> str:
        studies = json.loads(r.per_study) if r.per_study else []
        if r.display == "side by side":
            vals = " and ".join(_pct_range(s["low"], s["high"]) for s in studies)
            sizes = " and ".join(str(s["patients"]) for s in studies if s.get("patients"))
            return f"{vals} in {len(studies)} studies of {sizes} patients"
        if r.display == "zero":
            s = studies[0]
            return f"100% (95% CI {fmt.pct(s['ci_low'], 0)} to 100%), with no events in {s['patients']} patients"
        if r.display == "single":
            s = studies[0]
            return (f"{_pct_range(s['low'], s['high'])} (95% CI {fmt.pct(s['ci_low'], 0)} to {fmt.pct(s['ci_high'], 0)}) "
                    f"in one study of {s['patients']} patients")
        return (f"{_pct_range(r.estimate, _f(r.estimate_high))} (95% CI {fmt.pct(r.ci_low, 0)} to "
                f"{fmt.pct(r.ci_high, 0)}) across {r.k} studies of {r.patients} patients")

    def bottom_line(self) -> Fragment:
        """The findings first: one sentence per key outcome and population."""
        frame = self.bottom_line_frame()
        self._csv(frame, "pooled-bottom-line")
        groups = [(pop, list(sub["sentence"])) for pop, sub in frame.groupby("population", sort=False)]
        pending = int((self.appraisal.summary["status"].isin([STALE, NOT_REVIEWED])
                       & self.appraisal.summary["in_summary"] & (self.appraisal.summary["k"] > 0)).sum())
        return render("pooled_bottom_line.html.j2", groups=groups, pending=pending)

    # --- scope -------------------------------------------------------------------------------

    def scope(self) -> Fragment:
        """What the report is, the question, which studies are included and how they were chosen,
        what each source is, relevant studies known but not included, and links between studies."""
        st = self.a.studies
        kinds = st.groupby("document_type")["study"].apply(list)
        documents = [f"{labels.sentence_case(labels.document_type(k).split(' (')[0])}: {', '.join(v)}"
                     for k, v in kinds.items()]
        groups = st.groupby("group", sort=False)["study"].apply(list)
        order = sorted(groups.index, key=self.a.group_order)
        roles = dict(zip(st["group"], st["role"], strict=False))
        return render("pooled_scope.html.j2", plan=self.plan, n=len(st),
                      groups=[(g, groups[g], roles[g]) for g in order], documents=documents,
                      excluded=self._known_not_included(), excluded_short=self._known_short(),
                      excluded_reasons=list(dict.fromkeys(self.a.known_studies["reason"])),
                      links=self._links())

    def _links(self) -> Table | None:
        links = self.appraisal.links
        labels_by_id = {sd.study.id: sd.study.label for sd in self.a.study_data}
        frame = pd.DataFrame([{"studies": "; ".join(labels_by_id[s] for s in lk.studies),
                               "kinds": "; ".join(LINK_KINDS[k] for k in lk.kinds), "description": lk.description,
                               "patient_overlap": lk.patient_overlap} for lk in links],
                             columns=["studies", "kinds", "description", "patient_overlap"])
        self._csv(frame, "study-links")
        if frame.empty:
            return None
        return Table("Links between the included studies", ["Studies", "Link", "What the sources show",
                                                             "Patients reported twice"],
                     [[r.studies, labels.sentence_case(r.kinds), r.description, labels.sentence_case(r.patient_overlap)]
                      for r in frame.itertuples()], compact=True)

    def _known_short(self) -> list[str]:
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
        rows = [[r.citation, relevance[r.relevance], labels.sentence_case(r.reason), r.known_from, r.note]
                for r in known.itertuples()]
        return Table(f"Relevant studies known but not included ({len(rows)})",
                     ["Study", "Relevant to", "Why not included", "Cited by", "Note"], rows, compact=True)

    # --- summary of findings ------------------------------------------------------------------

    def _sof_table(self, frame: pd.DataFrame, caption: str) -> tuple[Table, list[tuple[int, str]]]:
        rows, classes, notes = [], [], []
        numbers: dict[str, int] = {}
        for r in frame.itertuples():
            marks = []
            if r.k:
                foot = json.loads(r.footnotes) if r.footnotes else {}
                for domain, text in foot.items():
                    rating = getattr(r, domain.replace(" ", "_"))
                    if rating not in (G.SERIOUS, G.VERY_SERIOUS):
                        continue  # footnotes explain the domains that rated down
                    note = f"{labels.sentence_case(domain)} ({rating}): {labels.lower_first(text)}"
                    if note not in numbers:  # one footnote for one reason, however many rows share it
                        numbers[note] = len(numbers) + 1
                        notes.append((numbers[note], note))
                    marks.append(str(numbers[note]))
            certainty = _certainty_mark(r.certainty) if r.k else Markup("")
            if r.k and r.status != REVIEWED:
                certainty += Markup('<br><small class="cp-proposal">{}</small>').format(STATUS_WORDS[r.status])
            if marks:
                certainty += Markup(" <sup>{}</sup>").format(",".join(marks))
            rows.append([Markup("{}<br><small>{}</small>").format(r.outcome_label, labels.importance(r.importance)),
                         "—" if not r.k else f"{r.k} ({r.patients})", estimate_text(r, digits=1), certainty])
            classes.append(f"cp-certainty-{r.certainty.replace(' ', '-')}" if r.certainty else "")
        return Table(caption, ["Outcome (importance)", "Studies (patients)", "Result (95% CI)", "Certainty (GRADE)"],
                     rows, numeric={"Studies (patients)"}, row_classes=classes, compact=True), notes

    def summary_of_findings(self) -> Fragment:
        """The summary of findings: for each PCL population, the most important outcomes ranked in the
        analysis plan (up to its maximum), with the certainty the page shows, its status, and the
        footnotes that explain each rating."""
        sof = self.appraisal.summary
        self._csv(sof, "summary-of-findings")
        blocks = []
        for pop, sub in sof[sof["in_summary"]].groupby("population", sort=False):
            table, notes = self._sof_table(sub, f"Summary of findings: CAR-T cell therapy in {labels.lower_first(pop)}")
            blocks.append({"table": table, "notes": notes})
        counts = sof[(sof["certainty"] != "") & sof["in_summary"]]["certainty"].value_counts()
        return render("pooled_sof.html.j2", blocks=blocks, plan=self.plan,
                      counts=[(c, int(counts.get(c, 0))) for c in reversed(G.LEVELS) if counts.get(c, 0)],
                      start=G.START)

    def summary_of_findings_appendix(self) -> Fragment:
        """The other ranked outcomes, in the same format."""
        sof = self.appraisal.summary
        blocks = []
        for pop, sub in sof[~sof["in_summary"]].groupby("population", sort=False):
            table, notes = self._sof_table(sub, f"Other outcomes: CAR-T cell therapy in {labels.lower_first(pop)}")
            blocks.append({"table": table, "notes": notes})
        return render("pooled_sof_appendix.html.j2", blocks=blocks)

    def judgements(self) -> Fragment:
        """Every GRADE rating in full: the proposal and the reviewer's judgement of each domain, with
        departures and the review status (appendix)."""
        ap = self.appraisal
        sof = ap.summary
        rows = []
        for r in sof[sof["k"] > 0].itertuples():
            block = ap.proposal_block(r.outcome, r.population_id)
            j = ap.judgements.for_pair(r.outcome, r.population_id)
            for key, d in block["domains"].items():
                recorded = j.domains[key] if j is not None else None
                rows.append([f"{r.outcome_label}, {labels.lower_first(r.population)}",
                             labels.sentence_case(key.replace("_", " ")), d["rating"],
                             recorded.rating if recorded else "—",
                             (recorded.departure or "") if recorded else ""])
        self._csv(pd.DataFrame(rows, columns=["outcome", "domain", "proposed", "recorded", "departure"]),
                  "grade-judgements")
        table = Table("GRADE domain by domain: the analysis's proposal and the reviewer's judgement",
                      ["Outcome", "Domain", "Proposed", "Reviewer", "Why the reviewer departs"], rows, compact=True)
        pb = ap.judgements.publication_bias
        waiting = ap.awaiting_review
        self._csv(waiting, "grade-review")
        return render("pooled_judgements.html.j2", table=table, pb=pb, pb_proposal=ap.publication_bias_proposal,
                      waiting=[f"{r.outcome_label}, {labels.lower_first(r.population)}: {STATUS_WORDS[r.status]}"
                               for r in waiting.itertuples()])

    # --- risk of bias ---------------------------------------------------------------------------

    def risk_of_bias(self) -> Fragment:
        """Each study's risk of bias by domain (robvis traffic lights and summary bars per population),
        with the reasons, and the numbers each study's audit could not reproduce beside it."""
        rob = self.appraisal.risk_of_bias
        self._csv(rob, "risk-of-bias")
        appraised = rob[rob["domain"] != ""]
        figures = []
        if not appraised.empty:
            figures.append(self.figures.embed(
                traffic_light(rob, ROB_DOMAINS, title="Risk of bias of each study, by domain"), name="risk-of-bias",
                alt="Risk of bias by study and domain: " + "; ".join(
                    f"{s}: overall {JUDGEMENT_LABELS[o].lower()}" for s, o in
                    appraised.groupby("study", sort=False)["overall"].first().items()),
                caption="Risk of bias of each study by domain and overall, in robvis's conventions. A study known "
                        "only from an abstract or summary gets 'no information' where it is silent."))
            sizes = dict(zip(self.a.studies["study"], self.a.studies["n"].fillna(0).astype(int), strict=True))
            groups = sorted(appraised["group"].unique(), key=self.a.group_order)
            figures.append(self.figures.embed(
                summary_bars(rob, ROB_DOMAINS, sizes, groups=groups,
                             title="Risk of bias by population: share of patients by judgement"),
                name="risk-of-bias-summary",
                alt="Summary of risk of bias by population, weighted by patients: " + "; ".join(groups),
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
                      ["Study", "Overall", "By domain", "Trustworthiness: numbers not reproduced"], rows, compact=True)
        return render("pooled_risk_of_bias.html.j2", tool=RISK_OF_BIAS_TOOL, reference=RISK_OF_BIAS_REFERENCE,
                      rule=RISK_OF_BIAS_RULE, figures=figures, table=table,
                      questions=[(ROB_DOMAINS[d], q) for d, q in QUESTIONS.items()])

    def limits(self) -> Fragment:
        """What this evidence cannot support, in plain words."""
        st = self.a.studies
        return render("pooled_limits.html.j2", k=len(st), max_k=int(st.groupby("group").size().max()),
                      small=int((st["n"].fillna(0) < 20).sum()),
                      abstracts=list(st.loc[st["document_type"] != "full_article", "study"]),
                      links=bool(self.appraisal.links))

    # --- studies -------------------------------------------------------------------------------

    def studies(self) -> Fragment:
        st = self.a.studies
        self._csv(st, "pooled-studies")
        rows = []
        for r in st.itertuples():
            sizes = "; ".join(f"{n} {k}" for k, n in (("enrolled", r.enrolled), ("infused", r.infused))
                              if n is not None and n == n) or cell(r.n)
            rows.append([Markup('<a href="{}.html">{}</a>').format(r.study_id, r.study), r.design,
                         f"{r.setting} {r.disease}" + (f" ({r.pcl_types.replace(',', ' and')})" if r.pcl_types else ""),
                         r.targets, sizes, r.follow_up or "not reported",
                         r.pcl_definition or "n/a", r.co_interventions or "none reported",
                         labels.sentence_case(labels.document_type(r.document_type).split(" (")[0])])
        t = Table("Studies included", ["Study", "Design", "Population", "Target(s)", "Patients", "Median follow-up",
                                       "PCL definition", "Given with or after CAR-T", "Source"], rows,
                  row_ids=[f"study-{i}" for i in st["study_id"]], compact=True)
        return render("pooled_studies.html.j2", table=t)

    # --- outcomes ------------------------------------------------------------------------------

    def budget(self) -> int:
        """This report's page budget (`page_budget`)."""
        forests = sum(1 for o in registry.OUTCOMES if o.pooled
                      and any(r.k > 1 for r in self.a.outcome(o.key).groups.values()))
        return page_budget(len(self.a.study_data), forests, len(set(self.appraisal.summary["population"])))

    def outcomes(self, section: str | None = None) -> Fragment:
        """Every outcome of the registry (optionally one section), each with its forest plot, its rows by
        population and by the plan's subgroups, and what differs between studies."""
        self._write_estimates()
        specs = [o for o in registry.OUTCOMES if o.pooled and (section is None or o.section == section)]
        drawn = [o for o in specs if any(r.k > 1 for r in self.a.outcome(o.key).groups.values())]
        single = [o for o in specs if o not in drawn]
        parts = [self.outcome(o.key) for o in drawn]
        if single:
            parts.append(self._single_study_figure(single, section))
            parts += [self.outcome(o.key, draw=False) for o in single]
        return Fragment(Markup("").join(parts))

    def _single_study_figure(self, specs: list[registry.OutcomeSpec], section: str | None) -> Fragment:
        """One forest plot for the outcomes where every population has one study."""
        rows, described = [], []
        for o in specs:
            res = self.a.outcome(o.key)
            if res.inputs.empty:
                continue
            rows.append(ForestRow("header", o.label, bold=True))
            for g, r in res.groups.items():
                for s in r.studies.itertuples():
                    where = g.replace("Relapsed/refractory", "R/R")
                    high = int(getattr(s, "events_high", s.events))
                    rows.append(ForestRow("study", f"{s.study}, {where}", int(s.events), int(s.total),
                                          s.proportion, s.ci_low, s.ci_high,
                                          events_high=high if high != int(s.events) else None,
                                          est_high=high / s.total if high != int(s.events) else None))
                    described.append(f"{o.label}, {s.study}: {fmt.count(s.events, s.total)}")
        if not rows:
            return Fragment(Markup(""))
        what = f"{section} outcomes" if section else "Outcomes"
        fig = forest_plot(rows, title=f"{labels.sentence_case(what)} with one study per population",
                          method_line="Study CIs Clopper-Pearson (widened over a range's two ends); one study: not "
                                      "pooled.")
        figure = self.figures.embed(
            fig, name=f"forest-single-{section or 'all'}", alt="Forest plot: " + "; ".join(described),
            caption=f"{labels.sentence_case(what)} for which every population has one study: each study's proportion "
                    "with its exact 95% CI, by outcome; multiple myeloma (MM) studies are context. A grey bar marks a "
                    "range (a bound with both of its ends).")
        return render("pooled_single_figure.html.j2", figure=figure)

    def _write_estimates(self) -> None:
        if getattr(self, "_written", False):
            return
        est, inputs = self.a.estimates, self.a.inputs
        self._csv(est, "pooled-estimates")
        self._csv(inputs, "pooled-inputs")
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
                          missing="No study reports it.", interpretation="", subgroups=None)
        missing = (f"Not available from: {', '.join(res.missing)} (not reported, or not derivable from what is "
                   "printed)." if res.missing else "Available from every study.")
        notes = self._notes(spec, t)
        groups = [ForestGroup(self._group_label(g, res), r, GROUP_NOTES[res.roles[g]]) for g, r in res.groups.items()]
        test_text = ""
        if res.test.tested:
            test_text = (f"Test for subgroup differences (PCL groups): χ² = {res.test.q:.2f}, df = {res.test.df} "
                         f"({fmt.p_value(res.test.p)})")
        elif len([g for g in res.roles.values() if g == P.PRIMARY]) > 1:
            test_text = f"Test for subgroup differences (PCL groups): {res.test.note}"
        figure = None
        if draw:
            fig = forest_plot(forest_rows(groups, test_text=test_text), title=f"{spec.label}",
                              method_line=self._method_line(res))
            alt = "; ".join(f"{g}: {self._estimate_text(r)}" for g, r in res.groups.items())
            figure = self.figures.embed(
                fig, name=f"forest-{key}",
                alt=f"Forest plot of {labels.lower_first(spec.label)} by population: {alt}",
                caption=f"{spec.label}: each study's proportion with its exact 95% CI (a grey bar marks a range), by "
                        "population; two studies are shown side by side, not pooled; three or more are pooled by the "
                        "random-effects model (diamond) with a prediction interval. Each population's size and "
                        "denominator are in the table below. Plasma cell leukemia populations answer the question; "
                        "multiple myeloma populations are context.")
        return render("pooled_outcome.html.j2", spec=spec, anchor=anchor, figure=figure,
                      table=self._group_table(spec, res), notes=notes, missing=missing,
                      interpretation=self._interpretation(spec, res), subgroups=self._subgroup_table(spec, res))

    def _group_label(self, g: str, res) -> str:
        """A population with its size and denominators: "Relapsed/refractory PCL (23 patients)"."""
        n = int(res.groups[g].total)
        return f"{g} ({n} patients)"

    def _group_table(self, spec: registry.OutcomeSpec, res) -> Table:
        rows = []
        inp = res.inputs
        for g, r in res.groups.items():
            who = "; ".join(f"{x.study}: {x.total} ({labels.lower_first(x.population)})"
                            for x in inp[inp["group"] == g].itertuples())
            note = "" if r.rule in (Rule.TWO, Rule.SINGLE) else labels.sentence_case(r.note)
            if r.range_left_out:
                note = (note + "; " if note else "") + f"Left out (a range with an uninformative end): {r.range_left_out}"
            rows.append([g + (" (context)" if res.roles[g] == P.CONTEXT else ""), who,
                         self._events_text(r), self._estimate_text(r) + (f". {note}" if note else ""),
                         self._heterogeneity_cell(r)])
        return Table(f"{spec.label}: by population, with the patients each study counts",
                     ["Population", "Patients counted", "Events/patients", "Estimate (95% CI)", "Heterogeneity"], rows,
                     numeric={"Events/patients"}, compact=True)

    def _subgroup_table(self, spec: registry.OutcomeSpec, res) -> Table | None:
        """The plan's subgroups (CAR target, PCL type) within each PCL population."""
        if not res.subgroups:
            return None
        labels_ = {g.field: g.label for g in self.plan.subgroups}
        rows = []
        for (g, field_, level), r in res.subgroups.items():
            test = res.tests.get((g, field_))
            tested = (f"; test between levels {fmt.p_value(test.p)}" if test is not None and test.tested else "")
            rows.append([f"{g}: {labels.lower_first(labels_[field_])}", level, self._events_text(r),
                         self._estimate_text(r) + tested])
        return Table(f"{spec.label}: subgroups named in the analysis plan (levels are compared only where each has "
                     "three or more studies)", ["Population and subgroup", "Level", "Events/patients",
                                                "Estimate (95% CI)"],
                     rows, numeric={"Events/patients"}, compact=True)

    @staticmethod
    def _events_text(r) -> str:
        if r.events_high is not None and r.events_high != r.events:
            return f"{r.events}–{r.events_high}/{r.total}"
        return fmt.count(r.events, r.total)

    @staticmethod
    def _estimate_text(r) -> str:
        if r.rule == Rule.NOT_ESTIMABLE:
            return "not estimable"
        if r.rule == Rule.TWO:
            st = r.studies
            highs = st["events_high"] if "events_high" in st else st["events"]
            parts = [f"{s.study} {_pct_range(e / n, h / n, 1)}" for s, e, h, n in
                     zip(st.itertuples(), st["events"], highs, st["total"], strict=True)]
            return "; ".join(parts) + "; not pooled"
        point = _pct_range(r.estimate, _f(r.estimate_high), 1)
        return f"{point} {fmt.ci(r.ci_low, r.ci_high)}"

    @staticmethod
    def _heterogeneity_cell(r) -> str:
        return heterogeneity_text(r).removeprefix("Heterogeneity: ") if r.k > 1 else NOT_APPLICABLE

    def _method_line(self, res) -> str:
        if any(r.rule == Rule.RANDOM for r in res.groups.values()):
            return ("Three or more studies: random-effects logistic-normal model (GLMM), τ² by maximum likelihood; "
                    "prediction interval t-based. Two studies: not pooled. Study CIs Clopper-Pearson.")
        return "Study CIs Clopper-Pearson. Two studies are shown side by side, not pooled; one study is shown alone."

    def _notes(self, spec: registry.OutcomeSpec, t: pd.DataFrame) -> list[str]:
        notes = []
        for f in spec.comparability:
            if f in t.columns and t[f].nunique() > 1:
                what = registry.DEFINING_FACTS.get(f, labels.humanise(f).lower())
                notes.append(f"Definitions differ between studies ({what}): "
                             + "; ".join(f"{r.study}: {getattr(r, f)}" for r in t.itertuples()) + ".")
        derived = [f"{r.study} ({labels.how(r.how, r.detail)})" for r in t.itertuples() if r.derived]
        if derived:
            notes.append("Counts derived rather than printed: " + "; ".join(derived) + ".")
        return notes

    def _interpretation(self, spec, res) -> str:
        """What each PCL population shows, with its certainty; MM only as context."""
        bits, context = [], []
        for g, r in res.groups.items():
            text = (f"{self._events_text(r)} patients in one study, {self._estimate_text(r)}" if r.k == 1 else
                    f"{self._estimate_text(r)}" if r.rule == Rule.TWO else
                    f"{self._estimate_text(r)} from {r.k} studies and {r.total} patients")
            if res.roles[g] == P.PRIMARY:
                c = self.appraisal.certainty(spec.key, g)
                bits.append(f"in {labels.lower_first(g)}, {text}" + (f"; {c['certainty']} certainty" if c is not None
                                                                     else ""))
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
            rows = [[r.subgroup, r.analysis, str(int(r.k)), self._row_estimate(r), cell(r.note)]
                    for r in res.sensitivity.itertuples()]
            loo = res.leave_one_out
            loo_rows = [[r.subgroup, r.omitted, str(int(r.k)), fmt.pct_ci(r.estimate, r.ci_low, r.ci_high)]
                        for r in loo.itertuples()] if not loo.empty else []
            if not rows and not loo_rows:
                continue
            blocks.append({
                "label": o.label,
                "table": Table(f"{o.label}: sensitivity analyses", ["Population", "Analysis", "Studies",
                                                                    "Estimate (95% CI or CrI)", "Note"], rows,
                               numeric={"Studies", "Estimate (95% CI or CrI)"}, compact=True) if rows else None,
                "loo": Table(f"{o.label}: leave-one-out", ["Population", "Study left out", "Studies",
                                                            "Estimate (95% CI)"],
                             loo_rows, numeric={"Studies", "Estimate (95% CI)"}, compact=True) if loo_rows else None,
            })
        return render("pooled_sensitivity.html.j2", blocks=blocks)

    def _row_estimate(self, r) -> str:
        if r.rule == Rule.TWO:
            inp = self.a.inputs
            sub = inp[(inp["outcome"] == r.outcome) & (inp["view"] == r.view) & (inp["subgroup"] == r.subgroup)
                      & (inp["analysis"] == r.analysis)]
            return "; ".join(f"{s.study} {_pct_range(s.events / s.total, s.events_high / s.total, 1)}"
                             for s in sub.itertuples()) + "; not pooled"
        return _pct_range(_f(r.estimate), _f(r.estimate_high), 1) + " " + fmt.ci(_f(r.ci_low), _f(r.ci_high)) \
            if _f(r.estimate) is not None else fmt.MISSING_TEXT

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
            sub = sub.assign(_order=sub["group"].map(self.a.group_order)).sort_values(["_order", "study"], kind="stable")
            items = [(f"{r.study}, {r.group.replace('Relapsed/refractory', 'R/R')} "
                      f"({'Kaplan-Meier' if r.source != srules.SOURCE_REPORTED else 'printed'}, {r.n} patients"
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
        rows = est[(est["analysis"] == P.A_LANDMARK)]
        for r in rows.itertuples():
            spec = registry.LANDMARK_BY_KEY[r.outcome]
            studies = lm[(lm["endpoint"] == spec.endpoint) & (lm["months"] == spec.months) & (lm["group"] == r.subgroup)
                         & (lm["kind"] == "all patients")]
            per = "; ".join(self._landmark_study(s) for s in studies.itertuples())
            if r.rule == Rule.RANDOM:
                pooled = f"{self._row_estimate(r)}; small-sample {fmt.ci(r.small_ci_low, r.small_ci_high)}"
            else:
                pooled = labels.sentence_case(r.note)
            lrows.append([spec.short, r.subgroup, str(int(r.k)), per, pooled])
        ltable = Table("Survival at 12 and 24 months by population: each study (all its patients), and pooled only "
                       "where three or more report it", ["Landmark", "Population", "Studies", "Each study (95% CI)",
                                                          "Pooled"], lrows, numeric={"Studies"},
                       compact=True) if lrows else None
        overlay = self._overlay()
        return render("pooled_survival.html.j2", figures=figures, landmarks=ltable, overlay=overlay)

    @staticmethod
    def _landmark_study(s) -> str:
        how = {srules.SOURCE_KM: "Kaplan-Meier", srules.SOURCE_REPORTED: "printed",
               srules.SOURCE_ZERO_EVENTS: "no events"}[s.source]
        text = f"{s.study} {fmt.pct(s.value)} {fmt.ci(_f(s.ci_low), _f(s.ci_high))} ({how}, {s.n} patients)"
        detail = P.landmark_detail(s)
        return text + (f": {detail}" if detail else "")

    def _overlay(self):
        import matplotlib.pyplot as plt

        from ..analysis.survival import approximate_curves, km_fits
        from ..domain.population import main_population
        from ..plots.style import LINESTYLES, SERIES

        fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.4), sharey=True)
        described, any_curve = [], False
        for ax, spec in zip(axes, registry.SURVIVAL, strict=True):
            drawn = 0
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
        """How the studies were synthesised, in plain words (the exact methods are in the appendix)."""
        outcomes = [o for o in registry.OUTCOMES if o.pooled]
        c = self.a.counts
        itt = sorted(set(c[(c["count_kind"] == "primary") & (c["how"].isin(["intention to treat: patients enrolled but "
                                                                             "not infused count as without the event"]))]
                         ["study"]))
        evaluable = sorted(set(c[(c["count_kind"] == "primary") & c["how"].str.startswith("range: the outcome of "
                                                                                          "patients not evaluable")]
                               ["study"]))
        return render("pooled_methods.html.j2", n=len(self.a.study_data), outcomes=outcomes, plan=self.plan,
                      itt=itt, evaluable=evaluable, subgroups=[g.label for g in self.plan.subgroups],
                      confounded=P.BCMA_ONLY_CONFOUNDED)

    def plan_history(self) -> Fragment:
        """The analysis plan in force, and every dated entry."""
        return render("pooled_plan.html.j2", plan=self.plan,
                      ranked=[(i, registry.outcome_label(o.outcome), labels.importance(o.importance),
                               ", ".join(fmt.pct(t, 0) for t in o.thresholds) or "none", o.why)
                              for i, o in enumerate(self.plan.outcomes, start=1)])

    def statistical_methods(self) -> Fragment:
        return render("pooled_statistical_methods.html.j2", primary=METHOD_LABELS[PRIMARY_METHOD],
                      methods=METHOD_LABELS, loo_min_k=P.LOO_MIN_K, grade=G, plan=self.plan,
                      prior_median=0.6745 * self.plan.bayes.tau_prior_scale)

    def results_note(self) -> Fragment:
        return render("pooled_results_note.html.j2", n=len(self.a.estimates), columns=list(self.a.estimates.columns))

    def export(self, output_dir: Path | str | None = None) -> None:
        """Write the figures drawn (the build's step after rendering)."""
        out = Path(output_dir) if output_dir else self.out
        if out is not None:
            self.figures.write(out / "figures" / "pooled")

    def render_all(self) -> Fragment:
        """Every section in the notebook's order (for tests and non-notebook use)."""
        parts = [self.bottom_line(), self.scope(), self.summary_of_findings(), self.studies(), self.risk_of_bias(),
                 self.methods(), self.outcomes("efficacy"), self.outcomes("safety"), self.survival(),
                 self.audit_summary(), self.limits(), self.summary_of_findings_appendix(), self.judgements(),
                 self.sensitivity(), self.plan_history(), self.statistical_methods(), self.results_note()]
        return Fragment(Markup("").join(parts))


#: The outcome as a noun phrase for a sentence in GRADE's words.
NOUNS = {
    "orr": "the overall response rate", "cr_or_better": "the complete response rate",
    "vgpr_or_better": "the rate of very good partial response or better", "mrd_negative": "MRD negativity",
    "crs_any": "cytokine release syndrome of any grade", "crs_ge3": "severe (grade ≥3) cytokine release syndrome",
    "icans_any": "neurotoxicity (ICANS)", "nrm": "death without relapse (non-relapse mortality)",
    "infection_any": "infections", "os_12m": "survival at 12 months", "pfs_12m": "progression-free survival at "
    "12 months", "os_24m": "survival at 24 months", "pfs_24m": "progression-free survival at 24 months",
}

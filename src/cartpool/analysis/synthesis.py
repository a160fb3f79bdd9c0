"""The synthesis: the pooled analysis with its appraisal, and the result of every section of the
pooled page, computed here (which outcomes are drawn, which curves are Kaplan-Meier, which rows are
pooled, the bottom line in GRADE's words). `cartpool.report.pooled_renderers` only formats them.

    s = Synthesis.load("data/studies")
    s.bottom_line.frame      # one sentence per key outcome and PCL population
    s.efficacy.drawn         # the efficacy outcomes with their own forest plot
"""

from __future__ import annotations

import json
from functools import cached_property

import pandas as pd

from .. import formatting as fmt
from ..data.links import KINDS as LINK_KINDS
from ..data.risk_of_bias import DOMAINS as ROB_DOMAINS
from ..data.risk_of_bias import domains_for, overall_for
from ..domain import certainty as grade
from ..domain import registry, survival_rules
from ..domain.population import main_population
from ..domain.record_counts import HOW_EVALUABLE, HOW_ITT
from ..frames import frame_rows
from ..text import lower_first, sentence_case
from . import cumulative, living, pooled_analysis, pooled_rows, triggers
from .appraisal import NOT_REVIEWED, STALE, Appraisal
from .audit import INCONSISTENT
from .cumulative import CumulativeResult
from .living import WhatsNewResult
from .pooled_results import (
    BottomLineResult,
    EstimatesResult,
    JudgementsResult,
    LimitsResult,
    MethodsResult,
    OutcomesResult,
    OutcomeView,
    PlanResult,
    PooledSurvivalResult,
    RiskOfBiasResult,
    ScopeResult,
    SensitivityResult,
    StatisticalMethodsResult,
    SummaryResult,
    SurvivalSeries,
)
from .store import ResultStore
from .study_results import FrameResult
from .survival_curves import approximate_curves
from .triggers import TriggersResult

#: The outcome as a noun phrase for a sentence in GRADE's words.
NOUNS = {
    "orr": "the overall response rate", "cr_or_better": "the complete response rate",
    "vgpr_or_better": "the rate of very good partial response or better", "mrd_negative": "MRD negativity",
    "crs_any": "cytokine release syndrome of any grade", "crs_ge3": "severe (grade ≥3) cytokine release syndrome",
    "icans_any": "neurotoxicity (ICANS)", "nrm": "death without relapse (non-relapse mortality)",
    "infection_any": "infections", "os_12m": "survival at 12 months", "pfs_12m": "progression-free survival at "
    "12 months", "os_24m": "survival at 24 months", "pfs_24m": "progression-free survival at 24 months",
}


def finding(r) -> str:
    """A summary-of-findings row's result as the middle of a GRADE sentence."""
    studies = json.loads(r.per_study) if r.per_study else []
    if r.display == "side by side":
        vals = " and ".join(fmt.pct_range(s["low"], s["high"], 0) for s in studies)
        sizes = " and ".join(str(s["patients"]) for s in studies if s.get("patients"))
        return f"{vals} in {len(studies)} studies of {sizes} patients"
    if r.display == "zero":
        s = studies[0]
        # the interval is not the binomial one of all the patients: only those known to be followed to
        # the landmark count (survival_rules.zero_event_points), and the sentence says so
        who = (f"the {s['at_risk']} known to be followed that long" if s.get("at_risk")
               else "only the patients known to be followed that long")
        return (f"100%, with no events in {s['patients']} patients (exact 95% CI {fmt.pct(s['ci_low'], 0)} to 100%, "
                f"counting {who})")
    if r.display == "single":
        s = studies[0]
        return (f"{fmt.pct_range(s['low'], s['high'], 0)} (95% CI {fmt.pct(s['ci_low'], 0)} to {fmt.pct(s['ci_high'], 0)}) "
                f"in one study of {s['patients']} patients")
    return (f"{fmt.pct_range(r.estimate, fmt.finite(r.estimate_high), 0)} (95% CI {fmt.pct(r.ci_low, 0)} to "
            f"{fmt.pct(r.ci_high, 0)}) across {r.k} studies of {r.patients} patients")


class Synthesis:
    """The pooled analysis, its appraisal, and every section result of the pooled page.

    Parameters
    ----------
    analysis : PooledAnalysis
    """

    def __init__(self, analysis: pooled_analysis.PooledAnalysis):
        self.analysis = analysis
        self.plan = analysis.plan

    @classmethod
    def load(cls, data_dir: str = "data/studies", results_dir: str | None = None) -> Synthesis:
        """The synthesis of the studies in `data_dir`; with `results_dir` (the build's result store,
        `cartpool.analysis.store`), each study's results and the pooled rows' statistics are read
        from it where kept for the same content, and kept there otherwise."""
        store = ResultStore(results_dir) if results_dir else None
        return cls(pooled_analysis.PooledAnalysis.load(data_dir, store=store))

    @property
    def min_k(self) -> int:
        """The fewest studies the plan pools by random effects (fewer are shown side by side)."""
        return self.plan.pooling.random_effects_min_k

    @cached_property
    def appraisal(self) -> Appraisal:
        """Risk of bias, the summary of findings and the GRADE ratings (`cartpool.analysis.appraisal`)."""
        return Appraisal(self.analysis)

    # --- sections, in page order --------------------------------------------------------------

    @cached_property
    def bottom_line(self) -> BottomLineResult:
        """One sentence per summary-of-findings outcome and PCL population, in GRADE's words (Santesso
        et al. 2020): descriptive, with the studies' range where they are not pooled."""
        rows = []
        sof = self.appraisal.summary
        for r in frame_rows(sof[sof["in_summary"]]):
            what = NOUNS.get(r.outcome, lower_first(r.outcome_label))
            pop = lower_first(r.population)
            sentence = (f"In {pop}, no study reports {what}." if r.display == "none"
                        else grade.statement(r.certainty, what, pop, finding(r)))
            rows.append({"population": r.population, "outcome": r.outcome, "certainty": r.certainty,
                         "status": r.status, "sentence": sentence})
        frame = pd.DataFrame(rows, columns=["population", "outcome", "certainty", "status", "sentence"])
        pending = int((sof["status"].isin([STALE, NOT_REVIEWED]) & sof["in_summary"] & (sof["k"] > 0)).sum())
        return BottomLineResult(frame, pending, self.min_k)

    @cached_property
    def whats_new(self) -> WhatsNewResult:
        """What changed since the latest release: studies, estimates that moved and whether that
        matters, judgements awaiting review, the version history (`cartpool.analysis.living`)."""
        return living.whats_new(self.analysis, self.appraisal, self.bottom_line.frame)

    @cached_property
    def scope(self) -> ScopeResult:
        a = self.analysis
        st = a.studies
        groups = st.groupby("group", sort=False)["study"].apply(list)
        roles = dict(zip(st["group"], st["role"], strict=False))
        order = sorted(groups.index, key=a.group_order)
        labels_by_id = {sd.study.id: sd.study.label for sd in a.study_data}
        links = pd.DataFrame([{"studies": "; ".join(labels_by_id[s] for s in lk.studies),
                               "kinds": "; ".join(LINK_KINDS[k] for k in lk.kinds), "description": lk.description,
                               "patient_overlap": lk.patient_overlap} for lk in self.appraisal.links],
                             columns=["studies", "kinds", "description", "patient_overlap"])
        return ScopeResult(self.plan, st, [(g, groups[g], roles[g]) for g in order], a.known_studies, links)

    @cached_property
    def summary_of_findings(self) -> SummaryResult:
        return SummaryResult(self.appraisal.summary, self.plan)

    @cached_property
    def studies(self) -> FrameResult:
        return FrameResult(self.analysis.studies, "studies")

    @cached_property
    def risk_of_bias(self) -> RiskOfBiasResult:
        a = self.analysis
        rob = self.appraisal.risk_of_bias
        appraised = rob[rob["domain"] != ""]
        sizes = dict(zip(a.studies["study"], a.studies["n"].fillna(0).astype(int), strict=True))
        audit = a.audit
        bad = audit[audit["status"] == INCONSISTENT]
        return RiskOfBiasResult(rob, sizes, sorted(appraised["group"].unique(), key=a.group_order),
                                {sid: list(sub["item"]) for sid, sub in bad.groupby("study_id", sort=False)},
                                audit.groupby("study_id").size().astype(int).to_dict())

    @cached_property
    def methods(self) -> MethodsResult:
        c = self.analysis.counts
        primary = c[c["count_kind"] == "primary"]
        itt = sorted(set(primary[primary["how"] == HOW_ITT]["study"]))
        evaluable = sorted(set(primary[primary["how"].str.startswith(HOW_EVALUABLE)]["study"]))
        return MethodsResult(len(self.analysis.study_data), [o for o in registry.OUTCOMES if o.pooled], self.plan,
                             itt, evaluable, [g.label for g in self.plan.subgroups],
                             pooled_rows.BCMA_ONLY_CONFOUNDED)

    def rob_marks(self, outcome: str) -> dict[str, tuple[str, ...]]:
        """Each appraised study's risk of bias for one outcome (robvis's traffic lights beside a forest
        plot): its judgement in each domain, outcome-specific ones included, then overall."""
        marks = {}
        for sd in self.analysis.study_data:
            if sd.appraisal is not None:
                by_domain = domains_for(sd.appraisal, outcome)
                marks[sd.study.label] = (*(by_domain[d].judgement for d in ROB_DOMAINS),
                                         overall_for(sd.appraisal, outcome))
        return marks

    def _outcomes(self, section: str) -> OutcomesResult:
        views = []
        for o in registry.OUTCOMES:
            if not o.pooled or o.section != section:
                continue
            res = self.analysis.outcome(o.key)
            certainty = {g: self.appraisal.certainty(o.key, g) for g, role in res.roles.items()
                         if role == pooled_rows.PRIMARY}
            inputs = self.analysis.inputs
            views.append(OutcomeView(o, res, certainty, self.rob_marks(o.key), inputs[inputs["outcome"] == o.key]))
        drawn = [v for v in views if any(r.k > 1 for r in v.result.groups.values())]
        return OutcomesResult(section, drawn, [v for v in views if v not in drawn],
                              {g.field: g.label for g in self.plan.subgroups}, self.min_k)

    @cached_property
    def efficacy(self) -> OutcomesResult:
        return self._outcomes("efficacy")

    @cached_property
    def safety(self) -> OutcomesResult:
        return self._outcomes("safety")

    @cached_property
    def survival(self) -> PooledSurvivalResult:
        a = self.analysis
        est = a.estimates
        series, single = [], []
        for spec in registry.SURVIVAL:
            for sd in a.study_data:
                km = a.km_fits(sd).get((spec.endpoint, "all"))
                if km is not None:
                    series.append(SurvivalSeries(sd.study.label, spec.endpoint, km=km, study_id=sd.study.id))
                    continue
                pop = main_population(sd)
                pts = a.survival_points[sd.study.id]
                printed = survival_rules.curve_milestones(pts, spec.endpoint, pop)
                points = [p for p in pts if p.endpoint == spec.endpoint and p.population == pop
                          and p.value is not None and not p.recomputed]
                if survival_rules.approximate_curve_allowed(printed):
                    series.append(SurvivalSeries(sd.study.label, spec.endpoint, points=points,
                                                 curve=approximate_curves(sd, pts, pop).get(spec.endpoint),
                                                 study_id=sd.study.id))
                else:
                    single += [(sd.study.label, spec.endpoint, p) for p in points]
        order = {sd.study.label: i for i, sd in enumerate(a.study_data)}
        single.sort(key=lambda x: order[x[0]])  # stable: each study's endpoints in registry order
        return PooledSurvivalResult(a.medians, a.landmarks, est[est["analysis"] == pooled_rows.A_LANDMARK],
                                    {r.study: r.follow_up for r in frame_rows(a.studies)}, series, single,
                                    a.group_order,
                                    self.min_k, a.inputs[a.inputs["analysis"] == pooled_rows.A_LANDMARK])

    @cached_property
    def cumulative(self) -> CumulativeResult:
        """The cumulative meta-analysis of each key outcome in each primary population, studies in
        publication order (`cartpool.analysis.cumulative`)."""
        return self._keeping_refits(cumulative.cumulative)

    @cached_property
    def update_triggers(self) -> TriggersResult:
        """When would the answer change: the new study that would change the certainty, and the rate
        that would move the estimate (`cartpool.analysis.triggers`)."""
        a = self.analysis
        if a.store is None:
            return triggers.update_triggers(a)
        # everything the triggers read: the counts, the landmark rates, the studies and their order, the plan
        inputs = (a.counts, a.landmarks, a.studies, cumulative.publication_order(a), a.plan)
        return a.store.kept("sections", "update-triggers", inputs,
                            lambda: self._keeping_refits(triggers.update_triggers))

    def _keeping_refits(self, compute):
        """`compute(analysis)`, with the rows it refits kept in the build's result store (where there is
        one) for the next build: the refits of a cumulative step or of hypothetical new studies are
        the same while the studies' counts are."""
        result = compute(self.analysis)
        if self.analysis.store is not None:
            self.analysis.store.save_rows()
        return result

    @cached_property
    def audit(self) -> FrameResult:
        return FrameResult(self.analysis.audit, "audit")

    @cached_property
    def limits(self) -> LimitsResult:
        st = self.analysis.studies
        return LimitsResult(len(st), int(st.groupby("group").size().max()), int((st["n"].fillna(0) < 20).sum()),
                            list(st.loc[st["document_type"] != "full_article", "study"]), bool(self.appraisal.links),
                            self.min_k)

    @cached_property
    def judgements(self) -> JudgementsResult:
        ap = self.appraisal
        sof = ap.summary
        rows = []
        for r in frame_rows(sof[sof["k"] > 0]):
            block = ap.proposal_block(r.outcome, r.population_id)
            j = ap.judgements.for_pair(r.outcome, r.population_id)
            for key, d in block["domains"].items():
                recorded = j.domains[key] if j is not None else None
                rows.append({"outcome": f"{r.outcome_label}, {lower_first(r.population)}",
                             "domain": sentence_case(key.replace("_", " ")),
                             "proposed": d["rating"], "recorded": recorded.rating if recorded else "—",
                             "departure": (recorded.departure or "") if recorded else ""})
        frame = pd.DataFrame(rows, columns=["outcome", "domain", "proposed", "recorded", "departure"])
        return JudgementsResult(frame, ap.awaiting_review, ap.judgements.publication_bias,
                                ap.publication_bias_proposal)

    @cached_property
    def sensitivity(self) -> SensitivityResult:
        blocks = []
        for o in registry.OUTCOMES:
            if not o.pooled:
                continue
            res = self.analysis.outcome(o.key)
            if res.sensitivity.empty and res.leave_one_out.empty:
                continue
            blocks.append((o.label, res.sensitivity, res.leave_one_out))
        return SensitivityResult(blocks, self.analysis.inputs, self.min_k)

    @cached_property
    def plan_history(self) -> PlanResult:
        return PlanResult(self.plan, [(i, registry.outcome_label(o.outcome), o.importance, o.thresholds, o.why)
                                      for i, o in enumerate(self.plan.outcomes, start=1)])

    @cached_property
    def statistical_methods(self) -> StatisticalMethodsResult:
        return StatisticalMethodsResult(self.plan, pooled_rows.LOO_MIN_K)

    @cached_property
    def results(self) -> EstimatesResult:
        a = self.analysis
        return EstimatesResult(a.estimates, a.inputs, a.leave_one_out)

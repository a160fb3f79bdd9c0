"""The appraisal of the evidence, computed once as tidy frames: each study's risk of bias by domain,
the evidence and the proposed GRADE rating of each outcome in each population, the reviewer's
recorded judgements and whether their evidence has changed, and the summary of findings.

The rules of the proposals are `cartpool.domain.certainty`; this module gathers their evidence from
the pooled analysis (the rows, their studies, definitions, treatments given with CAR-T, risk of
bias) and compares each recorded judgement's fingerprint with the evidence as it is now.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..data.grade import DOMAIN_KEYS, DOMAIN_NAMES, LEVELS_DOWN, GradeJudgements, load_judgements
from ..data.links import load_links
from ..data.risk_of_bias import overall_for, proposed_overall
from ..domain import certainty as grade
from ..domain import registry
from ..frames import frame_rows
from ..stats.proportions import proportion_ci
from ..text import lower_first
from .audit import INCONSISTENT
from .pooled_analysis import PooledAnalysis
from .pooled_rows import PRIMARY
from .pooling import NOT_ONE_ESTIMATE, Rule

#: How the studies were chosen. The source set is curated, not the result of a systematic search
#: (the plan's report_type says so); the publication-bias proposal reads it.
SYSTEMATIC_SEARCH = False

#: Which outcomes a treatment given with or after CAR-T affects (outcome keys, or a kind of outcome).
CO_INTERVENTION_AFFECTS = {
    "induction": ("efficacy", "survival"),
    "bridging": ("efficacy", "survival"),
    "consolidation": ("efficacy", "survival"),
    "maintenance": ("efficacy", "survival"),
    "transplant_after_car_t": ("efficacy", "survival", "nrm"),
    "second_car_t": ("os", "nrm"),
}

#: Review status of a (outcome, population) pair.
REVIEWED, STALE, NOT_REVIEWED = "reviewed", "evidence changed", "not reviewed"

SOF_COLUMNS = ["outcome", "outcome_label", "section", "importance", "rank", "in_summary", "population",
               "population_id", "k", "studies", "patients", "rule", "method", "display", "estimate", "estimate_high", "ci_low",
               "ci_high", "per_study", "zero_events", "certainty", "proposed", "status", "judgement_id",
               "reviewed", "footnotes", "reasons_short", "fingerprint", "recorded_fingerprint",
               *[d.replace(" ", "_") for d in grade.DOMAINS]]


def _affects(kind: str, outcome: str) -> bool:
    targets = CO_INTERVENTION_AFFECTS.get(kind, ())
    section = registry.outcome_section(outcome)
    return section in targets or any(outcome == t or outcome.startswith(t + "_") for t in targets)


def fingerprint(evidence: dict) -> str:
    """A short, stable digest of the evidence a judgement rests on (12 hex digits of SHA-256 of its
    canonical JSON)."""
    text = json.dumps(evidence, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Evidence:
    """What one outcome in one population rests on: the row, its studies, and the facts each
    domain reads."""

    outcome: str
    population: str  # the plan population's label
    population_id: str
    row: pd.Series | None
    studies: pd.DataFrame  # one row per study: study, study_id, estimate (low, high), ci, patients, rob
    facts: dict  # the canonical evidence the fingerprint covers


def _r(x, digits: int = 4):
    return None if x is None or x != x else round(float(x), digits)


class Appraisal:
    """The appraisal of the evidence, each frame computed once.

    Parameters
    ----------
    pooled : PooledAnalysis
    data_dir : path, optional
        The data folder holding ``grade_judgements.yaml`` and ``study_links.yaml`` (by default the one
        the studies were loaded from).
    """

    def __init__(self, pooled: PooledAnalysis, data_dir: Path | str | None = None):
        self.pooled = pooled
        self.plan = pooled.plan
        if data_dir is None and pooled.study_data:
            data_dir = Path(pooled.study_data[0].folder).resolve().parent.parent
        self.data_dir = Path(data_dir) if data_dir is not None else None

    # --- recorded data -----------------------------------------------------------------------

    @cached_property
    def judgements(self) -> GradeJudgements:
        return load_judgements(self.data_dir) if self.data_dir else GradeJudgements()

    @cached_property
    def links(self) -> list:
        return load_links(self.data_dir, self.pooled.study_data) if self.data_dir else []

    # --- risk of bias ------------------------------------------------------------------------

    @cached_property
    def risk_of_bias(self) -> pd.DataFrame:
        """One row per study and domain (and per outcome-specific judgement): the judgement, why,
        and what it rests on; with each study's recorded and proposed overall judgement and the
        numbers its audit could not reproduce (a trustworthiness concern, kept apart)."""
        audit = self.pooled.audit
        rows = []
        for sd in self.pooled.study_data:
            base = {"study_id": sd.study.id, "study": sd.study.label,
                    "group": self.pooled.population_of(sd).label,
                    "not_reproduced": int(((audit["study_id"] == sd.study.id) & (audit["status"] == INCONSISTENT)).sum())
                    if not audit.empty else 0}
            a = sd.appraisal
            if a is None:
                rows.append({**base, "domain": "", "outcomes": "", "judgement": "", "reason": "", "location": "",
                             "quote": "", "registry": "", "overall": "", "overall_reason": "", "proposed_overall": "",
                             "departure": ""})
                continue
            over = {"overall": a.overall.judgement, "overall_reason": a.overall.reason,
                    "proposed_overall": proposed_overall(a), "departure": a.overall.departure_reason or ""}
            for d, j in a.domains.items():
                rows.append({**base, "domain": d, "outcomes": "", "judgement": j.judgement, "reason": j.reason,
                             "location": j.location or "", "quote": j.quote or "", "registry": j.registry or "", **over})
            for oj in a.outcome_judgements:
                rows.append({**base, "domain": oj.domain, "outcomes": ", ".join(oj.outcomes), "judgement": oj.judgement,
                             "reason": oj.reason, "location": oj.location or "", "quote": oj.quote or "",
                             "registry": oj.registry or "", **over})
        return pd.DataFrame(rows)

    def rob_for(self, study_id: str, outcome: str) -> str | None:
        """A study's risk-of-bias judgement for one outcome (outcome-specific judgements included)."""
        sd = self.pooled.by_id[study_id]
        return overall_for(sd.appraisal, outcome) if sd.appraisal is not None else None

    # --- evidence ----------------------------------------------------------------------------

    def evidence(self, outcome: str, population_id: str) -> Evidence:
        """The evidence of one outcome in one plan population."""
        pop = next(p for p in self.plan.populations if p.id == population_id)
        row = self.pooled.main_row(outcome, pop.label)
        inp = self.pooled.main_inputs(outcome, pop.label)
        studies = []
        for r in frame_rows(inp):
            if r.events is not None and r.events == r.events:
                lo, hi = int(r.events) / int(r.total), int(r.events_high) / int(r.total)
                ci_lo, ci_hi = _own_interval(int(r.events), int(r.events_high), int(r.total))
            else:
                lo = hi = r.estimate
                ci_lo, ci_hi = r.ci_low, r.ci_high
            studies.append({"study": r.study, "study_id": r.study_id, "population": r.population,
                            "events": None if r.events is None or r.events != r.events else int(r.events),
                            "events_high": None if r.events_high is None or r.events_high != r.events_high
                            else int(r.events_high),
                            "patients": None if r.total is None or r.total != r.total else int(r.total),
                            "low": lo, "high": hi, "ci_low": ci_lo, "ci_high": ci_hi, "zero_events": bool(r.zero_events),
                            "at_risk": None if pd.isna(r.at_risk) else int(r.at_risk), "how": r.how, "detail": r.detail, "rob": self.rob_for(r.study_id, outcome),
                            "possibly_responders": r.possibly_responders is True, "result_ids": r.result_ids})
        frame = pd.DataFrame(studies, columns=["study", "study_id", "population", "events", "events_high", "patients",
                                               "low", "high", "ci_low", "ci_high", "zero_events", "at_risk", "how", "detail",
                                               "rob", "possibly_responders", "result_ids"])
        facts = {
            "outcome": outcome, "population": population_id,
            "rule": None if row is None else str(row["rule"]),
            "studies": [[s["study_id"], s["events"], s["events_high"], s["patients"], _r(s["low"]), _r(s["high"]),
                         _r(s["ci_low"]), _r(s["ci_high"]), s["rob"]] for s in studies],
            "pooled": None if row is None else [_r(row["estimate"]), _r(row["ci_low"]), _r(row["ci_high"])],
            "heterogeneity": None if row is None else [_r(row["het_lrt_p"], 3), _r(row["i2"], 0)],
            "indirectness": self._indirect(outcome, frame),
            "thresholds": list(self.plan.ranked(outcome).thresholds) if self.plan.ranked(outcome) else [],
        }
        return Evidence(outcome, pop.label, population_id, row, frame, facts)

    def _indirect(self, outcome: str, studies: pd.DataFrame) -> dict[str, list[str]]:
        """The indirectness concerns of one outcome's studies, by kind, in a reader's words."""
        concerns: dict[str, list[str]] = {"population": [], "co-interventions": [], "outcome definition": [],
                                          "surrogate outcome": []}
        sds = [self.pooled.by_id[s] for s in studies["study_id"]]
        pcl = [sd for sd in sds if sd.study.disease_group == "PCL"]
        if pcl:
            defs = {sd.study.label: _fact(sd, "pcl_definition") for sd in pcl}
            unknown = [s for s, v in defs.items() if v == "not reported"]
            known = sorted({v for v in defs.values() if v != "not reported"})
            if unknown:
                concerns["population"].append(f"PCL definition not stated ({', '.join(unknown)})")
            if len(known) > 1:
                concerns["population"].append(f"PCL defined differently ({', '.join(known)})")
            mixes = {sd.study.label: sorted(d for d in sd.study.disease.value if d.endswith("_pcl")) for sd in pcl}
            if len({tuple(v) for v in mixes.values()}) > 1 or any("unspecified_pcl" in v for v in mixes.values()):
                words = {"primary_pcl": "primary", "secondary_pcl": "secondary", "unspecified_pcl": "type not stated"}
                concerns["population"].append("primary and secondary PCL mixed differently (" + "; ".join(
                    f"{s}: {' and '.join(words[d] for d in v)}" for s, v in mixes.items()) + ")")
        if "possibly_responders" in studies.columns:
            for r in frame_rows(studies[studies["possibly_responders"].fillna(False).astype(bool)]):
                concerns["population"].append(f"{r.study}: the printed rate may describe the responders only (its "
                                              f"interval fits {r.patients} patients)")
        for sd in sds:
            for c in sd.study.co_interventions:
                if _affects(c.kind, outcome):
                    who = "all patients" if c.patients == "all" else (
                        f"{c.patients} patient{'s' if c.patients != 1 else ''}" if c.patients else "some patients")
                    concerns["co-interventions"].append(f"{sd.study.label}: {lower_first(c.description)} ({who})")
        if outcome in registry.OUTCOME_BY_KEY:
            spec = registry.outcome(outcome)
            for f in spec.comparability:
                label = registry.DEFINING_FACTS.get(f)
                if label is None:
                    continue
                values = {sd.study.label: _fact(sd, f) for sd in sds}
                known = sorted({v for v in values.values() if v != "not reported"})
                if len(known) > 1:
                    concerns["outcome definition"].append(f"{label} differs ({', '.join(known)})")
                missing = [s for s, v in values.items() if v == "not reported"]
                if missing:
                    concerns["outcome definition"].append(f"{label} not stated ({', '.join(missing)})")
            if outcome == "mrd_negative":
                for sd in sds:
                    m = sd.study.mrd_assessment
                    if not isinstance(m, str) and m.value.definition == "any_response":
                        when = f", {m.value.timepoint}" if m.value.timepoint else ""
                        concerns["outcome definition"].append(
                            f"{sd.study.label}: MRD negativity in any response, including partial responses{when}")
            if outcome in registry.SURROGATES:
                concerns["surrogate outcome"].append("response and MRD negativity stand in for survival")
        return concerns

    # --- proposals ---------------------------------------------------------------------------

    @cached_property
    def publication_bias_proposal(self) -> grade.Domain:
        st = self.pooled.studies
        known = self.pooled.known_studies
        pcl_known = list(known.loc[known["relevance"] == "pcl", "short"]) if not known.empty else []
        labels = {sd.study.id: sd.study.label for sd in self.pooled.study_data}
        industry = [f"authors of {' and '.join(labels[s] for s in link.studies)} may be linked to a company "
                    "(see the links between studies)" for link in self.links if "industry_author" in link.kinds]
        return grade.publication_bias([int(n) for n in st["n"].dropna()], systematic_search=SYSTEMATIC_SEARCH,
                                  known_not_included=pcl_known, industry_links=industry)

    @cached_property
    def publication_bias_fingerprint(self) -> str:
        return fingerprint({"evidence": list(self.publication_bias_proposal.evidence)})

    def proposal(self, ev: Evidence) -> grade.Certainty:
        """The analysis's proposed rating of one outcome in one population."""
        s = ev.studies
        usable = s[s["patients"].notna()]
        rob = grade.risk_of_bias([(r.study, int(r.patients), r.rob) for r in frame_rows(usable)])
        thresholds = ev.facts["thresholds"]
        row = ev.row
        est = [(float(r.low), float(r.high)) for r in frame_rows(s) if r.low == r.low]
        cis = [(float(r.ci_low), float(r.ci_high)) for r in frame_rows(s)
               if r.ci_low == r.ci_low and r.ci_high == r.ci_high and r.ci_low is not None]
        incons = grade.inconsistency(est, cis if len(cis) == len(est) else cis[:1],
                                 lrt_p=None if row is None else row.get("het_lrt_p"),
                                 i2=None if row is None else row.get("i2"), thresholds=thresholds)
        indirect = grade.indirectness(ev.facts["indirectness"])
        patients = int(usable["patients"].sum()) if len(usable) else 0
        pooled = row is not None and row["rule"] not in NOT_ONE_ESTIMATE
        if pooled:
            lo, hi = row["ci_low"], row["ci_high"]
        else:
            lo = min((c[0] for c in cis), default=None)
            hi = max((c[1] for c in cis), default=None)
        imprec = grade.imprecision(lo, hi, patients, thresholds=thresholds, pooled=pooled)
        return grade.rate((rob, incons, indirect, imprec, self.publication_bias_proposal))

    # --- the reviewer's judgements -----------------------------------------------------------

    def _shown(self, ev: Evidence, prop: grade.Certainty) -> dict:
        """The rating the page shows: the reviewer's where it was made on this evidence; the proposal
        otherwise, with the review status."""
        fp = fingerprint(ev.facts)
        j = self.judgements.for_pair(ev.outcome, ev.population_id)
        pb = self.judgements.publication_bias
        pb_ok = pb is not None and pb.evidence == self.publication_bias_fingerprint
        recorded = j.evidence.get(f"{ev.outcome}@{ev.population_id}") if j else None
        status = NOT_REVIEWED if j is None else (REVIEWED if recorded == fp and pb_ok else STALE)
        footnotes = {}
        if status == REVIEWED:
            ratings = {DOMAIN_NAMES[k]: d.rating for k, d in j.domains.items()}
            ratings["publication bias"] = pb.rating
            footnotes = {DOMAIN_NAMES[k]: d.footnote for k, d in j.domains.items()}
            footnotes["publication bias"] = pb.footnote
            certainty = j.certainty
        else:
            ratings = {d.name: d.judgement for d in prop.domains}
            footnotes = {d.name: d.reason for d in prop.domains if d.downgrade}
            certainty = prop.rating
        return {"certainty": certainty, "status": status, "judgement_id": j.id if j else "",
                "reviewed": str(j.reviewed) if j else "", "ratings": ratings, "footnotes": footnotes,
                "fingerprint": fp, "recorded_fingerprint": recorded or ""}

    # --- summary of findings -----------------------------------------------------------------

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Every ranked outcome in every primary population: the summary-of-findings rows (the plan's
        most important outcomes, `in_summary`) and the rest for the appendix, with the certainty the
        page shows, the proposal, the review status and the footnotes.

        References
        ----------
        Schünemann HJ, et al. Chapter 14: Completing 'Summary of findings' tables and grading the
        certainty of the evidence. Cochrane Handbook, version 6.4. Cochrane; 2023.
        """
        rows = []
        in_summary = {o.outcome for o in self.plan.summary_outcomes()}
        for pop in self.plan.populations:
            if pop.role != PRIMARY or pop.label not in set(self.pooled.studies["group"]):
                continue
            for rank, ranked in enumerate(self.plan.outcomes, start=1):
                ev = self.evidence(ranked.outcome, pop.id)
                rows.append(self._sof_row(ev, ranked, rank, ranked.outcome in in_summary))
        return pd.DataFrame(rows, columns=SOF_COLUMNS)

    def _sof_row(self, ev: Evidence, ranked, rank: int, in_summary: bool) -> dict:
        label = registry.outcome_label(ev.outcome)
        base = {"outcome": ev.outcome, "outcome_label": label, "section": registry.outcome_section(ev.outcome),
                "importance": ranked.importance, "rank": rank, "in_summary": in_summary, "population": ev.population,
                "population_id": ev.population_id}
        if ev.row is None or ev.studies.empty:
            return {**base, "k": 0, "studies": "", "patients": 0, "rule": Rule.NOT_REPORTED, "method": "", "display": "none",
                    "per_study": "", "zero_events": False, "certainty": "", "proposed": "", "status": "",
                    "footnotes": "", "reasons_short": ""}
        prop = self.proposal(ev)
        shown = self._shown(ev, prop)
        row = ev.row
        s = ev.studies
        rule = str(row["rule"])
        display = ("zero" if bool(s["zero_events"].all()) else
                   "single" if rule == Rule.SINGLE else "pooled" if rule not in NOT_ONE_ESTIMATE
                   else "side by side")
        per_study = json.dumps([{k: (None if v is None or (isinstance(v, float) and v != v) else v)
                                 for k, v in r.items()} for r in s.to_dict("records")],
                               default=str)
        return {**base, "k": len(s), "studies": "; ".join(s["study"]),
                "patients": int(s["patients"].fillna(0).sum()), "rule": rule, "method": row["method"] if isinstance(row["method"], str) else "",
                "display": display,
                "estimate": row["estimate"], "estimate_high": row.get("estimate_high"), "ci_low": row["ci_low"],
                "ci_high": row["ci_high"], "per_study": per_study, "zero_events": bool(s["zero_events"].any()),
                "certainty": shown["certainty"], "proposed": prop.rating, "status": shown["status"],
                "judgement_id": shown["judgement_id"], "reviewed": shown["reviewed"],
                "footnotes": json.dumps(shown["footnotes"]), "reasons_short": prop.short_reasons,
                "fingerprint": shown["fingerprint"], "recorded_fingerprint": shown["recorded_fingerprint"],
                **{name.replace(" ", "_"): rating for name, rating in shown["ratings"].items()}}

    def certainty(self, outcome: str, population: str) -> pd.Series | None:
        """The summary row of one outcome in one primary population (by label), if it has evidence."""
        s = self.summary
        r = s[(s["outcome"] == outcome) & (s["population"] == population) & (s["certainty"] != "")]
        return r.iloc[0] if len(r) else None

    @cached_property
    def awaiting_review(self) -> pd.DataFrame:
        """Outcomes and populations whose shown rating is the analysis's proposal: no judgement was
        recorded, or its evidence changed since (with the judgement's id and the fingerprints)."""
        s = self.summary
        out = s[(s["status"].isin([STALE, NOT_REVIEWED])) & (s["k"] > 0)]
        return out[["outcome", "outcome_label", "population", "population_id", "status", "judgement_id",
                    "recorded_fingerprint", "fingerprint", "proposed"]].reset_index(drop=True)

    def proposal_block(self, outcome: str, population_id: str) -> dict:
        """A judgement as the reviewer would record it, filled with the analysis's proposal and the
        current fingerprint (for `cartpool judgements`)."""
        ev = self.evidence(outcome, population_id)
        prop = self.proposal(ev)
        return {"outcome": outcome, "population": population_id, "certainty": prop.rating,
                "fingerprint": fingerprint(ev.facts),
                "domains": {k: {"rating": prop.domain(DOMAIN_NAMES[k]).judgement
                                if prop.domain(DOMAIN_NAMES[k]).judgement != grade.NOT_ASSESSABLE else grade.NOT_SERIOUS,
                                "footnote": prop.domain(DOMAIN_NAMES[k]).reason,
                                "evidence": list(prop.domain(DOMAIN_NAMES[k]).evidence)} for k in DOMAIN_KEYS}}


def _own_interval(low: int, high: int, total: int) -> tuple[float, float]:
    """A study's exact interval, widened over both ends of a range."""
    a, b = proportion_ci(low, total), proportion_ci(high, total)
    return min(a.ci_low, b.ci_low), max(a.ci_high, b.ci_high)


def _fact(sd, name: str) -> str:
    v = getattr(sd.study, name, "not reported")
    if v is None or isinstance(v, str):  # not reported, or not in the source we have: not stated either way
        return "not reported"
    value = v.value
    return value if isinstance(value, str) else str(value)


def check_judgements(appraisal: Appraisal) -> list[str]:
    """Problems of the recorded judgements a curator must fix: outcomes or populations the plan does
    not know, a certainty that does not follow from its domain ratings, and ratings that depart from
    the proposal without a reason. Returned as messages naming the judgement and field.

    A judgement whose evidence changed since it was recorded (a study added or corrected) is not
    compared with the new proposal: the report shows the proposal until it is reviewed, and the build
    names it as awaiting review, so a curator who adds a study by data alone is not stopped by it."""
    plan = appraisal.plan
    known = registry.analysis_outcome_keys()
    pops = {p.id for p in plan.populations}
    out = []
    for j in appraisal.judgements.judgements:
        for o in j.outcomes:
            if o not in known:
                out.append(f"judgement {j.id}, outcomes: {o!r} is not an outcome of the analysis")
        for p in j.populations:
            if p not in pops:
                out.append(f"judgement {j.id}, populations: {p!r} is not a population of the plan "
                           f"({', '.join(sorted(pops))})")
        pb = appraisal.judgements.publication_bias
        down = sum(LEVELS_DOWN[d.rating] for d in j.domains.values()) + (LEVELS_DOWN[pb.rating] if pb else 0)
        expected = grade.LEVELS[max(0, grade.LEVELS.index(j.start) - down)]
        if j.certainty != expected:
            out.append(f"judgement {j.id}, certainty: {j.certainty!r} does not follow from the ratings (start {j.start}, "
                       f"{down} level(s) down gives {expected!r})")
        for o in j.outcomes:
            for p in j.populations:
                if o not in known or p not in pops:
                    continue
                block = appraisal.proposal_block(o, p)
                if j.evidence.get(f"{o}@{p}") != block["fingerprint"]:
                    continue  # made on other evidence: awaiting review, not wrong
                for key, d in j.domains.items():
                    if d.rating != block["domains"][key]["rating"] and not d.departure:
                        out.append(f"judgement {j.id}, domains.{key}: {d.rating!r} departs from the proposal "
                                   f"{block['domains'][key]['rating']!r} for {o} in {p}; give departure: with the reason")
    return out




"""The appraisal of the pooled evidence: each study's risk of bias (JBI checklist for case series)
and the summary of findings with a GRADE certainty for each key outcome in each primary population
(PCL by setting), computed once as tidy frames.

The GRADE rules are `cartpool.domain.certainty`; this module only gathers their inputs from the
pooled analysis (the primary rows, the studies in them, their definitions and risk of bias).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import pandas as pd

from ..data.appraisal import QUESTIONS as JBI_QUESTIONS
from ..data.appraisal import SHORT as JBI_SHORT
from ..data.appraisal import overall_judgement
from ..domain import certainty as G
from ..domain import registry
from ..stats.proportions import proportion_ci
from .pooled import A_MAIN, PRIMARY, PooledAnalysis

#: How the studies were chosen. The source set is curated, not the result of a systematic search
#: (said in the report's scope section); GRADE's publication-bias rule reads it.
SYSTEMATIC_SEARCH = False

SOF_COLUMNS = ["outcome", "outcome_label", "section", "population", "k", "studies", "patients", "events",
               "estimate", "ci_low", "ci_high", "rule", "note", "bound", "certainty", "reasons", "reasons_short",
               *[d.replace(" ", "_") for d in G.DOMAINS]]


def _rob(pa: PooledAnalysis, rob: Mapping[str, str | None], ids, sizes) -> G.Domain:
    return G.risk_of_bias([(pa.by_id[i].study.label, int(n), rob.get(i)) for i, n in zip(ids, sizes, strict=True)])


def _proportion_row(pa: PooledAnalysis, o: registry.OutcomeSpec, group: str, row: pd.Series,
                    rob: Mapping[str, str | None]) -> dict:
    inp = pa.inputs
    t = inp[(inp["outcome"] == o.key) & (inp["view"] == PRIMARY) & (inp["subgroup"] == group)
            & (inp["analysis"] == A_MAIN)]
    counts = pa.counts
    c = counts[(counts["outcome"] == o.key) & (counts["subset_kind"] == "primary")
               & counts["study_id"].isin(t["study_id"])].set_index("study_id").loc[t["study_id"]]
    cis = [proportion_ci(int(e), int(n)) for e, n in zip(t["events"], t["total"], strict=True)]
    definitions = {label: list(c[f]) for f, label in registry.DEFINING_FACTS.items() if f in o.comparability}
    bounded = list(c.loc[c["bound"] != "", "study"])
    domains = (
        _rob(pa, rob, t["study_id"], t["total"]),
        G.inconsistency([(e.ci_low, e.ci_high) for e in cis], i2=row["i2"],
                        pi=(row["pi_low"], row["pi_high"]) if row["pi_low"] == row["pi_low"]
                        and row["pi_low"] is not None else None),
        G.indirectness(definitions, bounded=bounded),
        G.imprecision(row["ci_low"], row["ci_high"], int(row["total"])),
        G.publication_bias(list(t["total"]), systematic_search=SYSTEMATIC_SEARCH),
    )
    return _frame_row(o.key, o.label, o.section, group, t["study"], int(row["total"]), int(row["events"]), row,
                      bool(bounded), G.rate(domains))


def _landmark_row(pa: PooledAnalysis, key: str, label: str, group: str, row: pd.Series,
                  rob: Mapping[str, str | None]) -> dict:
    ep, months = key.split("_")[0], float(key.split("_")[1].rstrip("m"))
    lm = pa.landmarks
    t = lm[(lm["endpoint"] == ep) & (lm["months"] == months) & (lm["group"] == group)]
    # the patients behind each study's estimate: its BCMA-directed subset where it enters with one
    sizes = t.set_index("study_id")["n"].fillna(pa.studies.set_index("study_id")["n"]).fillna(0).astype(int)
    cis = [(lo, hi) for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True) if lo == lo and hi == hi]
    domains = (
        _rob(pa, rob, t["study_id"], sizes),
        G.inconsistency(cis if len(cis) == len(t) else cis[:1], i2=row["i2"]),
        G.indirectness({}),
        G.imprecision(row["ci_low"], row["ci_high"], int(sizes.sum())),
        G.publication_bias(list(sizes), systematic_search=SYSTEMATIC_SEARCH),
    )
    return _frame_row(key, label, "survival", group, t["study"], int(sizes.sum()), None, row, False,
                      G.rate(domains))


def _frame_row(key, label, section, group, studies, patients, events, row, bound, cert: G.Certainty) -> dict:
    return {"outcome": key, "outcome_label": label, "section": section, "population": group,
            "k": int(row["k"]), "studies": "; ".join(studies), "patients": patients, "events": events,
            "estimate": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "rule": row["rule"],
            "note": row["note"], "bound": bound, "certainty": cert.rating, "reasons": cert.reasons,
            "reasons_short": cert.short_reasons,
            **{d.name.replace(" ", "_"): d.judgement for d in cert.domains}}


def _missing_row(key, label, section, group) -> dict:
    return {"outcome": key, "outcome_label": label, "section": section, "population": group, "k": 0,
            "studies": "", "patients": 0, "events": None, "estimate": None, "ci_low": None, "ci_high": None,
            "rule": "not reported", "note": "no study in this population reports it", "bound": False,
            "certainty": "", "reasons": "No study in this population reports it.", "reasons_short": ""}


def summary_of_findings(pa: PooledAnalysis, rob: Mapping[str, str | None]) -> pd.DataFrame:
    """The summary of findings: one row per key outcome and primary population, with its GRADE
    certainty and reasons.

    Parameters
    ----------
    pa : PooledAnalysis
        The pooled analysis.
    rob : mapping of study id to overall risk-of-bias judgement
        ("low", "moderate", "high", "unclear"; missing or None: not appraised).

    Returns
    -------
    pandas.DataFrame
        Columns `SOF_COLUMNS`. Key outcomes are the registry's headline outcomes, then PFS and OS
        at each landmark. A population where no study reports an outcome has a row that says so.

    References
    ----------
    Schünemann HJ, et al. Chapter 14: Completing 'Summary of findings' tables and grading the
    certainty of the evidence. In: Cochrane Handbook for Systematic Reviews of Interventions,
    version 6.4. Cochrane; 2023.
    """
    est = pa.estimates
    primary = est[(est["view"] == PRIMARY)]
    groups = [g for g in pa.studies.sort_values("group")["group"].unique()
              if (pa.studies.loc[pa.studies["group"] == g, "role"] == PRIMARY).all()]
    from .pooled import _group_key

    groups = sorted(groups, key=_group_key)
    rows = []
    for o in registry.OUTCOMES:
        if not (o.headline and o.pooled):
            continue
        for g in groups:
            r = primary[(primary["outcome"] == o.key) & (primary["subgroup"] == g) & (primary["analysis"] == A_MAIN)]
            rows.append(_proportion_row(pa, o, g, r.iloc[0], rob) if len(r) else
                        _missing_row(o.key, o.label, o.section, g))
    for spec in registry.SURVIVAL:
        for months in registry.LANDMARK_MONTHS:
            key = f"{spec.endpoint}_{int(months)}m"
            label = f"{spec.label} at {int(months)} months"
            for g in groups:
                r = primary[(primary["outcome"] == key) & (primary["subgroup"] == g)]
                rows.append(_landmark_row(pa, key, label, g, r.iloc[0], rob) if len(r) and r.iloc[0]["estimate"]
                            == r.iloc[0]["estimate"] and r.iloc[0]["estimate"] is not None else
                            _missing_row(key, label, "survival", g))
    return pd.DataFrame(rows, columns=SOF_COLUMNS)


#: The overall judgements in words.
OVERALL_RISK = {"low": "low risk of bias", "moderate": "moderate risk of bias", "high": "high risk of bias"}

RISK_OF_BIAS_COLUMNS = ["study_id", "study", "question", "item", "question_text", "judgement", "reason",
                        "location", "quote", "overall"]


def risk_of_bias_table(study_data) -> pd.DataFrame:
    """One row per study and checklist question: the answer, why, where the paper says so, and the
    study's overall judgement (JBI checklist for case series; `cartpool.data.appraisal`).

    Parameters
    ----------
    study_data : sequence of StudyData

    Returns
    -------
    pandas.DataFrame
        Columns `RISK_OF_BIAS_COLUMNS`; a study without an appraisal has one row with item
        "not appraised" and no judgement.

    References
    ----------
    Munn Z, et al. Methodological quality of case series studies: an introduction to the JBI critical
    appraisal tool. JBI Evid Synth 2020;18:2127-33.
    """
    rows = []
    for sd in study_data:
        base = {"study_id": sd.study.id, "study": sd.study.label}
        if sd.appraisal is None:
            rows.append({**base, "question": "", "item": "not appraised", "question_text": "", "judgement": "",
                         "reason": "", "location": "", "quote": "", "overall": ""})
            continue
        overall = overall_judgement(sd.appraisal)
        for q, item in sd.appraisal.items.items():
            rows.append({**base, "question": q, "item": JBI_SHORT[q], "question_text": JBI_QUESTIONS[q],
                         "judgement": item.judgement, "reason": item.reason, "location": item.location or "",
                         "quote": item.quote or "", "overall": overall})
    return pd.DataFrame(rows, columns=RISK_OF_BIAS_COLUMNS)


class Appraisal:
    """The appraisal of the pooled evidence, computed once: each study's overall risk of bias and
    the summary of findings with GRADE certainty.

    Parameters
    ----------
    pooled : PooledAnalysis
    """

    def __init__(self, pooled: PooledAnalysis):
        self.pooled = pooled

    @cached_property
    def risk_of_bias_overall(self) -> dict[str, str | None]:
        """Each study's overall risk-of-bias judgement (None where it has not been appraised)."""
        return {sd.study.id: (overall_judgement(sd.appraisal) if sd.appraisal is not None else None)
                for sd in self.pooled.study_data}

    @cached_property
    def risk_of_bias(self) -> pd.DataFrame:
        """Every study's answers to the risk-of-bias checklist (`risk_of_bias_table`)."""
        return risk_of_bias_table(self.pooled.study_data)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """The summary of findings (see `summary_of_findings`)."""
        return summary_of_findings(self.pooled, self.risk_of_bias_overall)

    def certainty(self, outcome: str, population: str) -> pd.Series | None:
        """The summary-of-findings row of one outcome in one primary population, if rated."""
        s = self.summary
        r = s[(s["outcome"] == outcome) & (s["population"] == population) & (s["certainty"] != "")]
        return r.iloc[0] if len(r) else None

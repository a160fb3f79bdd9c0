"""When would the answer change? For each key outcome in each population that answers the question,
what new evidence would change its certainty or its conclusion, computed from the model.

Hypothetical new studies are added to the row's studies and the row is refitted by the main
analysis's own rule (`cartpool.analysis.cumulative.refit`): pooling needs at least the plan's
number of studies (three), so a population with one study it can pool gets two new studies of
the stated size and one with two gets one (`poolable`: a survival rate that may describe the
responders only, for example, is never pooled). The rate of a new study is the current estimate (the middle
of a range; where the studies are not pooled, their combined rate: all events over all patients,
or for survival at a landmark the patient-weighted mean of the studies' rates).

* **Certainty** (GRADE imprecision, `cartpool.domain.certainty.imprecision`): the smallest size,
  from the ladder `SIZES`, of the new studies at the current rate for which the pooled 95%
  interval crosses none of the plan's decision thresholds for the outcome, so that imprecision
  would no longer rate the evidence down. Where the current interval already crosses none, it is
  said so; where no size of the ladder is enough (the between-study spread keeps the random-effects
  interval wide), that is said too.
* **Conclusion**: for new studies the size of the current studies' median, the rates at which the
  estimate would move outside its current 95% interval (the pooled or single study's interval;
  where the studies are not pooled, the span of their intervals, as GRADE's imprecision reads it):
  the highest rate that would move it below, and the lowest that would move it above.

A new study's survival at a landmark enters with the interval a study of that size without
censoring before the landmark would print (the binomial variance of the rate on the log(-log)
scale, which is Greenwood's variance without censoring); a rate of 0% or 100% has no interval on
that scale and is not pooled, so no trigger is computed from one.

References
----------
.. [1] Cochrane. Guidance for the production and publication of Cochrane living systematic reviews,
   version December 2019, section 4.3.4.1 (updating when new evidence is likely to change the
   review's conclusions).
.. [2] Guyatt GH, et al. GRADE guidelines 6: rating the quality of evidence - imprecision. J Clin
   Epidemiol 2011;64:1283-1293.
.. [3] Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. Wiley; 1980
   (the log(-log) interval of a survival probability).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..domain import certainty, registry
from .cumulative import RowEstimate, key_rows, main_row, population_id, refit, row_studies, values_text
from .pooled_rows import CONTEXT, PRIMARY, inputs_of, main_analysis

#: Sizes (patients per new study) tried for the certainty trigger, smallest first.
SIZES = (10, 20, 50, 100, 200, 500, 1000)

COLUMNS = ["outcome", "outcome_label", "population", "population_id", "k", "patients", "rule", "estimate",
           "estimate_high", "ci_low", "ci_high", "values", "interval", "thresholds", "rate", "rate_from", "new_studies",
           "imprecision_now", "certainty_size", "certainty_size_short", "certainty_ci_low", "certainty_ci_high",
           "certainty_crossed", "certainty_status", "conclusion_size", "below_rate", "below_estimate", "above_rate", "above_estimate",
           "conclusion_status"]

#: What a trigger's status means (the renderer writes the sentence).
FOUND, ALREADY, NOT_WITHIN, NOT_COMPUTABLE = "found", "already", "not within the sizes tried", "not computable"


@dataclass(frozen=True)
class TriggersResult:
    """One row per key outcome and population: the rate of the new studies and how it was chosen,
    the certainty trigger (size, and the interval it would give) and the conclusion trigger (rates
    below and above), each with its status."""

    rows: pd.DataFrame
    sizes: tuple[int, ...]
    min_k: int
    inputs: pd.DataFrame = field(default_factory=pd.DataFrame)  # `PooledAnalysis.inputs`

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"update-triggers": self.rows}

    def row_inputs(self, t) -> pd.DataFrame:
        """The studies of a row's evidence now (`t`, a row of `rows`): its main row's inputs."""
        return inputs_of(self.inputs, t.outcome, (PRIMARY, CONTEXT), t.population, main_analysis(t.outcome))


def _landmark_ci(rate: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The 95% interval a study of `n` patients without censoring before the landmark would print
    for survival `rate`, on the log(-log) scale (binomial variance = Greenwood without censoring)."""
    y = math.log(-math.log(rate))
    se = math.sqrt((1 - rate) / (n * rate)) / abs(math.log(rate))
    return math.exp(-math.exp(y + z * se)), math.exp(-math.exp(y - z * se))


def poolable(t: pd.DataFrame, outcome: str) -> int:
    """How many of a row's studies a pooled row would combine: not a landmark rate without an interval,
    of 0% or 100%, or possibly of the responders only; not a range with an uninformative end
    (`PooledAnalysis.landmark_estimate`, `PooledAnalysis.primary_estimate`)."""
    if outcome in registry.LANDMARK_BY_KEY:
        ok = t["ci_low"].notna() & t["ci_high"].notna() & (t["value"] > 0) & (t["value"] < 1) \
            & ~t["possibly_responders"].astype(bool)
        return int(ok.sum())
    return int((t["uninformative_end"] == "").sum()) or len(t)


def _with_new(t: pd.DataFrame, outcome: str, m: int, events: int, n: int) -> pd.DataFrame:
    """The row's studies with `m` hypothetical studies of `events` out of `n` patients."""
    new = []
    for j in range(m):
        label = f"new study {j + 1}"
        if outcome in registry.LANDMARK_BY_KEY:
            rate = events / n
            lo, hi = _landmark_ci(rate, n)
            new.append({"study": label, "study_id": f"_new{j + 1}", "value": rate, "ci_low": lo, "ci_high": hi,
                        "n": n, "source": "hypothetical", "possibly_responders": False})
        else:
            new.append({"study": label, "study_id": f"_new{j + 1}", "events": events, "events_high": events,
                        "total": n, "uninformative_end": "", "subset": "", "is_range": False})
    extra = pd.DataFrame(new)
    return pd.concat([t, extra], ignore_index=True)


def _current_rate(cur: RowEstimate, outcome: str) -> tuple[float, str]:
    if cur.one_estimate:
        high = cur.estimate_high if cur.estimate_high is not None else cur.estimate
        return (cur.estimate + high) / 2, "estimate"
    vals = cur.values
    if outcome in registry.LANDMARK_BY_KEY:
        w = np.array([v["patients"] for v in vals], float)
        return float(np.sum(w * np.array([v["estimate"] for v in vals])) / w.sum()), "patient-weighted mean"
    ev = sum((v["events"] + v["events_high"]) / 2 for v in vals)
    return ev / sum(v["patients"] for v in vals), "combined"


def _interval(cur: RowEstimate) -> tuple[float | None, float | None]:
    if cur.one_estimate:
        return cur.ci_low, cur.ci_high
    lows = [v["ci_low"] for v in cur.values if v["ci_low"] is not None]
    highs = [v["ci_high"] for v in cur.values if v["ci_high"] is not None]
    return (min(lows) if lows else None), (max(highs) if highs else None)


def _events_range(outcome: str, n: int) -> tuple[int, int]:
    """The event counts a new study of `n` patients may have (a landmark rate must lie strictly
    between 0 and 1 to be pooled)."""
    return (1, n - 1) if outcome in registry.LANDMARK_BY_KEY else (0, n)


def update_triggers(analysis) -> TriggersResult:
    """When would the answer change (see the module docstring)?

    Parameters
    ----------
    analysis : PooledAnalysis

    Returns
    -------
    TriggersResult

    References
    ----------
    Guyatt GH, et al. J Clin Epidemiol 2011;64:1283-1293 (imprecision against decision thresholds).
    """
    min_k = analysis.plan.pooling.random_effects_min_k
    rows = []
    for outcome, population in key_rows(analysis):
        t = row_studies(analysis, outcome, population)
        cur = main_row(analysis, outcome, population)
        if cur is None:
            continue
        ranked = analysis.plan.ranked(outcome)
        thresholds = tuple(ranked.thresholds) if ranked else ()
        lo, hi = _interval(cur)
        now = certainty.imprecision(lo, hi, cur.patients, thresholds=thresholds, pooled=cur.one_estimate)
        rate, rate_from = _current_rate(cur, outcome)
        m = max(1, min_k - poolable(t, outcome))
        row = {"outcome": outcome, "outcome_label": registry.outcome_label(outcome), "population": population,
               "population_id": population_id(analysis, population), "k": cur.k, "patients": cur.patients,
               "rule": cur.rule, "estimate": cur.estimate, "estimate_high": cur.estimate_high, "ci_low": cur.ci_low,
               "ci_high": cur.ci_high, "values": "" if cur.one_estimate else values_text(cur.values),
               "interval": "pooled" if cur.pooled else "single study" if cur.one_estimate else "span of the studies",
               "thresholds": ";".join(f"{x:g}" for x in thresholds), "rate": rate, "rate_from": rate_from,
               "new_studies": m, "imprecision_now": now.judgement}
        landmark = outcome in registry.LANDMARK_BY_KEY
        computable = not (landmark and not (0 < rate < 1))

        def fit(events: int, n: int, t=t, outcome=outcome, m=m) -> RowEstimate:
            return refit(analysis, outcome, _with_new(t, outcome, m, events, n), detail=False)

        row.update(_certainty(fit, rate, now, thresholds, computable, landmark))
        sizes = sorted(v["patients"] for v in cur.values)
        n_new = int(math.floor(np.median(sizes) + 0.5)) if sizes else SIZES[0]
        row.update(_conclusion(fit, outcome, n_new, lo, hi, computable))
        rows.append(row)
    return TriggersResult(pd.DataFrame(rows, columns=COLUMNS), SIZES, min_k, analysis.inputs)


def _certainty(fit, rate: float, now: certainty.Domain, thresholds, computable: bool, landmark: bool) -> dict:
    """The smallest size of the ladder at which imprecision would no longer rate down."""
    out = {"certainty_size": None, "certainty_size_short": None, "certainty_ci_low": None, "certainty_ci_high": None,
           "certainty_crossed": ""}
    if now.judgement == certainty.NOT_SERIOUS:
        return {**out, "certainty_status": ALREADY}
    if not computable:
        return {**out, "certainty_status": NOT_COMPUTABLE}

    def ok(i: int) -> tuple[bool, RowEstimate]:
        n = SIZES[i]
        events = int(math.floor(rate * n + 0.5))
        if landmark:
            events = min(max(events, 1), n - 1)
        r = fit(events, n)
        if not r.one_estimate:
            return False, r
        d = certainty.imprecision(r.ci_low, r.ci_high, r.patients, thresholds=thresholds, pooled=True)
        return d.judgement == certainty.NOT_SERIOUS, r

    good, r = ok(len(SIZES) - 1)
    if not good:  # with the interval the largest size gives and the thresholds it crosses, which say why
        crossed = [t for t in thresholds if r.one_estimate and r.ci_low < t < r.ci_high]
        return {**out, "certainty_ci_low": r.ci_low if r.one_estimate else None,
                "certainty_ci_high": r.ci_high if r.one_estimate else None,
                "certainty_crossed": ";".join(f"{t:g}" for t in crossed), "certainty_status": NOT_WITHIN}
    lo_i, hi_i, best = -1, len(SIZES) - 1, r  # SIZES[hi_i] is enough; SIZES[lo_i] is not (-1: none tried)
    while hi_i - lo_i > 1:
        mid = (lo_i + hi_i) // 2
        good, r = ok(mid)
        if good:
            hi_i, best = mid, r
        else:
            lo_i = mid
    return {**out, "certainty_size": SIZES[hi_i], "certainty_size_short": SIZES[lo_i] if lo_i >= 0 else None,
            "certainty_ci_low": best.ci_low, "certainty_ci_high": best.ci_high, "certainty_status": FOUND}


def _conclusion(fit, outcome: str, n: int, lo: float | None, hi: float | None, computable: bool) -> dict:
    """The highest rate of new studies of `n` patients that moves the estimate below `lo`, and the
    lowest that moves it above `hi` (the estimate rises with the new studies' events)."""
    out = {"conclusion_size": n, "below_rate": None, "below_estimate": None, "above_rate": None,
           "above_estimate": None}
    if not computable or lo is None or hi is None:
        return {**out, "conclusion_status": NOT_COMPUTABLE}
    first, last = _events_range(outcome, n)
    if first > last:
        return {**out, "conclusion_status": NOT_COMPUTABLE}
    cache: dict[int, RowEstimate] = {}

    def est(x: int) -> float | None:
        if x not in cache:
            cache[x] = fit(x, n)
        r = cache[x]
        return r.estimate if r.one_estimate else None

    def below(x: int) -> bool:
        e = est(x)
        return e is not None and e < lo - 1e-12

    def above(x: int) -> bool:
        e = est(x)
        return e is not None and e > hi + 1e-12

    if lo > 0 and below(first):  # the largest x still below: below() holds from `first` up to it
        a, b = first, last + 1
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (mid, b) if below(mid) else (a, mid)
        out.update(below_rate=a / n, below_estimate=est(a))
    if hi < 1 and above(last):  # the smallest x above: above() holds from it up to `last`
        a, b = first - 1, last
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (a, mid) if above(mid) else (mid, b)
        out.update(above_rate=b / n, above_estimate=est(b))
    return {**out, "conclusion_status": FOUND}

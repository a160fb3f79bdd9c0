"""The rows of the synthesis across studies: their keys and columns, the names of the analyses,
and the small rules that word a row (a study's label in it, the prior of a Bayesian row).

`cartpool.analysis.pooled_analysis` fills the rows; `cartpool.analysis.outcome_rows` computes an
outcome's rows and `cartpool.analysis.landmark_rows` a survival landmark's. Renderers and the
appraisal read the names from here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import pandas as pd

from ..data.model import NOT_IN_SOURCE, NOT_REPORTED
from ..data.study_data import StudyData
from ..domain import registry
from ..domain.subgroups import NOT_SEPARABLE
from ..stats.proportions import proportion_ci
from .pooling import MIN_STUDIES_RANDOM_EFFECTS, Pooled, SubgroupTest

PRIMARY, CONTEXT, SUBGROUP, SENSITIVITY = "primary", "context", "subgroup", "sensitivity"
ALL_STUDIES = "all studies"
SUBGROUP_TEST = "test for subgroup differences"

# analyses (the `analysis` column)
A_MAIN = "main"
A_COMMON = "common effect (two studies)"
A_BAYES = "Bayesian"
A_BAYES_WIDE = "Bayesian, wider prior"
A_LOGIT = "inverse-variance logit"
A_FT = "Freeman-Tukey"
A_INFUSED = "patients infused only"
A_EVALUABLE = "patients evaluable only"
A_BCMA_ONLY = "BCMA-directed patients only"
A_SAME_SCALE = "same grading scale"
A_OTHER_COUNT = "other fitting count"
A_NO_RANGES = "ranges left out"
A_MIXED = "PCL and MM mixed"
A_LANDMARK = "landmark, log(−log) scale"

#: Why the BCMA-directed subset of a mixed cohort is a sensitivity analysis, not the primary row.
BCMA_ONLY_CONFOUNDED = ("the question is about CAR-T of either target, and these are the patients whose first CAR-T "
                        "was BCMA-directed; after a first relapse some received a second CAR-T against the other "
                        "target, so their survival is not that of one target alone")

#: Leave-one-out needs a pooled group (the random-effects model, three or more studies).
LOO_MIN_K = MIN_STUDIES_RANDOM_EFFECTS

ESTIMATE_COLUMNS = ["outcome", "view", "subgroup", "level", "analysis", "method", "rule", "note", "k", "events",
                    "events_high", "total", "estimate", "estimate_high", "ci_low", "ci_high", "ci_how",
                    "small_ci_low", "small_ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_p", "het_lrt",
                    "het_lrt_p", "het_df", "het_fisher_p", "bayes_estimate", "bayes_low", "bayes_high", "bayes_tau",
                    "bayes_tau_low", "bayes_tau_high", "bayes_tau_prior_scale", "range_left_out", "studies"]
INPUT_COLUMNS = ["outcome", "view", "subgroup", "level", "analysis", "study", "study_id", "population", "events",
                 "events_high", "total", "estimate", "ci_low", "ci_high", "derived", "how", "detail", "zero_events",
                 "at_risk", "possibly_responders", "in_fit", "result_ids"]


SCALE_MISSING = ("not reported", "not in the source we have")


def main_analysis(outcome: str) -> str:
    """The analysis of a population's main row of `outcome`: the landmark row for survival at a
    landmark, else the main analysis."""
    return A_LANDMARK if outcome in registry.LANDMARK_BY_KEY else A_MAIN


def inputs_of(inputs: pd.DataFrame, outcome: str, view, subgroup: str, analysis: str, level: str = "") -> pd.DataFrame:
    """The studies behind one row of `PooledAnalysis.estimates`: its rows of `PooledAnalysis.inputs`
    (each study's count or rate, how it was obtained and the ids of its records). `view` is one view
    or several (a population's main row is primary or context)."""
    views = [view] if isinstance(view, str) else list(view)
    if inputs.empty:
        return inputs
    return inputs[(inputs["outcome"] == outcome) & inputs["view"].isin(views) & (inputs["subgroup"] == subgroup)
                  & (inputs["analysis"] == analysis) & (inputs["level"] == level)]


def scale_of(sd: StudyData, field: str) -> str:
    """A study fact as words: its value, or why it is missing (`SCALE_MISSING`)."""
    v = getattr(sd.study, field, NOT_REPORTED)
    if v is None or isinstance(v, str):
        return SCALE_MISSING[1] if v == NOT_IN_SOURCE else SCALE_MISSING[0]
    value = v.value
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class OutcomeResult:
    """One outcome's results: each plan population's row (primary and context), the subgroup rows,
    the sensitivity analyses, the test for subgroup differences, and leave-one-out."""

    key: str
    groups: dict[str, Pooled]  # population label -> the row (primary and context)
    roles: dict[str, str]
    subgroups: dict[tuple[str, str, str], Pooled]  # (population, subgroup field, level) -> row
    tests: dict[tuple[str, str], SubgroupTest]  # (population, field) -> test between levels
    test: SubgroupTest  # between the PCL populations
    sensitivity: pd.DataFrame  # rows of `estimates` with view == "sensitivity"
    leave_one_out: pd.DataFrame
    inputs: pd.DataFrame  # the studies' counts in the primary rows
    missing: list[str]  # labels of studies that do not report it


def row_label(study, subset, is_range) -> str:
    """A study's label in a forest plot or table of one outcome, saying when it enters with part of
    its cohort (`subset`) or with a range rather than a count (`is_range`)."""
    notes = []
    if subset and subset not in ("all patients", NOT_SEPARABLE):
        notes.append(str(subset))
    if is_range:
        notes.append("range")
    return f"{study} ({'; '.join(notes)})" if notes else str(study)


@functools.lru_cache(maxsize=65536)
def own_proportion(events: int, total: int) -> tuple[float, float, float]:
    """One study's own proportion and its interval (`cartpool.stats.proportions.proportion_ci`), kept
    for the many rows that show the same count."""
    e = proportion_ci(events, total)
    return e.estimate, e.ci_low, e.ci_high


def prior_label(scale: float | None) -> str:
    return f"half-normal({scale:g}) prior on τ" if scale is not None else ""


#: Quantiles of the standard half-normal distribution (median, 2.5% and 97.5%).


#: Quantiles of the standard half-normal distribution (median, 2.5% and 97.5%).
_HN_MEDIAN, _HN_LOW, _HN_HIGH = 0.6744898, 0.0313376, 2.2414027
#: The credible interval of tau "mostly reflects the prior" when it is at least this share of the prior's width.
PRIOR_DOMINATES = 0.8


def tau_prior_note(r: Pooled) -> str:
    """τ's posterior beside its prior, and whether the posterior mostly reflects the prior."""
    s = r.bayes_tau_prior_scale
    if s is None or r.bayes_tau is None:
        return ""
    text = (f"τ posterior median {r.bayes_tau:.2f} (95% CrI {r.bayes_tau_low:.2f}–{r.bayes_tau_high:.2f}); prior "
            f"median {_HN_MEDIAN * s:.2f} ({_HN_LOW * s:.2f}–{_HN_HIGH * s:.2f})")
    if (r.bayes_tau_high - r.bayes_tau_low) >= PRIOR_DOMINATES * (_HN_HIGH - _HN_LOW) * s:
        text += ": the data say little about the spread between studies, so the credible interval mostly " \
                "reflects the prior"
    return text


def bayes_row(r: Pooled) -> Pooled:
    """A row that shows the Bayesian estimate of `r` as its estimate (a sensitivity analysis)."""
    return replace(r, rule="Bayesian", note=f"{prior_label(r.bayes_tau_prior_scale)}; posterior median and 95% "
                   f"credible interval; {tau_prior_note(r)}", estimate=r.bayes_estimate, ci_low=r.bayes_low,
                   ci_high=r.bayes_high,
                   ci_how="95% credible interval", estimate_high=None, small_ci_low=None, small_ci_high=None,
                   pi_low=None, pi_high=None)

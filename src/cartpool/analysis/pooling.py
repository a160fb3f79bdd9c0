"""One row of the synthesis as the report shows it: `Pooled`, computed once (memoised on its inputs)
and read by every table, figure and CSV.

The rule, by the number of studies k in the row (the analysis plan's ``pooling``):

* k = 1: the study's own proportion with its Clopper-Pearson interval;
* k = 2: both studies shown with their range, not pooled: two single-arm studies cannot show that
  they share one rate. The common-effect and Bayesian estimates are computed as labelled
  sensitivity analyses only;
* k >= 3: the random-effects binomial-normal model (GLMM) with its small-sample interval and a
  t-based prediction interval; the Bayesian estimate is a sensitivity analysis;
* every study at 0 events, or every study at 100%: the combined count with its exact interval
  (the model has no maximum).

Heterogeneity (the likelihood-ratio test of one common rate, metafor's QE.LRT; Fisher's exact test
at k = 2; the GLMM's tau^2 and I^2) is computed for every row of two or more studies. It informs
the inconsistency judgement and never switches the model.

A study that reports an outcome only as a range (a bound, `cartpool.domain.counts`) enters by
running the row at the low ends and at the high ends; the row then reports both estimates and the
widened interval from the lowest lower limit to the highest upper limit.

The statistics are `cartpool.stats`; this module applies them to one row's studies.
"""

from __future__ import annotations

import functools
from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import pandas as pd
from scipy import special, stats

from ..stats import meta as stats_meta
from ..stats.bayes import MU_PRIOR_SD, pool_bayes
from ..stats.glmm import GLMMNotEstimable, glmm_leave_one_out
from ..stats.heterogeneity import fisher_two_studies, homogeneity_lrt
from ..stats.proportions import proportion_ci, study_cis


class Rule(StrEnum):
    """What a row shows, by the data it has."""

    SINGLE = "single study"
    TWO = "two studies, not pooled"
    RANDOM = "random effects"
    NO_EVENTS = "no events"
    ALL_EVENTS = "all events"
    NOT_ESTIMABLE = "not estimable"
    COMMON = "common effect"  # sensitivity analyses only
    NOT_POOLED = "not pooled"  # enough studies, too few of them usable (no interval, no events)
    NOT_REPORTED = "not reported"  # no study reports the outcome (summary of findings)


#: The rules under which a row shows its studies, not one pooled estimate.
NOT_ONE_ESTIMATE = (Rule.TWO, Rule.NOT_POOLED)


def rule_for_k(k: int, min_k: int) -> Rule | None:
    """The rule a row of `k` studies follows before any model: one study alone, fewer than `min_k`
    side by side (never one common rate); None where the model decides (`min_k` or more)."""
    if k == 1:
        return Rule.SINGLE
    if k < min_k:
        return Rule.TWO
    return None


#: Proportion methods: the primary model and the sensitivity analyses.
PRIMARY_METHOD = "glmm"
METHOD_LABELS = {
    "glmm": "random-intercept logistic regression (GLMM)",
    "logit": "inverse-variance, logit scale",
    "ft": "inverse-variance, Freeman-Tukey double arcsine",
    "raw": "inverse-variance, untransformed proportions",
}
#: Rows with at least this many studies get the random-effects model (the plan's
#: ``pooling.random_effects_min_k``; the analysis passes the plan's value).
MIN_STUDIES_RANDOM_EFFECTS = 3
#: The half-normal prior scale on tau when no plan says otherwise (the plan's ``bayes``).
DEFAULT_TAU_PRIOR_SCALE = 1.0


def two_studies_note() -> str:
    return "2 studies, not pooled: both shown with their range"


@dataclass(frozen=True)
class Pooled:
    """One row: what a reader may see, by the data it has (docs/statistics.md).

    Intervals are on the proportion scale; None or NaN means "not estimable" (the note says why).
    For a row with ranges, `estimate` is the estimate at the low ends, `estimate_high` at the high
    ends, and the interval is the widened one. `het_*` is the heterogeneity of a row of two or more
    studies (likelihood-ratio test; Fisher's exact test at two studies).
    """

    rule: str
    note: str
    method: str
    k: int
    events: int
    total: int
    estimate: float
    ci_low: float
    ci_high: float
    ci_how: str
    small_ci_low: float | None = None
    small_ci_high: float | None = None
    pi_low: float | None = None
    pi_high: float | None = None
    tau2: float | None = None
    i2: float | None = None
    q: float | None = None
    q_p: float | None = None
    het_lrt: float | None = None
    het_lrt_p: float | None = None
    het_df: int | None = None
    het_fisher_p: float | None = None
    mu: float | None = None  # model scale (logit for GLMM); None when no model was fitted
    se: float | None = None
    bayes_estimate: float | None = None
    bayes_low: float | None = None
    bayes_high: float | None = None
    bayes_tau: float | None = None
    bayes_tau_low: float | None = None
    bayes_tau_high: float | None = None
    bayes_tau_prior_scale: float | None = None
    events_high: int | None = None  # the high ends' events, where the row has ranges
    estimate_high: float | None = None
    range_left_out: str = ""  # studies whose range has an uninformative end, left out of a combined row
    studies: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    @property
    def fitted(self) -> bool:
        """Whether a model with three or more studies was fitted (eligible for subgroup tests)."""
        return self.rule == Rule.RANDOM and self.mu is not None

    @property
    def pooled(self) -> bool:
        """Whether the row shows one estimate for its studies (not two studies side by side)."""
        return self.rule not in (Rule.TWO, Rule.NOT_ESTIMABLE)

    def as_row(self) -> dict:
        """The plain values of the row, for tidy tables and CSV."""
        return {k: getattr(self, k) for k in ROW_FIELDS}


ROW_FIELDS = ("rule", "note", "method", "k", "events", "total", "estimate", "ci_low", "ci_high", "ci_how",
              "small_ci_low", "small_ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_p", "het_lrt", "het_lrt_p",
              "het_df", "het_fisher_p", "bayes_estimate", "bayes_low", "bayes_high", "bayes_tau", "bayes_tau_low",
              "bayes_tau_high", "bayes_tau_prior_scale", "events_high", "estimate_high", "range_left_out")


def _study_table(x, n, labels) -> pd.DataFrame:
    lo, hi = study_cis(x, n)
    return pd.DataFrame({"study": list(labels), "events": np.asarray(x, int), "total": np.asarray(n, int),
                         "proportion": np.asarray(x, float) / np.asarray(n, float), "ci_low": lo, "ci_high": hi,
                         "weight": np.nan})


def _heterogeneity(xa: np.ndarray, na: np.ndarray) -> dict:
    """The likelihood-ratio test (and Fisher's exact test for two studies) of one common rate."""
    if len(xa) < 2:
        return {}
    lrt = homogeneity_lrt(xa, na)
    out = {"het_lrt": lrt.statistic, "het_lrt_p": lrt.p_value, "het_df": lrt.df}
    if len(xa) == 2:
        out["het_fisher_p"] = fisher_two_studies(xa, na).p_value
    return out


def _glmm_heterogeneity(xa: np.ndarray, na: np.ndarray) -> dict:
    """tau^2 and I^2 of the GLMM fitted by maximum likelihood (also at two studies, where they are
    uninformative but shown, as R meta does)."""
    try:
        r = stats_meta.pool_proportions(xa, na, method="glmm")
    except stats_meta.GLMMNotEstimable:
        return {}
    return {"tau2": r.tau2, "i2": r.i2}


@functools.lru_cache(maxsize=4096)
def _bayes_row(x: tuple, n: tuple, tau_scale: float) -> dict:
    """The Bayesian model's values for one row's counts: the same for every method's row (the logit
    and Freeman-Tukey sensitivity rows reuse the primary row's)."""
    b = pool_bayes(np.array(x, float), np.array(n, float), mu_prior_sd=MU_PRIOR_SD, tau_prior_scale=tau_scale)
    return {**b.as_row(), "bayes_tau_prior_scale": tau_scale}


@functools.lru_cache(maxsize=16384)
def _pool_cached(x: tuple, n: tuple, method: str, detail: bool, min_k: int, tau_scale: float, bayes: bool,
                 small_sample: bool = True) -> Pooled:
    xa, na = np.array(x, float), np.array(n, float)
    k, ex, tot = len(xa), int(xa.sum()), int(na.sum())
    full = _study_table(xa, na, list(range(1, k + 1))) if detail else None

    def table(weight=None) -> pd.DataFrame:
        if full is None:
            return pd.DataFrame()
        return full if weight is None else full.assign(weight=weight)

    if rule_for_k(k, min_k) == Rule.SINGLE:
        e = proportion_ci(ex, tot)
        return Pooled(Rule.SINGLE, "single study", "exact", 1, ex, tot, e.estimate, e.ci_low, e.ci_high,
                      "Clopper-Pearson exact", studies=table(100.0))
    het = _heterogeneity(xa, na) if detail else {}
    if bayes:
        bayes = _bayes_row(x, n, tau_scale)
    else:
        bayes = {}
    if rule_for_k(k, min_k) == Rule.TWO:
        nan = float("nan")
        return Pooled(Rule.TWO, two_studies_note(), method, k, ex, tot, nan, nan, nan, "", studies=table(),
                      **het, **(_glmm_heterogeneity(xa, na) if detail else {}), **bayes)
    if ex == 0 or ex == tot:
        e = proportion_ci(ex, tot)
        note = ("no events in any study; random-effects model not estimable" if ex == 0 else
                "events in every patient of every study; random-effects model not estimable")
        return Pooled(Rule.NO_EVENTS if ex == 0 else Rule.ALL_EVENTS, note, "exact", k, ex, tot, e.estimate, e.ci_low,
                      e.ci_high, "Clopper-Pearson exact, combined count", studies=table(), **het, **bayes)
    try:
        r = stats_meta.pool_proportions(xa, na, method=method, pi_dist="t")
        small = stats_meta.pool_proportions(xa, na, method=method, knha=True) if small_sample else None
    except stats_meta.GLMMNotEstimable as err:
        nan = float("nan")
        return Pooled(Rule.NOT_ESTIMABLE, f"random-effects model not estimable ({err})", method, k, ex, tot,
                      nan, nan, nan, "", studies=table(), **het, **bayes)
    return Pooled(Rule.RANDOM, "", method, k, ex, tot, r.estimate, r.ci_low, r.ci_high, "z",
                  small.ci_low if small else None, small.ci_high if small else None, r.pi_low, r.pi_high, r.tau2, r.i2, r.q, r.q_p, mu=r.mu, se=r.se,
                  studies=table(r.studies["weight"].to_numpy() if method != PRIMARY_METHOD else None),
                  **het, **bayes)


def common_effect(events, totals) -> Pooled:
    """The common-effect estimate of a row (a binomial likelihood with logit link: one rate for all
    studies, Wald interval), a sensitivity analysis only.

    References
    ----------
    Stijnen T, et al. Stat Med 2010;29:3046-3067 (the equal-effects binomial model).
    """
    xa, na = np.asarray(events, float), np.asarray(totals, float)
    ex, tot = int(xa.sum()), int(na.sum())
    if ex == 0 or ex == tot:
        e = proportion_ci(ex, tot)
        return Pooled(Rule.COMMON, "combined count", "exact", len(xa), ex, tot, e.estimate, e.ci_low, e.ci_high,
                      "Clopper-Pearson exact, combined count")
    mu = float(special.logit(ex / tot))
    se = float(np.sqrt(1 / ex + 1 / (tot - ex)))
    z = stats.norm.ppf(0.975)
    return Pooled(Rule.COMMON, f"{len(xa)} studies, one common rate assumed", PRIMARY_METHOD, len(xa), ex, tot,
                  ex / tot, float(special.expit(mu - z * se)), float(special.expit(mu + z * se)),
                  "common-effect logistic model, Wald z", mu=mu, se=se)


def pool(events, totals, labels=None, *, events_high=None, method: str = PRIMARY_METHOD, detail: bool = True,
         min_k: int = MIN_STUDIES_RANDOM_EFFECTS, tau_prior_scale: float = DEFAULT_TAU_PRIOR_SCALE,
         bayes: bool = True, small_sample: bool = True, memo: MutableMapping | None = None) -> Pooled:
    """One row of the synthesis (see the module docstring); memoised on its inputs.

    Parameters
    ----------
    events, totals : sequences of int
        Each study's events (the low end of a range) and patients.
    labels : sequence of str, optional
        Study labels for the per-study table.
    events_high : sequence of int, optional
        Each study's high end where its count is a range (equal to `events` otherwise).
    method : str
        "glmm" (primary), "logit", "ft" or "raw".
    detail : bool
        Also compute the heterogeneity tests and the per-study table (False for leave-one-out rows,
        which show the estimate only).
    min_k : int
        The number of studies from which the random-effects model is fitted (the plan's rule).
    tau_prior_scale : float
        The half-normal prior scale on tau of the Bayesian model (the plan's).
    bayes : bool
        Also fit the Bayesian model (a sensitivity analysis of the rows that show it).
    small_sample : bool
        Also fit the small-sample (Knapp-Hartung) interval of a random-effects row (False for
        rows that show the estimate and its main interval only: hypothetical evidence searched by
        `cartpool.analysis.triggers`).
    memo : mapping, optional
        Rows computed earlier, by their inputs (`cartpool.analysis.store`): a row found there is
        read, not refitted; one computed here is added.
    """
    ev = tuple(int(v) for v in events)
    tt = tuple(int(v) for v in totals)
    hi = tuple(int(v) for v in events_high) if events_high is not None else ev
    bayes = bool(bayes and detail and len(ev) >= 2)
    low = _remembered(memo, _pool_cached, ev, tt, method, detail, min_k, float(tau_prior_scale), bayes,
                      small_sample)
    table = low.studies.copy()
    if labels is not None and not table.empty:
        table["study"] = list(labels)
    if hi != ev:
        if not table.empty:  # each study's interval widened over the two ends of its range
            _, upper = study_cis(hi, tt)
            table = table.assign(events_high=list(hi), ci_high=np.maximum(table["ci_high"].to_numpy(), upper))
        high = _remembered(memo, _pool_cached, hi, tt, method, detail, min_k, float(tau_prior_scale), bayes,
                           small_sample)
        low = _widen(low, high)
    return replace(low, studies=table)


def pool_leave_one_out(events, totals, *, events_high=None, method: str = PRIMARY_METHOD,
                       min_k: int = MIN_STUDIES_RANDOM_EFFECTS, memo: MutableMapping | None = None) -> list[Pooled]:
    """The row pooled again with each study left out in turn (metafor `leave1out`): the estimate only,
    as `pool(..., detail=False)` gives it for each subset, by the same rules; a range is run at both
    of its ends.

    For the GLMM the refits of every subset come at once from `stats.glmm.glmm_leave_one_out` (each
    subset's likelihood is the full one less one study; only distinct counts are refitted, from the
    full data's maximum), which keeps leave-one-out fast at any k.

    Parameters
    ----------
    events, totals : sequences of int
        The row's studies (k >= 2): events (the low end of a range) and patients.
    events_high : sequence of int, optional
        Each study's high end where its count is a range.
    method : str
        As `pool`.
    min_k : int
        As `pool`.
    memo : mapping, optional
        As `pool`.

    Returns
    -------
    list of Pooled
        Item i is the row without study i.

    References
    ----------
    Viechtbauer W. metafor: leave1out.rma.glmm.
    """
    x = tuple(int(v) for v in events)
    n = tuple(int(v) for v in totals)
    low = _remembered(memo, _leave_one_out_of, x, n, method, min_k)
    if events_high is None or all(int(a) == int(b) for a, b in zip(events, events_high, strict=True)):
        return low
    high = _remembered(memo, _leave_one_out_of, tuple(int(v) for v in events_high), n, method, min_k)
    return [_widen(a, b) for a, b in zip(low, high, strict=True)]


def _remembered(memo: MutableMapping | None, compute, *key):
    """`compute(*key)`, read from `memo` where it holds the result for these inputs (and added there
    otherwise). The inputs are plain ints, floats, strings and tuples of them: the key is exact."""
    if memo is None:
        return compute(*key)
    k = (compute.__name__, *key)
    found = memo.get(k)
    if found is None:
        found = memo[k] = compute(*key)
    return found


def _leave_one_out_of(x: tuple, n: tuple, method: str, min_k: int) -> list[Pooled]:
    return _leave_one_out_at(np.array(x, float), np.array(n, float), method, min_k)


def _leave_one_out_at(x: np.ndarray, n: np.ndarray, method: str, min_k: int) -> list[Pooled]:
    k = len(x)
    keep = ~np.eye(k, dtype=bool)
    if method != PRIMARY_METHOD or rule_for_k(k - 1, min_k) is not None:
        return [pool(x[m], n[m], method=method, detail=False, min_k=min_k) for m in keep]
    fits = glmm_leave_one_out(x, n).fits
    out = []
    done: dict[tuple[float, float], Pooled] = {}  # leaving out either of two equal studies: one subset
    for i, (m, fit) in enumerate(zip(keep, fits, strict=True)):
        if (x[i], n[i]) in done:
            out.append(done[(x[i], n[i])])
            continue
        xs, ns = x[m], n[m]
        ex, tot = int(xs.sum()), int(ns.sum())
        if ex == 0 or ex == tot:  # the rules for rows at 0% or 100%: no model
            row = pool(xs, ns, method=method, detail=False, min_k=min_k)
        elif isinstance(fit, GLMMNotEstimable):
            nan = float("nan")
            row = Pooled(Rule.NOT_ESTIMABLE, f"random-effects model not estimable ({fit})", method, k - 1, ex, tot,
                         nan, nan, nan, "")
        else:
            r = stats_meta.pool_proportions(xs, ns, method=method, pi_dist="t", fit=fit, table=False)
            small = stats_meta.pool_proportions(xs, ns, method=method, knha=True, fit=fit, table=False)
            row = Pooled(Rule.RANDOM, "", method, k - 1, ex, tot, r.estimate, r.ci_low, r.ci_high, "z",
                         small.ci_low, small.ci_high, r.pi_low, r.pi_high, r.tau2, r.i2, r.q, r.q_p, mu=r.mu, se=r.se)
        done[(x[i], n[i])] = row
        out.append(row)
    return out


def _widen(low: Pooled, high: Pooled) -> Pooled:
    """A row run at the low ends and at the high ends of its ranges: both estimates, and the interval
    from the lowest lower limit to the highest upper limit."""
    def lo(a, b):
        vals = [v for v in (a, b) if v is not None and v == v]
        return min(vals) if vals else None

    def hi(a, b):
        vals = [v for v in (a, b) if v is not None and v == v]
        return max(vals) if vals else None

    if not (low.pooled and high.pooled):  # one end not pooled: the row is not pooled either
        nan = float("nan")
        worse = low if not low.pooled else high
        return replace(low, rule=worse.rule, note=worse.note, events_high=high.events, estimate=nan, ci_low=nan,
                       ci_high=nan, estimate_high=None, small_ci_low=None, small_ci_high=None, pi_low=None,
                       pi_high=None, ci_how="")
    return replace(low, events_high=high.events, estimate_high=high.estimate,
                   ci_low=lo(low.ci_low, high.ci_low), ci_high=hi(low.ci_high, high.ci_high),
                   small_ci_low=lo(low.small_ci_low, high.small_ci_low),
                   small_ci_high=hi(low.small_ci_high, high.small_ci_high),
                   pi_low=lo(low.pi_low, high.pi_low), pi_high=hi(low.pi_high, high.pi_high),
                   bayes_low=lo(low.bayes_low, high.bayes_low), bayes_high=hi(low.bayes_high, high.bayes_high),
                   ci_how=(low.ci_how + "; " if low.ci_how else "") + "widened over the ranges' two ends")


@dataclass(frozen=True)
class SubgroupTest:
    tested: bool
    q: float | None
    df: int
    p: float | None
    note: str


def subgroup_test(results: dict[str, Pooled]) -> SubgroupTest:
    """Test for subgroup differences (Q-between of the subgroup estimates on the model scale, as R
    meta), only between subgroups that each have a fitted random-effects model (three or more
    studies).

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to Meta-Analysis. Wiley;
    2009, chapter 19.
    """
    if len(results) < 2:
        return SubgroupTest(False, None, 0, None, "not tested (one subgroup)")
    if not all(r.fitted for r in results.values()):
        return SubgroupTest(False, None, 0, None, "not tested (a subgroup has too few studies to pool)")
    q, df, p = stats_meta.q_between([r.mu for r in results.values()], [r.se for r in results.values()])
    return SubgroupTest(True, q, df, p, "")

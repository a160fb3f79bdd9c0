"""Pooled proportions as the report shows them: one `Pooled` result per pooled row, computed once
(memoised on its inputs) and read by every table, figure and CSV.

The statistics are `cartpool.stats`; this module applies them to one row's studies and keeps the
result in the shape the analysis tables need.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..stats import meta as stats_meta
from ..stats.bayes import MU_PRIOR_SD, TAU_PRIOR_SCALE

#: The Bayesian model's priors, as the methods text states them.
BAYES_PRIORS = {"MU_PRIOR_SD": MU_PRIOR_SD, "TAU_PRIOR_SCALE": TAU_PRIOR_SCALE}

#: Proportion methods: the primary model and the sensitivity analyses.
PRIMARY_METHOD = "glmm"
METHOD_LABELS = {
    "glmm": "random-intercept logistic regression (GLMM)",
    "logit": "inverse-variance, logit scale",
    "ft": "inverse-variance, Freeman-Tukey double arcsine",
    "raw": "inverse-variance, untransformed proportions",
}


def common_effect_note(k: int) -> str:
    """The plain words for a common-effect row: too few studies to estimate between-study spread."""
    return f"{k} studies, one common rate assumed"


@dataclass(frozen=True)
class Pooled:
    """One pooled row: what a reader may see, by the data it has (docs/statistics.md).

    `rule` is one of "single study", "no events", "all events", "common effect", "random effects";
    `note` says it in plain words ("single study", "2 studies, one common rate assumed" ...). Intervals are
    on the proportion scale; None means "not estimable" (the note says why).
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
    mu: float | None = None  # model scale (logit for GLMM); None when no model was fitted
    se: float | None = None
    bayes_estimate: float | None = None
    bayes_low: float | None = None
    bayes_high: float | None = None
    bayes_tau: float | None = None
    bayes_tau_low: float | None = None
    bayes_tau_high: float | None = None
    studies: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    @property
    def fitted(self) -> bool:
        """Whether a model with at least two studies was fitted (eligible for subgroup tests)."""
        return self.rule in ("common effect", "random effects") and self.mu is not None

    def as_row(self) -> dict:
        """The plain values of the row, for tidy tables and CSV."""
        return {k: getattr(self, k) for k in (
            "rule", "note", "method", "k", "events", "total", "estimate", "ci_low", "ci_high", "ci_how",
            "small_ci_low", "small_ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_p",
            "bayes_estimate", "bayes_low", "bayes_high", "bayes_tau", "bayes_tau_low", "bayes_tau_high")}


def _study_table(x, n, labels) -> pd.DataFrame:
    from ..stats.proportions import study_cis

    lo, hi = study_cis(x, n)
    return pd.DataFrame({"study": list(labels), "events": np.asarray(x, int), "total": np.asarray(n, int),
                         "proportion": np.asarray(x, float) / np.asarray(n, float), "ci_low": lo, "ci_high": hi,
                         "weight": np.nan})


#: Rows with at least this many studies get the random-effects model; fewer get the rules below.
MIN_STUDIES_RANDOM_EFFECTS = 3


@functools.lru_cache(maxsize=4096)
def _bayes_row(x: tuple, n: tuple) -> dict:
    """The Bayesian model's values for one row's counts (the same for every method's row)."""
    from ..stats.bayes import pool_bayes

    return pool_bayes(np.array(x, float), np.array(n, float)).as_row()


@functools.lru_cache(maxsize=16384)
def _pool_cached(x: tuple, n: tuple, method: str, detail: bool = True) -> Pooled:
    """The rules of docs/statistics.md, by the data the row has:

    * k = 1: the study's own proportion with its Clopper-Pearson interval ("single study");
    * every study at 0 events, or every study at 100%: the combined count with its exact interval
      (the random-effects model has no maximum);
    * k = 2: a common-effect model (tau^2 cannot be estimated from two studies), no prediction
      interval;
    * k >= 3: the random-effects model, with the z interval (metafor's default), the small-sample
      interval (GLMM test="t"; Hartung-Knapp for inverse variance) and a t-based prediction interval.
      A GLMM without a finite maximum is shown as "not estimable", with no interval.

    Every row with k >= 2 also gets the Bayesian binomial-normal model (half-normal(0.5) prior on
    tau), a sensitivity analysis for few studies, at any k. With `detail` False
    (leave-one-out rows, which show the pooled estimate only) neither the Bayesian model nor the
    per-study table is computed.
    """
    from scipy import special, stats

    from ..stats.proportions import proportion_ci

    xa, na = np.array(x, float), np.array(n, float)
    k, ex, tot = len(xa), int(xa.sum()), int(na.sum())
    full = _study_table(xa, na, list(range(1, k + 1))) if detail else None

    def table(weight=None) -> pd.DataFrame:
        if full is None:
            return pd.DataFrame()
        return full if weight is None else full.assign(weight=weight)

    if k == 1:
        e = proportion_ci(ex, tot)
        return Pooled("single study", "single study", "exact", 1, ex, tot, e.estimate, e.ci_low, e.ci_high,
                      "Clopper-Pearson exact", studies=table(100.0))
    bayes = _bayes_row(x, n) if detail else {}
    if ex == 0 or ex == tot:
        e = proportion_ci(ex, tot)
        note = ("no events in any study; random-effects model not estimable" if ex == 0 else
                "events in every patient of every study; random-effects model not estimable")
        return Pooled("no events" if ex == 0 else "all events", note, "exact", k, ex, tot, e.estimate, e.ci_low,
                      e.ci_high, "Clopper-Pearson exact, combined count", studies=table(), **bayes)
    if k < MIN_STUDIES_RANDOM_EFFECTS:
        w = na / tot * 100
        if method == PRIMARY_METHOD:
            # common effect with a binomial likelihood and logit link: mu = logit(sum x / sum n), Wald SE
            mu = float(special.logit(ex / tot))
            se = float(np.sqrt(1 / ex + 1 / (tot - ex)))
            z = stats.norm.ppf(0.975)
            return Pooled("common effect", common_effect_note(k), method, k, ex, tot, ex / tot,
                          float(special.expit(mu - z * se)), float(special.expit(mu + z * se)),
                          "common-effect logistic model, Wald z", mu=mu, se=se,
                          studies=table(w), **bayes)
        r = stats_meta.pool_proportions(xa, na, method=method, tau2="EE")
        return Pooled("common effect", common_effect_note(k), method, k, ex, tot, r.estimate, r.ci_low,
                      r.ci_high, "common-effect inverse-variance model, z", mu=r.mu, se=r.se, q=r.q, q_p=r.q_p,
                      studies=table(r.studies["weight"].to_numpy()), **bayes)
    try:
        r = stats_meta.pool_proportions(xa, na, method=method, pi_dist="t")
        small = stats_meta.pool_proportions(xa, na, method=method, knha=True)
    except stats_meta.GLMMNotEstimable as err:
        nan = float("nan")
        return Pooled("not estimable", f"random-effects model not estimable ({err})", method, k, ex, tot,
                      nan, nan, nan, "", studies=table(), **bayes)
    return Pooled("random effects", "", method, k, ex, tot, r.estimate, r.ci_low, r.ci_high, "z",
                  small.ci_low, small.ci_high, r.pi_low, r.pi_high, r.tau2, r.i2, r.q, r.q_p, r.mu, r.se,
                  studies=table(r.studies["weight"].to_numpy()), **bayes)


def pool(events, totals, labels=None, *, method: str = PRIMARY_METHOD, detail: bool = True) -> Pooled:
    """Pool one row's studies (see `Pooled`); memoised on (events, totals, method).

    Parameters
    ----------
    events, totals : sequences of int
        Each study's events and patients.
    labels : sequence of str, optional
        Study labels for the per-study table.
    method : str
        "glmm" (primary), "logit", "ft" or "raw".
    detail : bool
        Also fit the Bayesian few-studies model (about 1 s at 50 studies) and build the per-study
        table with each study's exact CI and weight (False for leave-one-out rows).
    """
    r = _pool_cached(tuple(int(v) for v in events), tuple(int(v) for v in totals), method, detail)
    table = r.studies.copy()
    if labels is not None and not table.empty:
        table["study"] = list(labels)
    return Pooled(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "studies": table})


def pool_leave_one_out(events, totals, *, method: str = PRIMARY_METHOD) -> list[Pooled]:
    """The row pooled again with each study left out in turn (metafor `leave1out`): the estimate
    only, as `pool(..., detail=False)` gives it for each subset, by the same rules.

    For the GLMM the refits of every subset come at once from `stats.glmm.glmm_leave_one_out`
    (each subset's likelihood is the full one less one study; only distinct counts are refitted,
    from the full data's maximum), which is what keeps leave-one-out fast at any k.

    Parameters
    ----------
    events, totals : sequences of int
        The row's studies (k >= 2).
    method : str
        As `pool`.

    Returns
    -------
    list of Pooled
        Item i is the row without study i.
    """
    x = np.array([int(v) for v in events], float)
    n = np.array([int(v) for v in totals], float)
    k = len(x)
    keep = ~np.eye(k, dtype=bool)
    if method != PRIMARY_METHOD or k - 1 < MIN_STUDIES_RANDOM_EFFECTS:
        return [pool(x[m], n[m], method=method, detail=False) for m in keep]
    from ..stats.glmm import GLMMNotEstimable, glmm_leave_one_out

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
            row = pool(xs, ns, method=method, detail=False)
        elif isinstance(fit, GLMMNotEstimable):
            nan = float("nan")
            row = Pooled("not estimable", f"random-effects model not estimable ({fit})", method, k - 1, ex, tot,
                         nan, nan, nan, "")
        else:
            r = stats_meta.pool_proportions(xs, ns, method=method, pi_dist="t", fit=fit, table=False)
            small = stats_meta.pool_proportions(xs, ns, method=method, knha=True, fit=fit, table=False)
            row = Pooled("random effects", "", method, k - 1, ex, tot, r.estimate, r.ci_low, r.ci_high, "z",
                         small.ci_low, small.ci_high, r.pi_low, r.pi_high, r.tau2, r.i2, r.q, r.q_p, r.mu, r.se)
        done[(x[i], n[i])] = row
        out.append(row)
    return out


@dataclass(frozen=True)
class SubgroupTest:
    tested: bool
    q: float | None
    df: int
    p: float | None
    note: str


def subgroup_test(results: dict[str, Pooled]) -> SubgroupTest:
    """Test for subgroup differences (Q-between of the subgroup estimates on the model scale,
    as R meta), only between subgroups that each have at least two studies and a fitted model.

    References
    ----------
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to Meta-Analysis. Wiley;
    2009, chapter 19.
    """
    from scipy import stats

    if len(results) < 2:
        return SubgroupTest(False, None, 0, None, "not tested (one subgroup)")
    if not all(r.fitted and r.k >= 2 for r in results.values()):
        return SubgroupTest(False, None, 0, None, "not tested (fewer than 2 studies in a subgroup)")
    mus = np.array([r.mu for r in results.values()])
    ws = 1 / np.array([r.se for r in results.values()]) ** 2
    pooled = np.sum(ws * mus) / np.sum(ws)
    q = float(np.sum(ws * (mus - pooled) ** 2))
    df = len(results) - 1
    return SubgroupTest(True, q, df, float(stats.chi2.sf(q, df)), "")

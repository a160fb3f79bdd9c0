"""Tests of heterogeneity between single proportions that hold at 0% and 100%.

* `homogeneity_lrt`: the likelihood-ratio test of one common proportion against one proportion per
  study (binomial deviance, the G-test). It is metafor's ``QE.LRT`` of `rma.glmm` with measure
  "PLO": the model with a fixed intercept per study against the equal-effects model. Studies with
  no events or all events enter with their binomial likelihood; nothing is added to any cell.
* `fisher_two_studies`: Fisher's exact test of two proportions (two studies).

The continuity-corrected logit Q of the inverse-variance model is not used for judging
heterogeneity: it changes with the correction wherever a study is at 0% or 100%.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3)
(rma.glmm: Wald and likelihood-ratio tests for heterogeneity).
Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome in the framework of
the generalized linear mixed model. Stat Med 2010;29:3046-3067.
Agresti A. Categorical Data Analysis, 3rd ed. Wiley; 2013, sections 3.2 and 3.5 (G² and Fisher's
exact test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import xlogy


@dataclass(frozen=True)
class HomogeneityTest:
    """A test of one common proportion across studies."""

    statistic: float
    df: int
    p_value: float
    method: str


def homogeneity_lrt(events, totals) -> HomogeneityTest:
    """Likelihood-ratio test that every study shares one proportion (metafor's ``QE.LRT``).

    Parameters
    ----------
    events, totals : array_like of int
        Each study's events and patients (two or more studies).

    Returns
    -------
    HomogeneityTest
        G² = 2 Σ [x log(x / (n p̂)) + (n − x) log((n − x) / (n (1 − p̂)))] with p̂ = Σx / Σn, on k − 1
        degrees of freedom (0 log 0 = 0).

    References
    ----------
    Viechtbauer W. J Stat Softw 2010;36(3). Agresti A. Categorical Data Analysis, 2013, §3.2.
    """
    x, n = np.asarray(events, float), np.asarray(totals, float)
    if len(x) < 2:
        raise ValueError("a test of heterogeneity needs at least two studies")
    if np.any(n <= 0) or np.any(x < 0) or np.any(x > n):
        raise ValueError("each study needs 0 <= events <= total and total > 0")
    p = x.sum() / n.sum()
    expected_x, expected_y = n * p, n * (1 - p)
    g2 = 2 * float(np.sum(xlogy(x, x) - xlogy(x, expected_x) + xlogy(n - x, n - x) - xlogy(n - x, expected_y)))
    g2 = max(g2, 0.0)
    df = len(x) - 1
    return HomogeneityTest(g2, df, float(stats.chi2.sf(g2, df)), "likelihood-ratio test")


def fisher_two_studies(events, totals) -> HomogeneityTest:
    """Fisher's exact test (two-sided) that two studies share one proportion.

    Parameters
    ----------
    events, totals : array_like of int
        Two studies' events and patients.

    Returns
    -------
    HomogeneityTest
        The statistic is the sample odds ratio (inf or 0 when a cell is empty); df is 1 for the
        record only.

    References
    ----------
    Agresti A. Categorical Data Analysis, 3rd ed. Wiley; 2013, §3.5.1.
    """
    x, n = np.asarray(events, int), np.asarray(totals, int)
    if len(x) != 2:
        raise ValueError("Fisher's exact test here compares exactly two studies")
    table = [[int(x[0]), int(n[0] - x[0])], [int(x[1]), int(n[1] - x[1])]]
    res = stats.fisher_exact(table, alternative="two-sided")
    return HomogeneityTest(float(res.statistic), 1, float(res.pvalue), "Fisher's exact test")

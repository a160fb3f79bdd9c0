"""Heterogeneity tests and the GLMM's tau^2 and I^2 at two or more studies, against R.

Reference: tests/reference/heterogeneity.json, written by tests/reference/make_heterogeneity_reference.R
(metafor rma.glmm, measure "PLO", ML: QE.LRT, tau2, I2; fisher.test for two studies).
"""

import json
from pathlib import Path

import pytest

from cartpool.stats.heterogeneity import fisher_two_studies, homogeneity_lrt
from cartpool.stats.meta import GLMMNotEstimable, pool_proportions

ROWS = json.loads((Path(__file__).parent / "reference" / "heterogeneity.json").read_text())["rows"]
FITTED = [r for r in ROWS if "left_out" not in r]


@pytest.mark.parametrize("row", FITTED, ids=lambda r: f"{r['x']}/{r['n']}")
def test_likelihood_ratio_test_matches_metafor_qe_lrt(row):
    t = homogeneity_lrt(row["x"], row["n"])
    assert t.statistic == pytest.approx(row["qe_lrt"], abs=1e-6, rel=1e-7)
    assert t.p_value == pytest.approx(row["qep_lrt"], abs=1e-9, rel=1e-6)
    assert t.df == len(row["x"]) - 1


@pytest.mark.parametrize("row", [r for r in ROWS if "fisher_p" in r], ids=lambda r: f"{r['x']}/{r['n']}")
def test_fisher_exact_matches_r(row):
    assert fisher_two_studies(row["x"], row["n"]).p_value == pytest.approx(row["fisher_p"], rel=1e-9)


@pytest.mark.parametrize("row", FITTED, ids=lambda r: f"{r['x']}/{r['n']}")
def test_glmm_tau2_and_i2_match_metafor_from_two_studies(row):
    try:
        r = pool_proportions(row["x"], row["n"], method="glmm")
    except GLMMNotEstimable:
        pytest.skip("R fitted a model that has no finite maximum here")  # never for these rows
    assert r.tau2 == pytest.approx(row["tau2"], rel=2e-3, abs=2e-4)
    assert r.i2 == pytest.approx(row["i2"], rel=2e-3, abs=0.05)


def test_the_test_holds_at_zero_and_all_events():
    # two studies at 0% and 100%: the likelihood-ratio statistic is finite, the Wald-type one is not usable
    t = homogeneity_lrt([0, 8], [8, 8])
    assert t.p_value < 1e-3

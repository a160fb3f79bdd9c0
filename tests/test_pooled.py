"""The pooled report on about a dozen synthetic studies (several subgroups, 0% and 100% studies):
forest plot rows and the pooled CSV equal cartpool.stats called directly."""

import numpy as np
import pandas as pd
import pytest

from cartpool.data.load import load_all
from cartpool.plots.forest import forest_rows
from cartpool.report.pooled import PooledReport
from cartpool.stats.meta import subgroup_analysis
from cartpool.synthetic import generate


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    root = tmp_path_factory.mktemp("pooled")
    generate(12, root / "studies", root / "sources")
    studies = load_all(root / "studies", sources=root / "sources")
    rep = PooledReport(studies, root / "out")
    html = {k: rep.outcome(k) for k in ("orr", "crs_ge3")}
    rep.results_table()
    return rep, html, root


def test_synthetic_set_has_extremes_and_subgroups(pooled):
    rep, _, _ = pooled
    t = rep.primary[rep.primary["outcome"] == "orr"]
    assert (t["events"] == t["total"]).any()  # 100% studies
    c = rep.primary[rep.primary["outcome"] == "crs_ge3"]
    assert (c["events"] == 0).any()  # 0% studies
    assert set(t["disease"]) == {"PCL", "MM"} and t["setting"].nunique() == 2


def test_pooled_csv_equals_stats_called_directly(pooled):
    rep, _, root = pooled
    csv = pd.read_csv(root / "out" / "tables" / "pooled-estimates.csv")
    for key in ("orr", "crs_ge3"):
        t = rep.primary[rep.primary["outcome"] == key]
        direct = subgroup_analysis(t["events"].astype(int), t["total"].astype(int), t["disease"],
                                   labels=list(t["label"]), method="glmm")
        rows = csv[(csv["outcome"] == key) & (csv["view"] == "disease")]
        for name, r in [*direct.subgroups.items(), ("all", direct.overall)]:
            got = rows[rows["subgroup"] == name].iloc[0]
            assert got["k"] == r.k and got["events"] == r.events and got["total"] == r.total
            for col in ("estimate", "ci_low", "ci_high", "tau2", "i2", "q"):
                assert got[col] == pytest.approx(getattr(r, col), rel=1e-5, abs=1e-6), (key, name, col)
        diff = rows[rows["subgroup"] == "test for subgroup differences"].iloc[0]
        assert diff["q"] == pytest.approx(direct.q_between, rel=1e-5)


def test_forest_rows_show_every_study_with_its_weight_and_the_pooled_diamonds(pooled):
    rep, html, _ = pooled
    t = rep.primary[rep.primary["outcome"] == "orr"]
    res = subgroup_analysis(t["events"].astype(int), t["total"].astype(int), t["disease"],
                            labels=list(t["label"]), method="glmm")
    rows = forest_rows(res)
    studies = [r for r in rows if r.kind == "study"]
    assert sorted(r.label for r in studies) == sorted(t["label"])
    assert sum(r.weight for r in studies) == pytest.approx(100.0)
    diamonds = [r for r in rows if r.kind == "diamond"]
    assert len(diamonds) == len(res.subgroups) + 1
    assert diamonds[-1].est == pytest.approx(res.overall.estimate)
    assert any(r.kind == "prediction" for r in rows)
    # the pooled numbers printed in the page equal the CSV
    ov = res.overall
    assert f"{100 * ov.estimate:.1f}% ({100 * ov.ci_low:.1f}–{100 * ov.ci_high:.1f})" in html["orr"]


def test_adding_a_study_flows_into_the_tables(tmp_path):
    generate(3, tmp_path / "s", tmp_path / "src")
    a = PooledReport(load_all(tmp_path / "s", sources=tmp_path / "src"))
    generate(4, tmp_path / "s", tmp_path / "src")
    b = PooledReport(load_all(tmp_path / "s", sources=tmp_path / "src"))
    assert "Synthetic 003" in b.studies_table() and "Synthetic 003" not in a.studies_table()
    assert np.isfinite(b.primary["events"].astype(float)).sum() > np.isfinite(a.primary["events"].astype(float)).sum()

"""The analysis layer (tidy results computed once) and its renderings (HTML fragments, figures,
CSV from frames), on synthetic studies of both kinds and on the real data."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from cartpool.analysis import pooled as P  # noqa: E402
from cartpool.analysis.pooling import pool  # noqa: E402
from cartpool.analysis.study import StudyAnalysis  # noqa: E402
from cartpool.data.load import load_all, load_study  # noqa: E402
from cartpool.domain.derive import derive_endpoints  # noqa: E402
from cartpool.plots import study as splots  # noqa: E402
from cartpool.report.pooled import PooledPage  # noqa: E402
from cartpool.report.study import StudyPage  # noqa: E402
from cartpool.synthetic import generate  # noqa: E402

from .helpers import DATA  # noqa: E402


@pytest.fixture
def pp(synthetic):
    return load_study(synthetic / "studies" / "syn000", sources=synthetic / "sources")


@pytest.fixture
def summary_only(synthetic):
    return load_study(synthetic / "studies" / "syn001", sources=synthetic / "sources")


# --- figures ---------------------------------------------------------------------------------


def test_km_plot_has_curve_band_censor_marks_and_numbers_at_risk(pp):
    km = StudyAnalysis(pp).km[("os", "all")]
    fig = splots.km_plot({"All": km}, title="OS")
    ax, axr = fig.axes
    assert ax.get_lines() and ax.collections
    assert str(km.n) in [t.get_text() for t in axr.texts]  # number at risk at time 0 equals N
    plt.close(fig)


def test_response_bar_shows_each_category_and_unreported_rest():
    fig = splots.response_bar({"CR": 1, "VGPR": 4, "PR": 4}, 12, "x")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["CR (1)", "VGPR (4)", "PR (4)", "not reported (3)"]
    plt.close(fig)


def test_swimmer_has_one_bar_per_patient(pp):
    d = derive_endpoints(pp)
    fig = splots.swimmer(d, {}, title="x")
    assert len(fig.axes[0].patches) == len(d)
    plt.close(fig)


# --- one study -------------------------------------------------------------------------------


def test_study_with_per_patient_data(pp, tmp_path):
    a = StudyAnalysis(pp)
    orr = a.outcomes.set_index("outcome").loc["orr"]
    assert orr["how"] == "computed from the per-patient table" and orr["total"] == len(a.derived)
    page = StudyPage(a, tmp_path)
    html = str(page.render_all())
    assert not (tmp_path / "tables").exists()  # rendering writes nothing; the export step does
    page.export()
    assert "Overall response (PR or better)" in html
    assert html.count('<svg role="img"') >= 4  # response bar, two Kaplan-Meier curves, swimmer
    assert (tmp_path / "tables" / "syn000-efficacy.csv").is_file()
    assert list((tmp_path / "figures" / "syn000").glob("*.svg"))
    alts = re.findall(r'<svg role="img" aria-label="([^"]*)"', html)
    assert alts and all(len(x) > 30 and not x.lower().startswith("figure") for x in alts)


def test_study_without_per_patient_data_says_what_is_missing(summary_only):
    html = str(StudyPage(StudyAnalysis(summary_only)).render_all())
    assert "No swimmer plot" in html
    assert "MRD negativity" in html and "—" in html  # the row is there, marked not reported
    # one printed milestone: its point is shown, but no curve is drawn through it
    assert "fewer than two printed milestones, so no curve is drawn" in html
    assert "Approximate curves." not in html


def test_efficacy_row_of_a_real_study():
    a = StudyAnalysis(load_study(DATA / "guo2026", sources=None)) if (DATA / "guo2026").is_dir() else None
    if a is None:
        pytest.skip("the seed study guo2026 is not in this data set")
    r = a.outcomes.set_index("outcome").loc["orr"]
    assert (r["events"], r["total"]) == (9, 12)
    assert "75.0% (42.8–94.5)" in str(StudyPage(a).show("efficacy"))


def test_every_cited_number_is_in_the_sources_table():
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        page = StudyPage(StudyAnalysis(load_study(folder, sources=None)))
        body = str(page.render_all())
        refs = set(re.findall(r'href="#src-(\d+)"', body))
        assert refs and all(f'id="src-{n}"' in body for n in refs), folder.name


# --- pooled ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    root = tmp_path_factory.mktemp("pooled")
    generate(12, root / "studies", root / "sources")
    a = P.PooledAnalysis(load_all(root / "studies", sources=root / "sources"))
    page = PooledPage(a, root / "out")
    html = str(page.render_all())
    page.export()
    return a, html, root


def test_synthetic_set_has_extremes_and_groups(pooled):
    a, _, _ = pooled
    t = a.available("orr")
    assert (t["events"] == t["total"]).any()  # 100% studies
    assert (a.available("crs_ge3")["events"] == 0).any()  # 0% studies
    assert set(t["group"]) >= {"Relapsed/refractory PCL", "Frontline PCL", "Relapsed/refractory MM"}


KEYS = ["outcome", "view", "subgroup", "level", "analysis"]


def test_inputs_have_the_keys_of_the_estimates_and_refit_them(pooled):
    a, _, _ = pooled
    est = a.estimates[a.estimates["events"].notna() & (a.estimates["rule"] != "Bayesian")]
    assert not est.duplicated(KEYS).any()
    for k, rows in a.inputs.groupby(KEYS, sort=False):
        if k not in est.set_index(KEYS).index:
            continue
        e = est.set_index(KEYS).loc[k]
        assert e["k"] == len(rows) and e["events"] == rows["events"].sum() and e["total"] == rows["total"].sum()
        method = {"inverse-variance logit": "logit", "Freeman-Tukey": "ft"}.get(k[4], "glmm")
        r = pool(rows["events"], rows["total"], events_high=rows["events_high"], method=method)
        if e["rule"] == "common effect":
            continue  # refitted by the common-effect model, a sensitivity analysis of two studies
        assert r.rule == e["rule"]
        if np.isfinite(e["estimate"]):
            assert r.estimate == pytest.approx(e["estimate"]) and r.ci_low == pytest.approx(e["ci_low"])


def test_every_interval_is_honest(pooled):
    a, _, _ = pooled
    est = a.estimates[a.estimates["estimate"].notna()]
    for col_lo, col_hi in (("ci_low", "ci_high"), ("small_ci_low", "small_ci_high"), ("pi_low", "pi_high")):
        e = est[est[col_lo].notna()]
        assert (e[col_hi] - e[col_lo] > 1e-6).all(), e[["outcome", "subgroup", "analysis", col_lo, col_hi]]
        assert ((e[col_lo] <= e["estimate"] + 1e-9) & (e["estimate"] <= e[col_hi] + 1e-9)).all()


def test_rules_by_data(pooled):
    a, _, _ = pooled
    est = a.estimates
    main = est[est["view"].isin(["primary", "context", "subgroup"]) & (est["subgroup"] != P.SUBGROUP_TEST)]
    single = main[main["k"] == 1]
    assert (single["rule"] == "single study").all() and single["pi_low"].isna().all()
    two = main[main["k"] == 2]
    assert (two["rule"] == "two studies, not pooled").all() and two["estimate"].isna().all()
    # heterogeneity is shown for every row of two or more studies: the likelihood-ratio test for counts,
    # Cochran's Q on the log(-log S) scale for survival at a landmark
    assert two.loc[two["events"].notna(), "het_lrt_p"].notna().all()
    assert two.loc[two["events"].isna(), "q_p"].notna().all()
    pooled_rows = main[main["k"] >= 3]
    assert pooled_rows["rule"].isin(["random effects", "no events", "all events", "not estimable"]).all()
    sens = est[est["view"] == "sensitivity"]
    assert (sens.loc[sens["rule"] == "common effect", "k"] == 2).all()
    tests = est[est["subgroup"] == "test for subgroup differences"]
    assert set(tests["rule"]) <= {"tested", "not tested"}


def test_adding_a_study_flows_into_the_tables(tmp_path):
    generate(3, tmp_path / "s", tmp_path / "src")
    before = P.PooledAnalysis(load_all(tmp_path / "s", sources=tmp_path / "src"))
    generate(4, tmp_path / "s", tmp_path / "src")
    after = P.PooledAnalysis(load_all(tmp_path / "s", sources=tmp_path / "src"))
    assert "Synthetic 003" in set(after.studies["study"]) and "Synthetic 003" not in set(before.studies["study"])
    assert "Synthetic 003" in set(after.inputs["study"])
    assert "Synthetic 003" in str(PooledPage(after).show("studies"))


def test_labels_round_trip_unchanged_into_every_csv(tmp_path):
    generate(4, tmp_path / "studies", tmp_path / "sources")
    evil = "Hao & O'Brien <2025>"
    p = tmp_path / "studies" / "syn000" / "study.yaml"
    s = yaml.safe_load(p.read_text(encoding="utf-8"))
    s["label"] = evil
    p.write_text(yaml.safe_dump(s, allow_unicode=True), encoding="utf-8")
    studies = load_all(tmp_path / "studies", sources=tmp_path / "sources")
    out = tmp_path / "out"
    pooled_page = PooledPage(P.PooledAnalysis(studies), out)
    pooled_page.render_all()
    pooled_page.export()
    study_page = StudyPage(StudyAnalysis(studies[0]), out)
    html = str(study_page.render_all())
    study_page.export()
    assert "Hao &amp; O&#39;Brien &lt;2025&gt;" in html or "Hao &amp; O&#x27;Brien &lt;2025&gt;" in html
    seen = 0
    for f in (out / "tables").glob("*.csv"):
        text = f.read_text(encoding="utf-8")
        assert "&amp;" not in text and "&#" not in text and "&lt;" not in text, f.name
        seen += evil in text
    assert seen >= 3  # studies, estimates, inputs at least
    df = pd.read_csv(out / "tables" / "pooled-studies.csv")
    assert evil in set(df["study"])


def test_real_pooled_rows_follow_the_rules():
    if not DATA.is_dir():
        pytest.skip("no data")
    a = P.PooledAnalysis(load_all(DATA, sources=None))
    est = a.estimates[a.estimates["estimate"].notna()]
    shown = est[est["ci_low"].notna() & est["ci_high"].notna()]
    # an interval is either not estimable (and the page says so) or has width; never zero-width
    assert (shown["ci_high"] - shown["ci_low"] > 1e-3).all(), shown[shown["ci_high"] - shown["ci_low"] <= 1e-3]
    assert np.isfinite(est["estimate"].astype(float)).all()
    main = a.estimates[a.estimates["view"].isin(["primary", "context"]) & (a.estimates["k"] == 2)]
    assert main["estimate"].isna().all()  # two studies are never given one common rate


def test_small_sample_and_bayesian_beside_every_model(pooled):
    a, _, _ = pooled
    est = a.estimates
    re = est[est["rule"] == "random effects"]
    assert not re.empty
    assert re["small_ci_low"].notna().all() and re["pi_low"].notna().all()
    # the small-sample interval is the wider one for the GLMM (same SE, t instead of z)
    glmm = re[re["method"] == "glmm"]
    assert ((glmm["small_ci_low"] <= glmm["ci_low"] + 1e-12) & (glmm["small_ci_high"] >= glmm["ci_high"] - 1e-12)).all()
    main = est[est["view"].isin(["primary", "context"]) & est["events"].notna() & (est["k"] >= 2)]
    assert main["bayes_estimate"].notna().all()
    assert ((main["bayes_low"] < main["bayes_estimate"]) & (main["bayes_estimate"] < main["bayes_high"])).all()
    assert (main["bayes_tau_low"] < main["bayes_tau_high"]).all()
    bayes = est[est["rule"] == "Bayesian"]
    assert not bayes.empty and bayes["note"].str.contains("prior median").all()  # tau's posterior beside its prior
    common = est[est["rule"] == "common effect"]
    assert common["pi_low"].isna().all() and common["tau2"].isna().all()
    assert (common["k"] == 2).all() and (common["view"] == "sensitivity").all()


def test_real_rows_match_rma_glmm_on_their_inputs():
    """Every random-effects GLMM row of the real report against metafor (tests/reference/pooled-rows.json,
    made by make_references.R from reports/tables/pooled-inputs.csv)."""
    import json

    from scipy import special

    if not DATA.is_dir():
        pytest.skip("no data")
    ref = {(tuple(r["x"]), tuple(r["n"])): r["glmm"] for r in json.loads(
        (Path(__file__).parent / "reference" / "pooled-rows.json").read_text())["rows"]}
    a = P.PooledAnalysis(load_all(DATA, sources=None))
    keys = ["outcome", "view", "subgroup", "analysis"]
    rows = a.estimates[(a.estimates["rule"] == "random effects") & (a.estimates["method"] == "glmm")]
    missing, checked = [], 0
    for _, e in rows.iterrows():
        inp = a.inputs.set_index(keys).loc[tuple(e[keys])]
        order = np.lexsort((inp["total"].to_numpy(), inp["events"].to_numpy()))
        key = (tuple(inp["events"].to_numpy()[order].tolist()), tuple(inp["total"].to_numpy()[order].tolist()))
        if key not in ref:
            missing.append(key)
            continue
        g = ref[key]
        assert e["estimate"] == pytest.approx(special.expit(g["beta"]), abs=1e-3)
        assert e["ci_low"] == pytest.approx(special.expit(g["ci_lb"]), abs=1e-3)
        assert e["ci_high"] == pytest.approx(special.expit(g["ci_ub"]), abs=1e-3)
        assert e["small_ci_low"] == pytest.approx(special.expit(g["ci_lb_t"]), abs=1e-3)
        assert e["small_ci_high"] == pytest.approx(special.expit(g["ci_ub_t"]), abs=1e-3)
        assert e["pi_low"] == pytest.approx(special.expit(g["pi_lb_t"]), abs=1e-3)
        assert e["pi_high"] == pytest.approx(special.expit(g["pi_ub_t"]), abs=1e-3)
        assert e["tau2"] == pytest.approx(g["tau2"], abs=2e-3, rel=5e-3)
        checked += 1
    assert checked or missing
    if missing:  # a newly added study: the fixture is regenerated with make_references.R
        pytest.skip(f"{len(missing)} row(s) not in pooled-rows.json; rerun tests/reference/make_references.R")


def test_risk_of_bias_and_known_studies_of_the_real_set():
    from cartpool.analysis.appraisal import Appraisal
    from cartpool.data.appraisal import DOMAINS

    if not DATA.is_dir():
        pytest.skip("no data")
    studies = load_all(DATA, sources=None)
    a = P.PooledAnalysis(studies)
    rob = Appraisal(a).risk_of_bias
    for sd in studies:
        rows = rob[(rob["study_id"] == sd.study.id) & (rob["outcomes"] == "")]
        assert list(rows["domain"]) == list(DOMAINS) and set(rows["overall"]) == {sd.appraisal.overall.judgement}
        assert (rows["reason"].str.len() > 3).all()
    known = a.known_studies
    assert not known.empty and known["citation"].str.len().gt(20).all()
    assert set(known["relevance"]) <= {"pcl", "mm_context"}
    # the page: figures, table and every included study linked to its own appraisal
    html = str(PooledPage(a).show("risk_of_bias"))
    assert "Murad et al. (2018)" in html and '<svg role="img"' in html and "Trustworthiness" in html
    for sd in studies:
        assert f'href="{sd.study.id}.html#risk-of-bias"' in html
    assert "Relevant studies known but not included" in str(PooledPage(a).show("scope"))

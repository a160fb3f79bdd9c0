"""The analysis layer (tidy results computed once) and its renderings (HTML fragments, figures,
CSV from frames), on synthetic studies of both kinds and on the real data."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from cartpool.analysis import pooled_analysis  # noqa: E402
from cartpool.analysis.pooled_rows import SUBGROUP_TEST  # noqa: E402
from cartpool.analysis.pooling import pool  # noqa: E402
from cartpool.analysis.study_analysis import StudyAnalysis  # noqa: E402
from cartpool.data.load import load_all, load_study  # noqa: E402
from cartpool.domain.derive import derive_endpoints  # noqa: E402
from cartpool.plots import study_figures as splots  # noqa: E402
from cartpool.report.pooled_page import PooledPage  # noqa: E402
from cartpool.report.study_page import StudyPage  # noqa: E402
from cartpool.synthetic import generate  # noqa: E402

from .helpers import DATA  # noqa: E402
from .page_text import source_problems  # noqa: E402


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


def test_every_number_in_a_table_of_a_study_page_shows_its_source(synthetic):
    """Issue 30 on a study page, for a study with a per-patient table and one without (synthetic): every
    number in its tables shows its source or how the report computed it, and every footnote number
    leads to its sources list; the per-patient table as published cites the paper's table."""
    studies = [load_study(p, sources=synthetic / "sources") for p in sorted((synthetic / "studies").iterdir())]
    labels = [sd.study.label for sd in studies]
    for sd in studies:
        html = str(StudyPage(StudyAnalysis(sd)).render_all())
        assert "cp-computed" in html and 'class="cp-src"' in html, sd.study.id
        assert source_problems(html, labels) == [], sd.study.id
        if sd.study.patients is not None:
            assert "the per-patient table as published [" in html and "]: row “" in html


def test_study_without_per_patient_data_says_what_is_missing(summary_only):
    html = str(StudyPage(StudyAnalysis(summary_only)).render_all())
    assert "No swimmer plot" in html
    assert "MRD negativity" in html and "—" in html  # the row is there, marked not reported
    # one printed milestone: its point is shown, but no curve is drawn through it
    assert "fewer than two printed milestones, so no curve is drawn" in html
    assert "Approximate curves." not in html


def test_a_study_that_prints_no_headline_outcome_gets_its_page(tmp_path):
    """A study may print its size and one number no headline (at a glance) outcome uses."""
    from .study_factory import make_study, n_all

    sd = make_study(tmp_path, [n_all(120), {"id": "icans3", "population": "all", "endpoint": "icans", "grade": ">=3",
                                            "statistic": "count", "value": 0}])
    a = StudyAnalysis(sd)
    assert list(a.glance_rows["kind"]) == ["patients"]
    assert "120" in str(StudyPage(a).render_all())


@pytest.mark.parametrize("folder", sorted(p for p in DATA.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_every_efficacy_count_of_a_real_study_is_shown_with_its_exact_interval(folder):
    """Whatever a study reports: each efficacy count on its page is its events/total with the exact
    (Clopper-Pearson) 95% interval of that count, computed here by SciPy's binomial test, not by the
    report's own code."""
    from scipy.stats import binomtest

    a = StudyAnalysis(load_study(folder, sources=None))
    html = str(StudyPage(a).show("efficacy"))
    rows = a.outcomes[(a.outcomes["section"] == "efficacy") & a.outcomes["events"].notna() & ~a.outcomes["is_range"]]
    for r in rows.itertuples():
        k, n = int(r.events), int(r.total)
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        lo, hi = ci.low, ci.high
        assert f"{k}/{n}" in html and f"{100 * k / n:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})" in html, (r.outcome, k, n)
    missing = a.outcomes[(a.outcomes["section"] == "efficacy") & a.outcomes["events"].isna()]
    assert missing.empty or "—" in html  # an outcome the study does not report keeps its row, marked


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
    a = pooled_analysis.PooledAnalysis(load_all(root / "studies", sources=root / "sources"))
    page = PooledPage(a, root / "out")
    html = str(page.render_all())
    page.export()
    return a, html, root


@pytest.mark.slow  # renders the pooled page of 12 synthetic studies
def test_every_number_in_a_pooled_table_shows_its_source_or_how_it_was_computed(pooled):
    """Issue 30: in every table of the pooled page, a number taken from a paper shows its source (its
    quote, or the per-patient table it was counted from) on hover and focus, and a number the report
    computed (a pooled estimate, a sum, a count of studies) says so and how; every footnote number
    leads to the sources list. Only columns of words (labels, notes) are exempt, and their headers
    say so. For any valid set of studies: these are 12 synthetic ones with every kind of row."""
    a, html, _ = pooled
    assert "cp-computed" in html and 'class="cp-src"' in html
    assert source_problems(html, [sd.study.label for sd in a.study_data]) == []


@pytest.mark.slow  # renders the pooled page of 12 synthetic studies
def test_synthetic_set_has_extremes_and_groups(pooled):
    a, _, _ = pooled
    t = a.available("orr")
    assert (t["events"] == t["total"]).any()  # 100% studies
    assert (a.available("crs_ge3")["events"] == 0).any()  # 0% studies
    assert set(t["group"]) >= {"Relapsed/refractory PCL", "Frontline PCL", "Relapsed/refractory MM"}


KEYS = ["outcome", "view", "subgroup", "level", "analysis"]


@pytest.mark.slow  # renders the pooled page of 12 synthetic studies
def test_inputs_have_the_keys_of_the_estimates_and_refit_them(pooled):
    a, _, _ = pooled
    est = a.estimates[a.estimates["events"].notna() & (a.estimates["rule"] != "Bayesian")]
    assert not est.duplicated(KEYS).any()
    for k, rows in a.inputs[a.inputs["in_fit"]].groupby(KEYS, sort=False):
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


def test_a_range_left_out_of_a_pooled_row_is_marked_in_its_inputs_and_the_row_refits_without_it(tmp_path):
    # "CRS in 20 to 24 of 24": a range whose high end is all of the patients says nothing at that end, so
    # a row that combines studies leaves it out (and says so); the inputs show it, with in_fit False
    generate(7, tmp_path / "studies", tmp_path / "sources")  # four in relapsed/refractory PCL
    p = tmp_path / "studies" / "syn003" / "results.yaml"
    recs = yaml.safe_load(p.read_text(encoding="utf-8"))
    crs = next(r for r in recs if r["id"] == "crs_any")
    crs["bound"] = {"low": crs["value"], "high": crs["denominator"], "reason": "grade 1 is not printed"}
    p.write_text(yaml.safe_dump(recs, allow_unicode=True), encoding="utf-8")
    a = pooled_analysis.PooledAnalysis(load_all(tmp_path / "studies", sources=None))
    est = a.estimates.set_index(KEYS)
    key = ("crs_any", "primary", "Relapsed/refractory PCL", "", "main")
    row, inputs = est.loc[key], a.inputs.set_index(KEYS).loc[[key]]
    assert row["rule"] == "random effects" and "Synthetic 003" in row["range_left_out"]
    assert list(inputs.loc[~inputs["in_fit"], "study"]) == ["Synthetic 003"]
    fit = inputs[inputs["in_fit"]]
    r = pool(fit["events"], fit["total"], events_high=fit["events_high"])
    assert row["k"] == len(fit) and r.estimate == pytest.approx(row["estimate"])


@pytest.mark.slow  # renders the pooled page of 12 synthetic studies
def test_every_interval_is_honest(pooled):
    a, _, _ = pooled
    est = a.estimates[a.estimates["estimate"].notna()]
    for col_lo, col_hi in (("ci_low", "ci_high"), ("small_ci_low", "small_ci_high"), ("pi_low", "pi_high")):
        e = est[est[col_lo].notna()]
        assert (e[col_hi] - e[col_lo] > 1e-6).all(), e[["outcome", "subgroup", "analysis", col_lo, col_hi]]
        assert ((e[col_lo] <= e["estimate"] + 1e-9) & (e["estimate"] <= e[col_hi] + 1e-9)).all()


@pytest.mark.slow  # renders the pooled page of 12 synthetic studies
def test_rules_by_data(pooled):
    a, _, _ = pooled
    est = a.estimates
    main = est[est["view"].isin(["primary", "context", "subgroup"]) & (est["subgroup"] != SUBGROUP_TEST)]
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
    before = pooled_analysis.PooledAnalysis(load_all(tmp_path / "s", sources=tmp_path / "src"))
    generate(4, tmp_path / "s", tmp_path / "src")
    after = pooled_analysis.PooledAnalysis(load_all(tmp_path / "s", sources=tmp_path / "src"))
    assert "Synthetic 003" in set(after.studies["study"]) and "Synthetic 003" not in set(before.studies["study"])
    assert "Synthetic 003" in set(after.inputs["study"])
    assert "Synthetic 003" in str(PooledPage(after).show("studies"))


@pytest.mark.slow  # renders and exports every page of a study set
def test_labels_round_trip_unchanged_into_every_csv(tmp_path):
    generate(4, tmp_path / "studies", tmp_path / "sources")
    evil = "Hao & O'Brien <2025>"
    p = tmp_path / "studies" / "syn000" / "study.yaml"
    s = yaml.safe_load(p.read_text(encoding="utf-8"))
    s["label"] = evil
    p.write_text(yaml.safe_dump(s, allow_unicode=True), encoding="utf-8")
    studies = load_all(tmp_path / "studies", sources=tmp_path / "sources")
    out = tmp_path / "out"
    pooled_page = PooledPage(pooled_analysis.PooledAnalysis(studies), out)
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


def assert_pooled_rows_follow_the_rules(a: pooled_analysis.PooledAnalysis) -> None:
    """What holds for the pooled rows of any valid set of studies."""
    est = a.estimates
    has = est[est["estimate"].notna()]
    assert np.isfinite(has["estimate"].astype(float)).all()
    assert has["estimate"].between(-1e-12, 1 + 1e-12).all()
    # an interval has both ends or none
    assert (est["ci_low"].isna() == est["ci_high"].isna()).all()
    # an interval is either not estimable (and the page says so) or has width; never zero-width; and it
    # holds its estimate
    shown = has[has["ci_low"].notna()]
    assert (shown["ci_high"] - shown["ci_low"] > 1e-3).all(), shown[shown["ci_high"] - shown["ci_low"] <= 1e-3]
    assert ((shown["ci_low"] <= shown["estimate"] + 1e-9) & (shown["estimate"] <= shown["ci_high"] + 1e-9)).all()
    # a rate shown without an interval is one study's own: a study may print none
    assert (has.loc[has["ci_low"].isna(), "k"] == 1).all(), has[has["ci_low"].isna()]
    main = est[est["view"].isin(["primary", "context"]) & (est["k"] == 2)]
    assert main["estimate"].isna().all()  # two studies are never given one common rate
    # survival at a landmark in two or more studies: Cochran's Q, unless fewer than two of them printed
    # an interval (a study may print none) for all the patients treated (not possibly the responders only)
    inputs = a.inputs.set_index(KEYS)
    landmarks = est[(est["k"] >= 2) & est["events"].isna() & (est["subgroup"] != SUBGROUP_TEST)]
    for r in landmarks[landmarks["q_p"].isna()].itertuples():
        rows = inputs.loc[[(r.outcome, r.view, r.subgroup, r.level, r.analysis)]]
        with_interval = (rows["ci_low"].notna() & rows["estimate"].between(0, 1, inclusive="neither")
                         & ~rows["possibly_responders"].astype(bool))
        assert with_interval.sum() < 2, (r.outcome, r.view, r.subgroup, r.analysis)


@pytest.fixture(scope="module")
def real():
    """The pooled analysis of whatever studies are in data/ (computed once for this module)."""
    studies = load_all(DATA, sources=None)
    return studies, pooled_analysis.PooledAnalysis(studies)


def test_real_pooled_rows_follow_the_rules(real):
    assert_pooled_rows_follow_the_rules(real[1])


def test_a_study_that_prints_a_survival_rate_without_an_interval_is_valid(tmp_path):
    generate(4, tmp_path / "studies", tmp_path / "sources")
    for sid, value in (("syn001", 60.0), ("syn003", 45.5)):  # summary-only studies, no patient rows
        p = tmp_path / "studies" / sid / "results.yaml"
        recs = yaml.safe_load(p.read_text(encoding="utf-8"))
        recs.append({"id": "os_1y", "population": "infused", "endpoint": "os", "statistic": "landmark_rate",
                     "value": value, "unit": "percent", "timepoint": {"value": 12, "unit": "months"},
                     "location": "Abstract", "quote": "the 1-year overall survival rate was"})
        p.write_text(yaml.safe_dump(recs, allow_unicode=True), encoding="utf-8")
    a = pooled_analysis.PooledAnalysis(load_all(tmp_path / "studies", sources=None))
    os12 = a.estimates[a.estimates["outcome"] == "os_12m"]
    alone = os12[os12["studies"] == "Synthetic 001"]
    assert not alone.empty and alone["estimate"].eq(0.6).all() and alone["ci_low"].isna().all()
    assert (os12["k"] == 2).any()  # beside a study whose curve gives an interval
    assert_pooled_rows_follow_the_rules(a)
    # and the rules still catch a row that breaks them
    from types import SimpleNamespace

    est = a.estimates
    pooled_row = est.index[est["rule"].eq("random effects")][0]
    two = est.index[est["view"].eq("primary") & est["k"].eq(2) & est["events"].notna()][0]
    for broken in ({"ci_high": est.loc[pooled_row, "ci_low"]},  # zero width
                   {"ci_low": np.nan, "ci_high": np.nan},      # a pooled rate without its interval
                   {"ci_low": np.nan}):                          # one end only
        bad = est.copy()
        for col, value in broken.items():
            bad.loc[pooled_row, col] = value
        with pytest.raises(AssertionError):
            assert_pooled_rows_follow_the_rules(SimpleNamespace(estimates=bad, inputs=a.inputs))
    bad = est.copy()
    bad.loc[two, "estimate"] = 0.5  # one common rate for two studies
    with pytest.raises(AssertionError):
        assert_pooled_rows_follow_the_rules(SimpleNamespace(estimates=bad, inputs=a.inputs))


@pytest.mark.slow  # renders the pooled page of 12 synthetic studies
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


REGENERATE_POOLED_ROWS = ("make reports && Rscript tests/reference/make_references.R tests/reference "
                          "reports/tables/pooled-inputs.csv")


def test_real_rows_match_rma_glmm_on_their_inputs(real):
    """Every random-effects GLMM row of the real report against metafor (tests/reference/pooled-rows.json,
    made by make_references.R from reports/tables/pooled-inputs.csv): refitted on the studies that
    enter the row's model (`in_fit`), at the low ends of its ranges and, where it has ranges, at their
    high ends (the row shows both estimates and the interval over both). A row the fixture does not hold
    (a study added as data) is named in a warning with the command that regenerates the fixture, and
    not failed: a curator adds a study without R and without a test change; a row R could not fit
    without a warning is left out of the fixture by the script and named here."""
    import json

    from scipy import special

    from .test_stats_reference import _interval_close, _tau2_close

    ref = {(tuple(r["x"]), tuple(r["n"])): r["glmm"] for r in json.loads(
        (Path(__file__).parent / "reference" / "pooled-rows.json").read_text())["rows"]}
    a = real[1]
    rows = a.estimates[(a.estimates["rule"] == "random effects") & (a.estimates["method"] == "glmm")]
    inputs = a.inputs.set_index(KEYS)
    missing, left_out, checked, unfit = [], [], 0, 0

    def key_of(events, totals):
        order = np.lexsort((totals, events))
        return tuple(int(x) for x in events[order]), tuple(int(x) for x in totals[order])

    for _, e in rows.iterrows():
        inp = inputs.loc[[tuple(e[KEYS])]]
        inp = inp[inp["in_fit"]]
        totals = inp["total"].to_numpy()
        ends = [key_of(inp["events"].to_numpy(), totals)]
        if (inp["events_high"] != inp["events"]).any():
            ends.append(key_of(inp["events_high"].to_numpy(), totals))
        fits = []
        for key in ends:
            if key not in ref:
                missing.append(f"{' / '.join(str(e[k]) for k in KEYS if e[k])}: events {list(key[0])} of {list(key[1])}")
            elif "left_out" in ref[key]:  # R warned (did not converge): no reference for this end
                left_out.append(key)
            else:
                fits.append(ref[key])
        if len(fits) != len(ends):
            unfit += 1
            continue
        low, high = fits[0], fits[-1]  # logit scale
        assert e["estimate"] == pytest.approx(special.expit(low["beta"]), abs=1e-3)
        if len(fits) == 2:
            assert e["estimate_high"] == pytest.approx(special.expit(high["beta"]), abs=1e-3)
        for col, lo_key, hi_key in (("ci", "ci_lb", "ci_ub"), ("small_ci", "ci_lb_t", "ci_ub_t"),
                                    ("pi", "pi_lb_t", "pi_ub_t")):
            # the row's interval runs over both ends; compared as in test_stats_reference
            ref_logit = (min(low[lo_key], high[lo_key]), max(low[hi_key], high[hi_key]))
            assert _interval_close((e[f"{col}_low"], e[f"{col}_high"]), ref_logit), (col, tuple(e[KEYS]))
        assert _tau2_close(e["tau2"], low["tau2"])
        checked += 1
    if missing:  # new data (a curator's study): R's fits of the fixture's own rows are still tested
        warnings.warn(
            f"{len(missing)} pooled row(s) of the current data are not in tests/reference/pooled-rows.json, so "
            f"they are not compared with metafor here (the statistics themselves are, on the fixture's rows). "
            f"A maintainer with R can add them (a few minutes; see docs/statistics.md):\n    "
            f"{REGENERATE_POOLED_ROWS}\nNot in the fixture:\n    " + "\n    ".join(missing), stacklevel=1)
    assert checked or not len(rows) or missing, "no random-effects row of the current data was checked"
    print(f"{checked} rows checked against metafor; R fitted no model without a warning at {left_out}")
    assert checked + unfit + len({m.split(": events")[0] for m in missing}) >= len(rows)


def test_risk_of_bias_and_known_studies_of_the_real_set(real):
    from cartpool.analysis.appraisal import Appraisal
    from cartpool.data.risk_of_bias import DOMAINS

    studies, a = real
    rob = Appraisal(a).risk_of_bias
    for sd in studies:
        rows = rob[(rob["study_id"] == sd.study.id) & (rob["outcomes"] == "")]
        assert list(rows["domain"]) == list(DOMAINS) and set(rows["overall"]) == {sd.appraisal.overall.judgement}
        assert (rows["reason"].str.len() > 3).all()
    known = a.known_studies
    assert known["citation"].str.len().gt(20).all()
    assert set(known["relevance"]) <= {"pcl", "mm_context"}
    assert not set(known["id"]) & {sd.study.id for sd in studies}  # included, or known but not included
    # the page: figures, table and every included study linked to its own appraisal
    html = str(PooledPage(a).show("risk_of_bias"))
    assert "Murad et al. (2018)" in html and '<svg role="img"' in html and "Trustworthiness" in html
    for sd in studies:
        assert f'href="{sd.study.id}.html#risk-of-bias"' in html
    if not known.empty:
        assert "Relevant studies known but not included" in str(PooledPage(a).show("scope"))

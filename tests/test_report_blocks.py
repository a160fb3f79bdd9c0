"""Report building blocks on synthetic studies of both kinds (with and without per-patient data):
figure functions return figures with the expected elements; tables have the expected rows."""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cartpool.data.derive import derive_endpoints  # noqa: E402
from cartpool.data.load import load_study  # noqa: E402
from cartpool.outcomes import km_curves, outcome_count  # noqa: E402
from cartpool.plots import study as splots  # noqa: E402
from cartpool.report.study import StudyReport  # noqa: E402

from .conftest import DATA  # noqa: E402


@pytest.fixture
def pp(synthetic):
    return load_study(synthetic / "studies" / "syn000", sources=synthetic / "sources")


@pytest.fixture
def summary_only(synthetic):
    return load_study(synthetic / "studies" / "syn001", sources=synthetic / "sources")


def test_km_plot_has_curve_band_censor_marks_and_numbers_at_risk(pp):
    km = km_curves(pp)[("os", "all")]
    fig = splots.km_plot({"All": km}, title="OS")
    ax, axr = fig.axes
    assert ax.get_lines() and ax.collections  # step curve (+ censor marks) and CI band
    texts = [t.get_text() for t in axr.texts]
    assert str(km.n) in texts  # number at risk at time 0 equals N
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


def test_study_sections_with_per_patient_data(pp, tmp_path):
    r = StudyReport(pp, tmp_path)
    eff = r.efficacy()
    assert "Overall response (PR or better)" in eff and "computed from the per-patient table" in eff
    surv = r.survival()
    assert surv.count("<img") >= 2 and "log-log" in surv
    assert "<img" in r.course()
    assert "Swimmer" not in r.limitations()
    assert (tmp_path / "tables" / "syn000-efficacy.csv").is_file()
    assert list((tmp_path / "figures" / "syn000").glob("*.png"))
    alts = re.findall(r'alt="([^"]*)"', surv + r.course())
    assert alts and all(len(a) > 30 and not a.lower().startswith("figure") for a in alts)


def test_study_sections_without_per_patient_data_say_what_is_missing(summary_only, tmp_path):
    r = StudyReport(summary_only, tmp_path)
    assert "No swimmer plot" in r.course()
    surv = r.survival()
    assert "Approximate curves" in surv and "not Kaplan-Meier estimates" in surv
    assert "MRD negativity" in r.efficacy()  # the row is there, marked not reported
    assert "—" in r.efficacy()


def test_efficacy_table_rows_match_outcome_counts():
    sd = load_study(DATA / "guo2026", sources=None)
    html = StudyReport(sd).efficacy()
    c = outcome_count(sd, "orr")
    assert (c.events, c.total) == (9, 12) and "75.0% (42.8–94.5)" in html


def test_every_shown_sourced_number_is_in_the_sources_table():
    sd = load_study(DATA / "hu2026", sources=None)
    r = StudyReport(sd)
    body = "".join([r.header(), r.patients(), r.efficacy(), r.survival(), r.safety(), r.audit()])
    refs = set(re.findall(r'href="#src-(\d+)"', body))
    table = r.sources()
    assert refs and all(f'id="src-{n}"' in table for n in refs)


def test_toc_lists_each_second_level_heading_once_with_its_own_text():
    from cartpool.build.notebooks import toc_html

    body = ('<h2 id="Study-at-a-glance">Study at a glance</h2><div>11 patients</div>'
            '<h2 id="Patients">Patients<a class="anchor-link" href="#Patients">¶</a></h2><p>x</p>')
    toc = toc_html(body)
    assert toc.count("<li>") == 2
    assert '<a href="#Study-at-a-glance">Study at a glance</a>' in toc
    assert '<a href="#Patients">Patients</a>' in toc and "11 patients" not in toc

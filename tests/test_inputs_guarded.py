"""Inputs that cannot escape or collide (issue 27, part 2): links that leave a study folder,
duplicate labels, impossible dates, folder names that are not ids, and spreadsheet formulas in
the CSVs the build writes. Each starts from a valid synthetic study and breaks one thing."""

import csv
import datetime as dt
import io
import os

import pandas as pd
import pytest

from cartpool.data import dates
from cartpool.data.errors import StudyDataError
from cartpool.data.load import load_all, load_study
from cartpool.report.render import neutralise_cell, write_csv


def _load(root, sid="syn000"):
    return load_study(root / "studies" / sid, sources=root / "sources")


def _set(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture changed: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _error(fn, *args, **kw) -> str:
    with pytest.raises(StudyDataError) as e:
        fn(*args, **kw)
    return str(e.value)


# --- links ---------------------------------------------------------------------------------------

def test_a_table_linked_to_a_file_outside_the_study_folder_is_rejected_naming_the_link(synthetic, tmp_path):
    folder = synthetic / "studies" / "syn000"
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes((folder / "patients.csv").read_bytes())
    (folder / "patients.csv").unlink()
    (folder / "patients.csv").symlink_to(outside)
    msg = _error(_load, synthetic)
    assert "patients.csv" in msg and "is a link to" in msg and "outside the study folder" in msg, msg


def test_a_link_to_a_system_file_is_rejected_not_ignored(synthetic):
    folder = synthetic / "studies" / "syn000"
    (folder / "extra.csv").symlink_to("/etc/passwd")
    msg = _error(_load, synthetic)
    assert "extra.csv" in msg and "/etc/passwd" in msg, msg


def test_a_link_that_stays_inside_the_folder_is_allowed(synthetic):
    folder = synthetic / "studies" / "syn000"
    os.rename(folder / "patients.csv", folder / "patients-as-published.csv")
    (folder / "patients.csv").symlink_to("patients-as-published.csv")
    _set(folder / "study.yaml", "file: patients.csv", "file: patients-as-published.csv")
    (folder / "patients.csv").unlink()
    _load(synthetic)


# --- labels ---------------------------------------------------------------------------------------

def test_two_studies_with_one_label_are_rejected_in_validation(synthetic):
    _set(synthetic / "studies" / "syn001" / "study.yaml", "label: Synthetic 001", "label: synthetic  000")
    msg = _error(load_all, synthetic / "studies", sources=synthetic / "sources")
    assert "syn001/study.yaml (label)" in msg and "syn000" in msg and "'synthetic  000a'" in msg, msg



def test_two_study_folders_with_one_doi_are_rejected_in_validation(synthetic):
    for sid in ("syn000", "syn001"):
        _set(synthetic / "studies" / sid / "study.yaml", "doi: null", "doi: 10.1000/Same.Paper")
    msg = _error(load_all, synthetic / "studies", sources=synthetic / "sources")
    assert "syn001/study.yaml (doi)" in msg and "syn000" in msg and "counted twice" in msg, msg

# --- dates ---------------------------------------------------------------------------------------

def _dates(synthetic, cutoff=None, period=None, sid="syn000"):
    folder = synthetic / "studies" / sid
    src = synthetic / "sources" / f"{sid}.txt"
    if cutoff:
        _set(folder / "study.yaml", "data_cutoff: not reported",
             f'data_cutoff:\n  value: {cutoff}\n  location: Results\n  quote: "data cutoff {cutoff}"')
        src.write_text(src.read_text(encoding="utf-8") + f"\ndata cutoff {cutoff}\n", encoding="utf-8")
    if period:
        _set(folder / "study.yaml", "enrolment_period: not reported",
             f'enrolment_period:\n  value: {period}\n  location: Methods\n  quote: "enrolled {period}"')
        src.write_text(src.read_text(encoding="utf-8") + f"\nenrolled {period}\n", encoding="utf-8")


def test_a_data_cutoff_in_the_future_is_rejected(synthetic):
    _dates(synthetic, cutoff="March 2099")
    msg = _error(_load, synthetic)
    assert "data_cutoff" in msg and "future" in msg, msg


def test_an_enrolment_period_that_ends_before_it_starts_is_rejected(synthetic):
    _dates(synthetic, period="December 2021 to June 2020", sid="syn001")
    msg = _error(_load, synthetic, "syn001")
    assert "enrolment_period" in msg and "starts after it ends" in msg, msg


def test_an_enrolment_that_starts_after_the_cutoff_is_rejected(synthetic):
    _dates(synthetic, cutoff="May 10, 2019", period="June 2020 to March 2021", sid="syn001")
    msg = _error(_load, synthetic, "syn001")
    assert "after the data cut-off" in msg, msg


def test_follow_up_longer_than_enrolment_to_cutoff_allows_is_rejected(synthetic):
    # syn000's patients are followed for up to about 40 months: a two-month window cannot hold that
    _dates(synthetic, cutoff="March 2021", period="January 2021 to February 2021")
    msg = _error(_load, synthetic)
    assert "follow-up of" in msg and "longer than the time" in msg, msg


def test_a_date_that_cannot_be_read_says_what_to_type(synthetic):
    _dates(synthetic, cutoff="spring of last year", sid="syn001")
    msg = _error(_load, synthetic, "syn001")
    assert "not a date cartpool can read" in msg and "March 2025" in msg, msg


@pytest.mark.parametrize("text, first, last", [
    ("May 10, 2025", dt.date(2025, 5, 10), dt.date(2025, 5, 10)),
    ("March 2025", dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
    ("10 May 2025", dt.date(2025, 5, 10), dt.date(2025, 5, 10)),
    ("2025-02", dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
])
def test_printed_dates_read_as_the_span_they_can_mean(text, first, last):
    assert dates.parse_date(text) == (first, last)


def test_printed_periods_read_as_start_and_end():
    start, end = dates.parse_period("August 20, 2018 to December 31, 2021")
    assert start[0] == dt.date(2018, 8, 20) and end[1] == dt.date(2021, 12, 31)
    start, end = dates.parse_period("June to December 2021")
    assert start[0] == dt.date(2021, 6, 1)


def test_the_build_date_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "946684800")
    assert dates.build_date() == dt.date(2000, 1, 1)


# --- folder names ---------------------------------------------------------------------------------

def test_a_study_folder_whose_name_is_not_an_id_is_rejected_with_a_curator_message(synthetic):
    os.rename(synthetic / "studies" / "syn001", synthetic / "studies" / "smith 2027")
    msg = _error(load_all, synthetic / "studies", sources=synthetic / "sources")
    assert "smith 2027" in msg and "Rename the folder" in msg and "'smith_2027'" in msg, msg


# --- CSV injection ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, written", [
    ("=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("-1.5", "-1.5"), ("+3", "+3"), ("Smith 2027", "Smith 2027"), ("—", "—"),
])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(cell, written):
    assert neutralise_cell(cell) == written


def test_write_csv_neutralises_text_cells_and_headers_but_not_numbers(tmp_path):
    df = pd.DataFrame({"=label": ["=1+2", "Lee 2028"], "estimate": [-0.5, 1.0], "n": [-3, 4]})
    write_csv(df, tmp_path / "t.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "t.csv").read_text(encoding="utf-8"))))
    assert rows == [["'=label", "estimate", "n"], ["'=1+2", "-0.5", "-3"], ["Lee 2028", "1", "4"]]


# --- glyphs ---------------------------------------------------------------------------------------

def test_figure_text_a_font_lacks_is_found_and_cjk_uses_an_installed_fallback(capsys):
    import matplotlib.pyplot as plt

    from cartpool.plots import style

    fig, ax = plt.subplots()
    ax.set_title("Smith 2027 \U0001FAE0")
    assert style.missing_glyphs(fig) == "\U0001FAE0"
    style.warn_missing_glyphs(fig, "forest")
    assert "figure forest" in capsys.readouterr().err
    if len(style.font_families()) > 1 and any("CJK" in f or "Fallback" in f for f in style.font_families()):
        ax.set_title("胡 2026")
        assert style.missing_glyphs(fig) == ""
    plt.close(fig)

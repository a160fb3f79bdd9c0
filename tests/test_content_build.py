"""Content, not clocks: `make reports` decides what is stale by the content of each step's inputs
and checks every promised output at the end of every build (issue 27, part 1)."""

import os
import re
import subprocess
import sys

import pytest

from .helpers import copy_project, make, snapshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("content"))
    make(root, "reports")
    return root, snapshot(root / "reports")


def _built(out: str) -> set[str]:
    return {t for t, _ in re.findall(r"\[cartpool\] (\S+) +(notebook|html|pdf)\b", out)}


def test_an_edit_that_keeps_the_old_timestamp_rebuilds(proj):
    root, reference = proj
    csv = root / "data" / "studies" / "syn000" / "patients.csv"
    before = csv.read_bytes()
    st = csv.stat()
    rows = before.decode().splitlines()
    cells = rows[1].split(",")
    cells[1] = "CR" if cells[1] != "CR" else "PR"  # patient 1's best response changes
    rows[1] = ",".join(cells)
    try:
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns))  # as cp -p, unzip or a restored backup
        out = make(root, "reports").stdout
        assert {"syn000", "pooled", "index"} <= _built(out), out
        assert snapshot(root / "reports")["syn000.html"] != reference["syn000.html"]
    finally:
        csv.write_bytes(before)
        os.utime(csv, ns=(st.st_atime_ns, st.st_mtime_ns))
    out = make(root, "reports").stdout  # back as it was: rebuilt again, to the same bytes
    assert snapshot(root / "reports") == reference


def test_an_unchanged_file_with_a_new_timestamp_rebuilds_nothing(proj):
    root, _ = proj
    for p in (root / "data" / "studies" / "syn001").iterdir():
        os.utime(p)
    os.utime(root / "notebooks" / "study.ipynb")
    os.utime(root / "src" / "cartpool" / "builder" / "pipeline.py")
    out = make(root, "reports").stdout
    assert "[cartpool]" not in out, out


@pytest.mark.parametrize("damage", ["delete-tables", "delete-figure", "alter-csv", "alter-pdf", "delete-html"])
def test_a_missing_or_altered_report_file_is_rebuilt(proj, damage):
    root, reference = proj
    reports = root / "reports"
    if damage == "delete-tables":
        import shutil

        shutil.rmtree(reports / "tables")
    elif damage == "delete-figure":
        next((reports / "figures" / "syn000").glob("*.svg")).unlink()
    elif damage == "alter-csv":
        (reports / "tables" / "pooled-audit.csv").write_text("tampered\n", encoding="utf-8")
    elif damage == "alter-pdf":
        pdfs = sorted(reports.glob("*.pdf"))
        if not pdfs:
            pytest.skip("no browser: no PDFs")
        pdfs[0].write_bytes(pdfs[0].read_bytes() + b"\n% tampered\n")
    else:
        (reports / "syn001.html").unlink()
    out = make(root, "reports").stdout
    assert "[cartpool]" in out
    assert snapshot(reports) == reference


def test_make_clean_during_a_build_never_leaves_a_complete_looking_build_with_files_missing(proj):
    root, reference = proj
    make(root, "clean")
    cmd = ["make", "-C", str(root), f"PY={sys.executable}", f"VENV={sys.prefix}", "ENV_DEP=",
           f"SOURCES={root / 'sources'}", "reports"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                         start_new_session=True)
    seen = ""
    for line in p.stdout:
        seen += line
        if "syn000       notebook" in line:
            make(root, "clean")  # another terminal cleans while this build runs
            break
    seen += p.stdout.read()
    p.wait(timeout=300)
    if p.returncode == 0:  # a build that says it succeeded has every file it promises
        assert sorted(snapshot(root / "reports")) == sorted(reference), seen
    else:
        assert "make reports" in seen, seen  # it says what to do
    again = make(root, "reports")
    assert again.returncode == 0
    assert snapshot(root / "reports") == reference


def test_a_browser_that_disappears_mid_build_leaves_html_and_no_old_pdf(proj, tmp_path):
    from cartpool.builder.pdf import find_browser

    real = find_browser()
    if real is None:
        pytest.skip("no browser on this machine")
    root, reference = proj
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    csv = root / "data" / "studies" / "syn000" / "patients.csv"
    good = csv.read_text(encoding="utf-8")
    rows = good.splitlines()
    cells = rows[1].split(",")
    cells[1] = "CR" if cells[1] != "CR" else "PR"
    csv.write_text("\n".join([rows[0], ",".join(cells), *rows[2:]]) + "\n", encoding="utf-8")  # syn000 changes
    old_pdf = (root / "reports" / "syn000.pdf").read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env.update(CARTPOOL_BROWSER=str(wrapper), CARTPOOL_WARM="0")
    p = subprocess.Popen(["make", "-C", str(root), f"PY={sys.executable}", f"VENV={sys.prefix}", "ENV_DEP=",
                          f"SOURCES={root / 'sources'}", "reports"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env)
    seen = ""
    for line in p.stdout:
        seen += line
        if "notebook" in line and wrapper.exists():
            wrapper.unlink()  # the browser is uninstalled while the notebooks run
    p.wait(timeout=600)
    try:
        assert p.returncode != 0 and "disappeared" in seen, seen  # PDFs were promised: not a success
        assert "Traceback" not in seen, seen
        reports = root / "reports"
        for page in ("index", "pooled", "syn000", "syn001"):
            assert (reports / f"{page}.html").is_file(), page  # the HTML is finished
        assert ".pdf" not in (reports / "index.html").read_text(encoding="utf-8")  # no link to a missing PDF
        pdf = reports / "syn000.pdf"
        assert not pdf.exists() or pdf.read_bytes() != old_pdf  # never the old PDF beside the new page
    finally:
        csv.write_text(good, encoding="utf-8")
    make(root, "reports")
    assert snapshot(root / "reports") == reference


def test_a_study_folder_named_with_a_space_gets_a_curator_message_not_a_make_error(proj):
    root, reference = proj
    studies = root / "data" / "studies"
    os.rename(studies / "syn001", studies / "syn 001")
    try:
        r = make(root, "reports", check=False)
    finally:
        os.rename(studies / "syn 001", studies / "syn001")
    assert r.returncode != 0
    assert "No rule to make target" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "syn 001" in r.stderr and "Rename the folder" in r.stderr, r.stderr
    assert snapshot(root / "reports") == reference


def test_a_duplicate_label_is_rejected_before_any_report_is_touched(proj):
    root, reference = proj
    study = root / "data" / "studies" / "syn001" / "study.yaml"
    good = study.read_text(encoding="utf-8")
    study.write_text(good.replace("label: Synthetic 001", "label: Synthetic 000"), encoding="utf-8")
    try:
        r = make(root, "reports", check=False)
    finally:
        study.write_text(good, encoding="utf-8")
    assert r.returncode != 0 and "label" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "notebook" not in r.stdout and "index        html" not in r.stdout
    assert snapshot(root / "reports") == reference  # the index included


def test_no_csv_the_build_writes_holds_a_live_spreadsheet_formula(proj):
    import csv
    import io

    root, reference = proj
    study = root / "data" / "studies" / "syn001" / "study.yaml"
    good = study.read_text(encoding="utf-8")
    evil = '=HYPERLINK("http://example.invalid","Synthetic 001")'
    study.write_text(good.replace("label: Synthetic 001", "label: '" + evil.replace("'", "''") + "'"),
                     encoding="utf-8")
    try:
        make(root, "reports")
        csvs = sorted((root / "reports").rglob("*.csv"))
        seen = 0
        for path in csvs:
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@")), (path.name, cell)
                    seen += cell == "'" + evil
        assert seen > 0  # the label is there, shown as text
    finally:
        study.write_text(good, encoding="utf-8")
    make(root, "reports")
    assert snapshot(root / "reports") == reference


def test_a_label_with_glyphs_no_font_has_is_said_on_the_build_log(proj):
    root, reference = proj
    study = root / "data" / "studies" / "syn001" / "study.yaml"
    good = study.read_text(encoding="utf-8")
    study.write_text(good.replace("label: Synthetic 001", "label: Synthetic 001 \U0001FAE0"), encoding="utf-8")
    try:
        r = make(root, "reports")
    finally:
        study.write_text(good, encoding="utf-8")
    assert "no installed font has the character(s) \U0001FAE0" in r.stderr, r.stderr
    assert "no installed font" not in (root / "reports" / "pooled.html").read_text(encoding="utf-8")
    make(root, "reports")
    assert snapshot(root / "reports") == reference


def test_removing_a_study_removes_its_outputs_and_adding_it_back_restores_them(proj, tmp_path):
    root, reference = proj
    reports, build = root / "reports", root / "build"
    sid = "syn001"

    def outputs_of(s: str) -> list[str]:
        return sorted([*(p.name for p in reports.glob(f"{s}.*")),
                       *(f"figures/{p.name}" for p in (reports / "figures").glob(s)),
                       *(f"tables/{p.name}" for p in (reports / "tables").glob(f"{s}-*.csv")),
                       *(f"build/{p.name}" for p in build.glob(f"{s}.*")),
                       *(f"build/records/{p.name}" for p in (build / "records").glob(f"{s}.*"))])

    had = outputs_of(sid)
    assert {f"{sid}.html", f"figures/{sid}", f"tables/{sid}-audit.csv", f"build/records/{sid}.html.json"} <= set(had)
    folder = root / "data" / "studies" / sid
    folder.rename(tmp_path / sid)
    try:
        out = make(root, "reports").stdout
        assert outputs_of(sid) == [], outputs_of(sid)
        assert re.search(rf"\[cartpool\] {sid} +removed", out), out
        assert _built(out) == {"pooled", "index"}, out  # the other study is not rebuilt
        assert f'href="{sid}.html"' not in (reports / "index.html").read_text(encoding="utf-8")
        assert f"{sid}.html" not in make(root, "reports").stdout  # and nothing of it comes back
    finally:
        (tmp_path / sid).rename(folder)
    make(root, "reports")
    assert outputs_of(sid) == had and snapshot(reports) == reference


def test_the_browser_command_line_prints_the_same_bytes_as_the_builds_printer(proj, tmp_path, monkeypatch):
    """A page printed without the build's printer (Chromium's command line, the fallback of
    `html_to_pdf`) is byte-identical to the build's PDF of it: a rebuild that falls back gives the
    same file."""
    from cartpool.builder.pdf import ENV_PRINTER, find_browser, html_to_pdf

    if find_browser() is None:
        pytest.skip("no Chromium/Chrome on this machine (Debian: apt-get install chromium)")
    root, _ = proj
    monkeypatch.delenv(ENV_PRINTER, raising=False)
    pages = [p for p in sorted((root / "reports").glob("*.html")) if p.with_suffix(".pdf").is_file()]
    assert pages
    for html in pages[:3]:
        out = tmp_path / f"{html.stem}.pdf"
        html_to_pdf(html, out)
        assert out.read_bytes() == html.with_suffix(".pdf").read_bytes(), html.name

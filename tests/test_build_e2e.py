"""End to end: `make reports` on a small synthetic study set (test fixtures, not the real data)
in a temporary copy of the project, reusing this checkout's virtual environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cartpool.builder.pdf import find_browser

from .helpers import make, snapshot
from .page_text import source_problems

PY = sys.executable
HAS_BROWSER = find_browser() is not None
EXTERNAL = re.compile(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", re.I)


@pytest.mark.slow
def test_every_expected_file_exists(project):
    root, first = project
    r = root / "reports"
    expected = ["index.html", "pooled.html", "syn000.html", "syn001.html"]
    if HAS_BROWSER:
        expected += ["pooled.pdf", "syn000.pdf", "syn001.pdf"]
    for name in expected:
        assert (r / name).is_file() and (r / name).stat().st_size > 1000, name
    assert list((r / "figures" / "syn000").glob("*.svg")) and list((r / "figures" / "pooled").glob("*.svg"))
    assert (r / "tables" / "pooled-audit.csv").is_file() and (r / "tables" / "pooled-estimates.csv").is_file()
    assert (r / "tables" / "syn000-efficacy.csv").is_file()
    assert (root / "build" / "syn000.ipynb").is_file()
    # progress: one line per step
    assert re.search(r"\[cartpool\] syn000 +notebook +\d+\.\d+s", first.stdout)
    # no temporary file left behind
    assert not [p for p in r.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


#: The most CSS a page may embed (issue 30: nbconvert's JupyterLab stylesheet was about 270 KB a page)
MAX_CSS_BYTES = 30_000


@pytest.mark.slow
def test_pages_embed_only_their_own_small_stylesheet(project):
    root, _ = project
    for page in (root / "reports").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        css = sum(len(m.encode("utf-8")) for m in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
        assert css < MAX_CSS_BYTES, f"{page.name}: {css} bytes of CSS"
        assert "--jp-" not in html and "jp-mod-" not in html.split("<body")[0], f"{page.name} embeds JupyterLab's CSS"
        assert "@media print" in html and 'class="cp-toc"' in html or page.name == "index.html", page.name


@pytest.mark.slow
def test_figures_are_inline_svg_with_text_as_text(project):
    root, _ = project
    html = (root / "reports" / "pooled.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert svgs and "data:image/png" not in html
    for svg in svgs:
        assert re.match(r'<svg[^>]*\brole="img"', svg) and re.search(r'aria-label="[^"]{20,}"', svg[:2000])
        assert "<text" in svg  # text kept as text (svg.fonttype none), not glyph outlines
        assert "<metadata" not in svg and "<dc:date" not in svg
    ids = re.findall(r'\bid="([^"]+)"', "".join(svgs))
    assert len(ids) == len(set(ids)), "two figures share an id"


@pytest.mark.slow
def test_pages_are_offline_and_show_no_code_or_errors(project):
    root, _ = project
    for page in (root / "reports").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not EXTERNAL.search(html), f"{page.name} loads something from the network"
        assert "@import url(http" not in html
        code_cells = re.findall(r'class="(jp-Cell jp-CodeCell[^"]*)"', html)
        assert all("jp-mod-noInput" in c for c in code_cells), f"code shown in {page.name}"
        assert not re.search(r'class="[^"]*(jp-InputPrompt|highlight hl-)', html), f"code in {page.name}"
        assert "Traceback" not in html and not re.search(r'class="[^"]*jp-RenderedText', html), \
            f"error or stream output in {page.name}"
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in html
        assert "injected-parameters" not in html
        assert re.search(r"<title>[^<]{5,}</title>", html)
        if page.stem != "index":
            assert 'class="cp-toc"' in html


@pytest.mark.slow
def test_second_build_is_a_no_op(project):
    root, _ = project
    p = make(root, "reports")
    assert "[cartpool]" not in p.stdout


@pytest.mark.slow
def test_without_a_browser_the_notice_comes_with_a_build_not_with_a_no_op(project):
    root, _ = project
    (root / "reports" / "index.html").unlink()  # something to rebuild
    study = next((root / "data" / "studies").iterdir())
    (study / "results.yaml").touch()
    first = make(root, "reports", "BROWSER=")
    assert first.stdout.count("No Chromium or Chrome found") == 1
    again = make(root, "reports", "BROWSER=")
    assert "[cartpool]" not in again.stdout, again.stdout
    make(root, "reports")  # back to the state the other tests of this module expect (with PDFs if a browser)


@pytest.mark.slow
def test_clean_builds_are_byte_identical_serial_and_parallel(project):
    root, _ = project
    before = snapshot(root / "reports") | {f"build/{k}": v for k, v in snapshot(root / "build").items()
                                            if k.endswith(".ipynb")}
    make(root, "clean")
    par = make(root, "-j2", "reports")
    assert "jobserver unavailable" not in par.stderr, par.stderr  # -j2 must reach the inner make
    after = snapshot(root / "reports") | {f"build/{k}": v for k, v in snapshot(root / "build").items()
                                           if k.endswith(".ipynb")}
    assert sorted(before) == sorted(after)
    diff = [k for k in before if before[k] != after[k]]
    assert not diff, f"differ between two clean builds: {diff}"


@pytest.mark.slow
def test_changing_one_study_rebuilds_it_the_pooled_report_and_the_index_only(project):
    root, _ = project
    p = root / "data" / "studies" / "syn001" / "results.yaml"
    good = p.read_text(encoding="utf-8")
    p.write_text(good + "# a curator's comment\n", encoding="utf-8")  # changed content: a timestamp alone is not
    try:
        out = make(root, "reports").stdout
    finally:
        p.write_text(good, encoding="utf-8")
    steps = set(re.findall(r"\[cartpool\] (\S+) +(notebook|html|pdf)", out))
    built = {t for t, _ in steps}
    assert built == {"syn001", "pooled", "index"}, out


@pytest.mark.slow
def test_corrupted_study_fails_clearly_and_leaves_reports_untouched(project):
    root, _ = project
    before = snapshot(root / "reports")
    p = root / "data" / "studies" / "syn001" / "results.yaml"
    good = p.read_text(encoding="utf-8")
    try:
        p.write_text(good.replace("statistic: count", "statistic: [count", 1), encoding="utf-8")
        r = make(root, "reports", check=False)
        assert r.returncode != 0
        assert "syn001/results.yaml" in r.stderr and "not valid YAML" in r.stderr
        assert "notebook" not in r.stdout  # validation stops the build before any notebook runs
        assert snapshot(root / "reports") == before
    finally:
        p.write_text(good, encoding="utf-8")


@pytest.mark.slow
def test_failing_notebook_names_study_and_cell_and_writes_no_report(project):
    root, _ = project
    env = {**os.environ, "CARTPOOL_SOURCES": str(root / "sources")}
    r = subprocess.run([PY, "scripts/build.py", "study", "nosuch", "reports/nosuch.html"], cwd=root,
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1
    assert "'nosuch' is not a known study" in r.stderr and re.search(r"failed in cell \d+", r.stderr)
    assert not (root / "reports" / "nosuch.html").exists()
    assert (root / "build" / "nosuch.failed.ipynb").exists()


def test_build_script_answers_missing_arguments_with_its_usage_not_a_traceback():
    root = Path(__file__).resolve().parents[1]
    for args in ([], ["study"], ["pooled"]):
        r = subprocess.run([PY, "scripts/build.py", *args], cwd=root, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "usage: build.py" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_the_index_links_the_pdfs_only_when_a_browser_builds_them(project):
    root, _ = project
    index = root / "reports" / "index.html"
    make(root, "_reports", "BROWSER=")
    assert ".pdf" not in index.read_text(encoding="utf-8")
    if HAS_BROWSER:  # a browser that appears rewrites the index with its PDF links
        make(root, "_reports")
        assert 'href="pooled.pdf"' in index.read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_number_in_a_table_of_the_pooled_page_and_the_index_shows_its_source(project):
    """Issue 30, in the pages as built: every number in a table of the pooled page and of the index
    shows its source or how the report computed it, and every footnote number resolves on the page
    (`page_text.source_problems`; the labels come from the study data)."""
    from cartpool.data.load import load_all

    root, _ = project
    labels = [sd.study.label for sd in load_all(root / "data" / "studies", sources=None)]
    for name in ("pooled.html", "index.html"):
        html = root / "reports" / name
        assert "cp-src" in html.read_text(encoding="utf-8"), name
        assert source_problems(html, labels) == [], name


@pytest.mark.slow
def test_every_number_in_a_table_of_every_study_page_shows_its_source(project):
    """Issue 30 on the study pages as built: every number in a table of each study's page shows its
    source or how the report computed it, and every footnote number resolves on the page (the
    studies and their labels come from the data)."""
    from cartpool.data.load import load_all

    root, _ = project
    studies = load_all(root / "data" / "studies", sources=None)
    labels = [sd.study.label for sd in studies]
    for sd in studies:
        html = root / "reports" / f"{sd.study.id}.html"
        assert "cp-src" in html.read_text(encoding="utf-8"), html.name
        assert source_problems(html, labels) == [], html.name

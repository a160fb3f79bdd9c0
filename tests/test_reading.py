"""The reports as a reader gets them, built from the real study data and source documents: page
budgets of the PDFs, table headers repeated across pages, no internal names on any page, figure
text at least 8 pt in print, and screenshots (desktop and phone) and PDF page images in
`test-artifacts/` for a person to look at.

Skipped where the source documents are not beside the project (the quotes are checked against
them); the PDF and browser parts are skipped where no Chromium is installed."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from cartpool.builder.pdf import find_browser

from .helpers import ROOT, make, seeds_dir
from .page_text import offenders, source_problems, visible_text

BROWSER = find_browser()
ARTIFACTS = ROOT / "test-artifacts"
# the print column: A4 (210 mm) less 2 x 14 mm margins, in CSS pixels (96 per inch)
PRINT_VIEWPORT_PX = round((210 - 28) / 25.4 * 96)
FIGURE_DPI = 110  # cartpool.report.render.Figures.dpi (of a figure too large for SVG, embedded as PNG)

needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium/Chrome on this machine "
                                   "(Debian: apt-get install chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def real_reports(tmp_path_factory):
    """`make reports` on a copy of this checkout with the real study data: the reports folder."""
    seeds = seeds_dir()
    if seeds is None:
        pytest.skip("the source documents (../shared/seeds) are not beside the project")
    root = tmp_path_factory.mktemp("real")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, root / name)
    for name in ("notebooks", "requirements", "scripts", "src", "data"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "sources").symlink_to(seeds, target_is_directory=True)
    make(root, "-j2", "reports")
    return root / "reports"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _pdf_pages(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(pdf).pages]


def _squash(text: str) -> str:
    """Text compared across HTML and PDF: ligatures unfolded, no whitespace, case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


# --- page budgets -------------------------------------------------------------------------------


def _pooled_budget(root: Path) -> int:
    """The pooled PDF's budget by its stated rule (cartpool.report.pooled_page.page_budget), for this data."""
    from cartpool.analysis.pooled_analysis import PooledAnalysis
    from cartpool.report.pooled_page import PooledPage

    page = PooledPage(PooledAnalysis.load(str(root / "data" / "studies")))
    page.render_all()  # its sources list is part of the rule
    return page.budget()


def _study_budget(root: Path, study_id: str) -> int:
    """A study PDF's budget by its stated rule (cartpool.report.study_page.page_budget), for this data."""
    from cartpool.report.study_page import StudyPage

    page = StudyPage.load(study_id, data_dir=str(root / "data" / "studies"))
    page.render_all()
    return page.budget()


@needs_browser
@pytest.mark.slow
def test_pdfs_are_within_their_page_budgets_and_no_page_but_the_last_is_mostly_blank(real_reports):
    pdfs = sorted(real_reports.glob("*.pdf"))
    assert len(pdfs) == len(list(real_reports.glob("*.html"))) - 1  # every page but the index
    for pdf in pdfs:
        n = len(_pdf_pages(pdf))
        budget = (_pooled_budget(real_reports.parent) if pdf.stem == "pooled" else
                  _study_budget(real_reports.parent, pdf.stem))
        assert n <= budget, f"{pdf.name}: {n} pages, budget {budget}"
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: page images not made")
    from PIL import Image

    out = ARTIFACTS / "pdf-pages"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for pdf in pdfs:
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(out / pdf.stem)], check=True)
        pages = sorted(out.glob(f"{pdf.stem}-*.png"))
        for png in pages[:-1]:
            grey = np.asarray(Image.open(png).convert("L"))
            h = grey.shape[0]
            # the body of the page: between the running title and the page number (18 mm margins)
            top, bottom = round(h * 20 / 297), round(h * 277 / 297)
            ink_rows = np.flatnonzero(grey[top:bottom].min(axis=1) < 200)
            used = ink_rows.max() / (bottom - top) if ink_rows.size else 0.0
            # a figure is never split and keeps its heading: one that does not fit the space left
            # (a swimmer plot takes about half a page) moves on and may leave up to ~60% of a page free
            assert used >= 0.4, f"{png.name}: only {used:.0%} of the page is used"


@needs_browser
@pytest.mark.slow
def test_a_table_that_runs_onto_another_page_repeats_its_header_there(real_reports, browser):
    checked = 0
    for pdf in sorted(real_reports.glob("*.pdf")):
        page = browser.new_page(viewport={"width": PRINT_VIEWPORT_PX, "height": 1000})
        page.emulate_media(media="print")
        page.goto((real_reports / f"{pdf.stem}.html").as_uri())
        tables = page.evaluate("""[...document.querySelectorAll('table')]
            .filter(t => t.offsetParent !== null && t.caption && t.tHead && t.tBodies.length
                         && getComputedStyle(t.tHead).display !== 'none')  // not a list (the sources)
            .map(t => ({caption: t.caption.innerText,
                        header: [...t.tHead.rows[0].cells].slice(0, 2).map(c => c.innerText),
                        rows: [...t.tBodies[0].rows].filter(r => r.offsetParent !== null)
                                 .map(r => r.cells[0].innerText)}))""")
        page.close()
        texts = [_squash(t) for t in _pdf_pages(pdf)]
        for t in tables:
            start = next((i for i, s in enumerate(texts) if _squash(t["caption"])[:60] in s), None)
            if start is None or not t["rows"]:
                continue
            # follow the rows in order from the caption: the pages the table occupies
            joined = "".join(texts)
            offsets = [sum(len(s) for s in texts[:i]) for i in range(len(texts))]
            pos = offsets[start] + texts[start].find(_squash(t["caption"])[:60])
            pages = {start}
            for cell in (_squash(c) for c in t["rows"]):
                hit = joined.find(cell, pos) if cell else -1
                if hit < 0:
                    continue
                pos = hit + len(cell)
                pages.add(max(i for i, o in enumerate(offsets) if o <= hit))
            header = _squash("".join(t["header"]))
            for p in sorted(pages - {start}):
                checked += 1
                assert header in texts[p], f"{pdf.name} page {p + 1}: table '{t['caption']}' runs on without its header"
    print(f"{checked} continued table pages checked")
    assert checked > 0, "no table runs onto a second page: the check checked nothing"


# --- internal names -----------------------------------------------------------------------------

@pytest.mark.slow
def test_no_page_shows_a_file_name_key_column_name_or_check_id(real_reports):
    found = {}
    for html in sorted(real_reports.glob("*.html")):
        if bad := offenders(visible_text(html)):
            found[html.name] = bad
    for pdf in sorted(real_reports.glob("*.pdf")):
        # a name the PDF wraps at a hyphen is read whole
        if bad := offenders(re.sub(r"-\s*\n\s*", "-", "\n".join(_pdf_pages(pdf)))):
            found[pdf.name] = bad
    assert found == {}


# --- numbers and their sources ------------------------------------------------------------------


@pytest.mark.slow
def test_every_number_in_the_tables_of_the_pooled_page_and_the_index_shows_its_source(real_reports):
    """Issue 30: every number in a table of the pooled page and the index shows its source (quote, or
    the per-patient table it was counted from) or, computed by the report, how; every footnote number
    leads to the page's sources list (`page_text.source_problems`). Columns of words are exempt and
    say so in their header. It names no study: the labels come from the data."""
    from cartpool.data.load import load_all

    labels = [sd.study.label for sd in load_all(real_reports.parent / "data" / "studies", sources=None)]
    for name in ("pooled.html", "index.html"):
        assert source_problems(real_reports / name, labels) == [], name


@pytest.mark.slow
def test_every_number_in_the_tables_of_every_study_page_shows_its_source(real_reports):
    """Issue 30 on the study pages: every number in a table of every study's page shows its source (a
    quote, a per-patient table as published with its row and column) or how the report computed it
    (a count from the per-patient table, an exact CI, a Kaplan-Meier estimate, a check's recomputed
    value), and every footnote number leads to the page's sources list. It names no study: the pages
    and labels come from the data."""
    from cartpool.data.load import load_all

    studies = load_all(real_reports.parent / "data" / "studies", sources=None)
    labels = [sd.study.label for sd in studies]
    assert studies
    for sd in studies:
        html = real_reports / f"{sd.study.id}.html"
        assert "cp-src" in html.read_text(encoding="utf-8"), html.name
        assert source_problems(html, labels) == [], html.name


def test_the_source_scan_catches_what_it_should():
    def page(cells: str, head: str = "<th>N</th>") -> str:
        return f"<table><caption>T</caption><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>"

    src = '<span class="cp-src" tabindex="0">12<span class="cp-tip" role="tooltip">A, Table 1: “12 patients”</span></span>'
    assert source_problems(page(f"<td>{src}</td>"), []) == []
    assert source_problems(page("<td>12</td>"), []) == ["no source: ('T', 'N', '12')"]
    assert source_problems(page("<td>Hu 2026</td>"), ["Hu 2026"]) == []  # a study's label is not a number
    assert source_problems(page("<td>GPRC5D</td>", '<th class="cp-text">Level</th>'), []) == []  # words
    assert source_problems(page('<td>12<sup class="cp-fn"><a href="#src-3">[3]</a></sup></td>'), [])[0] \
        .startswith("no source")
    computed = '<span class="cp-src cp-computed" tabindex="0">3<span class="cp-tip" role="tooltip">{}</span></span>'
    assert source_problems(page("<td>" + computed.format("Computed by this report: the sum of the counts") + "</td>"),
                           []) == []
    assert source_problems(page("<td>" + computed.format("Pooled") + "</td>"), [])[0].startswith("computed without")
    unquoted = src.replace("“12 patients”", "Table 1")
    assert source_problems(page(f"<td>{unquoted}</td>"), [])[0].startswith("no quote")
    assert source_problems(page(f'<td>{src}<sup class="cp-fn"><a href="#src-9">[9]</a></sup></td>'), []) == \
        ["footnote #src-9 leads nowhere"]
    # words from the data in a cell of numbers, or a row of words in a table of facts, say so
    assert source_problems(page(f'<td><span class="cp-text">Group 1</span>: {src}</td>'), []) == []
    assert source_problems(page('<td class="cp-text">NCT05979363</td>'), []) == []
    assert source_problems(page('<td><span class="cp-text">Group 1</span>: 12</td>'), [])[0].startswith("no source")


def test_the_identifier_scan_catches_what_it_should():
    text = ("Full article (001_bb6754b427db5e4b.txt); column 'ae:Neutropenia'; n_all; study.design; "
            "per_patient; R type 7; p = nan; see the repository's tests; data in tables/smith2027-audit.csv")
    assert offenders(text) == sorted({"001_bb6754b427db5e4b", "ae:Neutropenia",
                                      "n_all", "study.design", "per_patient", "R type 7", "nan",
                                      "the repository's tests"})
    assert offenders("the patients.csv file and smith2027.yaml") == ["patients.csv", "smith2027.yaml"]
    assert offenders("ORR 83.3% (95% CI 51.6–97.9); R-ISS stage II; anti-CD38; Note: e.g. doi.org") == []
    # a study id is allowed where the README puts it, in the name of the CSV beside the page, and
    # nowhere else
    assert offenders("every check: tables/karmma_3-audit.csv") == []
    assert offenders("Idecabtagene vicleucel — cartpool report karmma_3") == ["karmma_3"]


# --- figures in print ---------------------------------------------------------------------------


@needs_browser
@pytest.mark.slow
def test_every_figure_prints_its_smallest_text_at_8_pt_or_more(real_reports, browser):
    rows = []
    for html in sorted(real_reports.glob("*.html")):
        sizes_csv = real_reports / "figures" / ("pooled" if html.stem == "pooled" else html.stem) / "figure-sizes.csv"
        if html.stem == "index" or not sizes_csv.is_file():
            continue
        with sizes_csv.open(encoding="utf-8") as f:
            sizes = list(csv.DictReader(f))
        page = browser.new_page(viewport={"width": PRINT_VIEWPORT_PX, "height": 1000})
        page.emulate_media(media="print")
        page.goto(html.as_uri())
        # an inline SVG's own width is its width attribute (matplotlib writes points); a PNG's is its pixels
        shown = page.evaluate("""dpi => [...document.querySelectorAll('figure.cp-figure > svg, figure.cp-figure > img')]
            .map(e => ({width: e.getBoundingClientRect().width, printed: e.getClientRects().length > 0,
                        natural_in: e.tagName === 'IMG' ? e.naturalWidth / dpi
                                                        : parseFloat(e.getAttribute('width')) / 72}))""", FIGURE_DPI)
        page.close()
        assert len(shown) == len(sizes), html.name
        for size, img in zip(sizes, shown, strict=True):
            assert abs(img["natural_in"] - float(size["width_in"])) < 0.01, (html.name, size["file"])
            if not img["printed"]:
                continue
            printed_width_in = img["width"] / 96
            scale = printed_width_in / float(size["width_in"])
            printed_pt = float(size["smallest_text_pt"]) * scale
            rows.append({"page": html.stem, "figure": size["file"], "width_in": size["width_in"],
                         "height_in": size["height_in"], "printed_width_in": f"{printed_width_in:.2f}",
                         "smallest_text_pt": size["smallest_text_pt"], "printed_smallest_pt": f"{printed_pt:.2f}"})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "figure-fonts.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    small = [(r["page"], r["figure"], r["printed_smallest_pt"]) for r in rows if float(r["printed_smallest_pt"]) < 8 - 1e-6]
    assert small == []
    assert len(rows) >= 20


# --- screenshots --------------------------------------------------------------------------------


@needs_browser
@pytest.mark.slow
@pytest.mark.parametrize("device,width", [("desktop", 1280), ("phone", 390)])
def test_every_page_is_screenshotted_and_fits_the_screen(real_reports, browser, device, width):
    out = ARTIFACTS / "screenshots" / device
    out.mkdir(parents=True, exist_ok=True)
    for html in sorted(real_reports.glob("*.html")):
        page = browser.new_page(viewport={"width": width, "height": 900},
                                device_scale_factor=1)
        page.goto(html.as_uri())
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=str(out / f"{html.stem}.png"), full_page=True)
        page.close()
        assert overflow <= 2, f"{html.name} is {overflow}px wider than a {width}px screen"

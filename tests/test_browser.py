"""The reports in a real browser: Debian's Chromium driven headless by Playwright (system browser,
nothing downloaded). Skipped with a reason where no browser exists; CI installs one."""

import re
from pathlib import Path

import pytest

from cartpool.builder.pdf import find_browser

from .helpers import ROOT

BROWSER = find_browser()
pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(BROWSER is None, reason="no Chromium/Chrome on this machine "
                                 "(Debian: apt-get install chromium; .ci/run installs it)")]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=BROWSER, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"])
        yield b
        b.close()


def _open(browser, path: Path, width=1200):
    page = browser.new_page(viewport={"width": width, "height": 900})
    log = {"requests": [], "errors": [], "console": []}
    page.on("request", lambda r: log["requests"].append(r.url))
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri(), wait_until="load")
    return page, log


def _pages(project):
    root, _ = project
    return sorted((root / "reports").glob("*.html"))


def test_every_page_loads_offline_without_errors_and_is_screenshotted(project, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = _pages(project)
    assert len(pages) >= 4
    for path in pages:
        page, log = _open(browser, path)
        remote = [u for u in log["requests"] if not u.startswith(("file:", "data:"))]
        assert remote == [], f"{path.name} requested {remote}"
        assert log["errors"] == [] and log["console"] == [], (path.name, log)
        page.screenshot(path=str(ARTIFACTS / f"{path.stem}.png"), full_page=True)
        page.close()
        assert (ARTIFACTS / f"{path.stem}.png").stat().st_size > 10_000


def test_every_link_from_the_index_resolves_and_back(project, browser):
    root, _ = project
    page, _ = _open(browser, root / "reports" / "index.html")
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    page.close()
    local = [h for h in hrefs if not h.startswith(("http:", "https:", "#"))]
    assert {"pooled.html", "syn000.html", "syn001.html"} <= set(local)
    for h in local:
        target = root / "reports" / h.split("#")[0]
        assert target.is_file(), h
        if target.suffix == ".html":
            p, _ = _open(browser, target)
            back = p.eval_on_selector_all("nav.cp-nav a", "els => els.map(e => e.getAttribute('href'))")
            assert "index.html" in back and "pooled.html" in back, h
            p.close()


def test_images_have_alt_text_and_size_toc_anchors_exist_headings_in_order_tables_have_headers(project, browser):
    for path in _pages(project):
        page, _ = _open(browser, path)
        imgs = page.evaluate("Array.from(document.images).map(i => [i.alt, i.naturalWidth, i.naturalHeight])")
        # figures are inline SVG: an image to assistive technology, named by its description
        imgs += page.evaluate("""[...document.querySelectorAll('figure svg')].map(s => [
            s.getAttribute('role') === 'img' ? s.getAttribute('aria-label') || '' : '',
            s.getBoundingClientRect().width, s.getBoundingClientRect().height])""")
        for alt, w, h in imgs:
            assert alt.strip() and not re.match(r"(?i)(figure|image|no description)", alt), (path.name, alt)
            assert w > 0 and h > 0
        missing = page.evaluate("""Array.from(document.querySelectorAll('nav.cp-toc a'))
            .map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id))""")
        assert missing == [], (path.name, missing)
        levels = page.evaluate("Array.from(document.querySelectorAll('h1,h2,h3,h4')).map(h => +h.tagName[1])")
        assert levels and levels[0] == 1 and levels.count(1) == 1, (path.name, levels)
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (path.name, levels)
        no_th = page.evaluate("Array.from(document.querySelectorAll('table')).filter(t => !t.querySelector('th')).length")
        assert no_th == 0, path.name
        page.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_no_page_is_wider_than_a_phone_or_a_desktop_screen(project, browser, width):
    for path in _pages(project):
        page, _ = _open(browser, path, width=width)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        # every figure fits the column: scaled down, never cut off or scrolled
        wide = page.evaluate("""[...document.querySelectorAll('figure svg')]
            .filter(s => s.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length""")
        page.close()
        assert overflow <= 2, f"{path.name} is {overflow}px wider than a {width}px screen"
        assert wide == 0, f"{path.name}: {wide} figure(s) run past the right edge at {width}px"


def test_figure_text_is_text_in_the_page_and_in_the_pdf(project, browser):
    """Figures are inline SVG with their text kept as text: a reader can select and search it, and the
    PDF carries it in its text layer (a forest plot's study labels, its axis label)."""
    from pypdf import PdfReader

    root, _ = project
    page, _ = _open(browser, root / "reports" / "pooled.html")
    forest = page.evaluate("""[...document.querySelectorAll('figure svg')]
        .map(s => [...s.querySelectorAll('text')].map(t => t.textContent))
        .find(texts => texts.includes('Proportion (%)'))""")
    page.close()
    assert forest, "no forest plot with its text as text"
    labels = [t for t in forest if t.startswith("Synthetic")]
    assert labels, forest
    pdf = root / "reports" / "pooled.pdf"
    if not pdf.is_file():
        pytest.skip("no PDF")
    pages = [re.sub(r"\s+", " ", p.extract_text() or "") for p in PdfReader(pdf).pages]
    with_forest = [t for t in pages if "Proportion (%)" in t]
    assert with_forest, "the forest plot's axis label is not in the PDF's text layer"
    assert any(all(lab in t for lab in labels) for t in with_forest), labels


def test_wide_tables_scroll_instead_of_widening_the_page(project, browser):
    root, _ = project
    page, _ = _open(browser, root / "reports" / "syn000.html", width=420)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.close()
    assert overflow <= 2


def test_a_sourced_number_shows_its_source_on_focus(project, browser):
    root, _ = project
    page, _ = _open(browser, root / "reports" / "syn000.html")
    src = page.locator(".cp-src").first
    tip = src.locator(".cp-tip")
    assert tip.evaluate("e => getComputedStyle(e).display") == "none"
    src.focus()
    assert tip.evaluate("e => getComputedStyle(e).display") != "none"
    assert "Synthetic 000" in tip.inner_text() and ".txt" not in tip.inner_text()  # a citation, never a file name
    page.close()


def test_pdfs_have_a_plausible_page_count_and_the_title(project):
    from pypdf import PdfReader

    from cartpool.report.pooled_page import TITLE

    root, _ = project
    for name, title in (("syn000", "Synthetic CAR-T study 000"), ("pooled", TITLE)):
        reader = PdfReader(root / "reports" / f"{name}.pdf")
        assert 2 <= len(reader.pages) <= 60, (name, len(reader.pages))
        text = " ".join((p.extract_text() or "") for p in reader.pages[:2])
        assert title.lower() in re.sub(r"\s+", " ", text).lower(), name
        assert "Page 1 of" in (reader.pages[0].extract_text() or "")
        links = [a for p in reader.pages for a in (p.get("/Annots") or [])]
        assert links, f"{name}.pdf keeps no links"
        # links to the pages beside it are relative: the PDF does not depend on the checkout's path
        assert b"file://" not in (root / "reports" / f"{name}.pdf").read_bytes(), name


# --- issue 30, parts 2 and 3: numbers that open their source, tables a reader can work with -----------


def test_a_forest_row_shows_its_quote_on_hover_and_on_focus(project, browser):
    """A study row of a forest plot carries its source: its SVG <title> (the native tooltip and its
    accessible name) holds the verbatim quote, and hovering over it or focusing it by keyboard shows
    the same words beside it; it links to the page's sources list."""
    root, _ = project
    page, log = _open(browser, root / "reports" / "pooled.html")
    rows = page.locator("figure svg a[data-cp-src]")
    assert rows.count() > 0, "no forest row carries its source"
    quoted = [i for i in range(rows.count()) if "“" in (rows.nth(i).locator("title").text_content() or "")]
    assert quoted, "no forest row's title holds a verbatim quote"
    row = rows.nth(quoted[0])
    title = row.locator("title").text_content()
    href = row.get_attribute("href")
    assert href.startswith("#src-") and page.locator(href).count() == 1, href  # its entry in the sources list
    tip = page.locator(".cp-figtip")
    assert tip.is_hidden()
    row.hover()
    assert tip.is_visible() and tip.inner_text() == title
    page.mouse.move(0, 0)
    page.locator("body").focus()
    assert tip.is_hidden()
    for _ in range(5000):  # by keyboard: Tab until the row has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.hasAttribute('data-cp-src')"):
            break
    else:
        pytest.fail("no forest row can be reached with the Tab key")
    focused = page.evaluate("document.activeElement.querySelector('title').textContent")
    assert tip.is_visible() and tip.inner_text() == focused
    assert ".txt" not in focused and ".csv" not in focused  # a citation, never a file name
    assert log["errors"] == [], log
    page.close()


@pytest.mark.parametrize("name, width", [("pooled.html", 1280), ("pooled.html", 390), ("index.html", 1280)])
def test_a_number_in_a_table_shows_its_source_or_how_it_was_computed_on_hover_and_focus(project, browser, name,
                                                                                         width):
    """Issue 30: in a table of the pooled page or the index, a number taken from a paper shows its
    source with the verbatim quote, and a number the report computed says so and how, on hover and
    on keyboard focus; the tooltip stays inside the window (the first and the last of each kind are
    tried: the last sits in a wide table's last column), at a desktop's and a phone's width."""
    root, _ = project
    page, log = _open(browser, root / "reports" / name, width=width)
    for computed in (False, True):
        spans = page.locator("table.cp-table .cp-src" + (".cp-computed" if computed else ":not(.cp-computed)"))
        if computed and name == "index.html" and spans.count() == 0:
            continue  # the index computes only the counts of checks, where a study has checks
        assert spans.count() > 0, (name, computed)
        for i in sorted({0, spans.count() - 1}):
            span = spans.nth(i)
            tip = span.locator(".cp-tip")
            assert tip.is_hidden()
            span.focus()
            assert tip.is_visible()
            words = tip.inner_text()
            assert words.startswith("Computed by this report: ") == computed, words
            if not computed:
                assert "“" in words or "per-patient table" in words, words
            assert ".txt" not in words and ".csv" not in words  # a citation, never a file name
            box = tip.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (name, width, box, words[:60])
            span.evaluate("e => e.blur()")
            assert tip.is_hidden()
            span.hover()
            assert tip.is_visible() and tip.inner_text() == words
            page.mouse.move(0, 0)
    assert log["errors"] == [], log
    page.close()


@pytest.mark.parametrize("name", ["pooled", "syn000"])
def test_every_source_number_in_print_leads_to_a_printed_source_of_8_pt_or_more(project, browser, name):
    """Issue 30: in print, every source number (a table's footnote mark, a figure row's link) leads to
    an entry of the sources list that prints too, and that list and the marks print at 8 pt or more."""
    root, _ = project
    page, _ = _open(browser, root / "reports" / f"{name}.html")
    page.emulate_media(media="print")
    found = page.evaluate("""() => {
        const laid = e => e.getClientRects().length > 0;  // printed: nothing above it is display: none
        const links = [...document.querySelectorAll('a[href^="#src-"]')].filter(laid);
        const missing = [], hidden = [];
        for (const a of links) {
            const target = document.getElementById(a.getAttribute('href').slice(1));
            if (!target) { missing.push(a.getAttribute('href')); } else if (!laid(target)) { hidden.push(a.getAttribute('href')); }
        }
        const cells = [...document.querySelectorAll('table.cp-sources td')].filter(laid);
        const size = els => Math.min(...els.map(c => parseFloat(getComputedStyle(c).fontSize)));
        return {links: links.length, missing, hidden, cells: cells.length, smallest: size(cells),
                marks: size([...document.querySelectorAll('sup a[href^="#src-"]')].filter(laid)),
                footnotes: [...document.querySelectorAll('ol.cp-footnotes')].filter(laid)
                    .map(o => parseFloat(getComputedStyle(o).fontSize))};
    }""")
    page.close()
    assert found["links"] > 0 and found["cells"] > 0, found
    assert found["missing"] == [] and found["hidden"] == [], found
    assert found["smallest"] >= 8 * 96 / 72 - 0.01, found  # CSS px: 8 pt
    assert found["marks"] >= 8 * 96 / 72 - 0.01, found  # the footnote marks too
    # footnotes print at the print size (8 pt), not at the screen's size (a screen rule once won)
    assert all(abs(px - 8 * 96 / 72) < 0.01 for px in found["footnotes"]), found


def test_every_source_number_in_a_pdf_leads_to_its_entry_in_the_same_pdf(project):
    """Issue 30: a PDF's source numbers are links to the sources list printed in the same PDF."""
    from pypdf import PdfReader

    root, _ = project
    for name in ("pooled", "syn000"):
        reader = PdfReader(root / "reports" / f"{name}.pdf")
        named = set(reader.named_destinations)
        dests = [str(a.get_object().get("/Dest")) for p in reader.pages for a in (p.get("/Annots") or [])
                 if a.get_object().get("/Dest") is not None]
        to_sources = [d for d in dests if d.startswith("/src-")]
        assert to_sources, f"{name}.pdf: no link to a source"
        assert sorted(set(to_sources) - named) == [], f"{name}.pdf: source links that lead nowhere"


def test_a_long_table_sorts_and_filters_and_print_shows_every_row(project, browser):
    root, _ = project
    page, log = _open(browser, root / "reports" / "pooled.html")
    table = page.locator("table.cp-sortable:has(caption:text('Sources of the numbers'))")
    numbers = "t => [...t.tBodies[0].rows].filter(r => !r.hidden).map(r => +r.cells[0].textContent)"
    published = table.evaluate(numbers)
    assert len(published) > 1
    sort = table.locator("th button").first
    sort.click()
    assert table.locator("th").first.get_attribute("aria-sort") == "ascending"
    assert table.evaluate(numbers) == sorted(published)
    sort.click()
    assert table.locator("th").first.get_attribute("aria-sort") == "descending"
    assert table.evaluate(numbers) == sorted(published, reverse=True)
    sort.click()  # and back to the published order
    assert table.evaluate(numbers) == published
    tools = page.locator(".cp-tools:has(+ .cp-table-wrap table.cp-sortable:has(caption:text('Sources of the numbers')))")
    tools.locator("input").fill(str(published[-1]))
    shown = table.evaluate(numbers)
    assert 1 <= len(shown) < len(published) and published[-1] in shown
    page.emulate_media(media="print")
    assert table.evaluate("t => [...t.tBodies[0].rows].every(r => getComputedStyle(r).display !== 'none')")
    assert tools.is_hidden()
    assert log["errors"] == [], log
    page.close()


def test_every_table_links_to_its_csv_and_the_link_resolves(project, browser):
    """Every table links to its CSV beside the page, by a relative address (the folder can be
    copied), with words, not the file's name."""
    root, _ = project
    for path in _pages(project):
        if path.name == "index.html":
            continue
        page, _ = _open(browser, path)
        tables = page.locator("table.cp-table").count()
        links = page.eval_on_selector_all("table.cp-table caption a.cp-csv",
                                          "els => els.map(a => [a.getAttribute('href'), a.textContent])")
        page.close()
        assert tables and len(links) == tables, (path.name, tables, len(links))
        for href, text in links:
            assert re.fullmatch(r"tables/[\w-]+\.csv", href), (path.name, href)
            assert (path.parent / href).is_file(), (path.name, href)
            assert "csv" not in text.replace("(CSV)", "").lower() and "/" not in text, text


def test_no_column_is_scrolled_out_of_sight_at_1280_px(project, browser):
    for path in _pages(project):
        page, _ = _open(browser, path, width=1280)
        hidden = page.evaluate("""[...document.querySelectorAll('.cp-table-wrap')]
            .filter(w => w.scrollWidth > w.clientWidth + 1)
            .map(w => (w.querySelector('caption') || {}).textContent)""")
        page.close()
        assert hidden == [], f"{path.name}: columns out of sight at 1280 px in {hidden}"

"""The build's PDF printer (`cartpool.builder.devtools`, a DevTools client over Chromium's pipe):
several pages at once, each waited for until its own load event, a page that cannot be opened named
in the error, and a Chromium that went away reported, never waited on. Needs a Chromium."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from cartpool.builder.devtools import Chromium, DevToolsError
from cartpool.builder.pdf import BROWSER_FLAGS, PDF_OPTIONS, find_browser

BROWSER = find_browser()
pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(BROWSER is None, reason="no Chromium/Chrome on this machine "
                                 "(Debian: apt-get install chromium; .ci/run installs it)")]

# a script adds the page's text only at its load event, after a picture that loads slowly: a PDF
# printed before that event would not hold the text
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>p{n}</title></head><body>
<img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/%3E">
<script>window.addEventListener('load', () => document.body.append('loaded page {n}'));</script></body></html>"""


def _run(coro):
    return asyncio.run(coro)


async def _printed(tmp_path, pages: int):
    urls = []
    for n in range(pages):
        path = tmp_path / f"p{n}.html"
        path.write_text(PAGE.format(n=n), encoding="utf-8")
        urls.append(path.as_uri())
    chromium = await Chromium.start(BROWSER, (*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"))
    try:
        return await asyncio.gather(*(chromium.print_pdf(u, PDF_OPTIONS) for u in urls)), chromium
    finally:
        await chromium.close()


def test_several_pages_print_at_once_each_after_its_load_event(tmp_path):
    from io import BytesIO

    from pypdf import PdfReader

    pdfs, chromium = _run(_printed(tmp_path, 4))
    assert chromium.process.returncode is not None  # closed: no browser left behind
    for n, pdf in enumerate(pdfs):
        assert pdf.startswith(b"%PDF")
        text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
        assert f"loaded page {n}" in text  # printed after the page's own load event, each its own page


def test_a_page_that_cannot_be_opened_is_named_in_the_error(tmp_path):
    async def run():
        chromium = await Chromium.start(BROWSER, (*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"))
        try:
            with pytest.raises(DevToolsError, match="missing.html"):
                await chromium.print_pdf((tmp_path / "missing.html").as_uri(), PDF_OPTIONS)
            # and the browser still prints the next page
            ok = tmp_path / "ok.html"
            ok.write_text(PAGE.format(n=0), encoding="utf-8")
            assert (await chromium.print_pdf(ok.as_uri(), PDF_OPTIONS)).startswith(b"%PDF")
        finally:
            await chromium.close()

    _run(run())


def test_a_chromium_that_went_away_is_reported_not_waited_on(tmp_path):
    async def run():
        chromium = await Chromium.start(BROWSER, (*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"))
        page = tmp_path / "p.html"
        page.write_text(PAGE.format(n=0), encoding="utf-8")
        os.kill(chromium.process.pid, signal.SIGKILL)
        await chromium.process.wait()
        with pytest.raises(DevToolsError):
            await asyncio.wait_for(chromium.print_pdf(page.as_uri(), PDF_OPTIONS), 30)
        assert chromium.closed
        await chromium.close()

    _run(run())

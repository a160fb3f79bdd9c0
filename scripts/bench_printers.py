"""Three ways to print a build's HTML pages to PDF with the system Chromium, timed (`make bench`).

* ``playwright``: what the build did before: one Chromium with a DevTools port, Playwright's
  `connect_over_cdp`, one tab per page, `page.pdf`. Playwright is in the test group only.
* ``cli``: one `chromium --headless --print-to-pdf` per page (the cold route).
* ``devtools``: what the build does (cartpool.builder.devtools): one Chromium driven through the
  DevTools protocol by a small client of our own, standard library only, over
  `--remote-debugging-pipe` (the protocol's JSON messages over two file descriptors,
  NUL-terminated; the same messages a websocket client sends, without needing one).

Each function prints every page in `pages` into `out` and returns the seconds it took, browser
start included. The PDFs' sizes are returned too, to show that each route printed something.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cartpool.builder.devtools import Chromium  # noqa: E402
from cartpool.builder.pdf import BROWSER_FLAGS, PDF_OPTIONS  # noqa: E402

# Playwright's names for the build's printing options (PDF_OPTIONS, the protocol's names)
PLAYWRIGHT_PDF_OPTIONS = {"prefer_css_page_size": True, "display_header_footer": False,
                          "print_background": False, "tagged": True}


def cli(browser: str, pages: list[Path], out: Path) -> float:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as profile:
        for page in pages:
            subprocess.run([browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                            f"--print-to-pdf={out / (page.stem + '.cli.pdf')}", page.resolve().as_uri()],
                           capture_output=True, check=True, timeout=120)
    return time.perf_counter() - t0


def playwright(browser: str, pages: list[Path], out: Path) -> float:
    async def run() -> None:
        from playwright.async_api import async_playwright

        with tempfile.TemporaryDirectory(prefix="bench-pw-") as profile:
            proc = await asyncio.create_subprocess_exec(
                browser, *BROWSER_FLAGS, "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank",
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            while True:
                line = (await proc.stderr.readline()).decode(errors="replace")
                if line.startswith("DevTools listening on "):
                    endpoint = line.split(" on ", 1)[1].strip()
                    break
                if not line:
                    raise RuntimeError("Chromium did not start")
            pw = await async_playwright().start()
            cdp = await pw.chromium.connect_over_cdp(endpoint)
            context = cdp.contexts[0]
            for page_path in pages:
                page = await context.new_page()
                await page.goto(page_path.resolve().as_uri(), wait_until="load")
                await page.pdf(path=str(out / (page_path.stem + ".playwright.pdf")), **PLAYWRIGHT_PDF_OPTIONS)
                await page.close()
            await pw.stop()
            proc.kill()
            await proc.wait()

    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0


def devtools(browser: str, pages: list[Path], out: Path) -> float:
    async def run() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-cdp-") as profile:
            chromium = await Chromium.start(browser, (*BROWSER_FLAGS, f"--user-data-dir={profile}"))
            try:
                for page in pages:
                    pdf = await chromium.print_pdf(page.resolve().as_uri(), PDF_OPTIONS)
                    (out / (page.stem + ".devtools.pdf")).write_bytes(pdf)
            finally:
                await chromium.close()

    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0


ROUTES = {"playwright": playwright, "cli": cli, "devtools": devtools}


def compare(browser: str, pages: list[Path], work: Path, repeats: int = 3) -> dict[str, float]:
    """Median seconds per route for printing all `pages`, routes alternated within each repeat."""
    import statistics

    work.mkdir(parents=True, exist_ok=True)
    times: dict[str, list[float]] = {k: [] for k in ROUTES}
    for _ in range(repeats):
        for name, route in ROUTES.items():
            times[name].append(route(browser, pages, work))
    for name in ROUTES:
        for page in pages:
            pdf = work / f"{page.stem}.{name}.pdf"
            assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF"), pdf
    return {k: statistics.median(v) for k, v in times.items()}


def package_mb(name: str) -> float:
    """Installed size of a package of this environment, in MB (0 if absent)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return 0.0
    folder = Path(list(spec.submodule_search_locations)[0])
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


if __name__ == "__main__":
    browser = shutil.which("chromium") or sys.exit("no chromium")
    pages = sorted(Path(sys.argv[1]).glob("*.html"))
    print(compare(browser, pages, Path(tempfile.mkdtemp(prefix="bench-printers-"))), package_mb("playwright"))

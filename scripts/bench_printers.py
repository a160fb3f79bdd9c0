"""Three ways to print a build's HTML pages to PDF with the system Chromium, timed (`make bench`).

* ``playwright``: what the build does (cartpool.builder.pdf): one Chromium with a DevTools port,
  Playwright's `connect_over_cdp`, one tab per page, `page.pdf`.
* ``cli``: one `chromium --headless --print-to-pdf` per page (the cold route).
* ``devtools``: one Chromium driven through the DevTools protocol by a small client of our own,
  standard library only: `--remote-debugging-pipe` (the protocol's JSON messages over two file
  descriptors, NUL-terminated; the same messages a websocket client sends, without needing one).

Each function prints every page in `pages` into `out` and returns the seconds it took, browser
start included. The PDFs' sizes are returned too, to show that each route printed something.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cartpool.builder.pdf import BROWSER_FLAGS, PDF_OPTIONS  # noqa: E402


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
                await page.pdf(path=str(out / (page_path.stem + ".playwright.pdf")), **PDF_OPTIONS)
                await page.close()
            await pw.stop()
            proc.kill()
            await proc.wait()

    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0


class _Pipe:
    """A DevTools client over --remote-debugging-pipe: Chromium reads commands on its fd 3 and
    writes replies and events on its fd 4, each a JSON object ended by a NUL byte."""

    def __init__(self, browser: str, profile: str):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        # the shell puts our pipe ends on Chromium's fds 3 (commands in) and 4 (replies out)
        cmd = " ".join([shlex.quote(browser), *BROWSER_FLAGS, "--remote-debugging-pipe",
                        shlex.quote(f"--user-data-dir={profile}"), "about:blank"])
        self.proc = subprocess.Popen(["bash", "-c", f"exec {cmd} 3<&{to_chrome_r} 4>&{from_chrome_w}"],
                                     pass_fds=(to_chrome_r, from_chrome_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        return self._id

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        want = self.send(method, params, session)
        while True:
            msg = self._read()
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def wait_event(self, method: str, session: str) -> None:
        while True:
            msg = self._read()
            if msg.get("method") == method and msg.get("sessionId") == session:
                return

    def close(self) -> None:
        try:
            self.send("Browser.close")
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            os.close(self._to_chrome)
            os.close(self._from_chrome)


def devtools(browser: str, pages: list[Path], out: Path) -> float:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-cdp-") as profile:
        cdp = _Pipe(browser, profile)
        try:
            for page in pages:
                target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
                session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                cdp.call("Page.enable", session=session)
                cdp.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
                cdp.wait_event("Page.loadEventFired", session)
                pdf = cdp.call("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": False,
                                                   "displayHeaderFooter": False, "generateTaggedPDF": True},
                               session)["data"]
                (out / (page.stem + ".devtools.pdf")).write_bytes(base64.b64decode(pdf))
                cdp.call("Target.closeTarget", {"targetId": target})
        finally:
            cdp.close()
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

"""Print HTML reports to PDF with a Chromium or Chrome already on the machine.

One headless browser process prints one page (about 1 s). The PDF's /CreationDate and
/ModDate are rewritten in place to a fixed date of the same length, and the structure elements'
DOM node numbers to their ranks, which makes repeated builds byte-identical (Chromium ignores
SOURCE_DATE_EPOCH, and numbers its nodes differently under load). Links to the other pages beside it,
which Chromium writes as absolute file:// addresses, are made relative: the PDF does not depend
on where the checkout is, and its links work wherever the reports folder is copied. The project never downloads a
browser; `find_browser` only looks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from . import tempdirs
from .files import atomic_write
from .services import connect, die_with_parent, start_service

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FIXED_DATE = b"D:20000101000000+00'00'"
PAGE_TIMEOUT = 120  # seconds for one page to load and print, by either route
HOW_TO_GET_PDFS = (
    "No Chromium or Chrome found: HTML reports are built, PDFs are skipped. "
    "To get PDFs install one (Debian/Ubuntu: sudo apt-get install chromium) or set CARTPOOL_BROWSER."
)


def find_browser() -> str | None:
    env = os.environ.get("CARTPOOL_BROWSER")
    if env:
        return env if Path(env).is_file() or shutil.which(env) else None
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _normalise_dates(pdf: bytes) -> bytes:
    def fix(m: re.Match) -> bytes:
        value = m.group(2)
        fixed = FIXED_DATE[: len(value)].ljust(len(value), b"0")
        return m.group(1) + fixed

    return re.sub(rb"(/(?:CreationDate|ModDate)\s*\()([^)]*)", fix, pdf)


def _normalise_node_ids(pdf: bytes) -> bytes:
    """Chromium's tagged PDF names each structure element after Blink's DOM node number
    ("node00000071"), which depends on how many nodes the browser made before: under load the same
    page printed twice came out with every number one apart. Each number is replaced by its rank
    among the document's numbers, at the same width, so that the ID tree stays sorted, the byte
    offsets stay valid and the same page gives the same bytes."""
    found = sorted(set(re.findall(rb"\(node(\d+)\)", pdf)), key=lambda d: (len(d), d))
    rank = {old: str(i).zfill(len(old)).encode() for i, old in enumerate(found, start=1)}
    return re.sub(rb"\(node(\d+)\)", lambda m: b"(node" + rank[m.group(1)] + b")", pdf)


def _relative_links(pdf: bytes, folder_uri: str) -> bytes:
    """Rewrite link addresses under `folder_uri` (the reports folder) as relative ones."""
    if folder_uri.encode() not in pdf:
        return pdf
    import io

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    # Chromium's trailer undercounts its objects; pypdf says so on every read, harmlessly
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is None:
                continue
            action = action.get_object()
            uri = action.get("/URI")
            if isinstance(uri, str) and uri.startswith(folder_uri):
                action[NameObject("/URI")] = TextStringObject(uri[len(folder_uri):])
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


# The headless Chromium both routes start (per page, or once per build as the printer below).
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
    "--disable-quic", "--run-all-compositor-stages-before-draw",
)


def browser_env(folder: Path | str) -> dict[str, str]:
    """The browser's environment: its own temporary files (``org.chromium.*``) go inside our
    private `folder`, which is removed after it, or swept after a killed build."""
    return {**os.environ, "TMPDIR": str(folder)}


def html_to_pdf(html_path: Path, pdf_path: Path, *, browser: str | None = None, timeout: int = PAGE_TIMEOUT) -> None:
    browser = browser or find_browser()
    if browser is None:
        raise RuntimeError(HOW_TO_GET_PDFS)
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    with tempdirs.private_folder("chromium") as profile:
        out = Path(profile) / "out.pdf"
        if not _print_with_printer(html_path, out, timeout):  # no build printer: a browser of our own
            cmd = [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}/profile", "--no-pdf-header-footer",
                   f"--print-to-pdf={out}", html_path.as_uri()]
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=browser_env(profile))
            if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
                err = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"{browser} could not print {html_path.name}: {' | '.join(err)}")
        data = _normalise_node_ids(_normalise_dates(_relative_links(out.read_bytes(), html_path.parent.as_uri() + "/")))
    with atomic_write(pdf_path, "wb") as fh:
        fh.write(data)


# --- one long-lived browser per build ------------------------------------------------------------
# Starting a browser costs about 0.5 s per page. During `make reports` one printer process
# (`serve`) starts the system Chromium once, drives it over the DevTools protocol through a pipe
# (`devtools.Chromium`), and prints every page of the build in its own tab, several at a time
# under `make -j`. Chromium is started in the build's process group and set to die with the
# printer, so an interrupted build leaves no browser behind. Without the printer, `html_to_pdf`
# runs one headless Chromium per page as before.

ENV_PRINTER = "CARTPOOL_PRINTER"
# What `--print-to-pdf --no-pdf-header-footer` does: the page's own @page size and margins
# (A4, with the running title in the margin box), no backgrounds, a tagged PDF (structure for
# screen readers). The two routes print the same bytes (tests/test_content_build.py).
PDF_OPTIONS = {"preferCSSPageSize": True, "displayHeaderFooter": False, "printBackground": False,
               "generateTaggedPDF": True}


def start_printer(browser: str) -> tuple[object, dict[str, str], Path]:
    """Start the printer process (`serve`): its process, the variables to export, its folder."""
    proc, path, folder = start_service("printer", "cartpool.builder.pdf", browser, own_tmp=True)
    return proc, {ENV_PRINTER: path}, folder


def _print_with_printer(html_path: Path, out: Path, timeout: int) -> bool:
    """Ask the build's printer for `out`; False where there is no printer to ask."""
    import json

    s = connect(ENV_PRINTER)
    if s is None:
        return False
    with s:
        s.settimeout(timeout + 30)  # the printer gives up on the page first, and says why
        s.sendall(json.dumps({"url": html_path.as_uri(), "out": str(out)}).encode() + b"\n")
        reply = json.loads(s.makefile("rb").readline() or b'{"error": "the printer stopped"}')
    if reply.get("error"):
        raise RuntimeError(f"Chromium could not print {html_path.name}: {reply['error']}")
    return True


def warm_up_printer() -> None:
    """Tell the build's printer, if any, to start its browser now, while notebooks run."""
    s = connect(ENV_PRINTER)
    if s is not None:
        with s, contextlib.suppress(OSError):
            s.sendall(b'{"warm": true}\n')


async def _serve(listen_fd: int, browser: str) -> None:
    import asyncio
    import json
    import signal
    import socket

    from .devtools import Chromium

    listener = socket.socket(fileno=listen_fd)
    folder = os.path.dirname(listener.getsockname())  # the private folder the build made for us
    state: dict = {}
    starting = asyncio.Lock()

    async def chromium() -> Chromium:
        async with starting:
            current = state.get("chromium")
            if current is None or current.closed:  # not started yet, or gone (crashed): a new one
                if current is not None:
                    await current.close()
                state["chromium"] = await Chromium.start(
                    browser, (*BROWSER_FLAGS, f"--user-data-dir={folder}/profile"),
                    env=browser_env(folder), preexec=die_with_parent)
        return state["chromium"]

    async def warm_up():
        with contextlib.suppress(Exception):  # a real print request will say what went wrong
            await chromium()

    async def handle(reader, writer):
        try:
            line = await reader.readline()
            if not line.strip():  # a connection that asks nothing is answered with nothing
                writer.close()
                return
            request = json.loads(line)
            if request.get("warm"):  # a notebook started: its PDF will be asked for soon
                asyncio.ensure_future(warm_up())
                writer.close()
                return
            pdf = await asyncio.wait_for((await chromium()).print_pdf(request["url"], PDF_OPTIONS), PAGE_TIMEOUT)
            Path(request["out"]).write_bytes(pdf)
            reply = {}
        except TimeoutError:
            reply = {"error": f"the page did not load and print within {PAGE_TIMEOUT} s"}
        except Exception as e:  # reported to the build step, which names the page
            reply = {"error": f"{type(e).__name__}: {e}".splitlines()[0]}
        with contextlib.suppress(OSError):  # the caller went away: nobody to tell
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
            writer.close()

    server = await asyncio.start_unix_server(handle, sock=listener)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    if "chromium" in state:  # gone before the build removes its profile
        await state["chromium"].close()


def serve(listen_fd: int, browser: str) -> None:
    import asyncio
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the steps; the lock process stops us
    asyncio.run(_serve(listen_fd, browser))


if __name__ == "__main__":
    import sys

    serve(int(sys.argv[1]), sys.argv[2])

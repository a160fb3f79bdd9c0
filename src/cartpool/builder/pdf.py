"""Print HTML reports to PDF with a Chromium or Chrome already on the machine.

One headless browser process prints one page (about 1 s). The PDF's /CreationDate and
/ModDate are rewritten in place to a fixed date of the same length, which makes repeated
builds byte-identical (Chromium ignores SOURCE_DATE_EPOCH). Links to the other pages beside it,
which Chromium writes as absolute file:// addresses, are made relative: the PDF does not depend
on where the checkout is, and its links work wherever the reports folder is copied. The project never downloads a
browser; `find_browser` only looks.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .notebooks import atomic_write

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FIXED_DATE = b"D:20000101000000+00'00'"
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


def html_to_pdf(html_path: Path, pdf_path: Path, *, browser: str | None = None, timeout: int = 120) -> None:
    browser = browser or find_browser()
    if browser is None:
        raise RuntimeError(HOW_TO_GET_PDFS)
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="cartpool-chromium-") as profile:
        out = Path(profile) / "out.pdf"
        cmd = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
            "--disable-quic", f"--user-data-dir={profile}/profile", "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw", f"--print-to-pdf={out}", html_path.as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{browser} could not print {html_path.name}: {' | '.join(err)}")
        data = _normalise_dates(_relative_links(out.read_bytes(), html_path.parent.as_uri() + "/"))
    with atomic_write(pdf_path, "wb") as fh:
        fh.write(data)

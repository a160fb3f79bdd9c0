"""Execute a report notebook with papermill and render it to one offline HTML page.

Everything here writes to a temporary name and moves into place only on success, so a failed
or interrupted run never leaves a finished-looking file behind (see `cartpool.builder.files.atomic_write`).
Execution metadata that changes from run to run (papermill timestamps and durations,
nbclient's per-cell timestamps, random cell ids) is removed, so that the same inputs give
byte-identical notebooks and HTML.
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import re
import shutil
import tempfile
from pathlib import Path

from .files import atomic_write

REPORT_DIR = Path(__file__).resolve().parents[1] / "report"
TEMPLATE_DIR = REPORT_DIR / "templates"


@functools.cache
def _kernel_manager_class():
    """Kernels talk over local IPC sockets instead of TCP: nothing listens on the network, and
    ipykernel's "running over TCP without encryption" warning stays out of the build log.
    Under the warm build worker the kernel is a process forked with everything imported, which
    is waiting for its connection file (`kernels.take_preforked_kernel`); otherwise, or for a
    restart, it is launched the usual way."""
    from jupyter_client.manager import AsyncKernelManager

    from . import kernels, tempdirs

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.transport = "ipc"
            folder, self._alive = tempdirs.make("kernel")  # swept if this process is killed
            self.ip = str(folder / "k")

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart:  # the folder of the kernel's IPC sockets
                tempdirs.release(os.path.dirname(self.ip), self._alive)
                self._alive = None

        async def _async_interrupt_kernel(self):
            # jupyter_client interrupts a kernel before asking it to shut down; after the last
            # cell that only prints "KeyboardInterrupt caught in kernel" into the build log
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            process = kernels.take_preforked_kernel(kernel_cmd, kw.get("env"), kw.get("cwd"))
            if process is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            provisioner = self.provisioner
            provisioner.process, provisioner.pid = process, process.pid
            provisioner.pgid = process.pid  # the kernel starts its own session, as the launcher does
            provisioner.cwd = kw.get("cwd") or os.getcwd()
            self._reconcile_connection_info(provisioner.connection_info)

    return IPCKernelManager


class NotebookFailed(RuntimeError):
    """A report notebook raised: names the notebook, the failing cell and the error."""


def scrub(nb) -> None:
    """Remove run-dependent metadata in place: papermill and nbclient timings, random cell ids."""
    pm = nb.metadata.get("papermill", {})
    nb.metadata["papermill"] = {"parameters": pm.get("parameters", {})}
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)


def _failed_cell(nb) -> tuple[int, str]:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return i, f"{out.get('ename')}: {out.get('evalue')}"
    return -1, "unknown error"


def execute(notebook: Path, output: Path, parameters: dict, *, cwd: Path, failed_dir: Path | None = None,
            timeout: int = 600):
    """Run `notebook` with papermill into `output` (atomically). On failure keep the executed
    notebook as ``<output stem>.failed.ipynb`` (in `failed_dir` or beside `output`) for
    debugging, and raise `NotebookFailed` naming the cell."""
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".ipynb", dir=output.parent)
    os.close(fd)
    try:
        try:
            pm.execute_notebook(
                str(notebook), tmp, parameters=parameters, kernel_name="python3", cwd=str(cwd),
                progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                execution_timeout=timeout, kernel_manager_class=_kernel_manager_class(),
            )
        except PapermillExecutionError as e:
            failed = Path(failed_dir or output.parent) / f"{output.stem}.failed.ipynb"
            shutil.move(tmp, failed)
            nb = nbformat.read(failed, as_version=4)
            idx, err = _failed_cell(nb)
            raise NotebookFailed(
                f"{notebook.name} with {parameters} failed in cell {idx} (kept in {failed}): "
                f"{e.ename}: {e.evalue}" if idx >= 0 else f"{notebook.name} failed: {err}"
            ) from None
        nb = nbformat.read(tmp, as_version=4)
        scrub(nb)
        with atomic_write(output, encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        stale = Path(failed_dir or output.parent) / f"{output.stem}.failed.ipynb"
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
        return nb
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@functools.cache
def exporter():
    """nbconvert's HTML exporter with the offline template (built once per process)."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    c = Config()
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    c.HTMLExporter.template_name = "cartpool"
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"parameters", "injected-parameters", "remove_cell"}
    c.HTMLExporter.preprocessors = ["nbconvert.preprocessors.TagRemovePreprocessor"]
    # no code is shown, so no syntax-highlighting stylesheet (4.5 KB a page); the page's only
    # stylesheet is report/style.css (templates/cartpool/index.html.j2)
    c.CSSHTMLHeaderPreprocessor.enabled = False
    return HTMLExporter(config=c)


def _drop_stderr_and_code_outputs(nb) -> None:
    """Keep a reader's page free of warnings: stderr streams never reach the HTML."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]


_H2 = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)  # each heading on its own


def toc_html(body: str) -> str:
    """A table of contents from the page's second-level headings."""
    items = [(hid, re.sub(r"<[^>]+>", "", text).replace("¶", "").strip()) for hid, text in _H2.findall(body)]
    if not items:
        return ""
    lis = "".join(f'<li><a href="#{hid}">{html.escape(html.unescape(t))}</a></li>' for hid, t in items)
    return f'<nav class="cp-toc" aria-label="Contents"><strong>Contents</strong><ol>{lis}</ol></nav>'


def nav_html(links: list[tuple[str, str]]) -> str:
    inner = "".join(f'<a href="{html.escape(h)}">{html.escape(t)}</a>' for t, h in links)
    return f'<nav class="cp-nav" aria-label="Site">{inner}</nav>'


def running_title_css(text: str) -> str:
    """A print-only running title in the page margin (CSS paged media, supported by Chromium)."""
    safe = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "").replace(">", "")
    safe = safe if len(safe) <= 90 else safe[:87] + "..."
    return ('<style type="text/css">@page { @top-left { content: "' + safe + '"; '
            'font: 9pt "DejaVu Sans", sans-serif; color: #57606a; } }</style>')


def render_html(nb, *, title: str, nav: list[tuple[str, str]], running_title: str | None = None) -> str:
    """Render an executed notebook as one self-contained page: no code, no prompts, no stderr,
    no script or stylesheet from the network, with a site bar and a table of contents."""
    import copy

    nb = copy.deepcopy(nb)
    _drop_stderr_and_code_outputs(nb)
    css = (REPORT_DIR / "style.css").read_text(encoding="utf-8")
    js = (REPORT_DIR / "page.js").read_text(encoding="utf-8")
    body, _ = exporter().from_notebook_node(nb, resources={"cartpool_css": css, "cartpool_js": js})
    body = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", body, count=1, flags=re.S)
    body = body.replace("</head>", running_title_css(running_title or title) + "\n</head>", 1)
    m = re.search(r"<body[^>]*>", body)
    if m:
        first_h1 = body.find("</h1>", m.end())
        insert_at = first_h1 + len("</h1>") if first_h1 != -1 else m.end()
        body = body[: m.end()] + nav_html(nav) + body[m.end(): insert_at] + toc_html(body) + body[insert_at:]
    return body

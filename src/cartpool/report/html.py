"""HTML building blocks for reports: escaped text, formatted numbers with their sources,
tables, figures. Every piece of text that comes from data goes through `esc`.

Number conventions, one way everywhere: percentages to one decimal ("75.0%"), confidence
intervals in parentheses with an en dash ("(42.8–94.5)"), "NR" for not reached, "—" for a
value the source does not report.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

NR_TEXT = "NR"
MISSING_TEXT = "—"


def esc(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and not np.isfinite(x))


def pct(p: float | None, digits: int = 1) -> str:
    """A fraction as a percentage with one decimal: 0.75 -> '75.0%'."""
    return MISSING_TEXT if is_missing(p) else f"{100 * p:.{digits}f}%"


def ci(lo: float | None, hi: float | None, *, as_pct: bool = True, digits: int = 1, nr_high: bool = False) -> str:
    """'(42.8–94.5)' for a CI; an upper limit that is not reached prints as NR."""
    def f(v, is_high=False):
        if v is None and is_high and nr_high:
            return NR_TEXT
        if is_missing(v):
            return MISSING_TEXT
        return f"{100 * v:.{digits}f}" if as_pct else f"{v:.{digits}f}"

    return f"({f(lo)}–{f(hi, True)})"


def num(x, digits: int = 1) -> str:
    if x is None:
        return NR_TEXT
    if isinstance(x, float) and not np.isfinite(x):
        return MISSING_TEXT
    return f"{x:.{digits}f}"


def printed(v) -> str:
    """A value exactly as the source printed it (Decimal keeps its digits); 'NR' stays 'NR'."""
    return MISSING_TEXT if v is None else str(v)


@dataclass
class Sources:
    """Collects the provenance of every number shown, numbering them for footnotes and a
    sources table at the end of the page."""

    document: str
    entries: list[tuple[str, str, str]] = field(default_factory=list)  # (id, location, quote)
    _index: dict[str, int] = field(default_factory=dict)

    def ref(self, key: str, location: str, quote: str) -> int:
        if key not in self._index:
            self.entries.append((key, location, quote))
            self._index[key] = len(self.entries)
        return self._index[key]

    def cite(self, text: str, key: str, location: str, quote: str) -> str:
        """`text` (already escaped HTML) with a hover/focus tooltip and a footnote link."""
        n = self.ref(key, location, quote)
        tip = f"{esc(self.document)}, {esc(location)}: “{esc(quote)}”"
        return (f'<span class="cp-src" tabindex="0">{text}<span class="cp-tip" role="tooltip">{tip}</span>'
                f'</span><sup class="cp-fn"><a href="#src-{n}" aria-label="source {n}">[{n}]</a></sup>')

    def cite_result(self, text: str, r) -> str:
        return self.cite(text, r.id, r.location, r.quote)

    def table(self) -> str:
        if not self.entries:
            return '<p class="cp-missing">No sourced numbers are shown on this page.</p>'
        rows = "".join(
            f'<tr id="src-{i}"><td class="num">{i}</td><td>{esc(k)}</td><td>{esc(self.document)}</td>'
            f"<td>{esc(loc)}</td><td>“{esc(q)}”</td></tr>"
            for i, (k, loc, q) in enumerate(self.entries, start=1)
        )
        return wrap_table(
            "<thead><tr><th class='num' scope='col'>#</th><th scope='col'>Record</th><th scope='col'>Document</th>"
            "<th scope='col'>Location</th><th scope='col'>Verbatim quote</th></tr></thead>"
            f"<tbody>{rows}</tbody>", caption="Sources of the numbers on this page")


def wrap_table(inner: str, caption: str | None = None, cls: str = "cp-table") -> str:
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="cp-table-wrap"><table class="{cls}">{cap}{inner}</table></div>'


def table(df: pd.DataFrame, *, caption: str | None = None, numeric: set[str] | None = None,
          html_cols: set[str] | None = None, row_classes: list[str] | None = None) -> str:
    """An HTML table from a DataFrame. Cells are escaped unless their column is in `html_cols`
    (for cells built with `esc` and `Sources.cite`). Columns in `numeric` are right-aligned."""
    numeric = numeric or set()
    html_cols = html_cols or set()
    head = "".join(f'<th scope="col"{" class=num" if c in numeric else ""}>{esc(c)}</th>' for c in df.columns)
    body = []
    for i, (_, row) in enumerate(df.iterrows()):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = []
        for c in df.columns:
            v = row[c]
            text = (MISSING_TEXT if v is None or (isinstance(v, float) and np.isnan(v)) else
                    (str(v) if c in html_cols else esc(v)))
            cells.append(f'<td{" class=num" if c in numeric else ""}>{text}</td>')
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return wrap_table(f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>", caption)


def missing(text: str) -> str:
    return f'<p class="cp-missing">{esc(text)}</p>'


def note(text_html: str, approx: bool = False) -> str:
    return f'<div class="cp-note{" cp-approx" if approx else ""}">{text_html}</div>'


def figure(fig, *, alt: str, caption: str, save_to: Path | None = None, dpi: int = 110) -> str:
    """Embed a matplotlib figure as a PNG with alt text and caption; also save the PNG."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = buf.getvalue()
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        save_to.write_bytes(data)
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<figure class="cp-figure"><img src="data:image/png;base64,{b64}" alt="{esc(alt)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def save_table(df: pd.DataFrame, path: Path) -> None:
    """Write the CSV of a table shown on the page (stable formatting, LF line endings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")

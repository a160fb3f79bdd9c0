"""reports/index.html: every study with its key numbers and audit counts, links to each HTML
and PDF report, and to the pooled comparison."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import audit as audit_mod
from ..analysis.study_analysis import StudyAnalysis
from ..data.study_data import StudyData
from ..domain import registry
from ..text import lower_first
from .living_renderers import date_text, row_text
from .render import Table, render

STYLE_FILE = Path(__file__).parent / "style.css"


def _median(a: StudyAnalysis, endpoint: str) -> str:
    p = a.headline_median(endpoint)
    if p is None:
        return fmt.MISSING_TEXT
    v = "NR" if p.value is None else f"{p.value:.1f}"
    return v + (" (KM)" if p.recomputed else "")


def _bottom_line(tables: Path | None) -> list[tuple[str, list[str]]]:
    """The pooled report's bottom line (written by the pooled step as pooled-bottom-line.csv), by population."""
    path = tables / "pooled-bottom-line.csv" if tables is not None else None
    if path is None or not path.is_file():
        return []
    frame = pd.read_csv(path, keep_default_na=False)
    return [(pop, list(sub["sentence"])) for pop, sub in frame.groupby("population", sort=False)]


def _whats_new(tables: Path | None) -> dict | None:
    """What's new as the index shows it, read back from the pooled report's ``pooled-whats-new.csv``:
    the release compared with, the studies that changed and the estimates whose change matters
    (None where the pooled report has not been built)."""
    path = tables / "pooled-whats-new.csv" if tables is not None else None
    if path is None or not path.is_file():
        return None
    frame = pd.read_csv(path, keep_default_na=False)
    if frame.empty:
        return None
    first = frame.iloc[0]
    since = (f"release {int(first['since_release'])} of {date_text(str(first['since_date']))}"
             if str(first["since_release"]) not in ("", "nan") else "")
    rows = frame[frame["section"] == "study"]
    studies = [f"{change}: " + ", ".join(x["study"] + (f" ({x['detail']})" if change == "updated" else "")
                                         for _, x in rows[rows["change"] == change].iterrows())
               for change in ("added", "updated", "removed") if (rows["change"] == change).any()]
    est = frame[frame["section"] == "estimate"]
    matter = []
    for _, x in est[est["matters"].astype(str).str.lower() == "true"].iterrows():
        before = row_text(*(_csv_value(x[f"before_{f}"]) for f in ("rule", "k", "patients", "estimate",
                                                                    "estimate_high", "ci_low", "ci_high")),
                          str(x["before_values"]))
        after = row_text(*(_csv_value(x[f"after_{f}"]) for f in ("rule", "k", "patients", "estimate", "estimate_high",
                                                                 "ci_low", "ci_high")), str(x["after_values"]))
        matter.append(f"{x['outcome_label']}, {lower_first(x['population_label'])}: {before} → {after} "
                      f"({x['why_text']})")
    return {"since": since, "none": not frame["section"].isin(["study", "estimate"]).any(),
            "no_release": bool(((frame["section"] == "none") & (frame["change"] == "no release yet")).any()),
            "studies": studies, "moved": len(est), "matter": matter}


def _csv_value(v):
    if v == "" or v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def index_page(studies: list[StudyData], *, with_pdf: bool, tables: Path | None = None) -> str:
    """The index page: the pooled report's bottom line, then one row per study with its headline
    numbers (the registry's `at_a_glance` outcomes)."""
    rows = []
    for sd in studies:
        a = StudyAnalysis(sd)
        s = sd.study
        out = a.outcomes.set_index("outcome")
        cells = []
        for spec in registry.at_a_glance():
            r = out.loc[spec.key]
            ok = r["events"] is not None and r["events"] == r["events"] and r["total"]
            if not ok:
                cells.append(fmt.MISSING_TEXT)
            elif r["is_range"]:
                cells.append(f"{fmt.pct_range(r['estimate'], r['estimate_high'])} "
                             f"({int(r['events'])}–{int(r['events_high'])}/{int(r['total'])})")
            else:
                cells.append(f"{fmt.pct(r['estimate'])} ({int(r['events'])}/{int(r['total'])})")
        links = Markup('<a href="{}.html">HTML</a>').format(s.id)
        if with_pdf:
            links += Markup(' · <a href="{}.pdf">PDF</a>').format(s.id)
        rows.append([
            Markup('<a href="{0}.html">{1}</a><br><small>{2}</small>').format(s.id, s.label, links),
            f"{s.disease_group} / {'frontline' if s.setting.value == 'frontline' else 'R/R'}",
            ", ".join(s.targets.value), fmt.number(a.n_main, 0) if a.n_main is not None else fmt.MISSING_TEXT,
            *cells, _median(a, "pfs"), _median(a, "os"),
            f"{len(a.audit_rows)} checked: {audit_mod.status_counts_text(a.audit_rows)}" if len(a.audit_rows) else "none checkable",
        ])
    heads = [spec.short for spec in registry.at_a_glance()]
    numeric = {"N", *heads, "Median PFS (months)", "Median OS (months)"}
    table = Table("Studies (key numbers; checks: printed numbers recomputed and compared)",
                  ["Study", "Disease / setting", "Targets", "N", *heads, "Median PFS (months)", "Median OS (months)",
                   "Checks"], rows, numeric=numeric)
    page = str(render("index.html.j2", css=Markup(STYLE_FILE.read_text(encoding="utf-8")), table=table,
                      with_pdf=with_pdf, bottom_line=_bottom_line(tables), news=_whats_new(tables)))
    return page.rstrip("\n") + "\n"  # a complete HTML file ends "</html>\n" (Jinja drops the last newline)

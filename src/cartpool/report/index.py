"""reports/index.html: every study with its key numbers and audit counts, links to each HTML
and PDF report, and to the pooled comparison."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import audit as audit_mod
from ..analysis.study_analysis import StudyAnalysis
from ..data.study_data import StudyData
from ..domain import registry
from ..text import lower_first
from . import labels
from .living_renderers import date_text, row_text
from .provenance import computed_only, study_number
from .render import Citations, Table, render

STYLE_FILE = Path(__file__).parent / "style.css"
SCRIPT_FILE = Path(__file__).parent / "page.js"  # the pages' one script (its tooltips stay in the window)


def _median(page, a: StudyAnalysis, endpoint: str) -> Markup | str:
    p = a.headline_median(endpoint)
    if p is None:
        return fmt.MISSING_TEXT
    v = "NR" if p.value is None else f"{p.value:.1f}"
    what = "" if p.value is not None else "Median not reached: fewer than half the patients had an event during follow-up."
    return study_number(page, v + (" (KM)" if p.recomputed else ""), SimpleNamespace(
        study_id=a.sd.study.id, result_ids=p.result_id or "", how=p.source, detail=""), what=what)


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
    # the page's citations: each number shows its source on hover and focus, listed at the end
    page = SimpleNamespace(cites=Citations("", several=True), study_data={sd.study.id: sd for sd in studies})
    counted = "The proportion is computed by this report from the count."
    for sd in studies:
        a = StudyAnalysis(sd)
        s = sd.study
        source = labels.source_name(s)
        out = a.outcomes.set_index("outcome")
        size = sd.population_size_record(a.main_population)
        # cited in the order of the columns, so that the sources list reads as the row does
        targets = page.cites.fact(sd, "targets", ", ".join(s.targets.value), source)
        n = page.cites.record(sd, size.id, fmt.number(a.n_main, 0), source) if size is not None else fmt.MISSING_TEXT
        cells = []
        for spec in registry.at_a_glance():
            r = out.loc[spec.key]
            ok = r["events"] is not None and r["events"] == r["events"] and r["total"]
            x = SimpleNamespace(study_id=s.id, result_ids=r["result_ids"], how=r["how"], detail=r["detail"])
            if not ok:
                cells.append(fmt.MISSING_TEXT)
            elif r["is_range"]:
                cells.append(study_number(page, f"{fmt.pct_range(r['estimate'], r['estimate_high'])} "
                                                f"({fmt.count_range(r['events'], r['events_high'], r['total'])})", x,
                                          what=counted))
            else:
                cells.append(study_number(page, f"{fmt.pct(r['estimate'])} ({int(r['events'])}/{int(r['total'])})", x,
                                          what=counted))
        links = Markup('<a href="{}.html">HTML</a>').format(s.id)
        if with_pdf:
            links += Markup(' · <a href="{}.pdf">PDF</a>').format(s.id)
        rows.append([
            Markup('<a href="{0}.html">{1}</a><br><small>{2}</small>').format(s.id, s.label, links),
            f"{s.disease_group} / {'frontline' if s.setting.value == 'frontline' else 'R/R'}", targets, n,
            *cells, _median(page, a, "pfs"), _median(page, a, "os"),
            computed_only(page, f"{len(a.audit_rows)} checked: {audit_mod.status_counts_text(a.audit_rows)}",
                          f"the printed numbers of {s.label} that it recomputed and compared with what the paper "
                          "prints, by result. Each check is listed in the study report.")
            if len(a.audit_rows) else "none checkable",
        ])
    heads = [spec.short for spec in registry.at_a_glance()]
    numeric = {"N", *heads, "Median PFS (months)", "Median OS (months)"}
    table = Table("Studies (key numbers; checks: printed numbers recomputed and compared)",
                  ["Study", "Disease / setting", "Targets", "N", *heads, "Median PFS (months)", "Median OS (months)",
                   "Checks"], rows, numeric=numeric, words={"Study", "Disease / setting"})
    entries = page.cites.entries
    sources = Table("Sources of the numbers on this page", ["#", "Source", "What", "Where", "Verbatim quote"],
                    [[str(e["n"]), e["source"], labels.sentence_case(e["what"]), e["location"],
                      f"“{e['quote']}”" if e["quote"] else ""] for e in entries], numeric={"#"},
                    row_ids=[f"src-{e['n']}" for e in entries], compact=True,
                    words={"#", "Source", "What", "Where", "Verbatim quote"}) if entries else None
    page = str(render("index.html.j2", css=Markup(STYLE_FILE.read_text(encoding="utf-8")), table=table,
                      script=Markup(SCRIPT_FILE.read_text(encoding="utf-8")), sources=sources, with_pdf=with_pdf, bottom_line=_bottom_line(tables), news=_whats_new(tables)))
    return page.rstrip("\n") + "\n"  # a complete HTML file ends "</html>\n" (Jinja drops the last newline)

"""reports/index.html: every study with its key numbers and audit counts, links to each HTML
and PDF report, and to the pooled comparison."""

from __future__ import annotations

import pandas as pd

from .. import audit as audit_mod
from ..data.load import StudyData
from ..outcomes import km_survival, outcome_count, reported_survival
from .html import esc, pct, table

STYLE_FILE = "style.css"


def _median(sd: StudyData, ep: str) -> str:
    main = sd.study.patients.population if sd.study.patients else next(iter(sd.study.populations))
    pts = [p for p in km_survival(sd) if p.endpoint == ep and p.kind == "median"]
    rep = [p for p in reported_survival(sd) if p.endpoint == ep and p.kind == "median"]
    # the main population's median, else the one reported for another whole-cohort population
    pts = pts or [p for p in rep if p.population == main] or rep[:1]
    if not pts:
        return "—"
    p = pts[0]
    v = "NR" if p.value is None else f"{p.value:.1f}"
    return v + (" (KM)" if p.source != "reported" else "")


def index_page(studies: list[StudyData], *, with_pdf: bool) -> str:
    from pathlib import Path

    css = (Path(__file__).parent / STYLE_FILE).read_text(encoding="utf-8")
    rows = []
    for sd in studies:
        s = sd.study
        pop = s.patients.population if s.patients else next(iter(s.populations))
        n = sd.population_size(pop)
        cells = {}
        for key, label in (("orr", "ORR"), ("cr_or_better", "CR or better"), ("crs_ge3", "CRS ≥3")):
            c = outcome_count(sd, key)
            cells[label] = f"{pct(c.proportion)} ({c.events}/{c.total})" if c.available else "—"
        a = audit_mod.audit_frame(audit_mod.audit_study(sd))
        st = a["status"].value_counts() if not a.empty else pd.Series(dtype=int)
        links = f'<a href="{esc(s.id)}.html">HTML</a>' + (f' · <a href="{esc(s.id)}.pdf">PDF</a>' if with_pdf else "")
        rows.append({
            "Study": f'<a href="{esc(s.id)}.html">{esc(s.label)}</a><br><small>{links}</small>',
            "Disease / setting": esc(f"{s.disease_group} / {'R/R' if s.setting.value != 'frontline' else 'Frontline'}"),
            "Targets": esc(", ".join(s.targets.value)),
            "N": esc(n if n is not None else "—"),
            **{k: esc(v) for k, v in cells.items()},
            "Median PFS (mo)": esc(_median(sd, "pfs")),
            "Median OS (mo)": esc(_median(sd, "os")),
            "Audit": (f"{len(a)} checked: {int(st.get(audit_mod.CONSISTENT, 0) + st.get(audit_mod.ROUNDING, 0))} "
                      f"consistent, {int(st.get(audit_mod.INCONSISTENT, 0))} inconsistent"),
        })
    df = pd.DataFrame(rows)
    numeric = {"N", "ORR", "CR or better", "CRS ≥3", "Median PFS (mo)", "Median OS (mo)"}
    body = table(df, caption="Studies (key numbers; audit: reported numbers checked against recomputation)",
                 numeric=numeric, html_cols=set(df.columns))
    pdf_link = ' · <a href="pooled.pdf">PDF</a>' if with_pdf else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cartpool: CAR-T in plasma cell leukemia and multiple myeloma</title>
<style>
{css}
</style>
</head>
<body class="cartpool">
<nav class="cp-nav" aria-label="Site"><a href="index.html">Index</a><a href="pooled.html">Pooled comparison</a></nav>
<main class="cartpool-page cp-wide">
<h1>CAR-T cell therapy in plasma cell leukemia and multiple myeloma</h1>
<p class="cp-prose">What the published evidence says, study by study and side by side. Every number links to
its source in the study reports; where per-patient data allow, numbers are recomputed and checked
against what the paper printed.</p>
<h2 id="pooled">Pooled comparison</h2>
<p class="cp-prose"><a href="pooled.html">All studies side by side</a>{pdf_link}: forest plots by disease and
setting, survival, and the audit summary.</p>
<h2 id="studies">Study reports</h2>
{body}
<p class="cp-prose"><small>R/R: relapsed/refractory. ORR: overall response (PR or better). KM: median recomputed by Kaplan-Meier from the
per-patient table; otherwise as reported. NR: not reached. —: not reported. Tables behind every figure are
in <code>tables/</code>, figures in <code>figures/</code>.</small></p>
</main>
</body>
</html>
"""

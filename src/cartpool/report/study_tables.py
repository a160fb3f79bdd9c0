"""Tables shared by several sections of a study page: the records as printed, per-patient columns,
a section's outcomes with their counts and intervals, the contradictions a paper prints, and a
section made of printed records (`records_section`). They format only.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import study_results as results
from ..domain import registry
from ..domain.record_counts import HOW_EVALUABLE, HOW_ITT, HOW_PER_PATIENT, HOW_PRINTED
from ..frames import frame_rows
from . import labels, provenance
from .render import Fragment, Table, render

SURVIVAL_NAMES = {s.endpoint: s.label for s in registry.SURVIVAL}


# --- tables shared by several sections -------------------------------------------------------------


def records_table(page, frame: pd.DataFrame, caption: str, csv: str) -> Table | None:
    """Records as printed: what, for whom, the printed value (cited), the count it gives, and how it
    was obtained where it is not printed as a number."""
    if frame is None or frame.empty:
        return None
    rows = []
    for r in frame_rows(frame):
        rec = page.sd.result(r.result_id)
        if pd.isna(r.events):
            count = ""
        else:
            count = fmt.count_range(r.events, r.events_high if r.is_range else None, r.total)
        notes = [labels.derivation(r.derived)] if r.derived else []
        if rec.bound is not None:
            notes.append(rec.bound.reason)
        if r.note:
            notes.append(r.note)
        how = (f"The count as the paper gives it ({labels.lower_first(labels.derivation(r.derived))})." if r.derived
               else "The count as printed.")
        rows.append([labels.record_what(rec), r.population_label,
                     page.cites.record(page.sd, r.result_id, rec.as_printed()),
                     page.cites.derived(count, how, [page.cites.record_ref(page.sd, r.result_id)]) if count else "",
                     " ".join(n if n.endswith(".") else n + "." for n in notes)])
    return Table(caption, ["What", "Population", "As printed", "n/N", "Note"], rows, numeric={"n/N"}, compact=True,
                 csv=page.csv_href(csv), csv_whole=False, words={"What", "Population", "Note"})


def columns_table(page, frame: pd.DataFrame, caption: str) -> Table | None:
    """Per-patient columns summarised, each cited to its table and column."""
    if frame is None or frame.empty:
        return None
    rows = []
    for field, g in frame.groupby("field", sort=False):
        first = g.iloc[0]
        if first["parse"] in ("number", "integer", "percent", "sci_number"):
            text = (f"median {fmt.significant(first['median'])} (range {fmt.significant(first['low'])}–"
                    f"{fmt.significant(first['high'])}), {int(first['count'])} patients")
        else:
            shown = g[g["count"] > 0] if (g["count"] > 0).any() else g
            text = "; ".join(f"{lv} {int(c)}" for lv, c in zip(shown["level"], shown["count"], strict=True))
            text += f" (of {int(first['total'])})"
        group = first["column"].startswith("@")
        where = (f"{first['table']}, the mark beside each patient's label" if group
                 else f"{first['table']}, column “{first['column']}”")
        n = page.cites.ref(f"p:{field}", f"{first['label']} (per-patient table)", where,
                           "" if group else first["column"])  # a mark in the patient labels has no words to quote
        rows.append([labels.sentence_case(first["label"]),
                     page.cites.shown(text, f"Computed by this report: counted from the per-patient table, {where}.",
                                      [n], computed=True)])
    return Table(caption, ["Column", "Counted from the table"], rows, compact=True,
                 csv=page.csv_href("per-patient-columns"), csv_whole=False, words={"Column"})


def contradictions(page, frame: pd.DataFrame) -> list[Markup]:
    """The paper's self-contradictions about one section, both places cited."""
    items = []
    for c in frame_rows(frame):
        first = page.cites.cite(c.first_location, key=f"x:{c.index}:1", what=c.label, location=c.first_location,
                                quote=c.first_quote)
        second = page.cites.cite(c.second_location, key=f"x:{c.index}:2", what=c.label, location=c.second_location,
                                 quote=c.second_quote)
        items.append(Markup("<strong>The paper contradicts itself: {}.</strong> {} (“{}”) against {} (“{}”). {}")
                     .format(labels.lower_first(c.label), first, c.first_quote, second, c.second_quote, c.note))
    return items


def outcome_table(page, frame: pd.DataFrame, caption: str, csv: str) -> Table:
    """Registered outcomes with their counts, exact CIs and how each was obtained."""
    rows = []
    for r in frame_rows(frame):
        if r.events is None or pd.isna(r.events):
            why = r.detail if r.how != "not reported" and r.detail else "not reported"
            rows.append([r.label, fmt.MISSING_TEXT, fmt.MISSING_TEXT, labels.sentence_case(why)])
            continue
        text = fmt.count_range(r.events, r.events_high if r.is_range else None, r.total)
        n = (page.cites.records(page.sd, r.result_ids, text) if r.result_ids else
             provenance.counted(page, text, provenance.patients_words(r.events, r.total,
                                                                      labels.lower_first(r.label))))
        how = r.how if r.how in (HOW_PER_PATIENT, HOW_PRINTED) else labels.how(r.how, r.detail)
        if r.how not in (HOW_ITT, HOW_EVALUABLE):  # those two say whom they count
            how += f"; {labels.lower_first(r.population_label)}" if r.population_label else ""
            how += f"; {r.infused_text}" if r.infused_text else ""
        if r.note:
            how += f". Note: {r.note}"
        pct = fmt.pct_range(r.estimate, r.estimate_high) + " " + fmt.ci(r.ci_low, r.ci_high)
        rows.append([r.label, n, provenance.from_count(page, pct, r.events, r.total, events_high=r.events_high
                                                       if r.is_range else None), labels.sentence_case(how)])
    return Table(caption, ["Outcome", "n/N", "% (exact 95% CI)", "How obtained"], rows,
                 numeric={"n/N", "% (exact 95% CI)"}, csv=page.csv_href(csv), csv_whole=False,
                 words={"Outcome", "How obtained"})


def records_section(page, r: results.RecordsResult, *, caption: str, empty: str, intro: str = "",
                     columns_caption: str = "") -> Fragment:
    return render("study_records.html.j2", intro=intro,
                  table=records_table(page, r.records, caption, r.home.replace("_", "-")),
                  fields=columns_table(page, r.columns, columns_caption or caption + ", per-patient table"),
                  extra=None, contradictions=contradictions(page, r.contradictions), empty=empty)


# --- the sections, in page order ----------------------------------------------------------------------

"""The words and number formats the pooled page's renderers share: a GRADE certainty as symbols, a
study's or a row's estimate as text, and the labels of populations' roles and review statuses.
"""

from __future__ import annotations

import json

from markupsafe import Markup

from .. import formatting as fmt
from ..analysis import pooled_rows
from ..analysis.appraisal import NOT_REVIEWED, REVIEWED, STALE
from ..analysis.pooling import Rule
from ..domain import certainty as grade
from ..frames import frame_rows
from . import labels

GROUP_NOTES = {pooled_rows.PRIMARY: "", pooled_rows.CONTEXT: "context"}
STATUS_WORDS = {REVIEWED: "reviewer's judgement", STALE: "proposal: the evidence changed since the reviewer's "
                "judgement, which awaits review", NOT_REVIEWED: "proposal: not yet reviewed"}
#: A cell whose statistic does not apply to the row (one study, two studies, no model).
NOT_APPLICABLE = "n/a"


def certainty_mark(rating: str) -> Markup:
    """GRADE's certainty symbols (⊕⊕◯◯) with the rating in words."""
    if not rating:
        return Markup("")
    n = grade.LEVELS.index(rating) + 1
    return Markup('<span class="cp-grade" aria-hidden="true">{}</span> {}').format("⊕" * n + "◯" * (4 - n),
                                                                                    labels.sentence_case(rating))


def study_text(s: dict, digits: int = 0, *, with_ci: bool = False) -> str:
    """One study's result in a summary: "Hu 2026 64% (7/11)", "Guo 2026 83–100% (10–12/12)"."""
    if s.get("events") is not None:
        count = (f"{s['events']}–{s['events_high']}" if s.get("events_high") not in (None, s["events"])
                 else f"{s['events']}") + f"/{s['patients']}"
        text = f"{s['study']} {fmt.pct_range(s['low'], s['high'], digits)}"
        if with_ci:
            text += f" {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}"
        return f"{text} ({count})"
    text = f"{s['study']} {fmt.pct(s['low'], digits)}"
    if with_ci and fmt.finite(s.get("ci_low")) is not None:
        text += f" {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}"
    return text + (f", {s['patients']} patients" if s.get("patients") else "")


def estimate_text(r, *, digits: int = 0, ci: bool = True) -> str:
    """A summary-of-findings estimate, by what the row shows: one study, two or more side by side
    (not pooled), a pooled estimate, no events during follow-up, or nothing reported."""
    studies = json.loads(r.per_study) if isinstance(r.per_study, str) and r.per_study else []
    if r.display == "none":
        return "Not reported"
    if r.display == "side by side":
        return "; ".join(study_text(s, digits, with_ci=ci) for s in studies) + "; not pooled"
    if r.display == "zero":
        s = studies[0]
        return f"{fmt.pct(s['low'], digits)} {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}; {s['detail']}"
    if r.display == "single":
        s = studies[0]
        point = fmt.pct_range(s["low"], s["high"], digits)
        text = f"{point} {fmt.ci(s['ci_low'], s['ci_high'], digits=digits)}" if ci else point
        return text + (f" ({s['events']}{'–' + str(s['events_high']) if s['events_high'] not in (None, s['events']) else ''}"
                       f"/{s['patients']})" if s.get("events") is not None else "")
    point = fmt.pct_range(r.estimate, fmt.finite(r.estimate_high), digits)
    return f"{point} {fmt.ci(r.ci_low, r.ci_high, digits=digits)}; {r.k} studies, {r.patients} patients"


def events_text(r) -> str:
    return fmt.count_range(r.events, r.events_high, r.total)


def row_estimate_text(r) -> str:
    """A pooled group's result: the studies side by side, or the estimate with its CI."""
    if r.rule == Rule.NOT_ESTIMABLE:
        return "not estimable"
    if r.rule == Rule.TWO:
        st = r.studies
        highs = st["events_high"] if "events_high" in st else st["events"]
        parts = [f"{s.study} {fmt.pct_range(e / n, h / n, 1)}" for s, e, h, n in
                 zip(frame_rows(st), st["events"], highs, st["total"], strict=True)]
        return "; ".join(parts) + "; not pooled"
    point = fmt.pct_range(r.estimate, fmt.finite(r.estimate_high), 1)
    return f"{point} {fmt.ci(r.ci_low, r.ci_high)}"


# --- the sections, in page order ----------------------------------------------------------------------

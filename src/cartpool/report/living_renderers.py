"""Renderers of the living-review sections of the pooled page: What's new since the latest release
(with the version history), the cumulative meta-analysis, when the answer would change, and their
methods for the statistical-methods appendix.

Each renderer formats one result of the analysis (`cartpool.analysis.living.WhatsNewResult`,
`cartpool.analysis.cumulative.CumulativeResult`, `cartpool.analysis.triggers.TriggersResult`)
into a fragment and computes nothing; the pooled page (`PooledPage.renderers`) finds them
here by section name. The index page reads What's new back from the pooled CSV with `date_text`
and `row_text`.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from .. import formatting as fmt
from ..analysis.cumulative import NOT_POOLED, ONE_ESTIMATE_RULES, SINGLE, STABLE, CumulativeResult
from ..analysis.living import MATTERS, NOW, TOLERANCE, WhatsNewResult
from ..analysis.pooling import Rule
from ..analysis.triggers import ALREADY, NOT_COMPUTABLE, NOT_WITHIN, SIZES, TriggersResult
from ..frames import frame_rows
from ..plots.cumulative import CumulativePoint, cumulative_forest
from ..text import lower_first, sentence_case
from . import labels
from .provenance import computed, computed_only, model_words
from .render import Fragment, Table, render

#: How the rate of a hypothetical new study was chosen (`cartpool.analysis.triggers`), in words.
RATE_FROM = {"estimate": "the current estimate", "combined": "the studies' combined rate",
             "patient-weighted mean": "the studies' rates weighted by their patients"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- words shared by the sections ------------------------------------------------------------------


def date_text(iso: str) -> str:
    """A date as a reader writes it: "2026-03-19" -> "19 Mar 2026", "2026-03" -> "Mar 2026"."""
    parts = iso.split("-") if iso else []
    if len(parts) == 3:
        return f"{int(parts[2])} {MONTHS[int(parts[1]) - 1]} {parts[0]}"
    if len(parts) == 2:
        return f"{MONTHS[int(parts[1]) - 1]} {parts[0]}"
    return iso


def row_text(rule, k, patients, estimate, estimate_high, ci_low, ci_high, values: str = "") -> str:
    """An estimate as the pages print it: "64.0% (35.4–84.8); 1 study, 11 patients"; studies not pooled
    as their counts; "not reported" without a study."""
    k = 0 if fmt.finite(k) is None else int(k)
    if k == 0:
        return "not reported"
    who = f"{k} stud{'y' if k == 1 else 'ies'}, {int(patients)} patients" if fmt.finite(patients) is not None else \
        f"{k} stud{'y' if k == 1 else 'ies'}"
    if rule in ONE_ESTIMATE_RULES and fmt.finite(estimate) is not None:
        return f"{fmt.pct_range(estimate, fmt.finite(estimate_high))} {fmt.ci(fmt.finite(ci_low), fmt.finite(ci_high))}; {who}"
    shown = f"{values}; " if values else ""
    return f"{shown}not pooled ({who})" if rule == Rule.TWO else f"{shown}{rule} ({who})"


def _side(r, side: str) -> str:
    g = {f: getattr(r, f"{side}_{f}") for f in ("rule", "k", "patients", "estimate", "estimate_high", "ci_low",
                                                 "ci_high", "values", "certainty")}
    text = row_text(g["rule"], g["k"], g["patients"], g["estimate"], g["estimate_high"], g["ci_low"], g["ci_high"],
                    g["values"] if isinstance(g["values"], str) else "")
    if isinstance(g["certainty"], str) and g["certainty"]:
        text += f"; {g['certainty']} certainty"
    return text


# --- What's new ------------------------------------------------------------------------------------


def whats_new(page, r: WhatsNewResult) -> Fragment:
    """What changed since the latest release: studies, estimates (before and after, and whether the
    change matters by the stated rule), judgements awaiting review; then the version history."""
    since = r.since
    studies = None
    if not r.studies.empty:
        rows = []
        for s in frame_rows(r.studies):
            rows.append([sentence_case(s.change), Markup("{}<br><small>{}</small>").format(s.study, s.citation),
                         _study_detail(r, s)])
        studies = Table("Studies added, removed or updated", ["Change", "Study", "What changed"], rows, compact=True,
                        csv=page.csv_href("whats-new"), csv_whole=False, words={"Change", "Study", "What changed"})
    estimates = None
    if not r.estimates.empty:
        rows, classes = [], []
        for e in frame_rows(r.estimates):
            matters = (Markup("<strong>Yes</strong>: {}").format(e.why_text) if e.matters else "No")
            then = f"release {since.release}" if since else "the release before"
            rows.append([Markup("{}<br><small>{}{}</small>").format(
                e.outcome_label, e.population_label, " (context)" if e.role == "context" else ""),
                computed_only(page, _side(e, "before"), f"the estimate as {then} computed it from the studies it "
                              "held, by the same rules") if e.change != "new" else "not reported",
                computed_only(page, _side(e, "after"), "the estimate now, as the summary of findings and the "
                              "outcome's table show it with its studies' sources")
                if e.change != "no longer reported" else "not reported", matters])
            classes.append("cp-matters" if e.matters else "")
        estimates = Table("Estimates that moved: each outcome in each population, before and after (95% CI)",
                          ["Outcome, population", f"Release {since.release}" if since else "Before", "Now",
                           "Changes the conclusions?"], rows, row_classes=classes, compact=True,
                          csv=page.csv_href("whats-new"), csv_whole=False,
                          words={"Outcome, population", "Changes the conclusions?"})
    waiting = [f"{j.outcome_label}, {lower_first(j.population_label)}" for j in frame_rows(r.judgements)]
    n_matter = int(r.estimates["matters"].sum()) if not r.estimates.empty else 0
    return render("pooled_whats_new.html.j2", since=since, since_date=date_text(since.date.isoformat()) if since else "",
                  changed=r.changed, studies=studies, estimates=estimates, n_matter=n_matter,
                  n_moved=len(r.estimates), waiting=waiting, rule=list(MATTERS.values())[:4],
                  tolerance=100 * TOLERANCE, **_history(page, r, page.csv_href("release-history")))


def _study_detail(r: WhatsNewResult, s) -> str:
    if s.change != "updated":
        return s.change
    sd = r.study_data.get(s.study_id)
    bits = []
    for what, ids in (("changed", s.results_changed), ("added", s.results_added)):
        ids = [i for i in ids.split(";") if i]
        if ids and sd is not None:
            known = [labels.record(sd, sd.result(i)) for i in ids if any(x.id == i for x in sd.results)]
            bits.append(f"printed results {what}: " + "; ".join(known))
    removed = [i for i in s.results_removed.split(";") if i]
    if removed:
        bits.append(f"{len(removed)} printed result{'s' if len(removed) != 1 else ''} removed")
    rest = [s.other_changes] if s.other_changes else []
    return "; ".join(bits + rest) or s.detail


def _history(page, r: WhatsNewResult, csv: str, shown: int = 3) -> dict:
    """The version history: every release, and the headline estimates of the last `shown` releases
    and of the review now (`csv`: the link to the history's CSV)."""
    h = r.history
    if h.empty:
        return {"releases": None, "headlines": None}
    rel_rows = [[str(x.release), date_text(x.date), x.version, f"{x.n_studies}: {x.studies}", x.note or "—"]
                for x in frame_rows(h.drop_duplicates("release")) if x.release != NOW]
    history = ["Release", "Date", "Version", "Studies", "Note"]  # the review's own records: words
    releases = Table("Version history: each release of this review", history, rel_rows, compact=True, csv=csv,
                     csv_whole=False, words=set(history)) if rel_rows else None
    states = list(dict.fromkeys(h["release"]))
    states = [s for s in states if s != NOW][-shown:] + ([NOW] if NOW in states else [])
    heads = []
    for s in states:
        first = h[h["release"] == s].iloc[0]
        heads.append("Now (not yet released)" if s == NOW else f"Release {s}, {date_text(first['date'])}")
    rows = []
    for (_outcome, _pop), sub in h.groupby(["outcome", "population"], sort=False):
        first = sub.iloc[0]
        cells = [Markup("{}<br><small>{}</small>").format(first["outcome_label"], first["population_label"])]
        for s in states:
            x = sub[sub["release"] == s]
            if x.empty:
                cells.append("—")
                continue
            x = x.iloc[0]
            text = row_text(x["rule"], x["k"], x["patients"], x["estimate"], x["estimate_high"], x["ci_low"],
                            x["ci_high"], x["values"] if isinstance(x["values"], str) else "")
            text += f"; {x['certainty']}" if isinstance(x["certainty"], str) and x["certainty"] else ""
            cells.append(computed_only(page, text, "the estimate now, as the summary of findings shows it with its "
                                       "studies' sources" if s == NOW else f"the estimate as release {s} computed "
                                       "it from the studies it held, by the same rules"))
        rows.append(cells)
    # one state only: the summary of findings says the same; the history of each number needs two
    headlines = Table("Headline estimates by release (the summary of findings; 95% CI; certainty)",
                      ["Outcome, population", *heads], rows, compact=True, csv=csv, csv_whole=False,
                      words={"Outcome, population"}) if len(states) > 1 else None
    return {"releases": releases, "headlines": headlines}


# --- the cumulative meta-analysis ------------------------------------------------------------------


def _step_label(s) -> str:
    return f"+ {s.study_added} ({date_text(s.published) if s.dated else 'undated'})"


def _value_pct(v: dict) -> str:
    return f"{v['study']} {fmt.pct_range(v['estimate'], v.get('estimate_high'))}"


def _points(steps: pd.DataFrame, fitted: list) -> list[CumulativePoint]:
    out = []
    for s, row in zip(frame_rows(steps), fitted, strict=True):
        label = _step_label(s)
        one = s.rule in ONE_ESTIMATE_RULES and fmt.finite(s.estimate) is not None
        events = None if fmt.finite(s.events) is None else int(s.events)
        high = None if fmt.finite(s.events_high) is None or s.events_high == s.events else int(s.events_high)
        if not one:
            vals = [_value_pct(v) for v in row.values]
            text = (f"{int(s.k)} studies, not pooled ({', '.join(vals)})" if s.rule == Rule.TWO
                    else f"{int(s.k)} studies, not pooled (not every rate can be combined)"
                    if s.rule == Rule.NOT_POOLED else sentence_case(s.rule))
            out.append(CumulativePoint(label, "text", text=text))
            continue
        out.append(CumulativePoint(label, "single" if s.rule == Rule.SINGLE else "pooled", events,
                                   int(s.patients) if fmt.finite(s.patients) is not None else None, s.estimate,
                                   fmt.finite(s.ci_low), fmt.finite(s.ci_high), high, fmt.finite(s.estimate_high)))
    return out


def reading_text(rd, steps: pd.DataFrame, min_k: int) -> str:
    """One sentence that reads a cumulative analysis (the rule of `cartpool.analysis.cumulative`);
    `min_k` is the fewest studies the plan pools."""
    last = steps.iloc[-1]
    now = row_text(last.rule, last.k, last.patients, last.estimate, last.estimate_high, last.ci_low, last.ci_high,
                   last["values"] if isinstance(last["values"], str) else "")
    if rd.reading == SINGLE:
        return f"{rd.outcome_label}: one study so far ({last.study_added}), {now}."
    if rd.reading == NOT_POOLED:
        if int(last.k) < min_k:
            return f"{rd.outcome_label}: {now}; a pooled estimate needs {fmt.number_words(min_k)} studies."
        note = f" ({last.note})" if isinstance(last.note, str) and last.note else ""
        return f"{rd.outcome_label}: {now}{note}."
    if rd.reading == STABLE:
        since = steps[steps["step"] == rd.since_step].iloc[0]
        when = f" ({date_text(rd.since_published)})" if rd.since_published else ""
        return (f"{rd.outcome_label}: the estimate has been stable since {rd.since_study}{when}: every estimate from "
                f"then on lies within the current 95% CI; now {now} (then {row_text(since.rule, since.k, since.patients, since.estimate, since.estimate_high, since.ci_low, since.ci_high)}).")
    before = steps[steps["step"] == rd.from_step].iloc[0]
    was = row_text(before.rule, before.k, before.patients, before.estimate, before.estimate_high, before.ci_low,
                   before.ci_high, before["values"] if isinstance(before["values"], str) else "")
    return f"{rd.outcome_label}: moved with {last.study_added} from {was} to {now}."


def cumulative(page, r: CumulativeResult) -> Fragment:
    """The cumulative forest plot of each population that answers the question (where an outcome has
    two or more studies), with one sentence per outcome that reads it."""
    blocks = []
    for population, rds in r.readings.groupby("population", sort=False):
        sentences, plot = [], []
        for rd in frame_rows(rds):
            steps = r.outcome_steps(rd.outcome, population)
            sentences.append(reading_text(rd, steps, r.min_k))
            plot.append((rd.outcome_label, _points(steps, r.rows[(rd.outcome, population)])))
        figure = None
        if any(len(p) > 1 for _, p in plot):
            few, pooled = fmt.too_few_words(r.min_k), fmt.number_words(r.min_k)
            figure = page.figures.draw(
                cumulative_forest, plot, title=f"Cumulative meta-analysis: {lower_first(population)}",
                method_line="Each row: every study published up to it, by the main analysis's "
                            f"rule (one alone, {few} side by side, {pooled} or more pooled).",
                name=f"cumulative-{rds['population_id'].iloc[0].replace('_', '-')}",
                alt=f"Cumulative forest plot, {lower_first(population)}: " + " ".join(sentences),
                caption=f"Cumulative meta-analysis in {lower_first(population)}: the studies in the order they "
                        "were published, each row the estimate from every study up to it, by the main analysis's rule "
                        f"(one study alone with its exact 95% CI, {few} side by side and not pooled, {pooled} or more "
                        "by the random-effects model as a diamond). The last row of each outcome is the main analysis.")
        blocks.append({"population": population, "figure": figure, "sentences": sentences,
                       "single": all(len(p) == 1 for _, p in plot)})
    return render("pooled_cumulative.html.j2", blocks=blocks, undated=list(r.undated), min_k=r.min_k)


# --- when would the answer change? -----------------------------------------------------------------


def _certainty_text(t) -> str:
    n_new = int(t.new_studies)
    who = "a new study" if n_new == 1 else f"{n_new} new studies"
    rate = fmt.pct(t.rate)
    if t.certainty_status == ALREADY:
        return "Imprecision does not rate it down: its interval crosses no decision threshold."
    if t.certainty_status == NOT_COMPUTABLE:
        return (f"Not computed: a survival rate of {rate} has no interval on the scale survival rates are pooled on.")
    thresholds = " and ".join(fmt.pct(float(x), 0) for x in str(t.thresholds).split(";") if x) or \
        "the plan's width limits"
    if t.certainty_status == NOT_WITHIN:
        each = " each" if n_new > 1 else ""
        crossed = " and ".join(fmt.pct(float(x), 0) for x in str(t.certainty_crossed or "").split(";") if x)
        ci = (f" would still give a pooled 95% CI of {fmt.ci(t.certainty_ci_low, t.certainty_ci_high)}, across "
              f"{crossed or thresholds}" if fmt.finite(t.certainty_ci_low) is not None else " would still not be pooled")
        return f"No study of up to {SIZES[-1]} patients would do it: {who} of {SIZES[-1]}{each} at {rate}{ci}."
    short = f" ({int(t.certainty_size_short)} would not)" if fmt.finite(t.certainty_size_short) is not None else ""
    each = " each" if n_new > 1 else ""
    return (f"{sentence_case(who)} of {int(t.certainty_size)} patients{each}{short} at {rate} would narrow the "
            f"pooled 95% CI to {fmt.ci(t.certainty_ci_low, t.certainty_ci_high)}, clear of {thresholds}: imprecision "
            "would no longer rate it down.")


def _conclusion_text(t) -> str:
    n_new = int(t.new_studies)
    who = "a new study" if n_new == 1 else f"{n_new} new studies"
    each = " each" if n_new > 1 else ""
    if t.conclusion_status == NOT_COMPUTABLE:
        return "Not computed: a survival rate of 0% or 100% has no interval on the scale survival rates are pooled on."
    span = {"pooled": "its 95% CI", "single study": "the study's 95% CI",
            "span of the studies": "the span of the studies' 95% CIs"}[t.interval]
    lo, hi = (t.ci_low, t.ci_high) if t.interval != "span of the studies" else (None, None)
    parts = []
    if fmt.finite(t.below_rate) is not None:
        parts.append(f"a rate of {fmt.pct(t.below_rate)} or lower would move it below")
    if fmt.finite(t.above_rate) is not None:
        parts.append(f"a rate of {fmt.pct(t.above_rate)} or higher would move it above")
    where = f" {fmt.ci(lo, hi)}" if lo is not None else ""
    if not parts:
        return f"No rate in {who} of {int(t.conclusion_size)} patients{each} would move the estimate outside {span}{where}."
    return f"In {who} of {int(t.conclusion_size)} patients{each}, " + " and ".join(parts) + f" {span}{where}."


def update_triggers(page, r: TriggersResult) -> Fragment:
    """For each key outcome and population: the evidence now, what new study would change its
    certainty, and what rate in a new study would move its estimate."""
    rows = []
    sizes = ", ".join(str(n) for n in r.sizes)
    for t in frame_rows(r.rows):
        now = row_text(t.rule, t.k, t.patients, t.estimate, t.estimate_high, t.ci_low, t.ci_high,
                       t.values if isinstance(t.values, str) else "")
        studies = list(frame_rows(r.row_inputs(t)))
        rate = f"{fmt.pct(t.rate)} ({RATE_FROM.get(t.rate_from, t.rate_from)})"
        rows.append([Markup("{}<br><small>{}</small>").format(t.outcome_label, t.population),
                     computed(page, now, "the evidence now, as the summary of findings shows it: "
                              + model_words(t.rule), studies),
                     computed(page, _certainty_text(t), f"hypothetical new studies at the current rate, {rate}, "
                              "added to the studies now and the row refitted by the main analysis's rule; the "
                              f"smallest size tried ({sizes} patients) whose pooled 95% CI crosses none of the "
                              "plan's thresholds for this outcome", studies, marks=False),
                     computed(page, _conclusion_text(t), "hypothetical new studies, each the size of the current "
                              "studies' median, added to the studies now and the row refitted by the main analysis's "
                              "rule at every rate; the rates at which the estimate leaves its current 95% CI",
                              studies, marks=False)])
    table = Table("When would the answer change? New evidence that would change the certainty or the estimate",
                  ["Outcome, population", "Now", "Certainty: a new study at the current rate",
                   "Conclusion: a new study's rate that moves the estimate"], rows, compact=True,
                  csv=page.csv_href("update-triggers"), csv_whole=False, words={"Outcome, population"}) \
        if rows else None
    return render("pooled_triggers.html.j2", table=table, min_k=r.min_k)


# --- methods (statistical-methods appendix) --------------------------------------------------------


def living_methods(page, r=None) -> Fragment:
    """How releases are compared, how the cumulative analysis is ordered and read, and how the update
    triggers are computed."""
    min_k = page.source.min_k
    return render("pooled_living_methods.html.j2", rule=list(MATTERS.values())[:4], tolerance=100 * TOLERANCE,
                  sizes=", ".join(str(s) for s in SIZES), min_k=fmt.number_words(min_k),
                  too_few=fmt.too_few_words(min_k))

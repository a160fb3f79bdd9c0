"""Where the numbers of the pooled page and of a study page come from, as a reader sees it on hover
and keyboard focus: a study's number cited to the records of the paper it was taken from (or to the
per-patient table it was computed from), and a number this report computed (a pooled estimate, a sum
of counts, a count of studies or of checks; on a study page a count from the per-patient table, an
exact CI, a Kaplan-Meier estimate, a check's recomputed value) with how it was computed and the
numbered sources of its inputs. A study page's per-patient tables as published cite the paper's table
once, on their caption, and each cell names its row and column.

Every function here formats what the analysis computed and recorded (the inputs of each row of
`PooledAnalysis.estimates` with their record ids, `result_ids`); none selects or computes a number.
The words are built here once, so that a table's cell and a figure's row say the same.
"""

from __future__ import annotations

from markupsafe import Markup

from .. import formatting as fmt
from ..analysis.pooling import METHOD_LABELS, Rule
from ..domain import survival_rules
from ..domain.record_counts import HOW_PER_PATIENT, HOW_PRINTED
from . import labels

#: How a study's own interval of a proportion is computed (`cartpool.stats.proportions.proportion_ci`)
EXACT_CI = "exact (Clopper-Pearson) 95% CI"
#: What this report computed from one study's count shown on its own.
OWN_PROPORTION = f"The proportion and its {EXACT_CI} are computed by this report from the count."


def table_ref(page, sd) -> int | None:
    """The number of the source that is a study's per-patient table (None without one)."""
    if sd.study.patients is None:
        return None
    where = "; ".join(t.location for t in sd.study.patients.tables.values())
    return page.cites.ref(f"t:{sd.study.id}", "The per-patient table", where, "",
                          "numbers computed by this report from the table as published (its study report "
                          "reproduces it)", labels.source_name(sd.study))


def record_ids(result_ids) -> list[str]:
    """Record ids as a list, from a ";"-joined string (a frame's column) or a list."""
    return [i for i in (result_ids.split(";") if isinstance(result_ids, str) else result_ids or ()) if i]


def refs(page, study_id: str, result_ids, how: str = "") -> list[int]:
    """The numbers of the sources of one study's number: its printed records (`result_ids`, a
    ";"-joined string or a list), or, for a number computed from the per-patient table, that table."""
    sd = page.study_data[study_id]
    source = labels.source_name(sd.study)
    ids = record_ids(result_ids)
    ns = [page.cites.record_ref(sd, rid, source) for rid in ids]
    if not ns and how in (HOW_PER_PATIENT, survival_rules.SOURCE_KM):
        ns += [n for n in [table_ref(page, sd)] if n is not None]
    return ns


def how_words(how: str, detail: str = "") -> str:
    """How one study's number was obtained, in words: a count as printed, derived from printed
    numbers (with the detail), computed from the per-patient table; a survival rate as printed,
    by Kaplan-Meier, or with no events."""
    if how == HOW_PRINTED:
        return "printed count"
    if how == survival_rules.SOURCE_REPORTED:
        return labels.how("printed", detail)
    return labels.how(how, detail)


def number_text(x) -> str:
    """A study's number in a row's inputs: its count ("8/9", "7–8/9"), or, for survival at a
    landmark, its rate with its 95% CI ("55.6% (20.4–80.5)")."""
    if x.events is None or x.events != x.events:
        return f"{fmt.pct(x.estimate)} {fmt.ci(fmt.finite(x.ci_low), fmt.finite(x.ci_high))}"
    return fmt.count_range(x.events, x.events_high, x.total)


def study_number(page, text, x, *, what: str = "") -> Markup:
    """One study's number in a pooled table (`x`: a row of the inputs or the counts, with its study,
    how it was obtained and its record ids): on hover and focus, how it was obtained (after `what`,
    a sentence saying what this report computed from it, if anything) and each source with its
    quote; its sources' numbers after it."""
    ns = refs(page, x.study_id, x.result_ids, x.how)
    how = labels.sentence_case(how_words(x.how, x.detail)) + "."
    if what:
        how += f" {what}"
    return page.cites.derived(text, how, ns) if ns else Markup("{}").format(text)


def inputs_words(page, rows, *, show=None) -> tuple[str, list[int]]:
    """The studies a computed number rests on, each with its number and the numbers of its sources:
    "Guo 2026 9/12 [1]; Hu 2026 11/11 [2]"; with the numbers of all their sources. `show(x)` gives a
    study's number in words instead ("9 patients"). How each was obtained is in its own cell's
    words and its sources' notes, not repeated here."""
    parts, ns = [], []
    for x in rows:
        mine = refs(page, x.study_id, x.result_ids, x.how)
        ns += [n for n in mine if n not in ns]
        marks = " " + "".join(f"[{n}]" for n in mine) if mine else ""
        parts.append(f"{x.study} {show(x) if show is not None else number_text(x)}{marks}")
    return "; ".join(parts), ns


def model_words(rule: str, method: str = "", note: str = "", ci_how: str = "") -> str:
    """How a row's estimate was computed, in words, by its rule (one study, several side by side, a
    model)."""
    if rule == Rule.SINGLE:
        return "one study: its own estimate and 95% CI"
    if rule == Rule.TWO:
        return "each study's own estimate, shown side by side and not pooled"
    if rule == Rule.RANDOM:
        model = METHOD_LABELS.get(method, method)
        ci = ci_how.removeprefix("z").removeprefix("; ")  # a Wald (z) interval is the model's own: unsaid
        return "pooled by the random-effects model" + (f" ({model})" if model else "") + (f"; 95% CI {ci}" if ci else "")
    if rule == Rule.COMMON:
        return "pooled by the common-effect model (one rate assumed for every study; Wald 95% CI)"
    if rule == "Bayesian":
        return "pooled by the Bayesian random-effects model: posterior median and 95% credible interval"
    if rule in (Rule.NO_EVENTS, Rule.ALL_EVENTS):
        return f"{note}: the combined count with its {EXACT_CI}" if note else f"the combined count with its {EXACT_CI}"
    return note or str(rule)


def computed(page, text, what: str, rows, *, show=None, marks: bool = True) -> Markup:
    """A number this report computed from the studies in `rows` (a pooled estimate, a sum of counts,
    a count of studies): on hover and focus, "Computed by this report: `what`", then each study's
    number with its sources' numbers; the sources' numbers after it, unless `marks` is False (a
    number whose inputs are cited beside it in the same row: a count of studies, a note)."""
    inputs, ns = inputs_words(page, rows, show=show)
    words = f"Computed by this report: {what}" + (f", from {inputs}." if inputs else ".")
    return page.cites.shown(text, words, ns if marks else (), computed=True)


def computed_only(page, text, what: str) -> Markup:
    """A number this report computed that rests on no single source of a paper (a count of the checks
    of a study's printed numbers, an estimate of an earlier release): `what` says how, on hover and
    focus."""
    return page.cites.shown(text, f"Computed by this report: {what}", computed=True)


# --- a study page's numbers --------------------------------------------------------------------------

def patient_table_refs(page) -> list[int]:
    """The numbers of the sources that are a study's per-patient tables as published (one per table),
    each with its place in the paper; none for a study without one."""
    s = page.s
    if s.patients is None:
        return []
    return [page.cites.ref(f"t:{name}", "The per-patient table as published", t.location, "",
                           "reproduced cell by cell in the per-patient tables of this report (on screen and as "
                           "CSV); the numbers marked as counted from it are computed by this report")
            for name, t in s.patients.tables.items()]


def patient_tables_words(page) -> str:
    """The per-patient table(s) of a study in words, with where the paper prints them: "the per-patient
    table (Table 2 of the paper)"."""
    where = "; ".join(t.location for t in page.s.patients.tables.values()) if page.s.patients else ""
    several = page.s.patients is not None and len(page.s.patients.tables) > 1
    return ("the per-patient tables" if several else "the per-patient table") + (f" ({where} of the paper)"
                                                                                  if where else "")


def counted(page, text, what: str, verb: str = "counted from") -> Markup:
    """A number this report counted (or, `verb` "from", computed otherwise) from a study's per-patient
    table: on hover and focus, "Computed by this report: counted from the per-patient table (Table 2 of
    the paper): `what`", with the table's source number after it."""
    return page.cites.shown(text, f"Computed by this report: {verb} {patient_tables_words(page)}: {what}",
                            patient_table_refs(page), computed=True)


def patients_words(events, total, what: str) -> str:
    """A count in words: "7 of 12 patients: overall response"."""
    return f"{int(events)} of {int(total)} patients: {what}."


def from_count(page, text, events, total, *, what: str = "", events_high=None) -> Markup:
    """A percentage or an interval this report computed from a count shown beside it (`events` of
    `total`, or a range): how, on hover and focus."""
    n = fmt.count_range(events, events_high, total)
    words = f"the proportion {n}" + (f" ({what})" if what else "")
    if "(" in str(text):
        words += f", with its {EXACT_CI}"
    return computed_only(page, text, words + ".")


def published_cell(page, text, ref: int, location: str, row: str, column: str) -> Markup:
    """A cell of a per-patient table shown as published: on hover and focus, the table and the cell's
    row and column (the table's source number is on its caption, once)."""
    words = f"{location} of the paper, the per-patient table as published [{ref}]: row “{row}”, column “{column}”."
    return page.cites.shown(text, words)


def computed_from_records(page, text, what: str, result_ids) -> Markup:
    """A number this report computed from printed records of the study on the page (`result_ids`, a
    ";"-joined string or a list): how, on hover and focus, with the records' source numbers after it."""
    ids = record_ids(result_ids)
    return page.cites.shown(text, f"Computed by this report: {what}", [page.cites.record_ref(page.sd, i) for i in ids],
                            computed=True)

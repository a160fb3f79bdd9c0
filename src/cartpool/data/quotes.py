"""Every value checked against its own quote.

A record's numbers (value, numerator, denominator, CI limits, range or IQR ends, timepoint) must
each occur in the record's quote in one of its printed forms: digits with or without trailing
zeros or thousands separators (75, 75.0, 65,770), a number word (twelve), a fraction's parts
(8/8). "Not reached" stands for NR. A denominator may instead be the stated size of the record's
population. A value that is not printed but follows from its quote ("All patients", "no cases")
must declare how (`derived`), and is then not looked for.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .model import NR, ReportedResult

_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "no": 0, "none": 0,
               "single": 1, "both": 2, "half": 50})
_DIGITS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z]+")
_NOT_REACHED = re.compile(r"not (?:yet )?(?:been )?reached|\bNR\b", re.I)


def printed_numbers(quote: str) -> set[Decimal]:
    """Every number a quote prints, in digits or words, as a Decimal (75.0 and 75 are equal)."""
    out: set[Decimal] = set()
    for m in _DIGITS.finditer(quote.replace("\u2009", "").replace("\u202f", "")):
        try:
            out.add(Decimal(m.group().replace(",", "")))
        except InvalidOperation:
            continue
    for m in _WORD.finditer(quote):
        w = m.group().lower()
        if w in _WORDS:
            out.add(Decimal(_WORDS[w]))
    return out


def _fits(x: Decimal, printed: set[Decimal], *, percent_fraction: bool = False) -> bool:
    if x in printed:
        return True
    return percent_fraction and (x * 100) in printed


def value_problems(r: ReportedResult, population_size: int | None) -> list[str]:
    """The numbers of record `r` that its quote does not print, as curator messages.

    Parameters
    ----------
    r : ReportedResult
        One printed record.
    population_size : int or None
        The stated size of the record's population (a denominator may be that instead of printed).

    Returns
    -------
    list of str
        Empty when every number of the record is in its quote (or declared as derived).
    """
    printed = printed_numbers(r.quote)
    nr_printed = bool(_NOT_REACHED.search(r.quote))
    frac = r.unit == "fraction"
    problems = []

    def need(what: str, x, *, allow_population: bool = False) -> None:
        if x is None:
            return
        if x == NR:
            if not nr_printed:
                problems.append(f"{what} is NR (not reached) but the quote does not say 'not reached'")
            return
        x = Decimal(x)
        if _fits(x, printed, percent_fraction=frac):
            return
        if allow_population and population_size is not None and x == population_size:
            return
        problems.append(f"{what} {x} does not occur in its quote")

    if r.derived is None:
        need("the value", r.value)
    elif r.derived == "all_of_population" and r.value != NR:
        whole = {"percent": Decimal(100), "fraction": Decimal(1)}.get(r.unit or "", population_size)
        if r.statistic in ("count", "proportion") and whole is not None and Decimal(r.value) != whole:
            problems.append(f"the value {r.value} is declared as all of the population, which is {whole}")
    elif r.derived in ("none_of_population", "implied_by_grades") and r.value != NR and r.value != 0:
        problems.append(f"the value {r.value} is declared as none of the population, so it must be 0")
    need("the numerator", r.numerator)
    need("the denominator", r.denominator, allow_population=True)
    if r.ci is not None:
        need("the CI lower limit", r.ci.low)
        need("the CI upper limit", r.ci.high)
    if r.spread is not None:
        need(f"the {r.spread.kind} lower end", r.spread.low)
        need(f"the {r.spread.kind} upper end", r.spread.high)
    if r.timepoint is not None:
        need("the timepoint", r.timepoint.value)
    if problems:
        problems.append("type the value as the quote prints it, quote the words that print it, or declare "
                        "how it follows from the quote with derived: (see data/README.md)")
    return problems

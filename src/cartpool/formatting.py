"""How numbers are written on every page, in one place (plain text; templates escape it).

Conventions: percentages to one decimal ("75.0%"); intervals in parentheses with an en dash,
"(42.8–94.5)", in text, tables and figures alike; "NR" for a median or limit not reached; "—"
for a value the source does not report, and "(—)" for an interval with neither end (one dash,
never "(—–—)"); months to one decimal.
"""

from __future__ import annotations

import math

NR_TEXT = "NR"
MISSING_TEXT = "—"


def is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return isinstance(x, float) and not math.isfinite(x) or (x != x)
    except TypeError:
        return False


def finite(x):
    """None for a missing or infinite number (`is_missing`), else the number as it is."""
    return None if is_missing(x) else x


def pct(p, digits: int = 1) -> str:
    """A fraction as a percentage: 0.75 -> "75.0%"."""
    return MISSING_TEXT if is_missing(p) else f"{100 * float(p):.{digits}f}%"


def limits(lo, hi, *, as_pct: bool = True, digits: int = 1, nr_high: bool = False) -> str:
    """An interval's two limits: "42.8–94.5"; an upper limit not reached prints as NR when `nr_high`."""
    def f(v, is_high=False):
        if v is None and is_high and nr_high:
            return NR_TEXT
        if is_missing(v):
            return MISSING_TEXT
        return f"{100 * float(v):.{digits}f}" if as_pct else f"{float(v):.{digits}f}"

    return f"{f(lo)}–{f(hi, True)}"


def ci(lo, hi, *, as_pct: bool = True, digits: int = 1, nr_high: bool = False) -> str:
    """An interval: "(42.8–94.5)"; an upper limit not reached prints as NR when `nr_high`; an
    interval that does not exist (neither end) prints its dash once, "(—)"."""
    if is_missing(lo) and is_missing(hi) and not nr_high:
        return f"({MISSING_TEXT})"
    return f"({limits(lo, hi, as_pct=as_pct, digits=digits, nr_high=nr_high)})"


def pct_ci(p, lo, hi) -> str:
    """"75.0% (42.8–94.5)", or "—" without an estimate."""
    return MISSING_TEXT if is_missing(p) else f"{pct(p)} {ci(lo, hi)}"


def months(v, *, unit: bool = True) -> str:
    """A time in months: 8.94 -> "8.9 months"; None (not reached) -> "NR"."""
    if v is None:
        return NR_TEXT
    if is_missing(v):
        return MISSING_TEXT
    return f"{float(v):.1f}" + (" months" if unit else "")


def count(events, total) -> str:
    """"9/12", or "—"."""
    if is_missing(events) or is_missing(total):
        return MISSING_TEXT
    return f"{int(events)}/{int(total)}"


def count_range(events, events_high, total) -> str:
    """A count, or a range of counts where the two ends differ: "8/9", "7–8/9"; "—" without one."""
    if is_missing(events) or is_missing(total):
        return MISSING_TEXT
    if not is_missing(events_high) and int(events_high) != int(events):
        return f"{int(events)}–{int(events_high)}/{int(total)}"
    return f"{int(events)}/{int(total)}"


def p_value(p) -> str:
    """A p-value with its sign: "p = 0.03", "p < 0.0001"; "not estimable" when missing."""
    if is_missing(p):
        return "p not estimable"
    p = float(p)
    if p < 1e-4:
        return "p < 0.0001"
    return f"p = {p:.4f}" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def number(x, digits: int = 1) -> str:
    if x is None:
        return NR_TEXT
    if is_missing(x):
        return MISSING_TEXT
    return f"{float(x):.{digits}f}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def significant(x, digits: int = 3) -> str:
    """A summary of printed numbers to `digits` significant digits, large ones as a power of ten:
    2 -> "2", 18.15 -> "18.1", 138000000 -> "1.38 × 10⁸"."""
    if x is None or is_missing(x):
        return MISSING_TEXT
    x = float(x)
    if x == 0:
        return "0"
    if abs(x) >= 1e5:
        exp = math.floor(math.log10(abs(x)))
        mant = f"{x / 10 ** exp:.{digits}g}"
        return f"{mant} × 10{str(exp).translate(_SUPERSCRIPT)}"
    if x == int(x):
        return str(int(x))
    return f"{x:.{digits}g}"


def pct_range(lo, hi=None, digits: int = 1) -> str:
    """A proportion, or both ends of a range, smaller first: "64.0%", "83.3–100.0%" (a pooled
    estimate over a range of counts can fall as the count rises, so the ends are ordered here)."""
    if is_missing(lo):
        return MISSING_TEXT
    if hi is None or is_missing(hi) or abs(float(hi) - float(lo)) < 1e-12:
        return pct(lo, digits)
    lo, hi = sorted((float(lo), float(hi)))
    return f"{100 * lo:.{digits}f}–{pct(hi, digits)}"


_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def number_words(n: int) -> str:
    """A small count in words: 3 -> "three" (digits from 11 on)."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def too_few_words(min_k: int) -> str:
    """The numbers of studies below a pooling threshold of `min_k` (from two): 3 -> "two",
    4 -> "two or three", 5 -> "two to four"."""
    if min_k <= 3:
        return "two"
    if min_k == 4:
        return "two or three"
    return f"two to {number_words(min_k - 1)}"

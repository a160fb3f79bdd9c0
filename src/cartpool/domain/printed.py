"""Arithmetic of printed numbers: which fractions a printed percentage can stand for.

Papers print rounded percentages ("33.3%", "84%"). Whether a count k of a population n prints as
such a value is decided at the printed precision, kept by the data layer as `decimal.Decimal`
("33.3" has one decimal, "25.0" has one decimal, "84" none). This is the GRIM idea of Brown &
Heathers (2017) applied to percentages: a printed value is consistent with k/n when rounding
k/n half-up or half-even at the printed precision gives the printed digits.

References
----------
Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
reporting of results in psychology. Soc Psychol Personal Sci. 2017;8(4):363-369.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal


def decimals_of(printed: Decimal) -> int:
    """Number of printed decimals: ``Decimal('33.3')`` -> 1, ``Decimal('75')`` -> 0.

    Parameters
    ----------
    printed : Decimal
        A value with its printed digits (trailing zeros count: ``Decimal('25.0')`` -> 1).

    Returns
    -------
    int
        Digits after the decimal point; 0 for an integer, a value with a positive exponent, or a
        special value (NaN, infinity).

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    exp = printed.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def printed_bounds(printed: Decimal, *, scale: float = 100.0) -> tuple[float, float]:
    """The interval of fractions that print as `printed` on `scale` (100 for percent).

    Parameters
    ----------
    printed : Decimal
        The value as printed.
    scale : float
        100 for a percentage, 1 for a proportion.

    Returns
    -------
    (low, high) : tuple of float
        printed +/- half a unit in the last printed digit, divided by `scale`, widened by a hair
        for binary floating error. A fast pre-check for `rounds_to` in search loops.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    half = 0.5 * 10.0 ** (-decimals_of(printed))
    eps = 1e-9
    return (float(printed) - half - eps) / scale, (float(printed) + half + eps) / scale


def rounds_to(value: float, printed: Decimal, *, scale: float = 100.0) -> str | None:
    """How `value` (a fraction) relates to a printed number.

    Parameters
    ----------
    value : float
        The candidate fraction, for example k/n.
    printed : Decimal
        The printed value, with its printed digits.
    scale : float
        100 for a percentage, 1 for a proportion or a plain number.

    Returns
    -------
    str or None
        ``"exact"`` when rounding half-up or half-even at the printed precision gives the printed
        digits, ``"truncated"`` when only cutting off the digits does, None otherwise. A tiny
        tolerance absorbs binary floating error (1/3 is 33.333...).

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    q = Decimal(1).scaleb(-decimals_of(printed))
    v = float(value) * scale
    if v != v or v in (float("inf"), float("-inf")):
        return None
    x = Decimal(repr(v))
    eps = Decimal("1e-9")
    for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN):
        for nudge in (Decimal(0), eps, -eps):
            if (x + nudge).quantize(q, rounding=mode) == printed:
                return "exact"
    for nudge in (Decimal(0), eps):
        if (x + nudge).quantize(q, rounding=ROUND_DOWN) == printed:
            return "truncated"
    return None


def consistent_fractions(printed_percent: Decimal, denominators, *,
                         allow_truncation: bool = False) -> list[tuple[int, int]]:
    """All (k, n) pairs, for the given denominators, whose percentage prints as `printed_percent`.

    Parameters
    ----------
    printed_percent : Decimal
        A printed percentage.
    denominators : iterable of int
        The denominators n to try.
    allow_truncation : bool
        Also accept k/n whose digits were cut off rather than rounded.

    Returns
    -------
    list of (int, int)
        Every fitting (numerator, denominator), in the order of `denominators`, then k.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    out = []
    lo, hi = printed_bounds(printed_percent)
    if allow_truncation:  # truncation reaches up to a whole unit above the printed value
        hi += 0.5 * 10.0 ** (-decimals_of(printed_percent)) / 100.0
    for n in denominators:
        if n <= 0:
            continue
        for k in range(max(0, math.floor(lo * n)), min(n, math.ceil(hi * n)) + 1):
            how = rounds_to(k / n, printed_percent)
            if how == "exact" or (allow_truncation and how == "truncated"):
                out.append((k, n))
    return out


def numerators_for(printed_percent: Decimal, denominator: int) -> list[int]:
    """Every count k of `denominator` whose percentage prints as `printed_percent`.

    84% of 128 is 107 (83.6%) or 108 (84.4%): both are returned. An empty list means no count of
    that denominator prints as the value.

    Parameters
    ----------
    printed_percent : Decimal
        A printed percentage, with its printed digits.
    denominator : int
        The population n.

    Returns
    -------
    list of int
        The fitting counts k, ascending (rounding only, no truncation).

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    return [k for k, _ in consistent_fractions(printed_percent, [denominator])]


def ci_fits_print(lo: float, hi: float, plo: Decimal, phi: Decimal, scale: float) -> bool:
    """Whether a computed interval (lo, hi) prints as the printed limits (plo, phi) at their precision.

    Parameters
    ----------
    lo, hi : float
        The computed limits, as fractions.
    plo, phi : Decimal
        The printed limits, with their printed digits.
    scale : float
        100 for percentages, 1 for fractions.

    Returns
    -------
    bool
        True when each computed limit rounds (half-up or half-even) to its printed limit.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    a, b = printed_bounds(plo, scale=scale)
    c, d = printed_bounds(phi, scale=scale)
    if not (a <= lo <= b and c <= hi <= d):  # fast float pre-check
        return False
    return rounds_to(lo, plo, scale=scale) == "exact" and rounds_to(hi, phi, scale=scale) == "exact"


def counts_that_print_as(printed: Decimal, total: int, *, scale: float = 100.0) -> list[int]:
    """Every count k of `total` whose share k/total prints as `printed` (a percentage on `scale`
    100, a proportion on scale 1).

    Parameters
    ----------
    printed : Decimal
        The printed share, with its printed digits.
    total : int
        The population n.
    scale : float
        100 for a percentage, 1 for a proportion.

    Returns
    -------
    list of int
        The fitting counts, ascending; empty when `total` <= 0 or none fits.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies in the
    reporting of results in psychology. Soc Psychol Personal Sci. 2017;8:363-9.
    """
    if total <= 0:
        return []
    if scale == 100.0:
        return numerators_for(printed, total)
    return [k for k in range(total + 1) if rounds_to(k / total, printed, scale=scale) == "exact"]


def nearest_count(candidates, printed: Decimal, total: int, *, scale: float = 100.0) -> int:
    """Of the counts that fit a printed share, the one used: the nearest to printed/scale x `total`,
    the larger where two are equally near. The one rule for a rounded value that fits more than one
    count, wherever a count is taken from it (the analysis, the audit).

    Parameters
    ----------
    candidates : iterable of int
        The counts that fit (non-empty), e.g. from `counts_that_print_as`.
    printed : Decimal
        The printed share.
    total : int
        The population n.
    scale : float
        100 for a percentage, 1 for a proportion.

    Returns
    -------
    int
        The count used.

    References
    ----------
    The choice of the nearest count is a convention of this project, stated in data/README.md
    ("Never compute, impute or round a value into the data").
    """
    target = float(printed) / scale * total
    return min(candidates, key=lambda k: (abs(k - target), -k))


def count_for(printed: Decimal, total: int, *, scale: float = 100.0) -> tuple[int | None, tuple[int, ...]]:
    """The count of `total` a printed share stands for, and the other counts that print as it too.

    Parameters
    ----------
    printed : Decimal
        The printed value, with its printed digits.
    total : int
        The population it is a share of.
    scale : float
        100 for a percentage, 1 for a proportion.

    Returns
    -------
    (count, alternatives) : (int or None, tuple of int)
        The count nearest to printed/scale x `total` (`nearest_count`) and the others that fit, kept
        for a sensitivity analysis; (None, ()) where no whole number of `total` prints as the value.
        84% of 128 is 107 (83.6%) or 108 (84.4%); 0.84 x 128 = 107.52, so 108 is used and 107 kept.

    References
    ----------
    Brown NJL, Heathers JAJ. The GRIM test. Soc Psychol Personal Sci. 2017;8(4):363-369.
    """
    ks = counts_that_print_as(printed, total, scale=scale)
    if not ks:
        return None, ()
    chosen = nearest_count(ks, printed, total, scale=scale)
    return chosen, tuple(k for k in ks if k != chosen)


def which_count_text(printed: Decimal, total: int, chosen: int, alternatives: tuple[int, ...], *,
                     percent: bool = True) -> str:
    """Which of the counts that fit a printed share is used, in the words both the analysis and the
    audit show: "107 or 108 fit; 108 used, the nearest to 84% of 128".

    Parameters
    ----------
    printed : Decimal
        The printed share.
    total : int
        The population n.
    chosen : int
        The count used (`nearest_count`).
    alternatives : tuple of int
        The other counts that fit.
    percent : bool
        Write the share with a "%" sign.

    Returns
    -------
    str
        The sentence, with all fitting counts in ascending order.

    References
    ----------
    The choice of the nearest count is a convention of this project, stated in data/README.md
    ("Never compute, impute or round a value into the data").
    """
    fits = " or ".join(map(str, sorted((chosen, *alternatives))))
    return f"{fits} fit; {chosen} used, the nearest to {printed}{'%' if percent else ''} of {total}"


def count_detail(printed: Decimal, total: int, chosen: int, alternatives: tuple[int, ...], *,
                 percent: bool = True) -> str:
    """How a count was taken from a printed share: "75.0% of 12", or where more than one count fits
    "84% of 128: 107 or 108 fit; 108 used, the nearest to 84% of 128" (`which_count_text`).

    Parameters
    ----------
    printed : Decimal
        The printed share.
    total : int
        The population n.
    chosen : int
        The count used.
    alternatives : tuple of int
        The other counts that fit; empty when only one does.
    percent : bool
        Write the share with a "%" sign.

    Returns
    -------
    str
        The text shown beside the count.

    References
    ----------
    The choice of the nearest count is a convention of this project, stated in data/README.md
    ("Never compute, impute or round a value into the data").
    """
    shown = f"{printed}{'%' if percent else ''} of {total}"
    if not alternatives:
        return shown
    return f"{shown}: {which_count_text(printed, total, chosen, alternatives, percent=percent)}"

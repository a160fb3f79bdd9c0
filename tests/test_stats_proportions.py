"""Single-proportion intervals against Newcombe (1998), Statistics in Medicine 17:857-872,
Table II (examples a-d), and the percentage-consistency rules of `cartpool.domain.printed`."""

from decimal import Decimal

import pytest

from cartpool.domain.printed import consistent_fractions, count_for, rounds_to
from cartpool.stats.proportions import proportion_ci


@pytest.mark.parametrize("x, n, method, lo, hi", [
    # Newcombe 1998 Table II, method 5 (Clopper-Pearson exact) and method 3 (Wilson score)
    (81, 263, "exact", 0.2527, 0.3676),
    (81, 263, "wilson", 0.2553, 0.3662),
    (15, 148, "exact", 0.0578, 0.1617),
    (15, 148, "wilson", 0.0624, 0.1605),
    (0, 20, "exact", 0.0, 0.1684),
    (0, 20, "wilson", 0.0, 0.1611),
    (1, 29, "exact", 0.0009, 0.1776),
    (1, 29, "wilson", 0.0061, 0.1718),
    # and the Wald interval of example a: 0.2522 .. 0.3638
    (81, 263, "wald", 0.2522, 0.3638),
])
def test_intervals_match_newcombe_1998(x, n, method, lo, hi):
    r = proportion_ci(x, n, method)
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), abs=5e-5)


def test_all_events_exact_interval():
    # binom.test(10, 10): exact interval (0.6915, 1); lower limit = 0.025^(1/10)
    r = proportion_ci(10, 10)
    assert r.ci_low == pytest.approx(0.025 ** (1 / 10)) and r.ci_high == 1.0


def test_zero_total_is_undefined_not_an_error():
    r = proportion_ci(0, 0)
    assert r.estimate is None and r.ci_low is None


def test_rounding_rules():
    assert rounds_to(1 / 3, Decimal("33.3")) == "exact"  # no false alarm on rounding
    assert rounds_to(5 / 11, Decimal("45.5")) == "exact"
    assert rounds_to(5 / 11, Decimal("45.4")) == "truncated"
    assert rounds_to(7 / 11, Decimal("73")) is None


def test_consistent_fractions_lists_all_denominators():
    fits = consistent_fractions(Decimal("83.3"), range(1, 13))
    assert (10, 12) in fits and (5, 6) in fits and (9, 12) not in fits
    assert count_for(Decimal("36.2"), 141) == (51, ())
    assert count_for(Decimal("39.6"), 141) == (None, ())  # no k/141 prints as 39.6%

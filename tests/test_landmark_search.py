"""The landmark-CI search over n (`domain.landmarks.landmark_exact_n`), computed for every candidate at
once, finds exactly what the plain loop over n, k and transforms finds."""

import random
from decimal import Decimal
from types import SimpleNamespace

from cartpool.domain.landmarks import landmark_exact_n
from cartpool.domain.printed import ci_fits_print, printed_bounds, rounds_to
from cartpool.stats.kaplan_meier import landmark_ci_uncensored


def loop_over_n(r, scale: float, limit: int):
    """The search as a plain loop (the reference the vectorised search must equal)."""
    target = float(r.value) / scale
    s_lo, s_hi = printed_bounds(r.value, scale=scale)
    for n in range(2, limit + 1):
        guess = round(target * n)
        for k in (guess - 1, guess, guess + 1):
            if not 0 < k < n or not s_lo <= k / n <= s_hi or rounds_to(k / n, r.value, scale=scale) != "exact":
                continue
            for tr in ("log-log", "log", "plain"):
                lo, hi = landmark_ci_uncensored(k / n, n, tr, float(r.ci.level))
                if ci_fits_print(lo, hi, r.ci.low, r.ci.high, scale):
                    return n, k, tr
    return None


def printed(x: float, digits: int, scale: float) -> Decimal:
    return Decimal(f"{x * scale:.{digits}f}")


def cases(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        n = rng.randint(2, 200)
        k = rng.randint(1, n - 1)
        tr = rng.choice(("log-log", "log", "plain"))
        scale = rng.choice((100.0, 1.0))
        digits = rng.choice((0, 1)) if scale == 100.0 else rng.choice((2, 3))
        lo, hi = landmark_ci_uncensored(k / n, n, tr, 0.95)
        if rng.random() < 0.3:  # an interval of a censored sample: wider than any k/n gives
            lo, hi = max(0.0, lo - rng.random() * 0.1), min(1.0, hi + rng.random() * 0.1)
        r = SimpleNamespace(value=printed(k / n, digits, scale),
                            ci=SimpleNamespace(low=printed(lo, digits, scale), high=printed(hi, digits, scale),
                                               level=Decimal("0.95")))
        yield r, scale, rng.choice((n, 2 * n, max(2 * n, 60), 1, 2))


def test_the_search_over_n_equals_the_plain_loop():
    found = 0
    for r, scale, limit in cases(20261206, 400):
        expected = loop_over_n(r, scale, limit)
        assert landmark_exact_n(r, scale, limit) == expected, (r, scale, limit)
        found += expected is not None
    assert found > 100  # the cases exercise matches, not only misses


def test_real_landmarks_unchanged(real_copy):
    from cartpool.data.load import load_all

    for sd in load_all(real_copy):
        for r in sd.results:
            if r.statistic != "landmark_rate" or r.ci is None or r.ci.low in (None, "NR") \
                    or r.ci.high in (None, "NR"):
                continue
            scale = 100.0 if r.unit == "percent" else 1.0
            limit = max(2 * (sd.population_size(r.population) or 0), 60)
            assert landmark_exact_n(r, scale, limit) == loop_over_n(r, scale, limit)

"""Time units. One documented constant converts months and days everywhere in cartpool."""

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # 30.4375: the mean Gregorian month
_PER_DAY = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": DAYS_PER_YEAR}


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a duration between days, weeks, months and years (1 month = 365.25/12 days)."""
    try:
        return value * _PER_DAY[from_unit] / _PER_DAY[to_unit]
    except KeyError as e:
        raise ValueError(f"unknown time unit {e.args[0]!r}; use days, weeks, months or years") from None

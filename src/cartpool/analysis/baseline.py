"""Baseline characteristics recomputed from a per-patient table: the same summary the paper
prints (median with range or interquartile range, or a count of a category), computed once and
used by the study page and by the audit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import formatting as fmt
from ..data.study_data import StudyData
from ..data.vocabulary import paraprotein_within
from ..domain.population import population_rows
from ..domain.printed import rounds_to

#: Quartile definitions tried when a printed IQR is checked (numpy names), each with a plain
#: description. "linear" is R's and numpy's default (Hyndman & Fan 1996, type 7).
QUARTILE_DEFINITIONS = {
    "linear": "linear interpolation (the usual default)",
    "weibull": "the (n + 1)p rule",
    "hazen": "the midpoint (n p + 1/2) rule",
    "median_unbiased": "the median-unbiased rule",
    "nearest": "the nearest observation",
    "lower": "the lower observation",
    "higher": "the higher observation",
    "midpoint": "the midpoint of the two neighbouring observations",
}


def category_match(value, category: str) -> bool:
    """Whether a per-patient cell belongs to a printed category ("IgG-κ" matches "IgG")."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    v = str(value)
    if v == category or (v.startswith(category) and not v[len(category)].isalnum()):
        return True
    return bool(paraprotein_within(v, category))


@dataclass(frozen=True)
class Recomputed:
    """A baseline summary recomputed from the per-patient rows of the record's population."""

    n: int
    text: str  # as a reader sees it: "57 (IQR 46–61)" or "4/11 (36.4%)"
    matches: bool | None  # whether it reproduces the printed value (None: nothing to compare)
    value: float | None = None
    low: float | None = None
    high: float | None = None
    fitting_definitions: tuple[str, ...] = ()  # quartile definitions that reproduce a printed IQR
    count: int | None = None


def _median_summary(x: np.ndarray, r) -> Recomputed:
    med = float(np.median(x))
    matches = rounds_to(med, r.value, scale=1.0) == "exact"
    if r.spread is None:
        return Recomputed(len(x), f"{med:g}", matches, med)
    if r.spread.kind == "range":
        lo, hi = float(np.min(x)), float(np.max(x))
        ok = rounds_to(lo, r.spread.low, scale=1) == "exact" and rounds_to(hi, r.spread.high, scale=1) == "exact"
        return Recomputed(len(x), f"{med:g} (range {lo:g}–{hi:g})", matches and ok, med, lo, hi)
    fitting = tuple(m for m in QUARTILE_DEFINITIONS
                    if rounds_to(float(np.quantile(x, 0.25, method=m)), r.spread.low, scale=1) == "exact"
                    and rounds_to(float(np.quantile(x, 0.75, method=m)), r.spread.high, scale=1) == "exact")
    q1, q3 = (float(np.quantile(x, q, method="linear")) for q in (0.25, 0.75))
    return Recomputed(len(x), f"{med:g} (IQR {q1:g}–{q3:g})", matches and bool(fitting), med, q1, q3, fitting)


def recompute_baseline(sd: StudyData, d: pd.DataFrame | None, r) -> Recomputed | None:
    """The printed baseline record `r` recomputed from the per-patient table, or None when the
    table does not hold that characteristic for that population.

    Parameters
    ----------
    sd : StudyData
    d : DataFrame or None
        The derived per-patient endpoints (`cartpool.domain.derive.derive_endpoints`).
    r : ReportedResult
        A printed median, count or proportion of a baseline characteristic.

    References
    ----------
    Hyndman RJ, Fan Y. Sample quantiles in statistical packages. Am Stat. 1996;50(4):361-365.
    """
    if d is None or r.endpoint not in d.columns:
        return None
    sub = population_rows(sd, d, r.population)
    if sub is None:
        return None
    col = sub[r.endpoint]
    if r.statistic == "median":
        x = pd.to_numeric(col, errors="coerce").dropna().to_numpy(float)
        return _median_summary(x, r) if len(x) else None
    if r.category is not None:
        k = int(col.map(lambda v, c=r.category: category_match(v, c)).sum())
    elif len(col.dropna()) and col.dropna().map(type).eq(bool).all():
        k = int(col.fillna(False).astype(bool).sum())
    else:
        return None
    n = len(col)
    printed = r.printed_count
    return Recomputed(n, f"{k}/{n} ({fmt.pct(k / n)})", None if printed is None else printed == k, count=k)

"""Which patients a printed landmark rate describes: the number of patients its interval fits, and
what in the study has that size.

A Kaplan-Meier interval at a landmark is as wide as its number at risk allows. A printed S(t) with
its CI therefore shows how many patients it rests on: exactly, where S = k/n with no censoring
reproduces the print, or approximately, from the width (the effective sample size). When that
number is not the stated population but equals another group of the same study, for example the
responders (Guo 2026 prints four landmarks, each k/9, for 12 patients, 9 of whom responded), the
landmark may describe that group. Such a landmark is shown with the size it fits and kept out of
pools of all-patient estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.study_data import StudyData
from ..stats.kaplan_meier import landmark_ci_uncensored, landmark_cis_uncensored, landmark_effective_n
from .counts import outcome_count
from .printed import ci_fits_print, printed_bounds, rounds_to


def landmark_exact_n(r, scale: float, limit: int) -> tuple[int, int, str] | None:
    """The smallest n (with S = k/n, no censoring) whose Kaplan-Meier CI reproduces the print.

    The candidates are tried in order: n from 2 to `limit`, k from round(S n) - 1 to round(S n) + 1,
    then the log-log, log and plain transforms; the first whose k/n and interval print as the
    paper's is returned. The intervals of every candidate are computed at once (one array per
    transform) and only those within the printed limits' rounding are checked exactly, one by one
    in the same order, by the same scalar test as before: the result is the one the plain loop over
    n gives, at a fraction of the cost for a large study (limit 282 at 141 patients).

    Parameters
    ----------
    r : ReportedResult
        A landmark rate with its CI.
    scale : float
        100 for percentages, 1 for fractions.
    limit : int
        The largest n tried.

    Returns
    -------
    (n, k, transform) or None

    References
    ----------
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj. 1926;33:1-26.
    """
    target = float(r.value) / scale
    s_lo, s_hi = printed_bounds(r.value, scale=scale)
    if limit < 2:
        return None
    ns = np.arange(2, limit + 1)
    guess = np.rint(target * ns).astype(np.int64)  # half to even, as Python's round
    n_c = np.repeat(ns, 3)
    k_c = (guess[:, None] + np.array([-1, 0, 1])).ravel()  # in the loop's order: n, then k
    with np.errstate(divide="ignore", invalid="ignore"):
        s_c = k_c / n_c
    ok = (k_c > 0) & (k_c < n_c) & (s_lo <= s_c) & (s_c <= s_hi)
    if not ok.any():
        return None
    n_c, k_c, s_c = n_c[ok], k_c[ok], s_c[ok]
    level = float(r.ci.level)
    a, b = printed_bounds(r.ci.low, scale=scale)
    c, d = printed_bounds(r.ci.high, scale=scale)
    slack = 1e-9  # the exact test below decides; the arrays only leave out what cannot print as the paper
    near = {}
    for tr in TRANSFORMS:
        lo, hi = landmark_cis_uncensored(s_c, n_c, tr, level)
        near[tr] = (a - slack <= lo) & (lo <= b + slack) & (c - slack <= hi) & (hi <= d + slack)
    for i in np.flatnonzero(np.logical_or.reduce(list(near.values()))):
        n, k = int(n_c[i]), int(k_c[i])
        if rounds_to(k / n, r.value, scale=scale) != "exact":
            continue
        for tr in TRANSFORMS:
            if not near[tr][i]:
                continue
            lo, hi = landmark_ci_uncensored(k / n, n, tr, level)
            if ci_fits_print(lo, hi, r.ci.low, r.ci.high, scale):
                return n, k, tr
    return None


#: The transforms tried for a printed landmark interval, in order.
TRANSFORMS = ("log-log", "log", "plain")


def likely_population(sd: StudyData, n: int, stated: str) -> str | None:
    """What in the study has `n` patients, other than the stated population: another population of
    that size, or the responders (the ORR count of the stated population). None if nothing does.

    Parameters
    ----------
    sd : StudyData
        The study.
    n : int
        The number of patients a landmark's interval fits.
    stated : str
        The population id the landmark is printed for.

    Returns
    -------
    str or None
        The lower-cased label of the first other population of size `n`; else, when the stated
        population's overall response count (not a range) is `n` out of a different total, a
        phrase naming the responders; else None.

    References
    ----------
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj. 1926;33:1-26.
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346 (overall response: partial response or better).
    """
    for pid, p in sd.study.populations.items():
        if pid != stated and sd.population_size(pid) == n:
            return p.label.lower()
    orr = outcome_count(sd, "orr", population=stated)
    if orr.available and not orr.is_range and orr.events == n and orr.total != n:
        return f"the responders (overall response in {orr.events} of {orr.total})"
    return None


@dataclass(frozen=True)
class LandmarkFit:
    """The number of patients a printed landmark's interval fits, and what it may describe."""

    n: int | None  # the exact n (k/n without censoring), else the effective n rounded; None: no fit
    exact: bool
    stated: int | None
    likely: str | None  # what else in the study has n patients, where n is not the stated size

    @property
    def fits_stated(self) -> bool:
        return self.n is None or self.stated is None or self.n == self.stated

    @property
    def possibly_responders(self) -> bool:
        return not self.fits_stated and self.likely is not None and "responder" in self.likely


def landmark_fit(sd: StudyData, r) -> LandmarkFit:
    """The `LandmarkFit` of a printed landmark rate with a CI (n None without a usable CI).

    Parameters
    ----------
    sd : StudyData
        The study.
    r : ReportedResult
        A printed landmark rate (percent or fraction) with its population and, usually, its CI.

    Returns
    -------
    LandmarkFit
        The exact n from `landmark_exact_n` (tried up to max(2 x stated size, 60)); failing that,
        the effective n of `landmark_effective_n` nearest the stated size (the first when none is
        stated), rounded; n None when the CI is missing, has a "not reached" limit or fits no
        transform. `likely` names what else has n patients when n differs from the stated size.

    References
    ----------
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj. 1926;33:1-26.
    Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. 2nd ed. Wiley; 2002.
    Therneau TM. survival: A Package for Survival Analysis in R (survfit, conf.type).
    """
    stated = sd.population_size(r.population)
    if r.ci is None or r.ci.low in (None, "NR") or r.ci.high in (None, "NR"):
        return LandmarkFit(None, False, stated, None)
    scale = 100.0 if r.unit == "percent" else 1.0
    found = landmark_exact_n(r, scale, max(2 * (stated or 0), 60))
    if found:
        n, exact = found[0], True
    else:
        eff = landmark_effective_n(float(r.value) / scale, float(r.ci.low) / scale, float(r.ci.high) / scale,
                                   float(r.ci.level))
        if not eff:
            return LandmarkFit(None, False, stated, None)
        n, exact = round(min(eff.values(), key=lambda v: abs(v - stated) if stated else 0)), False
    likely = likely_population(sd, n, r.population) if stated is not None and n != stated else None
    return LandmarkFit(n, exact, stated, likely)

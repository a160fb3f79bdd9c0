"""Effect sizes of single proportions and their sampling variances, as metafor's `escalc`
computes them (measures "PLO", "PFT" and "PR"), and the Freeman-Tukey back-transformation.
"""

from __future__ import annotations

import numpy as np


def logit_escalc(events, totals) -> tuple[np.ndarray, np.ndarray]:
    """Logit proportions and variances, adding 0.5 to both cells only where a cell is 0
    (metafor escalc measure "PLO", add=1/2, to="only0").

    Parameters
    ----------
    events, totals : array_like of int, shape (k,)
        Each study's events and patients.

    Returns
    -------
    (ndarray, ndarray)
        Logit proportions log(x/(n - x)) and their variances 1/x + 1/(n - x), shape (k,), with
        x + 0.5 and n + 1 for studies with 0 or all events.

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    x, n = np.asarray(events, float), np.asarray(totals, float)
    zero = (x == 0) | (x == n)
    xa, na = np.where(zero, x + 0.5, x), np.where(zero, n + 1.0, n)
    y = np.log(xa / (na - xa))
    v = 1 / xa + 1 / (na - xa)
    return y, v


def ft_escalc(events, totals) -> tuple[np.ndarray, np.ndarray]:
    """Freeman-Tukey double arcsine (metafor measure "PFT"): y = (asin sqrt(x/(n+1)) +
    asin sqrt((x+1)/(n+1)))/2, v = 1/(4n+2). Defined at 0 and n without any correction.

    Parameters
    ----------
    events, totals : array_like of int, shape (k,)
        Each study's events and patients.

    Returns
    -------
    (ndarray, ndarray)
        Transformed proportions and their variances, shape (k,).

    References
    ----------
    Freeman MF, Tukey JW. Transformations related to the angular and the square root. Ann Math
    Stat. 1950;21:607-11.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    x, n = np.asarray(events, float), np.asarray(totals, float)
    y = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
    v = 1 / (4 * n + 2)
    return y, v


def ipft(y, n_hm: float) -> np.ndarray:
    """Miller's (1978) inverse of the Freeman-Tukey double arcsine at sample size `n_hm`
    (metafor `transf.ipft.hm` when `n_hm` is the harmonic mean of the study sizes), set to 0
    or 1 outside the range the transform can reach at that n, as metafor does.

    Parameters
    ----------
    y : float or array_like of float
        Values on the double arcsine scale.
    n_hm : float
        The sample size of the back-transformation (the harmonic mean of the study sizes).

    Returns
    -------
    ndarray
        Proportions in [0, 1], at least one-dimensional (a scalar `y` gives shape (1,)).

    References
    ----------
    Miller JJ. The inverse of the Freeman-Tukey double arcsine transformation. Am Stat.
    1978;32:138.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    y = np.atleast_1d(np.asarray(y, float))
    lo = 0.5 * np.arcsin(np.sqrt(1 / (n_hm + 1)))  # FT value of 0 events
    hi = 0.5 * (np.arcsin(np.sqrt(n_hm / (n_hm + 1))) + np.pi / 2)  # FT value of n events
    s = np.sin(2 * y)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 0.5 * (1 - np.sign(np.cos(2 * y)) * np.sqrt(np.clip(1 - (s + (s - 1 / s) / n_hm) ** 2, 0, None)))
    p = np.where(y < lo, 0.0, np.where(y > hi, 1.0, p))
    return np.clip(p, 0.0, 1.0)


def raw_escalc(events, totals) -> tuple[np.ndarray, np.ndarray]:
    """Raw proportions and variances p(1-p)/n, with metafor's escalc default for measure "PR"
    (add=1/2, to="only0"): studies with 0 or all events enter as (x + 0.5)/(n + 1), both in the
    proportion and in its variance (otherwise their variance would be 0).

    Parameters
    ----------
    events, totals : array_like of int, shape (k,)
        Each study's events and patients.

    Returns
    -------
    (ndarray, ndarray)
        Proportions and their variances, shape (k,).

    References
    ----------
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw. 2010;36(3).
    """
    x, n = np.asarray(events, float), np.asarray(totals, float)
    zero = (x == 0) | (x == n)
    xa, na = np.where(zero, x + 0.5, x), np.where(zero, n + 1.0, n)
    p = xa / na
    return p, p * (1 - p) / na

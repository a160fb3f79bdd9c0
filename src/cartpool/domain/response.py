"""IMWG response categories: their order and the thresholds the outcomes use.

The order (best first) is the data vocabulary's; "PR or better" and the other thresholds are
defined here once and used by the derived per-patient endpoints, the outcome counts, the audit
and the figures.

References
----------
Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria for
response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
2016;17(8):e328-e346.
"""

from __future__ import annotations

from ..data.model import RESPONSE_CATEGORIES

#: IMWG categories, best first: sCR, CR, VGPR, PR, MR, SD, PD.
RESPONSE_ORDER: tuple[str, ...] = tuple(RESPONSE_CATEGORIES)
_RANK = {c: i for i, c in enumerate(RESPONSE_ORDER)}

#: The category an outcome counts "or better" from.
THRESHOLDS = {"orr": "PR", "pr_or_better": "PR", "vgpr_or_better": "VGPR", "cr_or_better": "CR"}


def rank(category: str | None) -> int:
    """Position in the IMWG order (0 = sCR); a joined category such as "VGPR/PR" takes its first
    part; unknown categories sort last.

    Parameters
    ----------
    category : str or None
        A response category of the data vocabulary (e.g. "CR", "VGPR/PR").

    Returns
    -------
    int
        0 for sCR up to 6 for PD; 7 (the number of categories) for None, "" or an unknown
        category.

    References
    ----------
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346.
    """
    if not category:
        return len(RESPONSE_ORDER)
    return _RANK.get(category.split("/")[0], len(RESPONSE_ORDER))


def at_least(category: str | None, threshold: str) -> bool | None:
    """Whether a response category is `threshold` or better (None if unknown).

    A joined category ("VGPR/PR") is at least the threshold only when every part is.

    Parameters
    ----------
    category : str or None
        A response category, possibly joined ("VGPR/PR").
    threshold : str
        The category counted "or better" from, e.g. "PR" for overall response.

    Returns
    -------
    bool or None
        True when every part ranks at or above `threshold`, False otherwise; None when the
        category is None or any part is not an IMWG category.

    References
    ----------
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346.
    """
    if category is None or not all(p in _RANK for p in category.split("/")):
        return None
    return all(_RANK[p] <= _RANK[threshold] for p in category.split("/"))


def is_response(category: str) -> bool:
    """PR or better (IMWG overall response).

    Parameters
    ----------
    category : str
        A response category, possibly joined ("VGPR/PR").

    Returns
    -------
    bool
        True for partial response or better; False otherwise, including unknown categories.

    References
    ----------
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346.
    """
    return bool(at_least(category, "PR"))


def straddles(category: str | None, threshold: str) -> bool:
    """Whether a joined category ("VGPR/PR") has parts on both sides of `threshold` (at VGPR: yes),
    so that its patients may or may not count as `threshold` or better.

    Parameters
    ----------
    category : str or None
        A response category, possibly joined ("VGPR/PR").
    threshold : str
        The category counted "or better" from.

    Returns
    -------
    bool
        True only for a joined category of known parts, some at or above `threshold` and some
        below it.

    References
    ----------
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346.
    """
    if category is None or "/" not in category or not all(p in _RANK for p in category.split("/")):
        return False
    sides = {_RANK[p] <= _RANK[threshold] for p in category.split("/")}
    return len(sides) == 2

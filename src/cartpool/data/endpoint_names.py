"""The rules over the endpoint vocabulary (`cartpool.data.vocabulary`): an endpoint's label and
its categories' labels in the words a reader sees, whether a name is known (and the nearest known
one where it is not), which statistics a name allows, and the page section a record belongs to.

Validation (`cartpool.data.study_checks`) rejects an unknown endpoint and names the nearest known
one; the report layer takes every label from `endpoint_label` and `category_label`.
"""

from __future__ import annotations

import difflib

from .vocabulary import ANY_STATISTIC, COUNT_STATISTICS, CUSTOM_PREFIX, ENDPOINTS

#: Abbreviations kept as written when a label is derived from a custom (x_) name.
ABBREVIATIONS = {"crs": "CRS", "icans": "ICANS", "car": "CAR", "bcma": "BCMA", "mrd": "MRD", "asct": "ASCT",
                 "hsct": "HSCT", "cd38": "CD38", "ast": "AST", "alt": "ALT", "emd": "EMD", "iss": "ISS",
                 "icaht": "ICAHT", "orr": "ORR", "pfs": "PFS", "os": "OS", "dor": "DOR", "ngf": "NGF",
                 "tmax": "Tmax", "cmax": "Cmax", "auc": "AUC", "gdna": "gDNA", "ldh": "LDH", "crp": "CRP", "il6": "IL-6",
                 "ivig": "IVIG", "gprc5d": "GPRC5D", "cd19": "CD19", "pcl": "PCL", "mm": "MM",
                 "scr": "sCR", "cr": "CR", "vgpr": "VGPR", "pr": "PR", "nrm": "NRM", "hlh": "HLH"}


def humanise(code: str) -> str:
    """A snake_case code as words, keeping the field's abbreviations ("x_prior_cd38" -> "Prior CD38")."""
    words = code.removeprefix(CUSTOM_PREFIX).split("_")
    out = []
    for i, w in enumerate(words):
        a = ABBREVIATIONS.get(w.lower())
        out.append(a if a else (w.capitalize() if i == 0 else w))
    return " ".join(out).replace("anti CD38", "anti-CD38").replace("Anti CD38", "Anti-CD38")


def is_custom(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX)


def known_endpoint(name: str) -> bool:
    """Whether a record may use this endpoint name (a vocabulary name or an ``x_`` custom name)."""
    return name in ENDPOINTS or is_custom(name)


def _names_of(key: str) -> list[str]:
    spec = ENDPOINTS[key]
    return [key, *spec.aliases, spec.label.lower().replace(" ", "_").replace("-", "_")]


def nearest_endpoint(name: str, statistic: str | None = None) -> str | None:
    """The known endpoint closest to `name` that would put the record where the curator meant it.

    The name is compared with every endpoint's name, aliases and label; with `statistic`, only
    endpoints that allow that statistic are offered, so a median never points at a count endpoint
    (a median "progression_free_survival" is `pfs`, not `progression_free`).

    Parameters
    ----------
    name : str
        The endpoint name as typed.
    statistic : str, optional
        The record's statistic (count, proportion, median ...).

    Returns
    -------
    str or None
        A vocabulary name, or None when nothing is close enough.
    """
    typed = name.lower().strip().removeprefix(CUSTOM_PREFIX)
    best, best_score = None, 0.0
    for key, spec in ENDPOINTS.items():
        if statistic is not None and statistic not in spec.statistics:
            continue
        for alias in _names_of(key):
            score = difflib.SequenceMatcher(None, typed, alias).ratio()
            if typed == alias:
                score = 2.0
            if score > best_score:
                best, best_score = key, score
    return best if best_score >= 0.6 else None


def allowed_statistics(name: str) -> tuple[str, ...]:
    """The statistics a record of this endpoint may use (every statistic for a custom x_ name)."""
    spec = ENDPOINTS.get(name)
    return spec.statistics if spec else ANY_STATISTIC


STATISTIC_WORDS = {"count": "a count of patients", "proportion": "a percentage of patients",
                   "median": "a median", "mean": "a mean", "maximum": "a maximum (the longest or largest)",
                   "landmark_rate": "a rate at a fixed time", "hazard_ratio": "a hazard ratio"}


#: The endpoint that means the same event counted instead of timed, and timed instead of counted:
#: (endpoint, is the record a count?) -> the endpoint to write.
COUNTERPARTS = {("pfs", True): "progression", ("os", True): "death", ("dor", True): "relapse",
                ("efs", True): "progression", ("progression", False): "pfs", ("progression_free", False): "pfs",
                ("alive_without_progression", False): "pfs", ("relapse", False): "dor", ("relapse_free", False): "dor",
                ("death", False): "os", ("alive", False): "os"}


def statistic_mismatch(name: str, statistic: str) -> str | None:
    """Why a record of `name` cannot be a `statistic`, with the endpoint to write instead; None if it can."""
    if statistic in allowed_statistics(name):
        return None
    spec = ENDPOINTS[name]
    takes = " or ".join(STATISTIC_WORDS[s] for s in spec.statistics[:2])
    counterpart = COUNTERPARTS.get((name, statistic in COUNT_STATISTICS))
    # only endpoints of the same thing (crs -> crs_onset, crs_duration), never a look-alike spelling
    related = [counterpart] if counterpart else [
        k for k, e in ENDPOINTS.items() if statistic in e.statistics and k.split("_")[0] == name.split("_")[0]]
    hint = (f"for {STATISTIC_WORDS[statistic]} write endpoint: "
            + " or ".join(f"{k} ({ENDPOINTS[k].label})" for k in related[:3])
            if related else f"for {STATISTIC_WORDS[statistic]} choose an endpoint that is {STATISTIC_WORDS[statistic]} "
                            "(data/README.md lists them), or a custom x_ name")
    return (f"{name!r} ({spec.label}) is {takes}, not {STATISTIC_WORDS[statistic]}, so the pages could not "
            f"show this record as the paper means it; {hint}")


def record_home(endpoint: str, statistic: str) -> str:
    """The study-page section (`HOMES`) where a record of this endpoint and statistic is shown.

    The endpoint's home, except that the longest or mean time of a time-to-event endpoint (the
    longest remission) is shown with durability, not with the survival medians and landmarks.
    """
    spec = ENDPOINTS.get(endpoint)
    if spec is None:
        return "other"
    if spec.kind == "survival" and statistic in ("maximum", "mean"):
        return "durability"
    return spec.home


def endpoint_label(name: str) -> str:
    """The clinician's name of an endpoint: "orr" -> "ORR", "emd" -> "EMD (extramedullary disease)"."""
    spec = ENDPOINTS.get(name)
    return spec.label if spec else humanise(name)


def category_label(endpoint: str, category: str | None) -> str:
    """A category as a reader sees it: R-ISS "II" -> "R-ISS stage II", sex "F" -> "female".

    Joined categories ("VGPR/PR", printed together by the paper) are labelled part by part.
    """
    if not category:
        return ""
    if endpoint in ("r_iss_stage", "iss_stage", "ds_stage"):
        return f"{endpoint_label(endpoint)} {category}"
    spec = ENDPOINTS.get(endpoint)
    cats = spec.categories if spec else None
    if cats is None:
        return category.replace("_", " ")
    if endpoint in ("best_response", "early_response"):
        return "/".join(category.split("/"))  # the IMWG abbreviations are the field's words
    return cats.get(category, category.replace("_", " "))


def characteristic_label(endpoint: str, category: str | None) -> str:
    """A characteristic with its category, as a reader sees it: "Sex: female", "R-ISS stage II"."""
    name = endpoint_label(endpoint)
    if not category:
        return name
    cat = category_label(endpoint, category)
    return cat if cat.startswith(name) else f"{name}: {cat}"


def allowed_categories(endpoint: str) -> dict[str, str] | None:
    spec = ENDPOINTS.get(endpoint)
    return spec.categories if spec else None

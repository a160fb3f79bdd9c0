"""Words a reader sees for the data's codes: endpoints, categories, grades, populations, study
facts. Every page and CSV takes its labels from here, and this module takes them from the data
vocabulary (`cartpool.data.vocabulary`)."""

from __future__ import annotations

from ..data import vocabulary
from ..data.load import StudyData
from ..data.plan import IMPORTANCE
from ..domain import grades, registry
from ..text import lower_first, sentence_case  # noqa: F401 (the renderings call labels.*)


def humanise(code: str) -> str:
    """A snake_case code as words, with the field's abbreviations: "prior_anti_cd38" ->
    "Prior anti-CD38"."""
    return vocabulary.humanise(code)


def endpoint(code: str) -> str:
    """The clinician's name of an endpoint: "orr" -> "ORR", "emd" -> "EMD (extramedullary disease)"."""
    return vocabulary.endpoint_label(code)


def category(endpoint_code: str, category_code: str | None) -> str:
    """A category of an endpoint as a reader sees it: R-ISS "II" -> "R-ISS stage II"."""
    return vocabulary.category_label(endpoint_code, category_code)


def characteristic(endpoint_code: str, category_code: str | None) -> str:
    """A baseline characteristic with its category: "Sex: female", "R-ISS stage II"."""
    name = endpoint(endpoint_code)
    if not category_code:
        return name
    cat = category(endpoint_code, category_code)
    return cat if cat.startswith(name) else f"{name}: {cat}"


def grade(band: str | None) -> str:
    return grades.display(band)


def record(sd: StudyData, r) -> str:
    """What a printed record is about, in words: "CRS grade 1, all enrolled and infused patients"."""
    parts = [characteristic(r.endpoint, r.category)]
    if r.grade and r.grade != "any":
        parts[0] += f" grade {grades.display(r.grade)}"
    if r.timepoint is not None:
        parts[0] += f" at {r.timepoint.value:g} {r.timepoint.unit}"
    if r.statistic == "median" and r.endpoint not in ("follow_up",):
        parts[0] = f"Median {parts[0][0].lower() + parts[0][1:] if not parts[0][:3].isupper() else parts[0]}"
    if r.statistic == "landmark_rate":
        parts[0] = f"{parts[0]} rate"
    pop = sd.study.populations.get(r.population)
    if pop is not None:
        parts.append(pop.label[0].lower() + pop.label[1:] if not pop.label[:2].isupper() else pop.label)
    return ", ".join(parts)


SETTINGS = {"frontline": "frontline", "relapsed_refractory": "relapsed/refractory"}
DISEASES = vocabulary.DISEASES
DOCUMENT_TYPES = vocabulary.DOCUMENT_TYPES
DESIGNS = {"prospective": "prospective", "retrospective": "retrospective"}


def fact_value(name: str, value) -> str:
    """A study fact's recorded value as words."""
    if isinstance(value, list):
        return ", ".join(DISEASES.get(v, v) for v in value)
    if name == "setting":
        return SETTINGS.get(value, value)
    if name == "design":
        return DESIGNS.get(value, value)
    return str(value)


def document_type(code: str) -> str:
    return DOCUMENT_TYPES.get(code, code.replace("_", " "))




def importance(code: str) -> str:
    """An outcome's importance in the analysis plan, in words: "critical", "important but not critical"."""
    return IMPORTANCE.get(code, code)


def outcome_names(names: str) -> str:
    """Outcome keys or kinds ("pfs, os", "long_term_survival_scr") as words a reader knows."""
    words = []
    for n in (x.strip() for x in names.split(",")):
        if n in registry.SURVIVAL_BY_KEY:
            words.append(registry.SURVIVAL_BY_KEY[n].label.lower())
        elif n in registry.OUTCOME_BY_KEY or n in registry.LANDMARK_BY_KEY:
            words.append(lower_first(registry.outcome_label(n)))
        else:
            words.append(lower_first(endpoint(n)))
    return " and ".join(words)


def how(how_text: str, detail: str = "") -> str:
    """How a count was obtained, with its detail, as one phrase."""
    return f"{how_text} ({detail})" if detail else how_text

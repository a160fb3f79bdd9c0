"""Words a reader sees for the data's codes: endpoints, categories, grades, populations, study
facts. Every page and CSV takes its labels from here, and this module takes them from the data
vocabulary (`cartpool.data.vocabulary`)."""

from __future__ import annotations

from markupsafe import Markup

from ..data import endpoint_names, vocabulary
from ..data.plan import IMPORTANCE
from ..data.study_data import StudyData
from ..domain import grades, registry
from ..text import lower_first, sentence_case  # noqa: F401 (the renderings call labels.*)


def humanise(code: str) -> str:
    """A snake_case code as words, with the field's abbreviations: "prior_anti_cd38" ->
    "Prior anti-CD38"."""
    return endpoint_names.humanise(code)


def endpoint(code: str) -> str:
    """The clinician's name of an endpoint: "orr" -> "ORR", "emd" -> "EMD (extramedullary disease)"."""
    return endpoint_names.endpoint_label(code)


def category(endpoint_code: str, category_code: str | None) -> str:
    """A category of an endpoint as a reader sees it: R-ISS "II" -> "R-ISS stage II"."""
    return endpoint_names.category_label(endpoint_code, category_code)


def characteristic(endpoint_code: str, category_code: str | None) -> str:
    """A baseline characteristic with its category: "Sex: female", "R-ISS stage II"."""
    return endpoint_names.characteristic_label(endpoint_code, category_code)


def grade(band: str | None) -> str:
    return grades.display(band)


def grade_words(band: str | None) -> str:
    """A grade band in words: "any grade", "grade ≥3"."""
    g = grade(band)
    return "any grade" if g == "any" else f"grade {g}"


def record_what(r) -> str:
    """What a printed record measures, without its population: "CRS grade 1", "Median PFS"."""
    what = characteristic(r.endpoint, r.category)
    if r.grade and r.grade != "any":
        what += f" grade {grades.display(r.grade)}"
    if r.statistic == "landmark_rate":
        what = f"{what} rate"
    if r.timepoint is not None:
        unit = r.timepoint.unit.removesuffix("s") if r.timepoint.value == 1 else r.timepoint.unit
        what += f" at {r.timepoint.value:g} {unit}"
    if r.statistic in ("median", "mean") and r.endpoint not in ("follow_up",):
        what = f"{r.statistic.capitalize()} {what[0].lower() + what[1:] if not what[:3].isupper() else what}"
    if r.statistic == "maximum":
        what = f"{what} (longest or largest)"
    if r.statistic == "hazard_ratio":
        what = f"Hazard ratio, {what[0].lower() + what[1:] if not what[:3].isupper() else what}"
    return what


def derivation(code: str) -> str:
    """How a value not printed as a number was obtained from its quote, in a reader's words."""
    return sentence_case(vocabulary.DERIVATIONS.get(code, code))


def record(sd: StudyData, r) -> str:
    """What a printed record is about, in words: "CRS grade 1, all enrolled and infused patients"."""
    parts = [record_what(r)]
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
    if name == "survival_origin":
        return {"infusion": "the CAR-T infusion", "enrolment": "enrolment", "leukapheresis": "leukapheresis",
                "diagnosis": "diagnosis"}.get(value, value)
    return str(value)


def document_type(code: str) -> str:
    return DOCUMENT_TYPES.get(code, code.replace("_", " "))


def source_name(study) -> str:
    """A study's source document as a citation names it: "Hu 2026, full article"."""
    return f"{study.label}, {document_type(study.document_type)}"




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


CO_INTERVENTIONS = {"induction": "induction before CAR-T", "bridging": "bridging therapy",
                    "consolidation": "consolidation after CAR-T", "maintenance": "maintenance after CAR-T",
                    "transplant_after_car_t": "transplant after CAR-T", "second_car_t": "second CAR-T infusion"}


def co_intervention(kind: str) -> str:
    """A kind of treatment given with or after CAR-T, in words."""
    return CO_INTERVENTIONS.get(kind, humanise(kind))


MISSING_WORDS = {vocabulary.NOT_REPORTED: "not reported",
                 vocabulary.NOT_IN_SOURCE: "not in the source we have"}


def missing(status: str) -> Markup:
    """A missing fact as a reader sees it: "not reported" (the paper does not give it) and "not in the
    source we have" (an abstract or summary; the full report may give it) look different."""
    cls = "cp-missing cp-not-in-source" if status == vocabulary.NOT_IN_SOURCE else "cp-missing"
    return Markup('<span class="{}" title="{}">{}</span>').format(
        cls, vocabulary.MISSING.get(status, status), MISSING_WORDS.get(status, status))


def population_label(sd: StudyData, population: str) -> str:
    """A population's label as the study names it."""
    p = sd.study.populations.get(population)
    return p.label if p is not None else population


def words(text) -> Markup:
    """Words from the data inside a cell of numbers (a population's name "Group 1", a description),
    marked as words (``span.cp-text``) so that their digits are not read as numbers without a source."""
    return Markup('<span class="cp-text">{}</span>').format(text)

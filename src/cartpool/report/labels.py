"""Words a reader sees for the data's codes: endpoints, categories, grades, populations, study
facts. Every page and CSV takes its labels from here, and this module takes them from the data
vocabulary (`cartpool.data.vocabulary`)."""

from __future__ import annotations

from ..data.load import StudyData
from ..domain import grades

# --- interim: until the data vocabulary lands, a few labels here ------------------------------
_ENDPOINTS = {
    "patients": "Patients", "orr": "ORR", "cr_or_better": "CR or better", "vgpr_or_better": "VGPR or better",
    "pr_or_better": "PR or better", "mrd_negative": "MRD negativity", "best_response": "Best response",
    "crs": "CRS", "icans": "ICANS", "death": "Deaths", "pfs": "PFS", "os": "OS", "dor": "Duration of response",
    "follow_up": "Median follow-up", "age": "Age", "sex": "Sex", "pcl_type": "PCL type",
    "paraprotein": "Paraprotein", "r_iss_stage": "R-ISS stage", "iss_stage": "ISS stage",
    "karnofsky": "Karnofsky performance score", "high_tumor_burden": "High tumour burden",
    "soft_tissue": "Soft-tissue involvement", "complex_karyotype": "Complex karyotype",
    "renal_impairment": "Renal impairment", "prior_lines": "Prior lines of therapy", "prior_asct": "Prior ASCT",
    "prior_allo_hsct": "Prior allo-HSCT", "prior_anti_cd38": "Prior anti-CD38 antibody",
    "emd": "EMD (extramedullary disease)", "bcma_expression": "BCMA expression on myeloma cells",
    "beta2_microglobulin": "β2-microglobulin", "ast_increased": "AST increased", "alt_increased": "ALT increased",
    "neutropenia": "Neutropenia", "thrombocytopenia": "Thrombocytopenia", "anemia": "Anaemia",
    "leukopenia": "Leukopenia", "lymphopenia": "Lymphopenia", "infection": "Infection", "icaht": "ICAHT",
    "crs_onset": "Time to CRS onset", "crs_duration": "CRS duration", "fever": "Fever",
}
_ABBREVIATIONS = {"crs": "CRS", "icans": "ICANS", "car": "CAR", "bcma": "BCMA", "mrd": "MRD", "asct": "ASCT",
                  "hsct": "HSCT", "cd38": "CD38", "ast": "AST", "alt": "ALT", "emd": "EMD", "iss": "ISS",
                  "icaht": "ICAHT", "orr": "ORR", "pfs": "PFS", "os": "OS", "dor": "DOR", "ngf": "NGF",
                  "tmax": "Tmax", "cmax": "Cmax", "gdna": "gDNA"}


def _vocabulary():
    try:
        from ..data import vocabulary
    except ImportError:
        return None
    return vocabulary


def humanise(code: str) -> str:
    """A snake_case code as words, with the field's abbreviations: "prior_anti_cd38" ->
    "Prior anti-CD38"."""
    words = code.removeprefix("x_").split("_")
    out = []
    for i, w in enumerate(words):
        a = _ABBREVIATIONS.get(w.lower())
        if a:
            out.append(a)
        else:
            out.append(w.capitalize() if i == 0 else w)
    text = " ".join(out)
    return text.replace("anti CD38", "anti-CD38").replace("Anti CD38", "Anti-CD38")


def endpoint(code: str) -> str:
    """The clinician's name of an endpoint: "orr" -> "ORR", "emd" -> "EMD (extramedullary disease)"."""
    voc = _vocabulary()
    if voc is not None and hasattr(voc, "endpoint_label"):
        return voc.endpoint_label(code)
    return _ENDPOINTS.get(code) or humanise(code)


def category(endpoint_code: str, category_code: str | None) -> str:
    """A category of an endpoint as a reader sees it: R-ISS "II" -> "R-ISS stage II"."""
    if not category_code:
        return ""
    voc = _vocabulary()
    if voc is not None and hasattr(voc, "category_label"):
        return voc.category_label(endpoint_code, category_code)
    if endpoint_code in ("r_iss_stage", "iss_stage"):
        return f"{endpoint(endpoint_code)} {category_code}"
    return category_code


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
DISEASES = {"primary_pcl": "primary PCL", "secondary_pcl": "secondary PCL", "mm": "multiple myeloma"}
DOCUMENT_TYPES = {"full_article": "full article", "abstract": "conference or journal abstract",
                  "summary": "summary page (abstract and key findings; full text not available)",
                  "registry_record": "trial registry record", "fact_sheet": "fact sheet"}
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


def sentence_case(text: str) -> str:
    """First letter upper-case, the rest as written (keeps abbreviations: "CAR-T", "PCL")."""
    return text[:1].upper() + text[1:] if text else text


def lower_first(text: str) -> str:
    """First letter lower-case unless the first word is an abbreviation ("CAR-T", "BCMA")."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[:2].isupper() or any(c.isdigit() for c in first)):
        return text
    return text[:1].lower() + text[1:]

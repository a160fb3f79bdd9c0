"""The controlled vocabularies of the study data: one home for every code a record may use.

* `ENDPOINTS`: every endpoint name a result record may use, with its clinician-facing label,
  its kind (disposition, baseline, efficacy, survival, safety, other) and, where the set is
  closed, the categories it allows with their labels. A name starting with ``x_`` marks a
  deliberately custom endpoint: it is accepted, and its label is derived from the name.
* `RESPONSE_CATEGORIES`: the IMWG response categories, best first (sCR ... PD).
* `POPULATION_KINDS`, `DERIVATIONS`, `BOUNDS`, `DOCUMENT_TYPES`, `MISSING`: the other
  controlled fields of the model, each code with the words a reader sees.

The rules over these words (an endpoint's label, the nearest known name, where a record is shown)
are in `cartpool.data.endpoint_names`.

References
----------
Kumar S, et al. International Myeloma Working Group consensus criteria for response and minimal
residual disease assessment in multiple myeloma. Lancet Oncol. 2016;17:e328-46 (response order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: IMWG response categories, best first. The single home of this order.
RESPONSE_CATEGORIES: tuple[str, ...] = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
RESPONSE_LABELS = {
    "sCR": "sCR (stringent complete response)", "CR": "CR (complete response)",
    "VGPR": "VGPR (very good partial response)", "PR": "PR (partial response)",
    "MR": "MR (minimal response)", "SD": "SD (stable disease)", "PD": "PD (progressive disease)",
}

KINDS = ("disposition", "baseline", "efficacy", "survival", "safety", "other")
CUSTOM_PREFIX = "x_"


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint name: its label, kind, and the categories it allows (None: free text)."""

    label: str
    kind: str
    categories: dict[str, str] | None = None  # code -> label; None means any printed category
    units: tuple[str, ...] = ()  # allowed units where it matters (times); empty: any
    description: str = ""
    extra: dict = field(default_factory=dict)
    # The statistics a record of this endpoint may use: a median PFS is `pfs`, never the count
    # endpoint `progression_free`; validation rejects a mismatch and names the endpoint to use.
    statistics: tuple[str, ...] = ()
    # The section of the study page where its records are shown (`HOMES`); every endpoint has one.
    home: str = ""
    # Other names a curator may type for it; "did you mean" searches them too.
    aliases: tuple[str, ...] = ()


_TIME = ("days", "weeks", "months", "years")
_SEX = {"F": "female", "M": "male"}
_STAGES = {"I": "I", "II": "II", "III": "III"}
_PCL = {"pPCL": "primary PCL", "sPCL": "secondary PCL"}
_PARAPROTEIN = {
    "IgG": "IgG", "IgA": "IgA", "IgD": "IgD", "IgM": "IgM", "IgE": "IgE",
    "IgG-κ": "IgG κ", "IgG-λ": "IgG λ", "IgA-κ": "IgA κ", "IgA-λ": "IgA λ", "IgD-κ": "IgD κ",
    "IgD-λ": "IgD λ", "light_chain": "light chain only", "light_chain_κ": "κ light chain only",
    "light_chain_λ": "λ light chain only", "κ": "κ light chain only", "λ": "λ light chain only",
    "non_secretory": "non-secretory", "biclonal": "biclonal",
}


def paraprotein_code(text: object) -> str | None:
    """The paraprotein code of `_PARAPROTEIN` a printed cell or category means, or None.

    Papers spell one isotype many ways ("IgG-κ", "IgG kappa", "Light chain κ", "λ Light chain",
    "Nonsecretory"); the code is the heavy chain ("IgG") with its light chain ("IgG-κ"), a light
    chain alone ("light_chain_κ"), "light_chain", "non_secretory" or "biclonal".
    """
    if text is None or (isinstance(text, float) and text != text):
        return None
    t = str(text).strip().lower().replace("kappa", "κ").replace("lambda", "λ")
    if not t:
        return None
    if "secret" in t:
        return "non_secretory"
    if "biclonal" in t:
        return "biclonal"
    light = "κ" if "κ" in t else ("λ" if "λ" in t else "")
    heavy = re.search(r"ig\s*-?\s*([gadme])(?![a-z])", t)
    if heavy:
        return f"Ig{heavy.group(1).upper()}" + (f"-{light}" if light else "")
    if "light" in t or t in ("κ", "λ"):
        return "light_chain" + (f"_{light}" if light else "")
    return None


def paraprotein_within(cell: object, category: str) -> bool | None:
    """Whether a per-patient paraprotein cell falls in a printed category ("IgG-κ" is in "IgG",
    "Light chain λ" in "light_chain"); None when either is not a paraprotein term."""
    cell_code, cat_code = paraprotein_code(cell), paraprotein_code(category)
    if cell_code is None or cat_code is None:
        return None
    return cell_code == cat_code or cell_code.startswith((cat_code + "-", cat_code + "_"))


#: The statistics of a count of patients, of a time, of a time to event, of a characteristic.
COUNT_STATISTICS = ("count", "proportion")
TIME_STATISTICS = ("median", "mean", "maximum")
SURVIVAL_STATISTICS = ("median", "mean", "maximum", "landmark_rate", "hazard_ratio")
BASELINE_STATISTICS = ("count", "proportion", "median", "mean", "maximum")
ANY_STATISTIC = ("count", "proportion", "median", "mean", "maximum", "landmark_rate", "hazard_ratio")

#: The sections of a study page that records are shown in, by endpoint (`EndpointSpec.home`), with
#: what each holds. One rule (`record_home`) puts every record in exactly one of them.
HOMES = {
    "population": "the study's populations and their sizes (page header)",
    "follow_up": "median follow-up (page header)",
    "baseline": "baseline characteristics",
    "efficacy": "response and MRD",
    "durability": "relapses, progression, remission and survival counts, the longest remission",
    "survival": "progression-free and overall survival: medians, landmarks, hazard ratios",
    "treatment": "dose, treatment status, re-treatment and subsequent therapy",
    "safety": "CRS, ICANS, cytopenias, infections and other adverse events",
    "neurological": "neurological events the paper names without an ICANS or CTCAE grade",
    "haematological_immune": "haematotoxicity (ICAHT), B-cell aplasia, hypogammaglobulinaemia, recovery",
    "deaths": "deaths, their causes and non-relapse mortality",
    "pharmacokinetics": "CAR-T expansion and persistence",
    "prognostic": "factors tested for association with an outcome",
    "other": "other numbers the paper reports (custom x_ endpoints)",
}

_DEFAULT_HOME = {"disposition": "treatment", "baseline": "baseline", "efficacy": "efficacy", "survival": "survival",
                 "safety": "safety", "other": "other"}


def _e(label: str, kind: str, categories: dict[str, str] | None = None, units: tuple[str, ...] = (),
       description: str = "", *, home: str = "", statistics: tuple[str, ...] = (),
       aliases: tuple[str, ...] = ()) -> EndpointSpec:
    if not statistics:
        if kind == "survival":
            statistics = SURVIVAL_STATISTICS
        elif units:
            statistics = TIME_STATISTICS
        elif kind == "baseline":
            statistics = BASELINE_STATISTICS
        elif kind == "other":
            statistics = ANY_STATISTIC
        else:
            statistics = COUNT_STATISTICS
    return EndpointSpec(label, kind, categories, units, description, statistics=statistics,
                        home=home or _DEFAULT_HOME[kind], aliases=aliases)


ENDPOINTS: dict[str, EndpointSpec] = {
    # disposition: who was enrolled, treated, followed
    "patients": _e("Patients", "disposition", home="population", statistics=("count",),
                   aliases=("n", "number_of_patients", "enrolled", "infused", "sample_size")),
    "follow_up": _e("Median follow-up", "disposition", units=_TIME, home="follow_up",
                    aliases=("median_follow_up", "followup")),
    "in_induction": _e("Still in induction", "disposition"),
    "in_consolidation": _e("In consolidation", "disposition"),
    "in_maintenance": _e("In maintenance", "disposition"),
    "second_infusion": _e("Second CAR-T infusion", "disposition", aliases=("reinfusion", "retreatment")),
    "retreatment_response": _e("Response to a second CAR-T infusion", "disposition",
                               description="patients who responded (partial response or better unless the note "
                                           "says otherwise) to a second CAR-T infusion; population: those re-treated",
                               aliases=("second_infusion_response", "response_to_second_infusion")),
    "consolidation": _e("Consolidation after CAR-T", "disposition",
                        description="patients given consolidation therapy (e.g. allo-HSCT) after CAR-T"),
    "allo_hsct_after": _e("Allogeneic transplant after CAR-T", "disposition", aliases=("allo_hsct", "allotransplant")),
    "dose": _e("CAR-T cell dose", "disposition", statistics=BASELINE_STATISTICS),
    "missing_car_t_phenotype": _e("Infused CAR-T phenotype not available", "disposition"),
    "manufacturing_failure": _e("Manufacturing failure", "disposition",
                                description="patients whose CAR-T product could not be made or released",
                                aliases=("manufacturing_failures", "product_failure")),
    "not_infused": _e("Enrolled but not infused", "disposition", aliases=("dropout", "not_treated")),
    "bridging": _e("Bridging therapy", "disposition", aliases=("bridging_therapy",)),
    "vein_to_vein": _e("Time from leukapheresis to infusion", "disposition", units=_TIME,
                       aliases=("vein_to_vein_time", "leukapheresis_to_infusion", "manufacturing_time")),
    # baseline characteristics
    "age": _e("Age", "baseline", units=("years",), statistics=BASELINE_STATISTICS),
    "sex": _e("Sex", "baseline", _SEX),
    "pcl_type": _e("PCL type", "baseline", _PCL),
    "paraprotein": _e("Paraprotein", "baseline", _PARAPROTEIN),
    "r_iss_stage": _e("R-ISS stage", "baseline", _STAGES),
    "iss_stage": _e("ISS stage", "baseline", _STAGES),
    "ds_stage": _e("Durie-Salmon stage", "baseline"),
    "karnofsky": _e("Karnofsky performance score", "baseline"),
    "ecog": _e("ECOG performance status", "baseline"),
    "high_tumor_burden": _e("High tumour burden", "baseline"),
    "soft_tissue": _e("Soft-tissue involvement", "baseline"),
    "complex_karyotype": _e("Complex karyotype", "baseline"),
    "high_risk_cytogenetics": _e("High-risk cytogenetics", "baseline"),
    "cytogenetics": _e("Cytogenetic abnormality", "baseline"),
    "renal_impairment": _e("Renal impairment", "baseline"),
    "prior_lines": _e("Prior lines of therapy", "baseline"),
    "prior_asct": _e("Prior ASCT", "baseline"),
    "prior_allo_hsct": _e("Prior allo-HSCT", "baseline"),
    "prior_anti_cd38": _e("Prior anti-CD38 antibody", "baseline"),
    "prior_bortezomib": _e("Prior bortezomib", "baseline"),
    "prior_carfilzomib": _e("Prior carfilzomib", "baseline"),
    "prior_ixazomib": _e("Prior ixazomib", "baseline"),
    "prior_lenalidomide": _e("Prior lenalidomide", "baseline"),
    "prior_pomalidomide": _e("Prior pomalidomide", "baseline"),
    "prior_selinexor": _e("Prior selinexor", "baseline"),
    "prior_venetoclax": _e("Prior venetoclax", "baseline"),
    "prior_bcma": _e("Prior BCMA-directed therapy", "baseline"),
    "triple_class_refractory": _e("Triple-class refractory", "baseline"),
    "emd": _e("EMD (extramedullary disease)", "baseline"),
    "bcma_expression": _e("BCMA expression on myeloma cells", "baseline"),
    "beta2_microglobulin": _e("β2-microglobulin", "baseline"),
    "ldh_elevated": _e("LDH elevated", "baseline"),
    "bone_marrow_plasma_cells": _e("Bone marrow plasma cells", "baseline"),
    "circulating_plasma_cells": _e("Circulating plasma cells", "baseline"),
    # efficacy
    "orr": _e("ORR", "efficacy", description="overall response: partial response or better (IMWG)",
              aliases=("overall_response", "overall_response_rate", "response_rate")),
    "cr_or_better": _e("CR or better", "efficacy", aliases=("complete_response", "cr_rate", "crr")),
    "vgpr_or_better": _e("VGPR or better", "efficacy"),
    "pr_or_better": _e("PR or better", "efficacy"),
    "mrd_negative": _e("MRD negativity", "efficacy", aliases=("mrd_negativity", "mrd")),
    "best_response": _e("Best response", "efficacy", dict(RESPONSE_LABELS)),
    "early_response": _e("Response at first assessment", "efficacy", dict(RESPONSE_LABELS)),
    "time_to_response": _e("Time to response", "efficacy", units=_TIME),
    "time_to_best_response": _e("Time to best response", "efficacy", units=_TIME),
    "time_to_mrd_negativity": _e("Time to MRD negativity", "efficacy", units=_TIME),
    # durability: what happened to the responses (counts; times to event are under survival)
    "progression": _e("Progression or relapse", "efficacy", home="durability",
                      aliases=("progressed", "relapsed", "progressions")),
    "relapse": _e("Relapse", "efficacy", home="durability", aliases=("relapses", "recurrence")),
    "progression_free": _e("No progression recorded", "efficacy", home="durability",
                           description="patients in whom no progression or relapse was recorded, whether alive or "
                                       "dead ('remained progression-free'); not the same as alive without progression",
                           aliases=("remained_progression_free", "without_progression")),
    "relapse_free": _e("No relapse recorded", "efficacy", home="durability",
                       description="patients in whom no relapse was recorded, whether alive or dead ('remained "
                                   "relapse-free'); not the same as alive without relapse",
                       aliases=("remained_relapse_free", "without_relapse")),
    "alive_without_progression": _e("Alive without progression", "efficacy", home="durability",
                                    description="alive at the time stated, with no progression before it"),
    "alive_without_relapse": _e("Alive without relapse", "efficacy", home="durability",
                                description="alive at the time stated, with no relapse before it"),
    "ongoing_response": _e("Ongoing response", "efficacy", home="durability", aliases=("in_remission",)),
    "alive": _e("Alive", "efficacy", home="durability", aliases=("alive_at_cutoff", "survivors")),
    "long_term_survival_scr": _e("Long-term survival in sCR", "efficacy", home="durability"),
    "survival_beyond_600_days": _e("Survival beyond 600 days", "efficacy", home="durability"),
    # pharmacokinetics
    "car_t_cmax": _e("Peak CAR-T expansion (Cmax)", "other", home="pharmacokinetics", statistics=BASELINE_STATISTICS,
                     aliases=("cmax", "peak_expansion")),
    "car_t_tmax": _e("Time to peak CAR-T expansion (Tmax)", "other", units=_TIME, home="pharmacokinetics",
                     statistics=TIME_STATISTICS, aliases=("tmax", "time_to_peak")),
    "car_t_auc": _e("CAR-T exposure (AUC)", "other", home="pharmacokinetics", statistics=BASELINE_STATISTICS,
                    aliases=("auc", "auc0_28")),
    "car_t_persistence": _e("CAR-T persistence", "other", home="pharmacokinetics", statistics=ANY_STATISTIC,
                            aliases=("persistence",)),
    "risk_factor": _e("Risk factor tested", "other", home="prognostic",
                      description="a factor the paper tested for association with an outcome; the "
                                  "category names the factor, the note the outcome and the finding",
                      aliases=("prognostic_factor", "predictor")),
    # survival (time to event)
    "pfs": _e("PFS", "survival", units=_TIME, aliases=("progression_free_survival", "median_pfs")),
    "os": _e("OS", "survival", units=_TIME, aliases=("overall_survival", "median_os", "survival")),
    "dor": _e("Duration of response", "survival", units=_TIME,
              aliases=("duration_of_response", "response_duration", "remission_duration")),
    "efs": _e("Event-free survival", "survival", units=_TIME, aliases=("event_free_survival",)),
    "cir": _e("Cumulative incidence of relapse", "survival", units=_TIME),
    "time_to_relapse": _e("Time to relapse", "survival", units=_TIME),
    # safety
    "crs": _e("CRS", "safety", aliases=("cytokine_release_syndrome",)),
    "crs_onset": _e("Time to CRS onset", "safety", units=_TIME),
    "crs_duration": _e("CRS duration", "safety", units=_TIME),
    "icans": _e("ICANS", "safety", aliases=("immune_effector_cell_associated_neurotoxicity",)),
    "neurotoxicity": _e("Neurotoxicity (not graded as ICANS)", "safety",
                        description="neurotoxicity graded by CTCAE or unspecified; never pooled with ICANS",
                        aliases=("neurologic_toxicity", "neurological_toxicity")),
    "neurological_event": _e("Neurological event (unclassified)", "safety", home="neurological",
                             description="a neurological event the paper names (category: its words) without "
                                         "calling it ICANS or neurotoxicity; counted in no neurotoxicity outcome",
                             aliases=("neurologic_event", "neurologic_ae", "hallucinations")),
    "delayed_neurotoxicity": _e("Delayed neurotoxicity", "safety", home="neurological",
                                description="neurotoxicity after ICANS has resolved (e.g. cranial nerve palsy)"),
    "movement_disorder": _e("Movement and neurocognitive toxicity (parkinsonism)", "safety", home="neurological",
                            aliases=("parkinsonism", "mnt")),
    "neutropenia": _e("Neutropenia", "safety"),
    "thrombocytopenia": _e("Thrombocytopenia", "safety"),
    "anemia": _e("Anaemia", "safety"),
    "leukopenia": _e("Leukopenia", "safety"),
    "lymphopenia": _e("Lymphopenia", "safety"),
    "cytopenia": _e("Cytopenia", "safety"),
    "hematologic_ae": _e("Haematological adverse events", "safety"),
    "prolonged_cytopenia": _e("Prolonged cytopenia", "safety", home="haematological_immune"),
    "cytopenia_resolved": _e("Cytopenia resolved", "safety", home="haematological_immune",
                             description="patients whose cytopenia resolved (timepoint: by when)"),
    "cytopenia_resolved_by_day_31": _e("Cytopenia resolved by day 31", "safety", home="haematological_immune"),
    "icaht": _e("ICAHT", "safety", home="haematological_immune",
                description="immune effector cell-associated haematotoxicity, graded on its own scale (EHA/EBMT 2023)"),
    "infection": _e("Infection", "safety"),
    "b_cell_aplasia": _e("B-cell aplasia", "safety", home="haematological_immune"),
    "b_cell_recovery": _e("B-cell recovery", "safety", home="haematological_immune",
                          description="patients with B-cell counts back in the normal range (timepoint: when)"),
    "hypogammaglobulinemia": _e("Hypogammaglobulinaemia", "safety", home="haematological_immune"),
    "ivig": _e("IVIG replacement", "safety", home="haematological_immune"),
    "fever": _e("Fever", "safety"),
    "hypotension": _e("Hypotension", "safety"),
    "hypoxaemia": _e("Hypoxaemia", "safety"),
    "nausea": _e("Nausea", "safety"),
    "vomiting": _e("Vomiting", "safety"),
    "diarrhea": _e("Diarrhoea", "safety"),
    "ast_increased": _e("AST increased", "safety"),
    "alt_increased": _e("ALT increased", "safety"),
    "crp_elevated": _e("CRP elevated", "safety"),
    "il6_elevated": _e("IL-6 elevated", "safety"),
    "il10_elevated": _e("IL-10 elevated", "safety"),
    "tnf_alpha_elevated": _e("TNF-α elevated", "safety"),
    "ifn_gamma_elevated": _e("IFN-γ elevated", "safety"),
    "ferritin_elevated": _e("Ferritin elevated", "safety"),
    "hlh": _e("HLH-like syndrome", "safety"),
    "tocilizumab": _e("Tocilizumab given", "safety"),
    "corticosteroids": _e("Corticosteroids given", "safety"),
    "second_malignancy": _e("Second primary malignancy", "safety",
                            description="second cancers after CAR-T, including T-cell lymphoma",
                            aliases=("secondary_malignancy", "second_cancer", "secondary_neoplasm", "spm")),
    "death": _e("Deaths", "safety", home="deaths",
                description="category: the cause as printed; relapse_related says whether it was relapse- or "
                            "progression-related", aliases=("deaths", "died", "mortality")),
    "non_relapse_mortality": _e("Non-relapse mortality", "safety", home="deaths", aliases=("nrm",)),
}

# --- the other controlled fields ----------------------------------------------------------

#: What a population is, so that the analysis plan's denominator rule can choose everyone enrolled
#: (response, survival) or everyone infused (toxicity), and evaluable-only as a sensitivity analysis.
POPULATION_KINDS = {
    "enrolled": "all enrolled patients (some may not have been infused)",
    "infused": "all patients who received the CAR-T infusion",
    "treated": "all treated patients",
    "evaluable": "patients evaluable for the outcome",
    "responders": "patients who responded",
    "subgroup": "a subgroup of the study's patients",
    "other": "another group of patients",
}

#: How a value that is not printed as a number in its quote was obtained from it; shown to
#: readers in these words.
DERIVATIONS = {
    "all_of_population": "printed as 'all patients' (or similar); the value is the population's size or 100%",
    "none_of_population": "printed as 'no cases' (or similar); the value is 0",
    "implied_by_grades": "implied by the printed grades (for example 'all grade 1–2' means none of grade ≥3)",
    "percent_of_n": "a count computed from a printed percentage of the stated number of patients",
    "sum_of_printed": "the sum of printed counts quoted together",
    "counted_from_table": "counted from a printed per-patient table or figure",
    "counted_from_statements": "counted from the patients that several statements account for (the note says which); "
                               "where some are not accounted for, the bound gives both ends",
    "course_of_every_patient": "every patient's course is accounted for by the statements quoted (for example all "
                               "who did not reach complete response relapsed, and all in complete response stayed "
                               "relapse-free), so the count follows; the note says how",
}

#: A printed value that bounds an outcome rather than measuring it.
BOUNDS = {"at_least": "at least", "at_most": "at most"}

DOCUMENT_TYPES = {
    "full_article": "full article",
    "abstract": "conference or journal abstract",
    "summary": "summary page (abstract and key findings; full text not available)",
    "registry_record": "trial registry record",
    "fact_sheet": "fact sheet",
}

#: The two meanings of a missing study fact, kept apart.
NOT_REPORTED = "not reported"  # the paper does not report it
NOT_IN_SOURCE = "not in source"  # the source we have (an abstract or summary) does not contain it
MISSING = {
    NOT_REPORTED: "not reported by the study",
    NOT_IN_SOURCE: "not in the source available to us (an abstract or summary of a fuller report)",
}

MRD_METHODS = {
    "NGF": "next-generation flow cytometry (EuroFlow NGF)",
    "flow": "multiparameter flow cytometry",
    "NGS": "next-generation sequencing (clonoSEQ or similar)",
    "ASO-qPCR": "allele-specific oligonucleotide PCR",
    "unspecified": "method not stated",
}
MRD_DEFINITIONS = {
    "mrd_negative_cr": "IMWG MRD-negative complete response (MRD negativity in patients in CR or better)",
    "any_response": "MRD negativity in any response",
    "unspecified": "not stated whether MRD negativity was assessed in CR only or in any response",
}

CRS_SCALES = ("ASTCT", "Lee 2014", "CTCAE", "Penn", "MSKCC")
NEUROTOXICITY_SCALES = ("ASTCT", "CTCAE", "CARTOX", "unspecified")
ICAHT_SCALES = ("EHA/EBMT 2023",)

#: Why a source passage was deliberately left out of the data (coverage lists).
LEFT_OUT_REASONS = {
    "front_matter": "title page, authors, affiliations, journal information",
    "background": "background or introduction: no result of this study",
    "methods": "methods text without results (definitions used are recorded as study facts)",
    "discussion": "discussion or conclusion: interpretation, or results of other studies",
    "references": "reference list",
    "per_patient_table": "a per-patient table, recorded cell by cell in the study's table files",
    "funding": "funding, grants, word counts and correspondence",
    "repeats_data": "repeats numbers that are recorded from a table or another sentence",
    "pharmacokinetics": "pharmacokinetic detail beyond the measures recorded (curves, ranges without a summary)",
    "laboratory": "laboratory or correlative science: out of scope for this report",
    "individual_case": "one patient's course, recorded in the per-patient table",
    "out_of_scope": "out of scope for this report (the note says why)",
    "site_text": "web page text, not part of the paper",
}

DISEASES = {"primary_pcl": "primary PCL", "secondary_pcl": "secondary PCL",
            "unspecified_pcl": "PCL (primary or secondary not stated)", "mm": "multiple myeloma"}

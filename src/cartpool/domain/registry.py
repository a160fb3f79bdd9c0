"""The outcome registry: every outcome the reports show, defined once.

The study pages (efficacy and safety tables, study at a glance), the index, the pooled analysis,
the summary of findings and the generated methods text all loop over `OUTCOMES`. Adding an
outcome means adding one `OutcomeSpec` here (and its tests); see docs/architecture.md.

An outcome is a count of patients with an event out of a population. Each spec says
- what it is called (`label`, `short`), in which section it belongs and which printed records
  report it (`endpoint`, `grade` band, only records without a timepoint: "grade >=3 at 1 month"
  is a different outcome from "grade >=3 ever");
- how to count it from a per-patient table (`per_patient`: a derived flag column, a grade column,
  or an adverse-event column of the table);
- the ordered ways to obtain the count when no per-patient table has it (`derivations`);
- the study facts that define it and decide comparability across studies (`comparability`:
  grading scale, MRD method and threshold);
- flags: in the summary of findings and the headline tables (`headline`), in a study's "at a
  glance" box and as a column of the index page (`at_a_glance`, a few headline outcomes, for
  width), pooled (`pooled`), and extra sensitivity analyses (`sensitivity`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Ways to obtain a count, in the order an outcome may list them.
PER_PATIENT = "per_patient"  # computed from the per-patient table
PRINTED = "printed"  # a printed count, or a count of a printed percentage of a stated N
RESPONSE_CATEGORIES = "response_categories"  # sum of printed best-response categories
GRADE_BANDS = "grade_bands"  # sum of printed grade bands (1-2 plus >=3)
BOUND = "bound"  # a printed value that bounds the outcome (sCR 7/8: CR or better >= 7/8)
DEATH_CAUSES = "death_causes"  # deaths whose printed cause is not relapse or progression

#: Sensitivity analyses an outcome may ask for, beyond those every outcome gets.
SAME_SCALE = "same_scale"  # restricted to studies graded on the most common scale


@dataclass(frozen=True)
class PerPatientRule:
    """How to count an outcome from a per-patient table.

    kind: ``"flag"`` (a derived True/False column, see `cartpool.domain.derive`), ``"grade"``
    (a derived grade column with the spec's grade band) or ``"adverse_event"`` (a column of the
    table's adverse events whose name matches one of `names`, graded or yes/no).
    """

    kind: str
    column: str = ""
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutcomeSpec:
    key: str
    label: str
    short: str
    section: str  # efficacy | safety
    endpoint: str
    grade: str | None = None  # None (not graded), "any", ">=3"
    per_patient: PerPatientRule | None = None
    derivations: tuple[str, ...] = (PER_PATIENT, PRINTED)
    comparability: tuple[str, ...] = ()
    definition: str = ""  # one plain sentence for the methods text
    headline: bool = False
    at_a_glance: bool = False
    pooled: bool = True
    sensitivity: tuple[str, ...] = ()


def _ae(*names: str) -> PerPatientRule:
    return PerPatientRule("adverse_event", names=names)


OUTCOMES: tuple[OutcomeSpec, ...] = (
    OutcomeSpec("orr", "Overall response (PR or better)", "ORR", "efficacy", "orr",
                per_patient=PerPatientRule("flag", "responder"),
                derivations=(PER_PATIENT, PRINTED, RESPONSE_CATEGORIES, BOUND),
                definition="partial response or better by IMWG criteria, best response",
                headline=True, at_a_glance=True),
    OutcomeSpec("cr_or_better", "Complete response or better", "CR or better", "efficacy", "cr_or_better",
                per_patient=PerPatientRule("flag", "cr_or_better"),
                derivations=(PER_PATIENT, PRINTED, RESPONSE_CATEGORIES, BOUND),
                definition="complete or stringent complete response by IMWG criteria, best response",
                headline=True, at_a_glance=True),
    OutcomeSpec("vgpr_or_better", "Very good partial response or better", "VGPR or better", "efficacy",
                "vgpr_or_better", per_patient=PerPatientRule("flag", "vgpr_or_better"),
                derivations=(PER_PATIENT, PRINTED, RESPONSE_CATEGORIES, BOUND),
                definition="very good partial response or better by IMWG criteria, best response"),
    OutcomeSpec("mrd_negative", "MRD negativity", "MRD negative", "efficacy", "mrd_negative",
                per_patient=PerPatientRule("flag", "mrd_negative"),
                comparability=("mrd_assessment",),
                definition="minimal residual disease below the study's detection threshold, as each study "
                           "defines it (method and threshold differ between studies)",
                headline=True),
    OutcomeSpec("crs_any", "Cytokine release syndrome, any grade", "CRS", "safety", "crs", "any",
                per_patient=PerPatientRule("grade", "crs_grade"),
                derivations=(PER_PATIENT, PRINTED, GRADE_BANDS), comparability=("crs_grading",),
                definition="cytokine release syndrome of any grade", headline=True,
                sensitivity=(SAME_SCALE,)),
    OutcomeSpec("crs_ge3", "Cytokine release syndrome, grade ≥3", "CRS grade ≥3", "safety", "crs", ">=3",
                per_patient=PerPatientRule("grade", "crs_grade"), comparability=("crs_grading",),
                definition="cytokine release syndrome of grade 3 or higher", headline=True, at_a_glance=True,
                sensitivity=(SAME_SCALE,)),
    OutcomeSpec("icans_any", "ICANS, any grade", "ICANS", "safety", "icans", "any",
                per_patient=PerPatientRule("grade", "icans_grade"),
                derivations=(PER_PATIENT, PRINTED, GRADE_BANDS), comparability=("icans_grading",),
                definition="immune effector cell-associated neurotoxicity syndrome of any grade",
                headline=True),
    OutcomeSpec("neurotoxicity_any", "Neurotoxicity graded on another scale, any grade", "Neurotoxicity",
                "safety", "neurotoxicity", "any", comparability=("neurotoxicity_grading",),
                definition="neurotoxicity reported without ICANS grading (CTCAE or unspecified); never "
                           "pooled with ICANS"),
    OutcomeSpec("neutropenia_ge3", "Neutropenia, grade ≥3", "Neutropenia ≥3", "safety", "neutropenia", ">=3",
                per_patient=_ae("neutropenia"), comparability=("ctcae_version",),
                definition="neutropenia of grade 3 or higher at any time after infusion", headline=True),
    OutcomeSpec("thrombocytopenia_ge3", "Thrombocytopenia, grade ≥3", "Thrombocytopenia ≥3", "safety",
                "thrombocytopenia", ">=3", per_patient=_ae("thrombocytopenia"), comparability=("ctcae_version",),
                definition="thrombocytopenia of grade 3 or higher at any time after infusion", headline=True),
    OutcomeSpec("anemia_ge3", "Anaemia, grade ≥3", "Anaemia ≥3", "safety", "anemia", ">=3",
                per_patient=_ae("anemia", "anaemia"), comparability=("ctcae_version",),
                definition="anaemia of grade 3 or higher at any time after infusion", headline=True),
    OutcomeSpec("infection_any", "Infection, any grade", "Infection", "safety", "infection", "any",
                per_patient=_ae("any infection", "infection", "infections"),
                derivations=(PER_PATIENT, PRINTED, GRADE_BANDS),
                definition="any infection after infusion"),
    OutcomeSpec("nrm", "Non-relapse mortality", "NRM", "safety", "non_relapse_mortality",
                per_patient=PerPatientRule("flag", "non_relapse_death"),
                derivations=(PER_PATIENT, PRINTED, DEATH_CAUSES, BOUND),
                definition="death without relapse or progression before it", headline=True),
)

OUTCOME_BY_KEY = {o.key: o for o in OUTCOMES}

#: Study facts that define an outcome, in plain words. A difference in one of these makes studies'
#: results less comparable (GRADE indirectness); the CTCAE version is recorded for comparability
#: but does not change what grade >=3 means for a cytopenia, so it is not listed here.
DEFINING_FACTS = {
    "crs_grading": "CRS grading scale",
    "icans_grading": "ICANS grading scale",
    "neurotoxicity_grading": "neurotoxicity grading scale",
    "mrd_assessment": "MRD method and threshold",
}


def outcome(key: str) -> OutcomeSpec:
    """The spec of one outcome; an unknown key names the known ones.

    Parameters
    ----------
    key : str
        An outcome key of `OUTCOMES` (e.g. "orr", "crs_ge3").

    Returns
    -------
    OutcomeSpec
        The outcome's label, section, endpoint, grade band, per-patient rule, derivations,
        definition and flags.

    Raises
    ------
    KeyError
        For an unknown key, listing the known ones.

    References
    ----------
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346.
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
    and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant.
    2019;25:625-38.
    National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE), version 5.0.
    2017.
    """
    try:
        return OUTCOME_BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown outcome {key!r}; known outcomes: {', '.join(OUTCOME_BY_KEY)}") from None


def at_a_glance() -> tuple[OutcomeSpec, ...]:
    """The outcomes of a study's "at a glance" box and of the index page's columns, in order.

    Returns
    -------
    tuple of OutcomeSpec
        The outcomes flagged `at_a_glance`, in the order of `OUTCOMES`.

    References
    ----------
    None: a convention of this project (the outcome registry, docs/architecture.md).
    """
    return tuple(o for o in OUTCOMES if o.at_a_glance)


@dataclass(frozen=True)
class SurvivalSpec:
    key: str
    label: str
    short: str
    endpoint: str


#: Syndromes graded on their own scale (ASTCT consensus or older ones), with the study fact that
#: names the scale: a study page shows them grade by grade, not in the table of other safety outcomes.
GRADED_SYNDROMES = {"crs": "crs_grading", "icans": "icans_grading"}

#: Time-to-event endpoints, and the landmark times (months) pooled and shown in the summary.
SURVIVAL: tuple[SurvivalSpec, ...] = (
    SurvivalSpec("pfs", "Progression-free survival", "PFS", "pfs"),
    SurvivalSpec("os", "Overall survival", "OS", "os"),
)
SURVIVAL_BY_KEY = {s.key: s for s in SURVIVAL}
LANDMARK_MONTHS = (12.0, 24.0)


@dataclass(frozen=True)
class LandmarkSpec:
    """Survival at a fixed time after infusion: an outcome of the summary of findings."""

    key: str  # "pfs_12m"
    label: str  # "Progression-free survival at 12 months"
    short: str  # "PFS at 12 months"
    endpoint: str
    months: float
    section: str = "survival"


def landmark_key(endpoint: str, months: float) -> str:
    """The outcome key of survival at a landmark: ("pfs", 12.0) -> "pfs_12m".

    Parameters
    ----------
    endpoint : str
        A survival endpoint ("pfs", "os").
    months : float
        The landmark in months; its fraction is dropped.

    Returns
    -------
    str
        ``f"{endpoint}_{int(months)}m"``.

    References
    ----------
    None: a convention of this project (the outcome registry, docs/architecture.md).
    """
    return f"{endpoint}_{int(months)}m"


LANDMARKS: tuple[LandmarkSpec, ...] = tuple(
    LandmarkSpec(landmark_key(s.endpoint, m), f"{s.label} at {int(m)} months", f"{s.short} at {int(m)} months",
                 s.endpoint, m)
    for s in SURVIVAL for m in LANDMARK_MONTHS)
LANDMARK_BY_KEY = {lm.key: lm for lm in LANDMARKS}


def outcome_label(key: str) -> str:
    """The label of any outcome of the analysis: a registered outcome or a survival landmark.

    Parameters
    ----------
    key : str
        A key of `OUTCOMES` or of `LANDMARKS` (e.g. "os_24m").

    Returns
    -------
    str
        The label a reader sees, e.g. "Overall survival at 24 months".

    Raises
    ------
    KeyError
        For an unknown key.

    References
    ----------
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346.
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome
    and neurologic toxicity associated with immune effector cells. Biol Blood Marrow Transplant.
    2019;25:625-38.
    National Cancer Institute. Common Terminology Criteria for Adverse Events (CTCAE), version 5.0.
    2017.
    """
    if key in OUTCOME_BY_KEY:
        return OUTCOME_BY_KEY[key].label
    if key in LANDMARK_BY_KEY:
        return LANDMARK_BY_KEY[key].label
    raise KeyError(f"unknown outcome {key!r}")


def outcome_section(key: str) -> str:
    """The kind of outcome ("efficacy", "safety", "survival") of any outcome of the analysis.

    Parameters
    ----------
    key : str
        A key of `OUTCOMES` or of `LANDMARKS`.

    Returns
    -------
    str
        The registered outcome's section; "survival" for a landmark.

    Raises
    ------
    KeyError
        For an unknown key.

    References
    ----------
    None: a convention of this project (the outcome registry, docs/architecture.md).
    """
    if key in OUTCOME_BY_KEY:
        return OUTCOME_BY_KEY[key].section
    if key in LANDMARK_BY_KEY:
        return "survival"
    raise KeyError(f"unknown outcome {key!r}")


def analysis_outcome_keys() -> set[str]:
    """Every outcome key the analysis plan may rank: registered outcomes and survival landmarks.

    Returns
    -------
    set of str
        The keys of `OUTCOMES` and `LANDMARKS`.

    References
    ----------
    Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines: 2. Framing the question and deciding on
    important outcomes. J Clin Epidemiol. 2011;64:395-400 (ranking outcomes by importance).
    """
    return set(OUTCOME_BY_KEY) | set(LANDMARK_BY_KEY)


#: Outcomes that are surrogates for survival (GRADE indirectness when survival is what matters).
SURROGATES = ("orr", "cr_or_better", "vgpr_or_better", "mrd_negative")

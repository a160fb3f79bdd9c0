"""Risk of bias of each study: the JBI Critical Appraisal Checklist for Case Series.

Every included study is a single-arm series (prospective or retrospective), which the JBI
checklist for case series was built for: ten questions, each answered yes / no / unclear / not
applicable. Each study folder holds ``appraisal.yaml`` with one answer per question, a reason in
plain words and, where the paper supports it, a verbatim quote with its location (checked
against the source like every other quote). An abstract or summary gets "unclear" where it is
silent, never a guess.

The checklist has no overall score of its own. The overall judgement here follows the rule
most reviews that use it state (`overall_judgement`): the share of "yes" among the applicable
questions; 70% or more is low risk of bias, 50% to 69% moderate, below 50% high.

References
----------
Munn Z, Barker TH, Moola S, Tufanaru C, Stern C, McArthur A, Stephenson M, Aromataris E.
Methodological quality of case series studies: an introduction to the JBI critical appraisal
tool. JBI Evidence Synthesis. 2020;18(10):2127-2133. doi:10.11124/JBISRIR-D-19-00099.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TOOL = "JBI Critical Appraisal Checklist for Case Series"
TOOL_REFERENCE = ("Munn Z, Barker TH, Moola S, et al. Methodological quality of case series studies: an "
                  "introduction to the JBI critical appraisal tool. JBI Evidence Synthesis. "
                  "2020;18(10):2127-2133. doi:10.11124/JBISRIR-D-19-00099")

#: The ten questions, in the checklist's order and words.
QUESTIONS: dict[str, str] = {
    "q1": "Were there clear criteria for inclusion in the case series?",
    "q2": "Was the condition measured in a standard, reliable way for all participants included in the case series?",
    "q3": "Were valid methods used for identification of the condition for all participants included in the case series?",
    "q4": "Did the case series have consecutive inclusion of participants?",
    "q5": "Did the case series have complete inclusion of participants?",
    "q6": "Was there clear reporting of the demographics of the participants in the study?",
    "q7": "Was there clear reporting of clinical information of the participants?",
    "q8": "Were the outcomes or follow-up results of cases clearly reported?",
    "q9": "Was there clear reporting of the presenting site(s)/clinic(s) demographic information?",
    "q10": "Was statistical analysis appropriate?",
}
SHORT: dict[str, str] = {
    "q1": "Inclusion criteria", "q2": "Condition measured reliably", "q3": "Valid identification",
    "q4": "Consecutive inclusion", "q5": "Complete inclusion", "q6": "Demographics reported",
    "q7": "Clinical information reported", "q8": "Outcomes and follow-up reported",
    "q9": "Site information reported", "q10": "Appropriate statistics",
}
JUDGEMENT_LABELS = {"yes": "Yes", "no": "No", "unclear": "Unclear", "not_applicable": "Not applicable"}
OVERALL_LABELS = {"low": "Low risk of bias", "moderate": "Moderate risk of bias", "high": "High risk of bias"}
LOW_AT, MODERATE_AT = 0.70, 0.50
RULE = ("Overall: the share of 'yes' answers among the applicable questions; 70% or more is low risk of "
        "bias, 50% to 69% moderate, below 50% high.")

PLACEHOLDER = "FILL IN"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppraisalItem(_Strict):
    """One answer: the judgement, why, and where the paper supports it, its words."""

    judgement: Literal["yes", "no", "unclear", "not_applicable"]
    reason: str = Field(min_length=3)
    location: str | None = None
    quote: str | None = None

    @field_validator("reason")
    @classmethod
    def _filled(cls, v: str) -> str:
        if PLACEHOLDER.lower() in v.lower():
            raise ValueError("the reason is still the template's placeholder: say in plain words why")
        return v

    @model_validator(mode="after")
    def _quote_with_location(self) -> AppraisalItem:
        if (self.quote is None) != (self.location is None):
            raise ValueError("a quote needs its location (and a location its quote)")
        return self


class Appraisal(_Strict):
    tool: Literal["jbi_case_series"]
    items: dict[str, AppraisalItem]

    @field_validator("items")
    @classmethod
    def _all_ten(cls, v: dict[str, AppraisalItem]) -> dict[str, AppraisalItem]:
        missing = [q for q in QUESTIONS if q not in v]
        extra = [q for q in v if q not in QUESTIONS]
        if extra:
            raise ValueError(f"unknown question(s) {', '.join(extra)}: the checklist has q1 to q10")
        if missing:
            raise ValueError(f"answer every question of the checklist; missing: {', '.join(missing)}")
        return {q: v[q] for q in QUESTIONS}


def overall_judgement(appraisal: Appraisal) -> str:
    """The overall risk of bias of one study: "low", "moderate" or "high".

    Parameters
    ----------
    appraisal : Appraisal
        The study's ten answers.

    Returns
    -------
    str
        "low" if at least 70% of the applicable answers are "yes", "moderate" if 50% to 69%,
        "high" otherwise (also when no question applies).

    References
    ----------
    Munn Z, et al. JBI Evidence Synthesis. 2020;18(10):2127-2133 (the checklist). The cut-offs
    are the convention of reviews using it; the checklist itself defines no score.
    """
    applicable = [i for i in appraisal.items.values() if i.judgement != "not_applicable"]
    if not applicable:
        return "high"
    share = sum(i.judgement == "yes" for i in applicable) / len(applicable)
    if share >= LOW_AT:
        return "low"
    if share >= MODERATE_AT:
        return "moderate"
    return "high"

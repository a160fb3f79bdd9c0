"""Risk of bias of each study, judged by domain: the tool of Murad et al. (2018) for case series.

Every included study is a single-arm series (prospective or retrospective). Murad et al. group the
questions a reviewer asks of a case series into four domains: selection, ascertainment, causality
and reporting. Each study folder holds ``appraisal.yaml`` with one judgement per domain (low, some
concerns, high, no information), a reason in a reader's words and, where the paper supports it, a
verbatim quote with its location (checked against the source like every other quote) or the trial
registry entry it rests on. An abstract or summary gets "no information" where it is silent, never
"high".

Where a concern touches some outcomes only (survival reported among responders only; a comparison
of survival by a treatment given after CAR-T), an outcome-specific judgement overrides the domain
for those outcomes.

There is no score. The overall judgement is the reviewer's, recorded with its reason; the analysis
proposes the worst domain judgement (`proposed_overall`), and a recorded overall judgement that
departs from the proposal needs its reason (`departure_reason`).

References
----------
Murad MH, Sultan S, Haffar S, Bazerbachi F. Methodological quality and synthesis of case series
and case reports. BMJ Evid Based Med 2018;23:60-63. doi:10.1136/bmjebm-2017-110853.
Sterne JAC, Savović J, Page MJ, et al. RoB 2: a revised tool for assessing risk of bias in
randomised trials. BMJ 2019;366:l4898 (the judgement vocabulary and the worst-domain algorithm).
McGuinness LA, Higgins JPT. Risk-of-bias VISualization (robvis). Res Synth Methods 2021;12:55-61.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .names import exactly_these

TOOL = "Murad et al. (2018) tool for case series"
TOOL_REFERENCE = ("Murad MH, Sultan S, Haffar S, Bazerbachi F. Methodological quality and synthesis of case "
                  "series and case reports. BMJ Evid Based Med 2018;23:60-63. doi:10.1136/bmjebm-2017-110853")

#: The four domains, in the tool's order, with the questions a reviewer asks in each.
DOMAINS: dict[str, str] = {
    "selection": "Selection",
    "ascertainment": "Ascertainment",
    "causality": "Causality",
    "reporting": "Reporting",
}
QUESTIONS: dict[str, str] = {
    "selection": "Do the patients represent the whole experience of the investigators, or could other "
                 "patients treated alike have been left unreported?",
    "ascertainment": "Were the treatment given and the outcomes ascertained adequately and alike for every "
                     "patient?",
    "causality": "Can the outcomes be read as following from the CAR-T cells: were other explanations "
                 "(treatments given with or after CAR-T, analyses restricted by what happened later) ruled "
                 "out, and was follow-up long enough for the outcomes to occur?",
    "reporting": "Is the series described in enough detail for others to repeat it and for clinicians to "
                 "relate it to their own patients?",
}

#: Judgements, in robvis's vocabulary, least concern first.
JUDGEMENTS = ("low", "no_information", "some_concerns", "high")
JUDGEMENT_LABELS = {"low": "Low risk of bias", "some_concerns": "Some concerns", "high": "High risk of bias",
                    "no_information": "No information"}
SHORT_LABELS = {"low": "low", "some_concerns": "some concerns", "high": "high", "no_information": "no information"}
_SEVERITY = {"low": 0, "no_information": 1, "some_concerns": 2, "high": 3}

RULE = ("Each study is judged domain by domain, with no score. The overall judgement is the reviewer's; the "
        "analysis proposes the most serious domain judgement (high, then some concerns, then no information) and "
        "a recorded overall judgement that departs from it gives its reason.")

PLACEHOLDER = "FILL IN"
Judgement = Literal["low", "some_concerns", "high", "no_information"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _filled(v: str) -> str:
    if PLACEHOLDER.lower() in v.lower():
        raise ValueError("the reason is still the template's placeholder: say in plain words why")
    return v


class DomainJudgement(_Strict):
    """One domain: the judgement, why, and what it rests on in the paper (or its registry entry)."""

    judgement: Judgement
    reason: str = Field(min_length=3)
    location: str | None = None
    quote: str | None = None
    registry: str | None = None  # a trial registry id of the study that supports the judgement

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        return _filled(v)

    @model_validator(mode="after")
    def _quote_with_location(self) -> DomainJudgement:
        if (self.quote is None) != (self.location is None):
            raise ValueError("a quote needs its location (and a location its quote)")
        return self


class OutcomeJudgement(DomainJudgement):
    """A judgement of one domain for some outcomes only; it overrides the domain for them."""

    outcomes: list[str] = Field(min_length=1)  # outcome keys (orr, pfs_12m ...) or pfs / os for all of a kind
    domain: Literal["selection", "ascertainment", "causality", "reporting"]


class OverallJudgement(_Strict):
    judgement: Judgement
    reason: str = Field(min_length=3)
    departure_reason: str | None = None  # required when it differs from the proposal

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        return _filled(v)


class Appraisal(_Strict):
    tool: Literal["murad_2018"]
    domains: dict[str, DomainJudgement]
    outcome_judgements: list[OutcomeJudgement] = []
    overall: OverallJudgement

    @field_validator("domains")
    @classmethod
    def _all_four(cls, v: dict[str, DomainJudgement]) -> dict[str, DomainJudgement]:
        return exactly_these(v, DOMAINS, "judge every domain")

    @model_validator(mode="after")
    def _departure(self) -> Appraisal:
        proposed = proposed_overall(self)
        if self.overall.judgement != proposed and not self.overall.departure_reason:
            raise ValueError(
                f"the overall judgement {SHORT_LABELS[self.overall.judgement]!r} departs from the proposal "
                f"{SHORT_LABELS[proposed]!r} (the most serious domain judgement): give overall.departure_reason, "
                "or record the proposal")
        return self


def worst(judgements) -> str:
    """The most serious of several judgements (high, then some concerns, then no information)."""
    js = list(judgements)
    return max(js, key=_SEVERITY.__getitem__) if js else "no_information"


def proposed_overall(appraisal: Appraisal) -> str:
    """The overall judgement the analysis proposes: the most serious domain judgement.

    Parameters
    ----------
    appraisal : Appraisal

    Returns
    -------
    str
        "high", "some_concerns", "no_information" or "low".

    References
    ----------
    Sterne JAC, et al. RoB 2. BMJ 2019;366:l4898 (overall risk of bias as the worst domain).
    """
    return worst(d.judgement for d in appraisal.domains.values())


def matches_outcome(names: list[str], outcome: str) -> bool:
    """Whether an outcome-specific judgement's list names `outcome` ("pfs" covers pfs_12m, pfs_24m)."""
    return any(outcome == n or outcome.startswith(n + "_") for n in names)


def domains_for(appraisal: Appraisal, outcome: str | None) -> dict[str, DomainJudgement]:
    """Each domain's judgement for one outcome: the study's, or the outcome-specific one."""
    out = dict(appraisal.domains)
    if outcome is not None:
        for oj in appraisal.outcome_judgements:
            if matches_outcome(oj.outcomes, outcome):
                out[oj.domain] = oj
    return out


def overall_for(appraisal: Appraisal, outcome: str | None = None) -> str:
    """A study's overall judgement for one outcome: the recorded overall judgement, made more serious
    where an outcome-specific domain judgement is more serious than it."""
    recorded = appraisal.overall.judgement
    if outcome is None:
        return recorded
    specific = [oj.judgement for oj in appraisal.outcome_judgements if matches_outcome(oj.outcomes, outcome)]
    return worst([recorded, *specific])

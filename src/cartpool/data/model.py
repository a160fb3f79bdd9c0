"""The study data model: what one published study reports, with the source of every value.

Three kinds of record, validated with pydantic:

* `Study` (``study.yaml``): study-level facts (design, setting, disease, CAR targets, grading
  scales ...). Every fact is either a `Sourced` value (value + location + verbatim quote) or the
  literal string ``not reported``, so that a curator must say which it is.
* `ReportedResult` (``results.yaml``): one record per number the paper prints, with its
  population, endpoint, statistic, printed value, CI, and provenance.
* Per-patient tables (CSV, as published) described by `PatientData` in ``study.yaml``; the
  derived endpoints are computed in `cartpool.data.derive`, never typed in.

Printed numbers are kept as `decimal.Decimal` so that the printed precision ("33.3" vs "33.30")
survives: the audit needs it to decide what counts as rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .names import ID_HELP, ID_PATTERN  # noqa: F401 (re-exported: load.py and others import them from here)
from .patients_model import PatientData  # noqa: F401 (re-exported)
from .sourced import NR, NotReported, Sourced, Strict, checked_code, no_placeholder  # noqa: F401 (re-exported)
from .vocabulary import HOMES, MRD_DEFINITIONS, MRD_METHODS, NOT_IN_SOURCE, NOT_REPORTED, RESPONSE_CATEGORIES  # noqa: F401 (re-exported)

DISEASES = ("primary_pcl", "secondary_pcl", "unspecified_pcl", "mm")  # unspecified_pcl: PCL, type not given
GRADE_PATTERN = r"^(any|[1-5]|[1-5]-[1-5]|>=[1-5])$"
GRADE_HELP = "any, a grade 1-5, a range like 3-4, or grade 3 or higher written as >=3"
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(text: str) -> str:
    """ "10^-5" as a reader writes it, 10⁻⁵ (plain text, so that it survives CSV and PDF text)."""
    return re.sub(r"10\^\{?(-?\d+)\}?", lambda m: "10" + m.group(1).translate(_SUPERSCRIPT), text)


class MRDAssessment(Strict):
    """How a study assessed minimal residual disease (issue 19): method, sensitivity threshold,
    and whether the reported MRD negativity is IMWG's MRD-negative CR or MRD negativity in any
    response."""

    method: Literal["NGF", "flow", "NGS", "ASO-qPCR", "unspecified"]
    sensitivity: Literal["10^-4", "10^-5", "10^-6", "not reported"] = "not reported"
    definition: Literal["mrd_negative_cr", "any_response", "unspecified"] = "unspecified"
    timepoint: str | None = None  # as printed, e.g. "by day 28"

    def __str__(self) -> str:
        thr = "" if self.sensitivity == "not reported" else f", sensitivity {_power_of_ten(self.sensitivity)}"
        when = f", {self.timepoint}" if self.timepoint else ""
        return f"{MRD_METHODS[self.method]}{thr}{when}; {MRD_DEFINITIONS[self.definition]}"


PrintedOrNR = Decimal | Literal["NR"]


def _num(x: PrintedOrNR | None, *, nr: float) -> float | None:
    """A printed value as float, with "not reached" standing for `nr` (+inf for an upper limit)."""
    if x is None:
        return None
    if x == NR:
        return nr
    return float(x)


class ConfidenceInterval(Strict):
    low: PrintedOrNR | None = None
    high: PrintedOrNR | None = None
    level: Decimal = Decimal("0.95")
    method: str | None = None  # only where the paper states it
    note: str | None = None

    @field_validator("level")
    @classmethod
    def _level_in_unit_interval(cls, v: Decimal) -> Decimal:
        if not (0 < v < 1):
            raise ValueError("the confidence level must lie between 0 and 1, for example 0.95")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> ConfidenceInterval:
        lo, hi = _num(self.low, nr=float("inf")), _num(self.high, nr=float("inf"))
        if self.low == NR and self.high not in (NR, None):
            raise ValueError("a lower limit 'not reached' needs an upper limit 'not reached' too")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"the lower limit {self.low} is above the upper limit {self.high}")
        return self


class Spread(Strict):
    """The spread printed beside a median: interquartile range or range."""

    kind: Literal["iqr", "range"]
    low: Decimal
    high: Decimal

    @model_validator(mode="after")
    def _ordered(self) -> Spread:
        if self.low > self.high:
            raise ValueError(f"the {self.kind} lower end {self.low} is above its upper end {self.high}")
        return self


class Timepoint(Strict):
    value: Decimal = Field(gt=0)
    unit: Literal["days", "weeks", "months", "years"]


class CountRange(Strict):
    """Both ends of the count a bound allows: a printed number that bounds an outcome rather than
    measuring it (sCR 7 of 8 means CR or better in 7 to 8 of 8) is kept as this range, never as a
    count. `reason` says, in a reader's words, why the count lies between the two ends."""

    low: int = Field(ge=0)
    high: int = Field(ge=0)
    reason: str = Field(min_length=3)

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.low > self.high:
            raise ValueError(f"the low end {self.low} of the bound is above its high end {self.high}")
        return self


BOUND_HELP = ("write both ends of the count the printed number allows, and why, for example "
              "bound: {low: 7, high: 8, reason: \"only sCR is printed; the eighth responder's category is not\"}")


class ReportedResult(Strict):
    """One number as the paper prints it, with its population and provenance."""

    id: str
    population: str
    endpoint: str  # a name from cartpool.data.vocabulary.ENDPOINTS, or x_... for a custom one
    category: str | None = None  # a response category, death cause, baseline level ...
    grade: str | None = None
    statistic: Literal["count", "proportion", "median", "mean", "maximum", "landmark_rate", "hazard_ratio"]
    value: PrintedOrNR
    unit: str | None = None
    numerator: int | None = Field(default=None, ge=0)
    denominator: int | None = Field(default=None, ge=0)
    timepoint: Timepoint | None = None
    ci: ConfidenceInterval | None = None
    spread: Spread | None = None
    p_value: str | None = None
    location: str = Field(min_length=1)
    quote: str = Field(min_length=3)
    note: str | None = None
    # How a value not printed as a number in its quote was obtained (vocabulary.DERIVATIONS).
    derived: Literal["all_of_population", "none_of_population", "implied_by_grades", "percent_of_n",
                     "sum_of_printed", "counted_from_table", "course_of_every_patient",
                     "counted_from_statements"] | None = None
    # The printed value bounds the endpoint rather than measuring it: sCR 87.5% (7 of 8) means CR
    # or better in 7 to 8 of 8. Both ends of the count are kept (CountRange).
    bound: CountRange | None = None
    # Deaths only: whether the death (its category is the cause) was relapse- or progression-related.
    relapse_related: bool | None = None

    @field_validator("id", "population", "endpoint")
    @classmethod
    def _codes(cls, v: str, info) -> str:
        return checked_code(v, f"the {info.field_name}")

    @field_validator("bound", mode="before")
    @classmethod
    def _both_ends(cls, v):
        if isinstance(v, str):
            raise ValueError(f"a bound is not {v!r} alone: {BOUND_HELP}")
        return v

    @field_validator("grade")
    @classmethod
    def _grade(cls, v: str | None) -> str | None:
        if v is not None and not re.match(GRADE_PATTERN, str(v)):
            raise ValueError(f"grade must be {GRADE_HELP}; found {v!r}")
        return v

    @field_validator("quote")
    @classmethod
    def _filled(cls, v: str) -> str:
        return no_placeholder(v, "the quote")

    @model_validator(mode="after")
    def _coherent(self) -> ReportedResult:
        if self.relapse_related is not None and self.endpoint != "death":
            raise ValueError("relapse_related is for death records only (endpoint: death)")
        st, v = self.statistic, self.value
        if self.endpoint == "patients" and st == "count" and v == 0:
            raise ValueError("a population of 0 patients: type the number of patients the source states")
        if v == NR and st not in ("median",):
            raise ValueError(f"only a median can be 'NR' (not reached); this is a {st}")
        if self.numerator is not None and self.denominator is not None:
            if self.numerator > self.denominator:
                raise ValueError(
                    f"the numerator {self.numerator} is above its denominator {self.denominator}"
                )
        if st == "count":
            if v == NR or v != v.to_integral_value() or v < 0:
                raise ValueError(f"a count must be a whole number of 0 or more, not {v}")
            if self.denominator is not None and v > self.denominator:
                raise ValueError(f"the count {v} is above its denominator {self.denominator}")
        if st in ("proportion", "landmark_rate"):
            if self.unit not in ("percent", "fraction"):
                raise ValueError(f"a {st} needs unit 'percent' or 'fraction', not {self.unit!r}")
            top = Decimal(100) if self.unit == "percent" else Decimal(1)
            if not (0 <= v <= top):
                what = "a percentage" if self.unit == "percent" else "a proportion"
                raise ValueError(f"{what} must lie between 0 and {top}; got {v}")
        if st == "landmark_rate" and self.timepoint is None:
            raise ValueError("a landmark rate needs its timepoint (for example 1 year)")
        if st == "hazard_ratio" and v != NR and v <= 0:
            raise ValueError(f"a hazard ratio must be positive, not {v}")
        if self.ci is not None and v != NR:
            lo = _num(self.ci.low, nr=float("inf"))
            hi = _num(self.ci.high, nr=float("inf"))
            if lo is not None and lo > float(v):
                raise ValueError(f"the CI lower limit {self.ci.low} is above the estimate {v}")
            if hi is not None and hi < float(v):
                raise ValueError(f"the CI upper limit {self.ci.high} is below the estimate {v}")
        if self.bound is not None:
            if st not in ("count", "proportion"):
                raise ValueError(f"a bound is for a count or a proportion, not a {st}")
            if self.denominator is not None and self.bound.high > self.denominator:
                raise ValueError(f"the bound's high end {self.bound.high} is above the denominator {self.denominator}")
        if self.spread is not None and v != NR and not (self.spread.low <= v <= self.spread.high):
            raise ValueError(
                f"the {self.spread.kind} {self.spread.low}-{self.spread.high} does not contain the value {v}"
            )
        return self

    @property
    def printed_count(self) -> int | None:
        """The number of patients the paper prints: a count's value, or a proportion's numerator
        (None where it prints only a percentage; `cartpool.domain.counts` derives counts from those)."""
        return int(self.value) if self.statistic == "count" else self.numerator

    def as_printed(self) -> str:
        """The value as the source printed it: "75.0% (9/12)", "290 days (95% CI 90–NR)"."""
        v = str(self.value)
        if self.statistic in ("proportion", "landmark_rate") and self.unit == "percent":
            v += "%"
        elif self.unit and self.statistic in ("median", "mean", "maximum"):
            v += f" {self.unit}"
        if self.numerator is not None and self.denominator is not None:
            v += f" ({self.numerator}/{self.denominator})"
        elif self.statistic == "count" and self.denominator is not None:
            v += f"/{self.denominator}"
        if self.spread is not None:
            v += f" ({'IQR' if self.spread.kind == 'iqr' else 'range'} {self.spread.low}–{self.spread.high})"
        if self.ci is not None:
            lo = self.ci.low if self.ci.low is not None else "—"
            hi = self.ci.high if self.ci.high is not None else "—"
            v += f" (95% CI {lo}–{hi})"
        return v

    @property
    def fraction(self) -> float | None:
        """A proportion or landmark rate on the 0-1 scale."""
        if self.statistic not in ("proportion", "landmark_rate") or self.value == NR:
            return None
        return float(self.value) / (100.0 if self.unit == "percent" else 1.0)


class RiskFactor(Strict):
    """A factor the paper tested for association with an outcome, with what it found."""

    factor: str = Field(min_length=1)  # as the paper names it, e.g. "prior ASCT"
    outcome: str = Field(min_length=1)  # e.g. "response and survival"
    finding: Literal["worse", "better", "associated", "no_association"]
    p_value: str | None = None  # as printed, e.g. "<0.001"
    location: str = Field(min_length=1)
    quote: str = Field(min_length=3)


class CoIntervention(Strict):
    """A treatment given with or after the CAR-T cells (induction, bridging, consolidation,
    maintenance, a transplant after CAR-T, a second CAR-T), with how many patients had it."""

    kind: Literal["induction", "bridging", "consolidation", "maintenance", "transplant_after_car_t",
                  "second_car_t"]
    description: str = Field(min_length=3)  # in a reader's words: "VRd-based induction, 3-4 cycles"
    patients: int | Literal["all"] | None = None  # how many had it; "all" where the protocol gave it to all
    population: str | None = None  # whom `patients` counts (a population id); default: the main population
    location: str = Field(min_length=1)
    quote: str = Field(min_length=3)


class Population(Strict):
    label: str = Field(min_length=1)
    # What the population is (vocabulary.POPULATION_KINDS): the analysis plan's denominator rule reads it
    # (everyone enrolled for response and survival, everyone infused for toxicity, never evaluable only).
    kind: Literal["enrolled", "infused", "treated", "evaluable", "responders", "subgroup", "other"]
    description: str | None = None
    # Which per-patient rows make up this population, e.g. {pcl_type: pPCL}; lets the audit
    # recompute the population's numbers from the per-patient table.
    where: dict[str, str | bool | int] | None = None


class SumCheck(Strict):
    """A relation the paper implies: these counts add up to that whole (audit "internal sums")."""

    parts: list[str] = Field(min_length=2)
    whole: str  # a result id, or "population:<id>" for a population's stated size
    label: str


class QuotedPlace(Strict):
    """Where a source says something, in its own words."""

    location: str = Field(min_length=1)
    quote: str = Field(min_length=1)


class Contradiction(Strict):
    """Two places in one source that give different values for the same thing (a count in the
    text against the table, two dates for one event). The audit shows it as a finding."""

    label: str = Field(min_length=1)  # what the two places disagree on, in a clinician's words
    first: QuotedPlace
    second: QuotedPlace
    note: str | None = None
    # The study-page section the disagreement concerns (vocabulary.HOMES: pharmacokinetics,
    # neurological ...): it is shown there as well as among the checks against the paper.
    topic: str | None = None

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, v: str | None) -> str | None:
        if v is not None and v not in HOMES:
            raise ValueError(f"topic {v!r} is not a section of the study page; use one of {', '.join(HOMES)}")
        return v


OPTIONAL_FACTS = ("neurotoxicity_grading", "icaht_grading", "mrd_assessment", "pcl_definition", "survival_origin",
                  "eligibility", "vein_to_vein", "manufacturing_failures", "published")


class Study(Strict):
    id: str
    label: str = Field(min_length=1)
    title: str = Field(min_length=1)
    # True where the source prints no title (a conference abstract): the title is ours, descriptive.
    title_descriptive: bool = False
    citation: str = Field(min_length=1)
    doi: str | None = None
    registry_ids: list[str] = []
    document_type: Literal["full_article", "abstract", "summary", "registry_record", "fact_sheet"]
    source_document: str = Field(min_length=1)
    design: Sourced[Literal["prospective", "retrospective"]] | NotReported
    phase: Sourced[str] | NotReported
    setting: Sourced[Literal["frontline", "relapsed_refractory"]]
    disease: Sourced[list[Literal["primary_pcl", "secondary_pcl", "unspecified_pcl", "mm"]]]
    targets: Sourced[list[str]]
    products: Sourced[str] | NotReported
    dose: Sourced[str] | NotReported
    lymphodepletion: Sourced[str] | NotReported
    enrolment_period: Sourced[str] | NotReported
    data_cutoff: Sourced[str] | NotReported
    crs_grading: Sourced[Literal["ASTCT", "Lee 2014", "CTCAE", "Penn", "MSKCC"]] | NotReported
    icans_grading: Sourced[Literal["ASTCT", "CARTOX"]] | NotReported
    # Neurotoxicity not graded as ICANS (endpoint neurotoxicity): CTCAE, or unspecified.
    neurotoxicity_grading: Sourced[Literal["CTCAE", "CARTOX", "unspecified"]] | NotReported = NOT_REPORTED
    # ICAHT is graded on its own scale (Rejeski et al., Blood 2023; EHA/EBMT), not CTCAE.
    icaht_grading: Sourced[Literal["EHA/EBMT 2023"]] | NotReported = NOT_REPORTED
    ctcae_version: Sourced[str] | NotReported
    mrd_assessment: Sourced[MRDAssessment] | NotReported = NOT_REPORTED
    time_unit: Literal["days", "months"]
    populations: dict[str, Population]
    patients: PatientData | None = None
    sum_checks: list[SumCheck] = []
    contradictions: list[Contradiction] = []
    # Factors the paper tested for association with an outcome (issue 16: "risk factors the paper tested").
    risk_factors: list[RiskFactor] = []
    # Treatments given with or after the CAR-T cells, which the outcomes cannot be told apart from.
    co_interventions: list[CoIntervention] = []
    # How the study defined PCL (PCL studies only): IMWG 2013 (>= 20% or > 2 x 10^9/L circulating
    # plasma cells) or the revised IMWG 2021 definition (>= 5% circulating plasma cells).
    pcl_definition: Sourced[Literal["IMWG 2013", "IMWG 2021"]] | NotReported = NOT_REPORTED
    # What clinicians look for in a CAR-T series (the study page's coverage list, issue 26).
    # Where PFS and OS are counted from.
    survival_origin: Sourced[Literal["infusion", "enrolment", "leukapheresis", "diagnosis"]] | NotReported = \
        NOT_REPORTED
    eligibility: Sourced[str] | NotReported = NOT_REPORTED  # restrictions on who could be treated
    vein_to_vein: Sourced[str] | NotReported = NOT_REPORTED  # time from leukapheresis to infusion
    manufacturing_failures: Sourced[str] | NotReported = NOT_REPORTED  # products that could not be made
    # When the source was published (first online, epub ahead of print included), as year-month-day
    # (or year-month, or year, where the source prints no more); orders the cumulative meta-analysis.
    published: Sourced[str] | NotReported = NOT_REPORTED

    @model_validator(mode="before")
    @classmethod
    def _missing_by_document(cls, data):
        """An optional fact left out means "not reported" in a full article and "not in source" in an
        abstract or summary (the fuller report may give it); a curator may still write either."""
        if isinstance(data, dict) and data.get("document_type") not in (None, "full_article"):  # as `missing`
            data = dict(data)
            for name in OPTIONAL_FACTS:
                data.setdefault(name, NOT_IN_SOURCE)
        return data

    @field_validator("source_document")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if "/" in v or "\\" in v or v.startswith("."):
            raise ValueError(f"{v!r} must be a file name, without folders")
        return no_placeholder(v, "the source document")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return checked_code(v, "the study id")

    @field_validator("label", "title", "citation")
    @classmethod
    def _filled(cls, v: str, info) -> str:
        return no_placeholder(v, f"the {info.field_name}")

    @field_validator("populations")
    @classmethod
    def _population_ids(cls, v: dict[str, Population]) -> dict[str, Population]:
        for key in v:
            if not re.match(ID_PATTERN, key):
                raise ValueError(f"population id {key!r} must be {ID_HELP}")
        if not v:
            raise ValueError("at least one population is needed (for example 'infused')")
        return v

    @model_validator(mode="after")
    def _patients_population(self) -> Study:
        if self.patients is not None and self.patients.population not in self.populations:
            raise ValueError(
                f"patients.population {self.patients.population!r} is not one of the populations "
                f"({', '.join(sorted(self.populations))})"
            )
        return self

    @property
    def disease_group(self) -> str:
        """'PCL' or 'MM': the disease subgroup used in pooled analyses."""
        return "PCL" if any(d.endswith("_pcl") for d in self.disease.value) else "MM"

    @property
    def setting_label(self) -> str:
        return {"frontline": "Frontline", "relapsed_refractory": "Relapsed/refractory"}[self.setting.value]

    @property
    def missing(self) -> str:
        """What a fact the source does not give is: "not reported" in a full article, "not in
        source" in an abstract or summary (the fuller report may give it)."""
        return NOT_REPORTED if self.document_type == "full_article" else NOT_IN_SOURCE

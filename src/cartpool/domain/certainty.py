"""GRADE certainty of evidence for one outcome in one population: the rules by which the analysis
proposes a rating for each domain, from the evidence it computes.

The certainty is about a proportion among treated patients (how many respond, live, or have a
toxicity): a prognosis-type estimate in GRADE's terms (Iorio et al. 2015), not an effect against
another treatment. Single-arm studies give no estimate of the effect of CAR-T against other
treatments. Evidence of this kind from series of treated patients starts at **high** certainty
when they are representative of the population (Iorio 2015: for prognosis, observational evidence
starts high); the reviewer may start lower and says why.

Each function below proposes one domain from plain inputs and returns a `Domain` with its
judgement, how many levels it rates down, a reason in a reader's words and the evidence it rests
on. The reviewer's judgements are data (``data/grade_judgements.yaml``, `cartpool.data.grade`);
the analysis shows the proposal beside them and says when a judgement's evidence has changed.

The rules, in words (also printed in the pooled report's methods appendix):

- Risk of bias: very serious when studies at high risk of bias for the outcome hold at least half of
  the patients; serious when studies at high risk, with some concerns or with no information hold
  at least half; otherwise not serious.
- Inconsistency: not assessable with one study. With two or more: serious when the likelihood-ratio
  test of one common rate has p < 0.10, I² is 50% or more, the studies' intervals do not overlap, or
  their estimates lie on opposite sides of a decision threshold of the plan; very serious when the
  test has p < 0.01 and the estimates lie on opposite sides of a threshold.
- Indirectness: one level for each kind of concern, up to two: the population (PCL defined
  differently or not stated; primary and secondary PCL mixed differently), treatments given with or
  after CAR-T that affect the outcome, the outcome's definition (grading scale, MRD method and
  timing), and a surrogate outcome (response and MRD stand in for survival). Serious with one or two
  kinds, very serious with three or more.
- Imprecision: judged on the 95% interval, widened over the ends of any range, or, where studies are
  not pooled, on the span of their intervals: serious when it crosses one of the plan's decision
  thresholds, very serious when it crosses two or more; without thresholds, serious when wider than
  20 percentage points and very serious when wider than 40.
- Publication bias: judged once for the body of evidence: suspected when the studies are a curated
  set rather than the result of a systematic search, when relevant studies are known but not
  included, when every study is small, or when authors are linked to a product's maker.

References
----------
Guyatt GH, Oxman AD, Vist GE, et al. GRADE: an emerging consensus on rating quality of evidence
and strength of recommendations. BMJ 2008;336:924-926.
Iorio A, Spencer FA, Falavigna M, et al. Use of GRADE for assessment of evidence about prognosis:
rating confidence in estimates of event rates in broad categories of patients. BMJ 2015;350:h870.
Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 4-8 (risk of bias, publication bias,
imprecision, inconsistency, indirectness). J Clin Epidemiol 2011;64:407-415, 1277-1316.
Murad MH, Mustafa RA, Schünemann HJ, Sultan S, Santesso N. Rating the certainty in evidence in the
absence of a single estimate of effect. Evid Based Med 2017;22:85-87.
Santesso N, Glenton C, Dahm P, et al. GRADE guidelines 26: informative statements to communicate
the findings of systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import formatting as fmt

#: Certainty levels, lowest first.
LEVELS = ("very low", "low", "moderate", "high")
#: Where evidence about rates among treated patients starts (Iorio et al. 2015).
START = "high"

NOT_SERIOUS, SERIOUS, VERY_SERIOUS = "not serious", "serious", "very serious"
NOT_ASSESSABLE = "not assessable"
RATINGS = (NOT_SERIOUS, SERIOUS, VERY_SERIOUS)
DOWNGRADE = {NOT_SERIOUS: 0, NOT_ASSESSABLE: 0, SERIOUS: 1, VERY_SERIOUS: 2}

#: The thresholds of the rules.
HETEROGENEITY_P_SERIOUS = 0.10
HETEROGENEITY_P_VERY_SERIOUS = 0.01
I2_SERIOUS = 50.0
CI_WIDTH_SERIOUS = 0.20
CI_WIDTH_VERY_SERIOUS = 0.40
SMALL_STUDY = 50

DOMAINS = ("risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias")


@dataclass(frozen=True)
class Domain:
    """One GRADE domain: its judgement, how many levels it rates down, why in plain words, and the
    evidence (plain facts) the judgement rests on."""

    name: str
    judgement: str
    downgrade: int
    reason: str
    short: str = ""  # a few words for a table cell
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Certainty:
    """The certainty of one outcome's evidence and the domain judgements behind it."""

    rating: str
    domains: tuple[Domain, ...]
    start: str = START

    @property
    def reasons(self) -> str:
        """The reasons for rating down, as one plain sentence per domain that rated down."""
        down = [d for d in self.domains if d.downgrade]
        if not down:
            return "Not rated down."
        return " ".join(f"{d.name.capitalize()} ({d.judgement}): {d.reason}" for d in down)

    @property
    def short_reasons(self) -> str:
        """The domains that rated down, in a few words each: "imprecision −2 (6 patients)"."""
        down = [d for d in self.domains if d.downgrade]
        return "; ".join(f"{d.name} −{d.downgrade}" + (f" ({d.short})" if d.short else "") for d in down) or "none"

    def judgement(self, name: str) -> str:
        return next(d.judgement for d in self.domains if d.name == name)

    def domain(self, name: str) -> Domain:
        return next(d for d in self.domains if d.name == name)


def _pct(x: float) -> str:
    return fmt.pct(x, 0)


def risk_of_bias(studies: Sequence[tuple[str, int, str | None]]) -> Domain:
    """Risk of bias across the studies of one outcome.

    Parameters
    ----------
    studies : sequence of (label, patients, judgement)
        Each study's label, its patients in the analysis, and its risk-of-bias judgement for this
        outcome ("low", "some_concerns", "high", "no_information"; None when not appraised).

    Returns
    -------
    Domain
        Very serious when studies at high risk hold at least half of the patients; serious when
        studies at high risk, with some concerns or with no information do; otherwise not serious.
        The evidence is the share of patients by judgement.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 4: rating the quality of evidence - study limitations (risk
    of bias). J Clin Epidemiol 2011;64:407-415.
    """
    total = sum(n for _, n, _ in studies) or 1
    words = {"low": "low risk", "some_concerns": "some concerns", "high": "high risk", "no_information": "no information",
             None: "not appraised"}
    share: dict[str, int] = {}
    for _, n, j in studies:
        share[words.get(j, str(j))] = share.get(words.get(j, str(j)), 0) + n
    evidence = tuple(f"{w}: {n} patients ({_pct(n / total)})" for w, n in sorted(share.items()))
    named = "; ".join(f"{label} ({words.get(j, j)})" for label, _, j in studies)
    high = share.get("high risk", 0) / total
    concern = sum(n for w, n in share.items() if w != "low risk") / total
    if high >= 0.5:
        return Domain("risk of bias", VERY_SERIOUS, 2,
                      f"studies at high risk of bias for this outcome hold {_pct(high)} of the patients ({named}).",
                      "high risk", evidence)
    if concern >= 0.5:
        return Domain("risk of bias", SERIOUS, 1,
                      f"studies with some concerns, no information or high risk hold {_pct(concern)} of the patients "
                      f"({named}).", "concerns in most patients", evidence)
    return Domain("risk of bias", NOT_SERIOUS, 0, f"most patients come from studies at low risk of bias ({named}).",
                  "", evidence)


def _sides(estimates: Sequence[tuple[float, float]], thresholds: Sequence[float]) -> bool:
    """Whether study estimates (each a low-high pair, equal for a count) lie on opposite sides of a
    threshold (ranges that straddle it count for neither side)."""
    for t in thresholds:
        below = any(hi < t for _, hi in estimates)
        above = any(lo > t for lo, _ in estimates)
        if below and above:
            return True
    return False


def inconsistency(study_estimates: Sequence[tuple[float, float]], study_cis: Sequence[tuple[float, float]], *,
                  lrt_p: float | None = None, i2: float | None = None, thresholds: Sequence[float] = ()) -> Domain:
    """Inconsistency between the studies of one outcome.

    Parameters
    ----------
    study_estimates : sequence of (low, high)
        Each study's proportion (both ends of a range; equal for a count).
    study_cis : sequence of (low, high)
        Each study's 95% interval (widened over a range).
    lrt_p : float, optional
        p-value of the likelihood-ratio test of one common rate.
    i2 : float, optional
        I² in percent (uninformative with two studies; shown, not relied on alone).
    thresholds : sequence of float
        The plan's decision thresholds for the outcome.

    Returns
    -------
    Domain
        Not assessable with one study. Serious when p < 0.10, I² >= 50%, intervals do not overlap,
        or estimates lie on opposite sides of a threshold; very serious when p < 0.01 and the
        estimates lie on opposite sides of a threshold.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 7: rating the quality of evidence - inconsistency. J Clin
    Epidemiol 2011;64:1294-1302. Cochrane Handbook, version 6.4, sections 10.10.2 and 10.10.4.1.
    """
    k = len(study_estimates)
    if k < 2:
        return Domain("inconsistency", NOT_ASSESSABLE, 0, "one study: consistency cannot be judged.", "",
                      ("1 study",))
    evidence = [f"{k} studies, estimates " + ", ".join(
        _pct(lo) if abs(hi - lo) < 1e-12 else f"{_pct(lo)}–{_pct(hi)}" for lo, hi in study_estimates)]
    reasons = []
    if lrt_p is not None and lrt_p == lrt_p:
        evidence.append(f"likelihood-ratio test p = {lrt_p:.3f}")
        if lrt_p < HETEROGENEITY_P_SERIOUS:
            reasons.append(f"the test of one common rate gives p = {lrt_p:.3f}")
    if i2 is not None and i2 == i2:
        evidence.append(f"I² = {i2:.0f}%")
        if i2 >= I2_SERIOUS:
            reasons.append(f"I² is {i2:.0f}%")
    if max(lo for lo, _ in study_cis) > min(hi for _, hi in study_cis):
        reasons.append("the studies' confidence intervals do not overlap")
    apart = _sides(study_estimates, thresholds)
    if apart:
        reasons.append("the studies' estimates lie on opposite sides of a decision threshold")
    if lrt_p is not None and lrt_p < HETEROGENEITY_P_VERY_SERIOUS and apart:
        return Domain("inconsistency", VERY_SERIOUS, 2, "; ".join(reasons) + ".", "studies disagree",
                      tuple(evidence))
    if reasons:
        return Domain("inconsistency", SERIOUS, 1, "; ".join(reasons) + ".", reasons[0], tuple(evidence))
    return Domain("inconsistency", NOT_SERIOUS, 0, "the studies' results agree.", "", tuple(evidence))


def indirectness(concerns: dict[str, Sequence[str]]) -> Domain:
    """Indirectness of the evidence for the question.

    Parameters
    ----------
    concerns : dict
        For each kind of concern ("population", "co-interventions", "outcome definition",
        "surrogate outcome"), the concerns found, in a reader's words (empty: none).

    Returns
    -------
    Domain
        Serious with concerns of one or two kinds, very serious with three or more.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 8: rating the quality of evidence - indirectness. J Clin
    Epidemiol 2011;64:1303-1310.
    """
    found = {kind: list(items) for kind, items in concerns.items() if items}
    evidence = tuple(f"{kind}: {'; '.join(items)}" for kind, items in found.items())
    if not found:
        return Domain("indirectness", NOT_SERIOUS, 0, "the studies answer the question directly.", "", ())
    reason = " ".join(f"{kind.capitalize()}: {'; '.join(items)}." for kind, items in found.items())
    short = ", ".join(found)
    if len(found) >= 3:
        return Domain("indirectness", VERY_SERIOUS, 2, reason, short, evidence)
    return Domain("indirectness", SERIOUS, 1, reason, short, evidence)


def imprecision(ci_low: float | None, ci_high: float | None, patients: int, *, thresholds: Sequence[float] = (),
                pooled: bool = True) -> Domain:
    """Imprecision of the rate.

    Parameters
    ----------
    ci_low, ci_high : float or None
        The 95% interval on the proportion scale (widened over the ends of any range), or, where the
        studies are not pooled, the span of their intervals.
    patients : int
        Patients in the evidence.
    thresholds : sequence of float
        The plan's decision thresholds for the outcome.
    pooled : bool
        Whether the interval is a pooled one (False: the span of the studies' intervals).

    Returns
    -------
    Domain
        Serious when the interval crosses one threshold, very serious when it crosses two or more;
        without thresholds, by its width (20 and 40 percentage points). No interval: very serious.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 6: rating the quality of evidence - imprecision. J Clin
    Epidemiol 2011;64:1283-1293. Iorio A, et al. BMJ 2015;350:h870 (thresholds for event rates).
    """
    what = "95% CI" if pooled else "span of the studies' 95% CIs"
    if ci_low is None or ci_high is None or ci_low != ci_low or ci_high != ci_high:
        return Domain("imprecision", VERY_SERIOUS, 2, "no confidence interval can be estimated.", "no CI",
                      (f"{patients} patients",))
    span = f"{_pct(ci_low)} to {_pct(ci_high)}"
    evidence = (f"{patients} patients", f"{what} {span}")
    if thresholds:
        crossed = [t for t in thresholds if ci_low < t < ci_high]
        ev = evidence + (f"thresholds {', '.join(_pct(t) for t in thresholds)}",)
        if len(crossed) >= 2:
            return Domain("imprecision", VERY_SERIOUS, 2,
                          f"the {what} ({span}, {patients} patients) crosses the decision thresholds "
                          f"{' and '.join(_pct(t) for t in crossed)}.", f"{patients} patients, {span}", ev)
        if crossed:
            return Domain("imprecision", SERIOUS, 1,
                          f"the {what} ({span}, {patients} patients) crosses the decision threshold {_pct(crossed[0])}.",
                          f"{patients} patients, {span}", ev)
        return Domain("imprecision", NOT_SERIOUS, 0, f"the {what} ({span}) lies on one side of every threshold.",
                      "", ev)
    width = ci_high - ci_low
    if width > CI_WIDTH_VERY_SERIOUS:
        return Domain("imprecision", VERY_SERIOUS, 2, f"the {what} spans {span} ({patients} patients).",
                      f"{patients} patients, {span}", evidence)
    if width > CI_WIDTH_SERIOUS:
        return Domain("imprecision", SERIOUS, 1, f"the {what} spans {span} ({patients} patients).",
                      f"{patients} patients, {span}", evidence)
    return Domain("imprecision", NOT_SERIOUS, 0, f"the {what} spans {span}.", "", evidence)


def publication_bias(sizes: Sequence[int], *, systematic_search: bool, known_not_included: Sequence[str] = (),
                     industry_links: Sequence[str] = ()) -> Domain:
    """Publication (and selection) bias of the body of evidence, judged once.

    Parameters
    ----------
    sizes : sequence of int
        Each included study's number of patients.
    systematic_search : bool
        Whether the studies were found by a systematic literature search.
    known_not_included : sequence of str
        Relevant studies known but not included.
    industry_links : sequence of str
        Links between authors and a product's maker, in a reader's words.

    Returns
    -------
    Domain
        Suspected (serious, one level) when any reason applies.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 5: rating the quality of evidence - publication bias. J Clin
    Epidemiol 2011;64:1277-1282.
    """
    reasons = []
    if not systematic_search:
        reasons.append("the studies are a curated set, not the result of a systematic search")
    if known_not_included:
        reasons.append(f"{len(known_not_included)} relevant studies are known but not included "
                       f"({', '.join(known_not_included)})")
    if sizes and max(sizes) < SMALL_STUDY:
        reasons.append(f"every study has fewer than {SMALL_STUDY} patients, and small series with good results "
                       "are more likely to be published")
    if industry_links:
        reasons.append("; ".join(industry_links))
    evidence = tuple(reasons)
    if reasons:
        return Domain("publication bias", SERIOUS, 1, "; ".join(reasons) + ".", "suspected", evidence)
    return Domain("publication bias", NOT_SERIOUS, 0, "no reason to suspect it.", "", evidence)


def rate(domains: Sequence[Domain], start: str = START) -> Certainty:
    """Combine domain judgements: start level minus the levels rated down, never below very low.

    Parameters
    ----------
    domains : sequence of Domain
        The judgements of the domains (risk of bias, inconsistency, indirectness, imprecision,
        publication bias), each with the levels it rates down.
    start : str
        The level the evidence starts at (`START`, "high", for prognosis-type evidence from
        representative series; a reviewer may start lower).

    Returns
    -------
    Certainty
        The rating ("high", "moderate", "low" or "very low"), with the domains and the start.

    References
    ----------
    Balshem H, Helfand M, Schünemann HJ, et al. GRADE guidelines: 3. Rating the quality of
    evidence. J Clin Epidemiol. 2011;64:401-6.
    Schünemann H, et al., eds. GRADE Handbook, section 5. The GRADE Working Group; 2013.
    Iorio A, Spencer FA, Falavigna M, et al. Use of GRADE for assessment of evidence about
    prognosis. BMJ 2015;350:h870 (the start at high certainty).
    """
    level = max(0, LEVELS.index(start) - sum(d.downgrade for d in domains))
    return Certainty(LEVELS[level], tuple(domains), start)


def statement(rating: str, what: str, population: str, finding: str) -> str:
    """One sentence in GRADE's words (Santesso et al. 2020) for a rate among treated patients.

    Parameters
    ----------
    rating : str
        The certainty ("high", "moderate", "low", "very low").
    what : str
        The outcome as a noun phrase ("the complete response rate").
    population : str
        "relapsed/refractory PCL".
    finding : str
        The numbers ("8% and 64% in two studies of 12 and 11 patients").

    Returns
    -------
    str
        "In <population>, <what> after CAR-T is / is probably / may be <finding>." for high,
        moderate and low certainty; for very low, "the evidence is very uncertain about" it.

    Raises
    ------
    KeyError
        For a rating other than the four GRADE levels.

    References
    ----------
    ----------
    Santesso N, et al. GRADE guidelines 26: informative statements to communicate the findings of
    systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135.
    """
    if rating == "very low":
        return f"In {population}, the evidence is very uncertain about {what} after CAR-T: {finding}."
    verb = {"high": "is", "moderate": "is probably", "low": "may be"}[rating]
    return f"In {population}, {what} after CAR-T {verb} {finding}."

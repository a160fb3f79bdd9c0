"""GRADE certainty of evidence for one pooled outcome, by stated rules.

Each function below rates one GRADE domain from plain inputs and returns a `Domain` with its
judgement and one plain sentence of reason; `rate` combines them. The analysis layer
(`cartpool.analysis.appraisal`) feeds them the pooled rows; the rules stay here, in one place,
each pinned by a test (tests/test_certainty.py).

The rules, in words (also printed in the pooled report's methods appendix):

- Start: evidence from single-arm studies (case series, single-arm trials) starts at **low**
  certainty, as observational evidence does in GRADE. Nothing here rates it up: a large effect
  cannot be judged without a comparator.
- Risk of bias: serious when at least half of the patients come from studies whose overall
  risk-of-bias judgement is not "low" (or that were not appraised); very serious when all of them do.
- Inconsistency: not assessable with one study (no rating down). Serious with two or more studies
  when I² is at least 50%, when the studies' 95% confidence intervals do not overlap, or when the
  95% prediction interval is wider than 50 percentage points.
- Indirectness: serious when the studies define the outcome differently (grading scale, MRD method
  or threshold), when a study does not say how it defined it, or when a study's value enters only
  as a bound.
- Imprecision: serious when the 95% confidence interval is wider than 20 percentage points or the
  analysis has fewer than 100 patients; very serious when the interval is wider than 40 points.
- Publication bias: suspected when the studies were not found by a systematic search, or when every
  study has fewer than 50 patients.

References
----------
Guyatt GH, Oxman AD, Vist GE, et al. GRADE: an emerging consensus on rating quality of evidence
and strength of recommendations. BMJ 2008;336:924-926.
Schünemann H, Brożek J, Guyatt G, Oxman A, eds. GRADE Handbook. The GRADE Working Group; 2013.
Guyatt GH, Oxman AD, Kunz R, et al. GRADE guidelines 6-8 (imprecision, inconsistency,
indirectness). J Clin Epidemiol 2011;64:1283-1316.
Murad MH, Mustafa RA, Schünemann HJ, Sultan S, Santesso N. Rating the certainty in evidence in
the absence of a single estimate of effect. Evid Based Med 2017;22:85-87.
Iorio A, Spencer FA, Falavigna M, et al. Use of GRADE for assessment of evidence about prognosis:
rating confidence in estimates of event rates in broad categories of patients. BMJ
2015;350:h870.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Certainty levels, lowest first.
LEVELS = ("very low", "low", "moderate", "high")
#: Where single-arm evidence starts.
START = "low"

NOT_SERIOUS, SERIOUS, VERY_SERIOUS = "not serious", "serious", "very serious"
NOT_ASSESSABLE = "not assessable"
SUSPECTED, NOT_SUSPECTED = "suspected", "not suspected"

#: The thresholds of the rules (proportion scale for widths).
I2_SERIOUS = 50.0
PI_WIDTH_SERIOUS = 0.50
CI_WIDTH_SERIOUS = 0.20
CI_WIDTH_VERY_SERIOUS = 0.40
PATIENTS_SERIOUS = 100
SMALL_STUDY = 50

DOMAINS = ("risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias")


@dataclass(frozen=True)
class Domain:
    """One GRADE domain: its judgement, how many levels it rates down, and why, in plain words."""

    name: str
    judgement: str
    downgrade: int
    reason: str
    short: str = ""  # a few words for a table cell


@dataclass(frozen=True)
class Certainty:
    """The certainty of one outcome's evidence and the domain judgements behind it."""

    rating: str
    domains: tuple[Domain, ...]

    @property
    def reasons(self) -> str:
        """The reasons for rating down, as one plain sentence per domain that rated down."""
        down = [d for d in self.domains if d.downgrade]
        if not down:
            return "Single-arm evidence; not rated down."
        return " ".join(f"{d.name.capitalize()} ({d.judgement}): {d.reason}" for d in down)

    @property
    def short_reasons(self) -> str:
        """The domains that rated down, in a few words each: "imprecision −2 (6 patients)"."""
        down = [d for d in self.domains if d.downgrade]
        return "; ".join(f"{d.name} −{d.downgrade}" + (f" ({d.short})" if d.short else "") for d in down) or "none"

    def judgement(self, name: str) -> str:
        return next(d.judgement for d in self.domains if d.name == name)


def _pp(x: float) -> str:
    return f"{100 * x:.0f}"


def _rob_short(concern) -> str:
    kinds = sorted({j or "not appraised" for _, _, j in concern})
    return ", ".join(kinds)


def risk_of_bias(studies: Sequence[tuple[str, int, str | None]]) -> Domain:
    """Risk of bias across the studies of an analysis.

    Parameters
    ----------
    studies : sequence of (label, patients, overall judgement or None)
        Each study's label, its number of patients in the analysis, and its overall risk-of-bias
        judgement ("low", "moderate", "high", "unclear"; None when not appraised).

    Returns
    -------
    Domain
        Serious when studies at other than low risk hold at least half of the patients; very
        serious when they hold all of them.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 4: rating the quality of evidence - study limitations
    (risk of bias). J Clin Epidemiol 2011;64:407-415.
    """
    total = sum(n for _, n, _ in studies)
    concern = [(label, n, j) for label, n, j in studies if j != "low"]
    share = sum(n for _, n, _ in concern) / total if total else 0.0
    if not concern:
        return Domain("risk of bias", NOT_SERIOUS, 0, "every study was judged at low risk of bias.")
    named = ", ".join(f"{label} ({j or 'not appraised'})" for label, _, j in concern)
    if share >= 1.0:
        return Domain("risk of bias", VERY_SERIOUS if len(studies) > 1 else SERIOUS,
                      2 if len(studies) > 1 else 1,
                      f"all patients come from studies with concerns: {named}.", _rob_short(concern))
    if share >= 0.5:
        return Domain("risk of bias", SERIOUS, 1,
                      f"{_pp(share)}% of patients come from studies with concerns: {named}.", _rob_short(concern))
    return Domain("risk of bias", NOT_SERIOUS, 0,
                  f"studies with concerns ({named}) hold {_pp(share)}% of patients.")


def inconsistency(study_cis: Sequence[tuple[float, float]], *, i2: float | None = None,
                  pi: tuple[float, float] | None = None) -> Domain:
    """Inconsistency (heterogeneity) between the studies of an analysis.

    Parameters
    ----------
    study_cis : sequence of (low, high)
        Each study's 95% confidence interval on the proportion scale.
    i2 : float, optional
        I² in percent, where the model estimated it.
    pi : (low, high), optional
        The 95% prediction interval on the proportion scale, where one was estimated.

    Returns
    -------
    Domain
        Not assessable with one study; serious when I² >= 50%, the intervals do not overlap, or
        the prediction interval is wider than 50 percentage points.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 7: rating the quality of evidence - inconsistency. J Clin
    Epidemiol 2011;64:1294-1302.
    """
    if len(study_cis) < 2:
        return Domain("inconsistency", NOT_ASSESSABLE, 0, "one study: consistency cannot be judged.")
    reasons = []
    if i2 is not None and i2 == i2 and i2 >= I2_SERIOUS:
        reasons.append(f"I² is {i2:.0f}%")
    if max(lo for lo, _ in study_cis) > min(hi for _, hi in study_cis):
        reasons.append("the studies' confidence intervals do not overlap")
    if pi is not None and pi[1] - pi[0] > PI_WIDTH_SERIOUS:
        reasons.append(f"the prediction interval spans {_pp(pi[1] - pi[0])} percentage points")
    if reasons:
        return Domain("inconsistency", SERIOUS, 1, "; ".join(reasons) + ".", reasons[0])
    return Domain("inconsistency", NOT_SERIOUS, 0, "the studies' results overlap.")


def indirectness(definitions: dict[str, Sequence[str]], *, bounded: Sequence[str] = ()) -> Domain:
    """Indirectness of the outcome's definition across studies.

    Parameters
    ----------
    definitions : dict
        For each defining fact (for example "CRS grading scale"), the value each study reports,
        "not reported" where it does not say.
    bounded : sequence of str
        Labels of studies whose value enters only as a bound ("at least").

    Returns
    -------
    Domain
        Serious when definitions differ, are not reported, or a value is only a bound.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 8: rating the quality of evidence - indirectness. J Clin
    Epidemiol 2011;64:1303-1310.
    """
    reasons = []
    for fact, values in definitions.items():
        known = sorted({v for v in values if v != "not reported"})
        if len(known) > 1:
            reasons.append(f"{fact} differs between studies ({', '.join(known)})")
        if "not reported" in values:
            reasons.append(f"{fact} not reported by " + ("a study" if len(values) > 1 else "the study"))
    if bounded:
        reasons.append(f"{', '.join(bounded)} reported only a bound for it")
    short = "; ".join(["definitions differ"] * any("differs" in r for r in reasons)
                      + ["definition not reported"] * any("not reported" in r for r in reasons)
                      + ["a bound, not a count"] * bool(bounded))
    if reasons:
        return Domain("indirectness", SERIOUS, 1, "; ".join(reasons) + ".", short)
    return Domain("indirectness", NOT_SERIOUS, 0, "the outcome is defined alike in every study.")


def imprecision(ci_low: float | None, ci_high: float | None, patients: int) -> Domain:
    """Imprecision of a pooled proportion.

    Parameters
    ----------
    ci_low, ci_high : float or None
        The 95% confidence interval on the proportion scale (None: not estimable).
    patients : int
        Patients in the analysis.

    Returns
    -------
    Domain
        Very serious when the interval is wider than 40 percentage points or cannot be estimated;
        serious when wider than 20 points or with fewer than 100 patients.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 6: rating the quality of evidence - imprecision. J Clin
    Epidemiol 2011;64:1283-1293.
    """
    if ci_low is None or ci_high is None or ci_low != ci_low or ci_high != ci_high:
        return Domain("imprecision", VERY_SERIOUS, 2, "no confidence interval can be estimated.", "no CI")
    width = ci_high - ci_low
    if width > CI_WIDTH_VERY_SERIOUS:
        return Domain("imprecision", VERY_SERIOUS, 2,
                      f"the 95% CI spans {_pp(width)} percentage points ({patients} patients).",
                      f"{patients} patients, CI {_pp(width)} points wide")
    if width > CI_WIDTH_SERIOUS or patients < PATIENTS_SERIOUS:
        return Domain("imprecision", SERIOUS, 1,
                      f"the 95% CI spans {_pp(width)} percentage points ({patients} patients).",
                      f"{patients} patients, CI {_pp(width)} points wide")
    return Domain("imprecision", NOT_SERIOUS, 0, f"the 95% CI spans {_pp(width)} percentage points.")


def publication_bias(sizes: Sequence[int], *, systematic_search: bool) -> Domain:
    """Publication (and selection) bias.

    Parameters
    ----------
    sizes : sequence of int
        Each study's number of patients.
    systematic_search : bool
        Whether the studies were found by a systematic literature search.

    Returns
    -------
    Domain
        Suspected (rate down one level) without a systematic search, or when every study is small.

    References
    ----------
    Guyatt GH, et al. GRADE guidelines 5: rating the quality of evidence - publication bias. J Clin
    Epidemiol 2011;64:1277-1282.
    """
    reasons = []
    if not systematic_search:
        reasons.append("the studies are a curated set, not the result of a systematic search")
    if sizes and max(sizes) < SMALL_STUDY:
        reasons.append(f"every study has fewer than {SMALL_STUDY} patients")
    if reasons:
        return Domain("publication bias", SUSPECTED, 1, "; ".join(reasons) + ".",
                      " and ".join(["curated set"] * (not systematic_search)
                                   + ["small studies"] * bool(sizes and max(sizes) < SMALL_STUDY)))
    return Domain("publication bias", NOT_SUSPECTED, 0, "no reason to suspect it.")


def rate(domains: Sequence[Domain], start: str = START) -> Certainty:
    """Combine domain judgements: start level minus the levels rated down, never below very low.

    References
    ----------
    Schünemann H, et al., eds. GRADE Handbook, section 5. The GRADE Working Group; 2013.
    """
    level = max(0, LEVELS.index(start) - sum(d.downgrade for d in domains))
    return Certainty(LEVELS[level], tuple(domains))

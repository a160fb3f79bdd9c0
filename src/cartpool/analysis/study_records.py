"""Every extracted record and fact of one study, placed by rule: the tidy frames behind the study
page's sections that show records as printed (durability, treatment, pharmacokinetics ...), the
"also printed" rows of the sections that compute (efficacy, survival, safety), the coverage list of
what clinicians look for in a CAR-T series, and the links to other included studies.

The rule: each record belongs to one section, `vocabulary.record_home(endpoint, statistic)`. A
section that computes its own table (efficacy, survival, safety, deaths) lists below it every
record of its home that the table does not use, so that nothing a curator extracted is dropped for
lack of a place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data import endpoint_names
from ..data.links import KINDS, load_links
from ..data.model import NOT_IN_SOURCE, NOT_REPORTED
from ..data.study_data import StudyData
from ..data.yamlio import read_study_text
from ..domain import record_counts
from ..domain.population import population_label

RECORD_COLUMNS = ["result_id", "home", "endpoint", "category", "grade", "timepoint", "statistic", "population",
                  "population_label", "events", "events_high", "total", "is_range", "derived", "note"]


def home_of(r) -> str:
    """The study-page section a record is shown in (the one rule, `vocabulary.record_home`)."""
    return endpoint_names.record_home(r.endpoint, r.statistic)


def records_frame(sd: StudyData, records) -> pd.DataFrame:
    """Records as tidy rows: what they are about, for whom, and their count where they are one.

    Parameters
    ----------
    sd : StudyData
        The study.
    records : iterable of ReportedResult

    Returns
    -------
    DataFrame
        Columns `RECORD_COLUMNS`; `events`/`total` (and `events_high` for a range) for counts and
        proportions whose count the printed numbers give, else empty.
    """
    rows = []
    for r in records:
        events = high = total = None
        if r.statistic in ("count", "proportion"):
            c = record_counts.resolve_record(sd, r)
            if c.available:
                events, total = c.events, c.total
                high = c.high if c.high is not None else c.events
        rows.append({"result_id": r.id, "home": home_of(r), "endpoint": r.endpoint, "category": r.category or "",
                     "grade": r.grade or "", "timepoint": f"{r.timepoint.value:g} {r.timepoint.unit}" if r.timepoint
                     else "", "statistic": r.statistic, "population": r.population,
                     "population_label": population_label(sd, r.population), "events": events, "events_high": high,
                     "total": total, "is_range": r.bound is not None, "derived": r.derived or "",
                     "note": r.note or ""})
    return pd.DataFrame(rows, columns=RECORD_COLUMNS).astype({"events": "Int64", "events_high": "Int64",
                                                               "total": "Int64"})


def records_of(sd: StudyData, home: str) -> list:
    """The records whose home is `home`, in the order of results.yaml."""
    return [r for r in sd.results if home_of(r) == home]


def also_printed(sd: StudyData, home: str, used: set[str]) -> pd.DataFrame:
    """The records of `home` that its section's computed tables do not use (`used`), as printed."""
    return records_frame(sd, [r for r in records_of(sd, home) if r.id not in used])


def ids_in(*frames_or_ids) -> set[str]:
    """Record ids named by frames (their result_id / result_ids columns, ";"-joined) or iterables."""
    out: set[str] = set()
    for x in frames_or_ids:
        if isinstance(x, pd.DataFrame):
            for col in ("result_id", "result_ids"):
                if col in x.columns:
                    for v in x[col].dropna():
                        out.update(i for i in str(v).split(";") if i)
        else:
            out.update(i for i in x if i)
    return out


# --- study facts: contradictions, risk factors, co-interventions -----------------------------------


def contradictions_on(sd: StudyData, topic: str | None) -> pd.DataFrame:
    """Contradictions the curator recorded about one section (`topic`), with both places."""
    rows = [{"index": i, "label": c.label, "first_location": c.first.location, "first_quote": c.first.quote,
             "second_location": c.second.location, "second_quote": c.second.quote, "note": c.note or ""}
            for i, c in enumerate(sd.study.contradictions) if c.topic == topic]
    return pd.DataFrame(rows, columns=["index", "label", "first_location", "first_quote", "second_location",
                                       "second_quote", "note"])


FINDINGS = {"worse": "worse outcome", "better": "better outcome", "associated": "associated",
            "no_association": "no significant association"}


def risk_factors(sd: StudyData) -> pd.DataFrame:
    """Factors the paper tested for association with an outcome, with the finding and p value."""
    rows = [{"index": i, "factor": f.factor, "outcome": f.outcome, "finding": FINDINGS[f.finding],
             "p_value": f.p_value or "", "location": f.location, "quote": f.quote}
            for i, f in enumerate(sd.study.risk_factors)]
    return pd.DataFrame(rows, columns=["index", "factor", "outcome", "finding", "p_value", "location", "quote"])


# --- what clinicians look for in a CAR-T series ------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    """One thing clinicians look for in a CAR-T series, and where the data can hold it."""

    key: str
    label: str
    facts: tuple[str, ...] = ()  # study facts that answer it
    endpoints: tuple[str, ...] = ()  # result endpoints that answer it
    co_interventions: tuple[str, ...] = ()  # co-intervention kinds that answer it


CHECKLIST = (
    ChecklistItem("survival_origin", "Where PFS and OS are counted from (enrolment or infusion)",
                  facts=("survival_origin",)),
    ChecklistItem("eligibility", "Eligibility restrictions", facts=("eligibility",)),
    ChecklistItem("vein_to_vein", "Time from leukapheresis to infusion", facts=("vein_to_vein",),
                  endpoints=("vein_to_vein",)),
    ChecklistItem("bridging", "Bridging therapy", endpoints=("bridging",), co_interventions=("bridging",)),
    ChecklistItem("manufacturing", "Manufacturing failures and patients never infused",
                  facts=("manufacturing_failures",), endpoints=("manufacturing_failure", "not_infused")),
    ChecklistItem("delayed_neurotoxicity", "Delayed and movement-disorder neurotoxicity (parkinsonism)",
                  endpoints=("delayed_neurotoxicity", "movement_disorder")),
    ChecklistItem("second_cancers", "Second cancers, including T-cell lymphoma", endpoints=("second_malignancy",)),
    ChecklistItem("crs_grading", "CRS grading scale", facts=("crs_grading",)),
    ChecklistItem("icans_grading", "ICANS grading scale", facts=("icans_grading",)),
    ChecklistItem("mrd", "MRD method and threshold", facts=("mrd_assessment",)),
)


def missing_status(sd: StudyData, facts: tuple[str, ...] = ()) -> str:
    """"not reported" or "not in source" for something a study does not give: a fact's own
    recorded status, else by the document (a full article that does not give it does not report
    it; an abstract or summary may leave out what the full report has)."""
    for f in facts:
        v = getattr(sd.study, f, None)
        if v in (NOT_REPORTED, NOT_IN_SOURCE):
            return v
    return NOT_REPORTED if sd.study.document_type == "full_article" else NOT_IN_SOURCE


def checklist(sd: StudyData) -> pd.DataFrame:
    """The coverage list: each `CHECKLIST` item with what the study gives (facts, record ids,
    co-interventions) or why it is missing ("not reported" / "not in source")."""
    rows = []
    for item in CHECKLIST:
        facts = [f for f in item.facts if not isinstance(getattr(sd.study, f, None), str | type(None))]
        rids = [r.id for r in sd.results if r.endpoint in item.endpoints]
        cis = [i for i, c in enumerate(sd.study.co_interventions) if c.kind in item.co_interventions]
        given = bool(facts or rids or cis)
        rows.append({"item": item.key, "label": item.label, "status": "reported" if given else
                     missing_status(sd, item.facts), "facts": ";".join(facts), "result_ids": ";".join(rids),
                     "co_interventions": ";".join(map(str, cis))})
    return pd.DataFrame(rows, columns=["item", "label", "status", "facts", "result_ids", "co_interventions"])


# --- links to other included studies -----------------------------------------------------------------


def links_of(sd: StudyData) -> pd.DataFrame:
    """Links between this study and others included (shared authors, centres, makers), with the
    possibility of patients reported twice, and this study's own words that show the link."""
    data_dir = Path(sd.folder).parent.parent
    rows = []
    for link in load_links(data_dir):
        if sd.study.id not in link.studies:
            continue
        others = [read_study_text(data_dir / "studies" / s) for s in link.studies if s != sd.study.id]
        own = [e for e in link.evidence if e.study == sd.study.id]
        rows.append({"link": link.id, "others": ", ".join(others), "kinds": "; ".join(KINDS[k] for k in link.kinds),
                     "description": link.description, "patient_overlap": link.patient_overlap,
                     "location": own[0].location if own else "", "quote": own[0].quote if own else ""})
    return pd.DataFrame(rows, columns=["link", "others", "kinds", "description", "patient_overlap", "location",
                                       "quote"])

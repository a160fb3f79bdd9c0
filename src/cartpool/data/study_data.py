"""A loaded study: its facts, printed results, per-patient tables, appraisal and coverage, with the
lookups the domain rules use (`population_size`, `result`). Built by `cartpool.data.load`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .coverage import Coverage
from .errors import DataIssue
from .model import ReportedResult, Study
from .risk_of_bias import Appraisal


@dataclass
class PatientTableData:
    name: str
    file: str
    location: str
    published: list[list[str]]  # every cell exactly as printed, in the published layout
    by_patient: dict[str, dict[str, str]]  # patient id -> column -> printed cell
    id_groups: dict[str, dict[str, str]]  # patient id -> named groups of the id pattern


@dataclass
class StudyData:
    folder: Path
    study: Study
    results: list[ReportedResult]
    tables: dict[str, PatientTableData] = field(default_factory=dict)
    patients: object = None  # pandas DataFrame of parsed per-patient fields, or None
    appraisal: Appraisal | None = None  # risk of bias (appraisal.yaml)
    coverage: Coverage | None = None  # passages of the source left out on purpose (coverage.yaml)
    source: Path | None = None  # the source document found for this study, if any
    quotes_verified: bool = False  # every quote was found in the source document
    notices: list[DataIssue] = field(default_factory=list)  # not failures: e.g. the source is missing
    plan: object = None  # the analysis plan of the data folder (cartpool.data.plan.Plan), if it has one

    def population_size(self, population: str) -> int | None:
        """The stated number of patients in a population: its 'patients' count record."""
        r = self.population_size_record(population)
        return None if r is None else int(r.value)

    def population_size_record(self, population: str) -> ReportedResult | None:
        """The 'patients' count record that states a population's size (None without one)."""
        for r in self.results:
            if r.endpoint == "patients" and r.statistic == "count" and r.population == population:
                return r
        return None

    def result(self, rid: str) -> ReportedResult:
        for r in self.results:
            if r.id == rid:
                return r
        raise KeyError(rid)

    def quotes(self) -> list[str]:
        """Every verbatim quote the study's data cite (results, facts, definitions, appraisal)."""
        out = [r.quote for r in self.results]
        for name in type(self.study).model_fields:
            v = getattr(self.study, name)
            if hasattr(v, "quote"):
                out.append(v.quote)
        if self.study.patients:
            out += [v.quote for v in self.study.patients.definitions.values()]
        if self.appraisal:
            out += [j.quote for j in appraisal_judgements(self.appraisal) if j.quote]
        out += [f.quote for f in self.study.risk_factors]
        out += [c.quote for c in self.study.co_interventions]
        out += [p.quote for c in self.study.contradictions for p in (c.first, c.second)]
        return out


def appraisal_places(appraisal: Appraisal) -> list[tuple[str, object]]:
    """Every judgement of a risk-of-bias appraisal with where it stands in appraisal.yaml."""
    out: list[tuple[str, object]] = [(f"domains.{d}", j) for d, j in appraisal.domains.items()]
    out += [(f"outcome_judgements[{i}]", j) for i, j in enumerate(appraisal.outcome_judgements)]
    return out


def appraisal_judgements(appraisal: Appraisal) -> list:
    return [j for _, j in appraisal_places(appraisal)]

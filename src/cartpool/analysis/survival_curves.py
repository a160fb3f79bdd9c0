"""Survival of one study: Kaplan-Meier fits from the per-patient table (months), their medians and
landmarks, log-rank tests by subgroup, and approximate curves through printed milestones."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data.study_data import StudyData
from ..domain import survival_rules
from ..domain.derive import derive_endpoints
from ..domain.registry import LANDMARK_MONTHS, SURVIVAL
from ..stats.kaplan_meier import kaplan_meier, logrank_test
from ..stats.summaries import approximate_curve
from ..units import convert


def km_fits(sd: StudyData, *, by: str | None = None, rows=None) -> dict[tuple[str, str], object]:
    """Kaplan-Meier fits ``{(endpoint, group): KaplanMeier}`` in months, log-log CIs.

    Parameters
    ----------
    sd : StudyData
        A study with a per-patient table (otherwise the result is empty).
    by : str, optional
        A per-patient field to split by; groups are its values. None fits the whole table ("all").
    rows : sequence, optional
        Fit only these patients (index labels of the per-patient table), for example one level of
        a subgroup (`cartpool.domain.subgroups`).

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat
    Assoc. 1958;53:457-481.
    """
    d = derive_endpoints(sd)
    out: dict[tuple[str, str], object] = {}
    if d is None or "os_time" not in d.columns:
        return out
    if rows is not None:
        d = d.loc[list(rows)]
        if d.empty:
            return out
    unit = d["time_unit"].iloc[0]
    groups = [("all", d)] if by is None else [(str(g), s) for g, s in d.groupby(by, sort=True)]
    for g, s in groups:
        for spec in SURVIVAL:
            ep = spec.endpoint
            if f"{ep}_time" in s.columns:
                t = [convert(v, unit, "months") for v in s[f"{ep}_time"]]
                out[(ep, g)] = kaplan_meier(t, s[f"{ep}_event"].astype(bool), conf_type=survival_rules.KM_CONF_TYPE)
    return out


def landmark_ties(km, t: float, tol: float = 1e-6) -> tuple[int, float | None]:
    """Events recorded at exactly the landmark time `t`, and S(t) had they fallen just after it.

    The Kaplan-Meier S(t) counts an event at t; a table printed in half-month steps cannot say
    whether it happened just before or just after. S just before t is the estimate in the second
    case. Returns (0, None) where no event lies at t.
    """
    tab = km.table
    at = tab[(tab["time"] - t).abs() < tol]
    k = int(at["n_event"].sum()) if len(at) else 0
    if not k:
        return 0, None
    before = tab[tab["time"] < t - tol]
    return k, float(before["survival"].iloc[-1]) if len(before) else 1.0


def km_points(sd: StudyData, fits: dict | None = None) -> list[survival_rules.SurvivalPoint]:
    """Medians and landmark survival (12 and 24 months) from the whole-table Kaplan-Meier fits."""
    fits = km_fits(sd) if fits is None else fits
    out = []
    pop = sd.study.patients.population if sd.study.patients else ""
    for (ep, group), km in fits.items():
        if group != "all":
            continue
        est, lo, hi = km.median()
        out.append(survival_rules.SurvivalPoint(sd.study.id, ep, "median", est, est, lo, hi, hi is None, survival_rules.SOURCE_KM,
                                       pop, None, "median"))
        for t in LANDMARK_MONTHS:
            s, slo, shi = km.survival_at(t)
            if s is not None:
                ties, after = landmark_ties(km, t)
                out.append(survival_rules.SurvivalPoint(sd.study.id, ep, "landmark", t, s, slo, shi, False, survival_rules.SOURCE_KM,
                                               pop, None, f"{t:g} months", tie_events=ties, value_if_after=after))
    return out


@dataclass(frozen=True)
class SubgroupComparison:
    """Kaplan-Meier curves of one endpoint by a per-patient field, with the log-rank test."""

    endpoint: str
    field: str
    fits: dict[str, object]
    chisq: float | None
    df: int
    p_value: float | None


def subgroup_comparisons(sd: StudyData) -> list[SubgroupComparison]:
    """Log-rank comparisons for every declared subgroup field with at least two groups."""
    if sd.study.patients is None:
        return []
    d = derive_endpoints(sd)
    if d is None or "os_time" not in d.columns:
        return []
    out = []
    unit = d["time_unit"].iloc[0]
    for field in sd.study.patients.subgroups:
        by = km_fits(sd, by=field)
        for spec in SURVIVAL:
            groups = {g: km for (e, g), km in by.items() if e == spec.endpoint}
            if len(groups) < 2:
                continue
            sub = d.dropna(subset=[field])
            lr = logrank_test([convert(v, unit, "months") for v in sub[f"{spec.endpoint}_time"]],
                              sub[f"{spec.endpoint}_event"].astype(bool), sub[field])
            out.append(SubgroupComparison(spec.endpoint, field, groups, lr.chisq, lr.df, lr.p_value))
    return out


def study_points(sd: StudyData, fits: dict | None = None) -> list[survival_rules.SurvivalPoint]:
    """Recomputed (Kaplan-Meier) points first, then the printed ones, then landmarks where the study
    reports no events during follow-up (`cartpool.domain.survival_rules.zero_event_points`)."""
    return km_points(sd, fits) + survival_rules.reported_points(sd) + survival_rules.zero_event_points(sd, LANDMARK_MONTHS)


def approximate_curves(sd: StudyData, points: list[survival_rules.SurvivalPoint], population: str) -> dict[str, object]:
    """Approximate curves ``{endpoint: ApproximateCurve}`` through the printed milestones of one
    population, where the drawing rule allows one (`cartpool.domain.survival_rules`)."""
    out = {}
    for spec in SURVIVAL:
        ms = survival_rules.curve_milestones(points, spec.endpoint, population)
        if survival_rules.approximate_curve_allowed(ms):
            out[spec.endpoint] = approximate_curve(ms, horizon=ms[-1][0])
    return out


def points_frame(sd: StudyData, points: list[survival_rules.SurvivalPoint]) -> pd.DataFrame:
    """A tidy table of survival points: one row per median or landmark, with the printed records it
    rests on (`basis_ids`: the records a point with no events reported is worked out from; not `result_ids`,
    for these records are shown in their own sections)."""
    rows = []
    for p in points:
        rows.append({
            "endpoint": p.endpoint, "kind": p.kind, "time_months": p.time_months, "value": p.value,
            "ci_low": p.ci_low, "ci_high": p.ci_high, "high_not_reached": p.high_not_reached,
            "source": p.source, "population": p.population,
            "population_label": sd.study.populations[p.population].label if p.population in sd.study.populations
            else p.population,
            "result_id": p.result_id or "", "label": p.label, "at_risk_min": p.at_risk_min, "basis": p.basis,
            "tie_events": p.tie_events, "value_if_after": p.value_if_after, "basis_ids": ";".join(p.result_ids),
        })
    return pd.DataFrame(rows, columns=["endpoint", "kind", "time_months", "value", "ci_low", "ci_high",
                                       "high_not_reached", "source", "population", "population_label",
                                       "result_id", "label", "at_risk_min", "basis", "tie_events", "value_if_after",
                                       "basis_ids"])

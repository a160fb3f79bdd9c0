"""Survival at a landmark (12 and 24 months) across studies: each study's rate, and the rows of
`PooledAnalysis.estimates` and `PooledAnalysis.inputs` made from them.

A study's rate is recomputed by Kaplan-Meier from its per-patient table where it has one, else taken
as printed for the whole cohort, else 100% where the study reports no events during follow-up (with
the number provably at risk). One study is shown on its own, two side by side, three or more pooled
on the log(−log S) scale from their printed or recomputed intervals.
"""

from __future__ import annotations

import pandas as pd

from .. import formatting as fmt
from ..data.plan import Plan, PlanPopulation
from ..data.study_data import StudyData
from ..domain import registry, survival_rules
from ..domain.landmarks import landmark_fit
from ..domain.population import population_label
from ..domain.subgroups import membership
from ..frames import frame_rows
from ..stats.summaries import pool_landmark
from . import survival_curves as curves
from .pooled_rows import A_LANDMARK, A_MAIN, PRIMARY, SUBGROUP
from .pooling import Rule, rule_for_k

#: The columns of `PooledAnalysis.landmarks`.
LANDMARK_COLUMNS = ["study_id", "study", "endpoint", "months", "value", "ci_low", "ci_high", "source", "kind",
                    "level", "n", "population", "at_risk_min", "basis", "result_id", "group", "role", "n_stated",
                    "n_fit_likely", "possibly_responders", "tie_events", "value_if_after"]


def landmark_usable(sub: pd.DataFrame) -> pd.DataFrame:
    """The studies of a landmark row that can enter a model on the log(-log S) scale: a printed or
    recomputed interval, S strictly between 0 and 1, and all patients (a rate that may describe the
    responders only is never pooled with all-patient rates)."""
    return sub[sub["ci_low"].notna() & sub["ci_high"].notna() & (sub["value"] > 0) & (sub["value"] < 1)
               & ~sub["possibly_responders"].astype(bool)]


def study_landmark_rows(sd: StudyData, points: list, plan: Plan, group: PlanPopulation) -> list[dict]:
    """One study's rows of `PooledAnalysis.landmarks`, before one is chosen per landmark (`points`:
    its survival points; `group`: its plan population)."""
    rows = []
    d = curves.derive_endpoints(sd)
    table_pop = len(d) if d is not None else None
    variants = [("all patients", "", None)]
    for sg in plan.subgroups:
        m = membership(sd, sg.field)
        if m.whole:
            variants.append((f"subgroup:{sg.field}", m.whole, None))
        for level, ids in m.rows.items():
            variants.append((f"subgroup:{sg.field}", level, ids))
    for kind, level, ids in variants:
        pts = points if ids is None else curves.km_points(sd, curves.km_fits(sd, rows=ids))
        for p in pts:
            if p.kind != "landmark" or p.value is None:
                continue
            if not any(abs(p.time_months - t) < 0.01 for t in registry.LANDMARK_MONTHS):
                continue
            if not p.recomputed and not survival_rules.whole_cohort(sd, p.population):
                continue
            n = (len(ids) if ids is not None else table_pop) if p.recomputed \
                else sd.population_size(p.population)
            # a printed rate whose interval fits fewer patients than stated is shown with the
            # number it fits, and named where that is another group (the responders)
            fit = landmark_fit(sd, sd.result(p.result_id)) if p.source == survival_rules.SOURCE_REPORTED \
                and p.result_id else None
            fits_other = fit is not None and not fit.fits_stated
            rows.append({"n_stated": n, "n_fit_likely": fit.likely if fits_other else None,
                         "possibly_responders": bool(fit and fit.possibly_responders),
                         "tie_events": p.tie_events, "value_if_after": p.value_if_after})
            if fits_other:
                n = fit.n
            rows[-1].update({"study_id": sd.study.id, "study": sd.study.label, "endpoint": p.endpoint,
                             "months": p.time_months, "value": p.value, "ci_low": p.ci_low,
                             "ci_high": p.ci_high, "source": p.source, "kind": kind, "level": level, "n": n,
                             "population": population_label(sd, p.population) if p.population else "",
                             "at_risk_min": p.at_risk_min, "basis": p.basis,
                             "result_id": p.result_id or ";".join(p.result_ids),
                             "group": group.label, "role": group.role})
    return rows


def choose_landmarks(rows: list[dict]) -> pd.DataFrame:
    """`PooledAnalysis.landmarks` from every study's rows: one value per study, endpoint, time and
    variant, recomputed before printed before no events."""
    df = pd.DataFrame(rows, columns=LANDMARK_COLUMNS)
    rank = {survival_rules.SOURCE_KM: 0, survival_rules.SOURCE_REPORTED: 1, survival_rules.SOURCE_ZERO_EVENTS: 2}
    df["_rank"] = df["source"].map(rank).fillna(3)
    return (df.sort_values(["study_id", "endpoint", "months", "kind", "level", "_rank"], kind="stable")
            .drop_duplicates(["study_id", "endpoint", "months", "kind", "level"]).drop(columns="_rank")
            .reset_index(drop=True))


def landmark_row(sub: pd.DataFrame, min_k: int) -> dict:
    """One landmark row: one study, two side by side, or `min_k` or more pooled on the log(−log S)
    scale. A study with no events (100%) or without a printed interval is shown, never pooled.

    References
    ----------
    Combescure C, Foucher Y, Jackson D. Meta-analysis of single-arm survival studies: a
    distribution-free approach for estimating summary survival curves with random effects.
    Stat Med 2014;33:2521-37 (pooling survival at fixed times on a transformed scale).
    """
    usable = landmark_usable(sub)
    base = {"analysis": A_LANDMARK, "method": "inverse variance, REML", "events": None, "total": None,
            "k": len(sub), "studies": ";".join(sub["study"])}
    if len(sub) == 1:
        r = sub.iloc[0]
        return {**base, "rule": Rule.SINGLE, "note": "single study" if r["source"] != survival_rules.SOURCE_ZERO_EVENTS
                else "no events during follow-up; not pooled", "estimate": r["value"], "ci_low": r["ci_low"],
                "ci_high": r["ci_high"]}
    het = {}
    if len(usable) >= 2:  # Cochran's Q of the studies' log(-log S), from their printed intervals
        ee = pool_landmark(usable["value"], usable["ci_low"], usable["ci_high"], tau2="EE")
        i2 = max(0.0, 100 * (ee.q - (len(usable) - 1)) / ee.q) if ee.q > 0 else 0.0
        het = {"q": ee.q, "q_p": ee.q_p, "i2": i2, "het_df": len(usable) - 1}
    if len(sub) < min_k or len(usable) < min_k:
        excluded = sub.drop(index=usable.index)
        note = f"{len(sub)} studies, not pooled: each shown" if len(sub) < min_k else \
            "not pooled: " + ", ".join(excluded["study"]) + " without a printed interval, with no events, or " \
            "possibly describing the responders only"
        return {**base, "rule": rule_for_k(len(sub), min_k) or Rule.NOT_POOLED, "note": note, **het}
    args = (usable["value"], usable["ci_low"], usable["ci_high"])
    res = pool_landmark(*args, pi_dist="t", labels=list(usable["study"]))
    small = pool_landmark(*args, knha=True, labels=list(usable["study"]))
    left = sub.drop(index=usable.index)
    return {**base, "rule": Rule.RANDOM, "note": ("" if left.empty else "not in the pooled estimate: "
                                                   + ", ".join(left["study"])), "k": res.k,
            "estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high, "ci_how": "z",
            "small_ci_low": small.ci_low, "small_ci_high": small.ci_high, "pi_low": res.pi_low,
            "pi_high": res.pi_high, "tau2": res.tau2, "i2": res.i2, "q": res.q, "q_p": res.q_p,
            "studies": ";".join(usable["study"])}


def landmark_estimates(landmarks: pd.DataFrame, plan: Plan, est_rows: list[dict], in_rows: list[dict]) -> None:
    """Append the landmark rows of `estimates` and their studies' rows of `inputs`: every population's
    row of all its patients, and the planned subgroups' rows within the primary populations."""
    labels = {g.field: g.label for g in plan.subgroups}
    min_k = plan.pooling.random_effects_min_k
    for (ep, months, group, kind, level), sub in landmarks.groupby(["endpoint", "months", "group", "kind", "level"],
                                                                   sort=True):
        role = sub["role"].iloc[0]
        if kind != "all patients" and role != PRIMARY:
            continue
        key = registry.landmark_key(ep, months)
        view, subgroup = (role, group) if kind == "all patients" else (SUBGROUP, group)
        analysis_label = labels.get(kind.split(":", 1)[-1], "") if kind != "all patients" else A_MAIN
        row = landmark_row(sub, min_k)
        pooled_from = set(landmark_usable(sub).index) if row["rule"] == Rule.RANDOM else set(sub.index)
        est_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level,
                         **{**row, "analysis": analysis_label if kind != "all patients" else A_LANDMARK}})
        for idx, r in zip(sub.index, frame_rows(sub), strict=True):
            in_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level,
                            "analysis": analysis_label if kind != "all patients" else A_LANDMARK,
                            "study": r.study, "study_id": r.study_id, "population": r.population,
                            "events": None, "events_high": None, "total": r.n, "estimate": r.value,
                            "ci_low": r.ci_low, "ci_high": r.ci_high,
                            "derived": r.source != survival_rules.SOURCE_REPORTED,
                            "how": r.source, "detail": landmark_detail(r),
                            "zero_events": r.source == survival_rules.SOURCE_ZERO_EVENTS,
                            # with no events, the interval counts only those known to be at risk then
                            "at_risk": None if pd.isna(r.at_risk_min) else int(r.at_risk_min),
                            "possibly_responders": bool(r.possibly_responders), "in_fit": idx in pooled_from,
                            "result_ids": r.result_id or ""})


def landmark_detail(r) -> str:
    """What a reader must know of one study's landmark rate: no events (with the number provably at
    risk), an interval that fits another number of patients, or an event at exactly the landmark."""
    parts = [r.basis] if isinstance(r.basis, str) and r.basis else []
    if isinstance(r.n_fit_likely, str) and r.n_fit_likely:
        parts.append(f"its interval fits {r.n} patients, not the stated {r.n_stated}: possibly {r.n_fit_likely} only")
    elif r.n_stated is not None and not pd.isna(r.n_stated) and r.n != r.n_stated:
        parts.append(f"its interval fits {r.n} patients, not the stated {r.n_stated}")
    if r.tie_events and not pd.isna(r.tie_events) and r.tie_events > 0:
        parts.append(f"{int(r.tie_events)} {'event' if int(r.tie_events) == 1 else 'events'} recorded at exactly "
                     f"{r.months:g} months count at the landmark; recorded just after, {fmt.pct(r.value_if_after)}")
    return "; ".join(parts)

"""One outcome's rows across studies, by the analysis plan: each population's main row, the rows of
each planned subgroup, the sensitivity analyses, the test for subgroup differences and
leave-one-out (`OutcomeRows.outcome`).

Every row is fitted from rows of `PooledAnalysis.available` by the plan's rule for its number of
studies (`cartpool.analysis.pooling`), and recorded with its studies' counts so that it can be
refitted from them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from .. import formatting as fmt
from ..data.plan import Plan
from ..domain import registry
from ..frames import frame_rows
from .pooled_rows import (
    A_BAYES,
    A_BAYES_WIDE,
    A_BCMA_ONLY,
    A_COMMON,
    A_EVALUABLE,
    A_FT,
    A_INFUSED,
    A_LOGIT,
    A_MAIN,
    A_MIXED,
    A_NO_RANGES,
    A_OTHER_COUNT,
    A_SAME_SCALE,
    ALL_STUDIES,
    BCMA_ONLY_CONFOUNDED,
    ESTIMATE_COLUMNS,
    LOO_MIN_K,
    PRIMARY,
    SCALE_MISSING,
    SENSITIVITY,
    SUBGROUP,
    SUBGROUP_TEST,
    OutcomeResult,
    bayes_row,
    own_proportion,
    prior_label,
    row_label,
)
from .pooling import (
    PRIMARY_METHOD,
    Pooled,
    SubgroupTest,
    common_effect,
    pool_leave_one_out,
    subgroup_test,
)
from .pooling import pool as pool_studies


@dataclass(frozen=True)
class OutcomeRows:
    """The rows of one outcome at a time, from the counts of `PooledAnalysis`.

    Parameters
    ----------
    available : callable
        ``available(key, kind="primary", level=None)``: the available counts of one outcome
        (`PooledAnalysis.available`).
    plan : Plan
        The analysis plan (pooling rule, subgroups, priors).
    memo : dict or None
        Where fitted rows are kept by their inputs (`cartpool.analysis.store`), or None.
    everyone : list of str
        Every study's label, in the table's order (to name the studies that do not report an outcome).
    """

    available: Callable[..., pd.DataFrame]
    plan: Plan
    memo: dict | None
    everyone: list[str]

    def record(self, est_rows, in_rows, key, view, subgroup, analysis, t: pd.DataFrame, r: Pooled,
                level: str = "") -> None:
        est_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level, "analysis": analysis,
                         **r.as_row(), "studies": ";".join(t["study"])})
        left_out = set(self.split_for_fit(t)[1].index)
        # the columns as itertuples would give them (each a Series iterated: Python scalars), without
        # building a tuple of every column for every row
        cols = ("study", "study_id", "population", "events", "events_high", "total", "derived", "how", "detail",
                "result_ids")
        for idx, (study, study_id, population, events, events_high, total, derived, how, detail, rids) in zip(
                t.index, zip(*(t[c] for c in cols), strict=True), strict=True):
            est, lo, hi = own_proportion(int(events), int(total))
            in_rows.append({"outcome": key, "view": view, "subgroup": subgroup, "level": level, "analysis": analysis,
                            "study": study, "study_id": study_id, "population": population,
                            "events": int(events), "events_high": int(events_high), "total": int(total),
                            "estimate": est, "ci_low": lo, "ci_high": hi, "derived": bool(derived),
                            "how": how, "detail": detail, "zero_events": False, "in_fit": idx not in left_out,
                            "result_ids": rids})

    def split_for_fit(self, t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The studies of a row that enter its model, and those shown but left out: where the row
        combines studies (random effects), a range with an uninformative end is left out."""
        if len(t) < self.plan.pooling.random_effects_min_k:
            return t, t.iloc[0:0]
        out = (t["uninformative_end"] != "").to_numpy()
        if not out.any() or out.all():  # nothing left out, or nothing would be left: every study enters
            return t, t.iloc[0:0]
        return t[~out], t[out]

    def pool(self, t: pd.DataFrame, method: str = PRIMARY_METHOD, *, tau_scale: float | None = None,
              bayes: bool = False, detail: bool = True) -> Pooled:
        """One row of studies by the plan's rule. Where the row combines studies (random effects), a
        range with an uninformative end is left out, and the row says so."""
        use, left_out = self.split_for_fit(t)
        labels = [row_label(st, sub, rng) for st, sub, rng in zip(use["study"], use["subset"], use["is_range"],
                                                                   strict=True)]
        r = pool_studies(use["events"], use["total"], labels,
                 events_high=use["events_high"], method=method, min_k=self.plan.pooling.random_effects_min_k,
                 tau_prior_scale=tau_scale or self.plan.bayes.tau_prior_scale, bayes=bayes, detail=detail,
                 small_sample=detail, memo=self.memo)
        if not left_out.empty:
            r = replace(r, range_left_out="; ".join(f"{x.study} ({fmt.count_range(x.events, x.events_high, x.total)})"
                                                    for x in frame_rows(left_out)))
        return r

    def outcome(self, o: registry.OutcomeSpec, est_rows, in_rows) -> OutcomeResult:
        key = o.key
        t = self.available(key)
        everyone = self.everyone
        reporting = set(t["study"])
        missing = [s for s in everyone if s not in reporting]
        groups: dict[str, Pooled] = {}
        roles: dict[str, str] = {}
        for g, sub in t.groupby("group", sort=False):
            role = sub["role"].iloc[0]
            r = self.pool(sub, bayes=True)
            groups[g], roles[g] = r, role
            self.record(est_rows, in_rows, key, role, g, A_MAIN, sub, r)
        primary = {g: r for g, r in groups.items() if roles[g] == PRIMARY}
        test = subgroup_test(primary)
        if len(primary) > 1:
            est_rows.append({"outcome": key, "view": PRIMARY, "subgroup": SUBGROUP_TEST, "level": "",
                             "analysis": A_MAIN, "method": PRIMARY_METHOD,
                             "rule": "tested" if test.tested else "not tested", "note": test.note,
                             "k": int(sum(r.k for r in primary.values())), "q": test.q, "q_p": test.p,
                             "studies": f"df={test.df}" if test.tested else ""})
        subgroups, tests = self.subgroups(key, est_rows, in_rows)
        n_before = len(est_rows)
        self.sensitivity(o, t, groups, est_rows, in_rows)
        sens = pd.DataFrame(est_rows[n_before:], columns=ESTIMATE_COLUMNS)
        loo = self.leave_one_out(key, t)
        return OutcomeResult(key, groups, roles, subgroups, tests, test, sens, loo, t, missing)

    def subgroups(self, key: str, est_rows, in_rows):
        """Rows for each level of each subgroup the plan names, within each primary population."""
        out: dict[tuple[str, str, str], Pooled] = {}
        tests: dict[tuple[str, str], SubgroupTest] = {}
        for sg in self.plan.subgroups:
            t = self.available(key, f"subgroup:{sg.field}")
            t = t[t["role"] == PRIMARY]
            for g, in_group in t.groupby("group", sort=False):
                levels = {}
                for level, sub in in_group.groupby("level", sort=True):
                    r = self.pool(sub)
                    out[(g, sg.field, level)] = levels[level] = r
                    self.record(est_rows, in_rows, key, SUBGROUP, g, sg.label, sub, r, level=level)
                if len(levels) > 1:
                    tests[(g, sg.field)] = subgroup_test(levels)
        return out, tests

    def sensitivity(self, o: registry.OutcomeSpec, t: pd.DataFrame, groups: dict[str, Pooled], est_rows,
                     in_rows) -> None:
        key = o.key

        def offer(subgroup: str, analysis: str, frame: pd.DataFrame, method: str = PRIMARY_METHOD, *,
                  min_k: int = 2, tau_scale: float | None = None, note: str = "") -> None:
            if len(frame) >= min_k:
                r = self.pool(frame, method, tau_scale=tau_scale)
                if note:
                    r = replace(r, note=f"{r.note}; {note}" if r.note else note)
                self.record(est_rows, in_rows, key, SENSITIVITY, subgroup, analysis, frame, r)

        def replaced(sub: pd.DataFrame, kind: str) -> pd.DataFrame:
            """The group's counts with each study's count of another kind where it has one."""
            alt = self.available(key, kind)
            alt = alt[alt["study_id"].isin(sub["study_id"])]
            keep = sub[~sub["study_id"].isin(alt["study_id"])]
            out = pd.concat([keep, alt])
            return out.assign(_order=out["study_id"].map({s: i for i, s in enumerate(sub["study_id"])})) \
                .sort_values("_order").drop(columns="_order")

        for g, sub in t.groupby("group", sort=False):
            if sub["role"].iloc[0] != PRIMARY:
                continue
            k = len(sub)
            if k == 2:
                ce = sub[sub["uninformative_end"] == ""]
                if len(ce) == 2:
                    r = common_effect(ce["events"], ce["total"])
                    self.record(est_rows, in_rows, key, SENSITIVITY, g, A_COMMON, ce, r)
                r = groups[g]
                if r.bayes_estimate is not None:
                    self.record(est_rows, in_rows, key, SENSITIVITY, g, f"{A_BAYES} ({prior_label(r.bayes_tau_prior_scale)})",
                                 sub, bayes_row(r))
            if k >= self.plan.pooling.random_effects_min_k:
                offer(g, A_LOGIT, sub, "logit")
                offer(g, A_FT, sub, "ft")
            if k >= 2:
                wide = self.plan.bayes.tau_prior_scale_sensitivity
                r = self.pool(sub, tau_scale=wide, bayes=True)
                if r.bayes_estimate is not None:
                    self.record(est_rows, in_rows, key, SENSITIVITY, g, f"{A_BAYES_WIDE} ({prior_label(wide)})", sub,
                                 bayes_row(r))
            for kind, analysis in (("infused", A_INFUSED), ("evaluable", A_EVALUABLE)):
                if (self.available(key, kind)["group"] == g).any():
                    offer(g, analysis, replaced(sub, kind), min_k=1)
            if sub["mixed_targets"].any():
                bcma = self.available(key, "subgroup:target", "BCMA-directed")
                bcma = bcma[bcma["group"] == g]
                offer(g, A_BCMA_ONLY, bcma, min_k=1, note=f"confounded: {BCMA_ONLY_CONFOUNDED}")
            if registry.SAME_SCALE in o.sensitivity and o.comparability:
                scale_field = o.comparability[0]
                scales = sub.loc[~sub[scale_field].isin(SCALE_MISSING), scale_field].value_counts()
                if len(scales) > 1:
                    common = scales.index[0]
                    offer(g, f"{A_SAME_SCALE} ({common})", sub[sub[scale_field] == common])
            if (sub["alternatives"] != "").any():
                other = sub.copy()
                alt = other["alternatives"] != ""
                other.loc[alt, "events"] = [int(a.split(";")[0]) for a in other.loc[alt, "alternatives"]]
                other.loc[alt, "events_high"] = other.loc[alt, "events"]
                offer(g, A_OTHER_COUNT, other, min_k=1)
            if sub["is_range"].any():
                offer(g, A_NO_RANGES, sub[~sub["is_range"]], min_k=1)
        if t["group"].nunique() > 1 and len(t) >= self.plan.pooling.random_effects_min_k:
            offer(ALL_STUDIES, A_MIXED, t)

    def leave_one_out(self, key: str, t: pd.DataFrame) -> pd.DataFrame:
        """The pooled estimate with each study left out, in every primary group that is pooled (the
        GLMM refitted each time)."""
        rows = []
        for g, sub in t.groupby("group", sort=False):
            if sub["role"].iloc[0] != PRIMARY or len(sub) < LOO_MIN_K:
                continue
            refits = pool_leave_one_out(sub["events"], sub["total"], events_high=sub["events_high"],
                                        min_k=self.plan.pooling.random_effects_min_k, memo=self.memo)
            for omitted, r in zip(sub["study"], refits, strict=True):
                row = {k: v for k, v in r.as_row().items() if not k.startswith(("bayes_", "het_"))}
                rows.append({"outcome": key, "subgroup": g, "omitted": omitted, **row})
        return pd.DataFrame(rows)

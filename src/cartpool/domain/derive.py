"""Derived per-patient endpoints, computed from the published cells (never typed in).

Definitions, as the source papers state them (quoted in each study's ``study.yaml`` under
``patients.definitions``):

* OS: from CAR-T infusion to death from any cause. A time printed with "+" means the patient
  was alive at that time (censored); a time without "+" is a death.
* PFS: from infusion to progression or death from any cause. A patient with a progression
  time has an event then; a patient without progression has an event at death, or is
  censored at the last follow-up (the OS time) when alive.
* Response: IMWG best response (`cartpool.domain.response`). Responder = PR or better; CR or
  better = CR or sCR; VGPR or better = VGPR, CR or sCR.
* MRD negativity: any response cell of the patient marked "MRD Neg", whatever the response
  (the papers' own reading); MRD-negative CR (IMWG): MRD negative and CR or better.
"""

from __future__ import annotations

import pandas as pd

from ..data.study_data import StudyData
from .response import at_least

#: Role fields that are parsed into structured values and replaced by derived columns.
STRUCTURED_FIELDS = ("os", "progression", "best_response", "early_response")


def _present(v) -> bool:
    return v is not None and not (isinstance(v, float) and pd.isna(v))


def derive_endpoints(sd: StudyData, *, copy: bool = True) -> pd.DataFrame | None:
    """One row per patient with the derived endpoints; None without per-patient data.

    Parameters
    ----------
    sd : StudyData
        A loaded, validated study.
    copy : bool
        Return a copy (the default), which the caller may change; False returns the kept table
        itself, for callers that only read it (the count rules call this tens of thousands of times
        in a large synthesis).

    Returns
    -------
    DataFrame or None
        Columns, where the source allows: time_unit, os_time, os_event, pfs_time, pfs_event,
        progressed, non_relapse_death, best_response, responder, vgpr_or_better, cr_or_better, mrd_negative,
        mrd_negative_cr, crs_grade, icans_grade, response_after (the best response recorded after a
        subsequent therapy), plus every declared plain field (text, number, flag, grade). Computed once per loaded study and copied on each call.

    References
    ----------
    Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group consensus criteria
    for response and minimal residual disease assessment in multiple myeloma. Lancet Oncol.
    2016;17:e328-e346 (response categories, MRD negativity, progression-free and overall
    survival).
    Iacobelli S; EBMT Statistical Committee. Suggestions on the use of statistical methodologies
    in studies of the European Group for Blood and Marrow Transplantation. Bone Marrow
    Transplant. 2013;48 Suppl 1:S1-37 (non-relapse mortality).
    """
    df = sd.patients
    if df is None:
        return None
    cached = getattr(sd, "_derived", None)
    if cached is not None:
        return cached.copy() if copy else cached
    out = pd.DataFrame(index=df.index)
    spec = sd.study.patients.fields
    if "os" in df.columns:
        out["time_unit"] = spec["os"].unit
        out["os_time"] = [v.time for v in df["os"]]
        out["os_event"] = [not v.censored for v in df["os"]]
    if "progression" in df.columns and "os" in df.columns:
        prog = [p if _present(p) else None for p in df["progression"]]
        out["progressed"] = [p is not None for p in prog]
        out["pfs_time"] = [p if p is not None else t for p, t in zip(prog, out["os_time"], strict=True)]
        out["pfs_event"] = [p is not None or e for p, e in zip(prog, out["os_event"], strict=True)]
        # non-relapse mortality in its usual sense: death with no relapse or progression before it
        out["non_relapse_death"] = [bool(e) and p is None for p, e in zip(prog, out["os_event"], strict=True)]
    if "best_response" in df.columns:
        cats = [r.category if _present(r) else None for r in df["best_response"]]
        out["best_response"] = cats
        out["responder"] = [at_least(c, "PR") for c in cats]
        out["vgpr_or_better"] = [at_least(c, "VGPR") for c in cats]
        out["cr_or_better"] = [at_least(c, "CR") for c in cats]
    mrd_cols = [c for c in ("early_response", "best_response") if c in df.columns]
    if mrd_cols:
        mrd = []
        for _, row in df[mrd_cols].iterrows():
            flags = [r.mrd_negative for r in row if _present(r) and r.mrd_negative is not None]
            mrd.append(True if any(flags) else (False if flags else None))
        if any(m is not None for m in mrd):
            out["mrd_negative"] = mrd
            if "cr_or_better" in out.columns:
                out["mrd_negative_cr"] = [None if m is None or c is None else bool(m and c)
                                          for m, c in zip(mrd, out["cr_or_better"], strict=True)]
    # the best response after a subsequent therapy (a cell such as "Yes (PR, 2)"), where a column
    # records it: the response to re-treatment among those re-treated
    after = [name for name, f in spec.items() if f.parse == "outcome_after" and name in df.columns]
    if after:
        out["response_after"] = [v.response if _present(v) else None for v in df[after[0]]]
    for col in df.columns:
        if col in out.columns or col in STRUCTURED_FIELDS:
            continue
        sample = next((v for v in df[col] if _present(v)), None)
        if sample is None or isinstance(sample, str | int | float | bool):
            out[col] = df[col]
    sd._derived = out
    return out.copy() if copy else out

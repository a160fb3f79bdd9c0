"""`make judgements`: the analysis's GRADE proposals as the reviewer records them.

For every outcome and population whose rating awaits review (no judgement recorded, or its
evidence changed), print a block for ``data/grade_judgements.yaml`` with the proposed rating of
each domain, the proposal's reason as a draft footnote, the evidence each domain read, and the
current evidence fingerprint. The reviewer edits the footnotes into their own words, changes any
rating they judge differently (saying why under ``departure``), and pastes the block.
"""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import yaml

from ..frames import frame_rows


def print_proposals(data_dir: Path, *, everything: bool = False, out=None) -> int:
    from ..analysis.appraisal import Appraisal
    from ..analysis.pooled_analysis import PooledAnalysis
    from ..data.errors import StudyDataError

    out = out or sys.stdout
    try:
        pa = PooledAnalysis.load(str(data_dir / "studies"))
    except StudyDataError as e:
        print("[cartpool] the data do not validate; run make check first:", file=sys.stderr)
        for issue in e.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    ap = Appraisal(pa, data_dir)
    pb = ap.judgements.publication_bias
    if everything or pb is None or pb.evidence != ap.publication_bias_fingerprint:
        prop = ap.publication_bias_proposal
        print("# Publication bias, judged once for the body of evidence (proposal):", file=out)
        print(yaml.safe_dump({"publication_bias": {
            "rating": prop.judgement, "footnote": prop.reason, "evidence": ap.publication_bias_fingerprint,
            "reviewed": _dt.date.today().isoformat()}}, sort_keys=False, allow_unicode=True, width=100), file=out)
    sof = ap.summary
    todo = sof[sof["k"] > 0] if everything else sof[(sof["k"] > 0) & (sof["status"] != "reviewed")]
    if todo.empty:
        print("# Every judgement was made on the current evidence.", file=out)
        return 0
    print("# Judgements awaiting review (paste under judgements:, then edit the footnotes):", file=out)
    for r in frame_rows(todo):
        block = ap.proposal_block(r.outcome, r.population_id)
        note = f"# {r.outcome_label}, {r.population}: {r.status}"
        if r.judgement_id:
            note += f" (recorded in {r.judgement_id}, fingerprint {r.recorded_fingerprint}; now {r.fingerprint})"
        print(note, file=out)
        for key, d in block["domains"].items():
            for line in d["evidence"]:
                print(f"#   {key}: {line}", file=out)
        entry = {"id": f"{r.outcome}_{r.population_id}", "outcomes": [r.outcome], "populations": [r.population_id],
                 "certainty": block["certainty"],
                 "domains": {k: {"rating": d["rating"], "footnote": d["footnote"]} for k, d in block["domains"].items()},
                 "evidence": {f"{r.outcome}@{r.population_id}": block["fingerprint"]},
                 "reviewed": _dt.date.today().isoformat()}
        print(yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=100), file=out)
    return 0

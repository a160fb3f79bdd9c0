"""Each study's results and the pooled rows' statistics are computed once and kept by the content of
their inputs (`cartpool.analysis.store`, issue 31 parts 1 and 2): read back where the content is the
same (whatever the files' times say), computed again where it changed, and never a byte of a report
different from a clean build's."""

import os
import shutil

import pandas as pd
import pytest

from cartpool.analysis import pooling
from cartpool.analysis.pooled_analysis import PooledAnalysis
from cartpool.analysis.store import ResultStore
from cartpool.analysis.study_analysis import analyse_study
from cartpool.stats import glmm

from .helpers import copy_project, make, own_sources, snapshot

#: Each study's own results, as the pooled analysis tables them
STUDY_FRAMES = ("counts", "landmarks", "audit", "medians")
#: The pooled rows
ROW_FRAMES = ("estimates", "inputs", "leave_one_out")


def analysed(studies, cache, frames=STUDY_FRAMES):
    a = PooledAnalysis.load(studies, store=ResultStore(cache) if cache else None)
    return a, {name: getattr(a, name) for name in frames}


def same(x: dict, y: dict) -> bool:
    assert x.keys() == y.keys()
    return all(x[k].equals(y[k]) and list(x[k].dtypes) == list(y[k].dtypes) for k in x)


def test_kept_results_are_read_back_and_equal_computed_ones(real_copy, tmp_path):
    cache = tmp_path / "cache"
    _, reference = analysed(real_copy, None)
    first, computed = analysed(real_copy, cache)
    ids = sorted(sd.study.id for sd in first.study_data)
    assert sorted(first.store.misses) == ids and not first.store.hits
    second, read = analysed(real_copy, cache)
    assert sorted(second.store.hits) == ids and not second.store.misses
    assert same(reference, computed) and same(reference, read)


def test_a_new_timestamp_keeps_the_results_and_new_content_recomputes_that_study_only(real_copy, tmp_path):
    cache = tmp_path / "cache"
    _, first = analysed(real_copy, cache)
    sid = sorted(p.name for p in real_copy.iterdir())[0]
    results = real_copy / sid / "results.yaml"
    for p in (real_copy / sid).iterdir():  # times only: content decides
        os.utime(p, (1, 1))
    a, _ = analysed(real_copy, cache)
    assert not a.store.misses
    original = results.read_bytes()
    results.write_bytes(original + b"\n# a curator's note\n")
    st = os.stat(results)
    a, edited = analysed(real_copy, cache)
    assert a.store.misses == [sid]  # the others are read back
    results.write_bytes(original)
    os.utime(results, ns=(st.st_atime_ns, st.st_mtime_ns))  # back to the old content with the new time
    a, reverted = analysed(real_copy, cache)
    assert not a.store.misses  # the version before the edit is still kept
    assert same(first, reverted) and same(first, edited)  # a comment changes no result


def test_a_change_to_the_plan_recomputes_every_study(real_copy, tmp_path):
    cache = tmp_path / "cache"
    analysed(real_copy, cache)
    plan = real_copy.parent / "analysis_plan.yaml"
    plan.write_bytes(plan.read_bytes() + b"\n# reviewed\n")
    a, _ = analysed(real_copy, cache)
    assert len(a.store.misses) == len(a.study_data) and not a.store.hits


def test_a_damaged_or_foreign_store_file_is_recomputed_not_trusted(real_copy, tmp_path):
    cache = tmp_path / "cache"
    _, reference = analysed(real_copy, cache)
    kept = sorted((cache / "studies").glob("*/*.pickle"))
    kept[0].write_bytes(kept[0].read_bytes()[:100])  # torn
    kept[1].write_bytes(b"something else entirely")
    (cache / "pooled-rows.pickle").write_bytes(b"")
    a, again = analysed(real_copy, cache)
    assert len(a.store.misses) == 2
    assert same(reference, again)


def test_the_pooled_rows_are_not_refitted_when_kept(real_copy, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _, reference = analysed(real_copy, None, ROW_FRAMES)
    _, computed = analysed(real_copy, cache, ROW_FRAMES)
    assert same(reference, computed)
    for f in (glmm._glmm_fit_cached, pooling._pool_cached, pooling._bayes_row):
        f.cache_clear()  # nothing remembered in this process: only the store can answer

    def no_fit(*a, **k):
        raise AssertionError("a kept row was refitted")
    monkeypatch.setattr(glmm, "_glmm_fit", no_fit)
    monkeypatch.setattr(pooling, "pool_bayes", no_fit)
    a, read = analysed(real_copy, cache, ROW_FRAMES)
    assert a.store.rows_computed == 0 and any(h.startswith("outcomes/") for h in a.store.hits)
    assert same(reference, read)
    shutil.rmtree(cache / "outcomes")  # each outcome's rows again, from the kept fits
    a, again = analysed(real_copy, cache, ROW_FRAMES)
    assert a.store.rows_read > 0 and a.store.rows_computed == 0
    assert same(reference, again)


def test_an_edit_recomputes_the_outcomes_whose_counts_changed_and_reads_the_others(tmp_path, monkeypatch):
    from cartpool.synthetic import generate

    studies = tmp_path / "data" / "studies"
    generate(3, studies, tmp_path / "sources")
    own_sources(monkeypatch, tmp_path / "sources")
    cache = tmp_path / "cache"
    before, _ = analysed(studies, cache, ROW_FRAMES)
    csv = sorted(studies.glob("*/patients.csv"))[0]
    rows = csv.read_text(encoding="utf-8").splitlines()
    cells = rows[1].split(",")
    cells[1] = "CR" if cells[1] != "CR" else "PR"  # patient 1's best response
    rows[1] = ",".join(cells)
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    after, edited = analysed(studies, cache, ROW_FRAMES)
    counts_before, counts_after = before.counts, after.counts
    changed = {k for k in counts_after["outcome"].unique()
               if not counts_before[counts_before["outcome"] == k].equals(counts_after[counts_after["outcome"] == k])}
    assert changed  # the edit changes a response count
    recomputed = {m.split("/", 1)[1] for m in after.store.misses if m.startswith("outcomes/")}
    read = {h.split("/", 1)[1] for h in after.store.hits if h.startswith("outcomes/")}
    assert recomputed == changed and read and not read & changed
    _, plain = analysed(studies, None, ROW_FRAMES)
    assert same(plain, edited)


def test_the_study_step_keeps_what_the_pooled_step_reads(real_copy, tmp_path):
    cache = tmp_path / "cache"
    sid = sorted(p.name for p in real_copy.iterdir())[0]
    study = analyse_study(sid, data_dir=str(real_copy), results_dir=str(cache))
    assert study.store.misses == [sid]
    a, _ = analysed(real_copy, cache)
    assert sid in a.store.hits and sid not in a.store.misses
    # the same rows and values (the pooled table's column types follow all studies' rows together)
    pd.testing.assert_frame_equal(study.audit_rows, a.audit[a.audit["study_id"] == sid].reset_index(drop=True),
                                  check_dtype=False)


@pytest.mark.slow
def test_edits_and_reverts_give_the_bytes_of_a_clean_build(tmp_path):
    """A value changed in one study, built on top of the kept results, equals a clean build of the same
    data; reverted, it equals the first build again."""
    root = copy_project(tmp_path / "p")
    make(root, "BROWSER=", "reports")
    first = snapshot(root / "reports")
    csv = root / "data" / "studies" / "syn000" / "patients.csv"
    original = csv.read_text(encoding="utf-8")
    rows = original.splitlines()
    cells = rows[1].split(",")
    cells[1] = "CR" if cells[1] != "CR" else "PR"  # patient 1's best response
    rows[1] = ",".join(cells)
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = make(root, "BROWSER=", "-j2", "reports").stdout
    assert "pooled" in out
    edited = snapshot(root / "reports")
    assert edited != first
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("reports", "build"))
    make(clean, "BROWSER=", "reports")
    assert snapshot(clean / "reports") == edited
    csv.write_text(original, encoding="utf-8")
    make(root, "BROWSER=", "-j2", "reports")
    assert snapshot(root / "reports") == first
    assert list((root / "build" / "cache" / "studies").glob("*/*.pickle"))

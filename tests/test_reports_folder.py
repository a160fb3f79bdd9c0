"""The reports folder holds what this build writes and nothing else: a file an older build left
(a table named differently then, a stray folder) is removed and named on the build's log, while
every page's own files, and a step's hidden temporary file, stay. Fast: no build."""

from __future__ import annotations

from cartpool.builder.pipeline import remove_files_no_step_writes


def test_files_no_step_writes_are_removed_and_the_pages_own_files_stay(tmp_path):
    reports = tmp_path / "reports"
    own = ["study_a.html", "study_a.pdf", "pooled.html", "pooled.pdf", "index.html",
           "figures/study_a/01-curve.svg", "figures/pooled/02-forest.svg",
           "tables/study_a-audit.csv", "tables/pooled-estimates.csv", "tables/index-studies.csv",
           ".pooled.pdf.x1y2.tmp", "tables/.pooled-estimates.csv.z.tmp"]
    stale = ["tables/audit.csv", "tables/old_study-audit.csv", "tables/notes.txt", "old_study.html",
             "readme.txt", "figures/old_study/01-curve.svg", "figures/stray.png", "scratch/x.csv"]
    for name in own + stale:
        (reports / name).parent.mkdir(parents=True, exist_ok=True)
        (reports / name).write_text("x", encoding="utf-8")
    removed = remove_files_no_step_writes(reports, {"study_a"})
    assert sorted(removed) == sorted(["tables/audit.csv", "tables/old_study-audit.csv", "tables/notes.txt",
                                      "old_study.html", "readme.txt", "figures/old_study", "figures/stray.png",
                                      "scratch"])
    left = sorted(str(p.relative_to(reports)) for p in reports.rglob("*") if p.is_file())
    assert left == sorted(own)
    assert remove_files_no_step_writes(reports, {"study_a"}) == []  # and nothing more the next time


def test_no_reports_folder_yet_is_nothing_to_do(tmp_path):
    assert remove_files_no_step_writes(tmp_path / "reports", set()) == []

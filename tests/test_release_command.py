"""`make release` (issue 29): it records the review only from valid data and current reports, never
rewrites a release, and after a study is added as data alone the pooled report and the index say
what changed since the release. Run on synthetic studies in temporary copies of the project."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from cartpool.builder.release import record_release
from cartpool.data import releases
from cartpool.synthetic import generate

from .helpers import ROOT, copy_project, make

pytestmark = pytest.mark.slow  # make reports and make release in a project copy


def test_release_refuses_while_the_reports_are_stale_or_the_data_invalid(tmp_path, monkeypatch, capsys):
    root = tmp_path / "p"
    generate(2, root / "data" / "studies", root / "sources")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    monkeypatch.chdir(root)
    monkeypatch.setenv("CARTPOOL_SOURCES", str(root / "sources"))
    kw = {"root": root, "reports": root / "reports", "build_dir": root / "build", "with_pdf": False}
    assert record_release(**kw) == 1
    assert "the reports are not up to date" in capsys.readouterr().err
    (root / "data" / "studies" / "syn000" / "results.yaml").write_text("- id: [\n", encoding="utf-8")
    assert record_release(**kw) == 1
    err = capsys.readouterr().err
    assert "data validation failed" in err and "data/studies/syn000/results.yaml" in err
    assert "do not pass validation" in err
    assert not (root / "data" / "releases").exists()


def test_a_release_then_a_study_added_by_data_alone_shows_on_the_pages(tmp_path):
    root = copy_project(tmp_path / "p", n_synthetic=2)
    make(root, "reports")
    p = make(root, "release", "NOTE=The first release")
    [first] = releases.release_files(root / "data")
    assert f"release 1 recorded in data/releases/{first.name}" in p.stdout
    frozen = first.read_bytes()
    # the release is an input of the pooled report and the index: they are stale until rebuilt
    stale = make(root, "release", check=False)
    assert stale.returncode != 0 and "the reports are not up to date" in stale.stderr
    make(root, "reports")
    again = make(root, "release", check=False)
    assert again.returncode != 0 and "nothing changed since release 1" in again.stdout
    news = pd.read_csv(root / "reports" / "tables" / "pooled-whats-new.csv", keep_default_na=False)
    assert list(news["section"]) == ["none"] and list(news["change"]) == ["no change"]
    assert "No change since release 1" in (root / "reports" / "index.html").read_text(encoding="utf-8")
    # a curator adds two studies (one in relapsed/refractory PCL) as data only
    generate(4, root / "data" / "studies", root / "sources")
    make(root, "reports")
    news = pd.read_csv(root / "reports" / "tables" / "pooled-whats-new.csv", keep_default_na=False)
    added = news[news["section"] == "study"]
    assert sorted(added["study"]) == ["Synthetic 002", "Synthetic 003"] and set(added["change"]) == {"added"}
    moved = news[(news["section"] == "estimate") & (news["population"] == "rr_pcl") & (news["outcome"] == "orr")]
    row = moved.iloc[0]
    assert len(moved) == 1 and (int(row["before_k"]), int(row["after_k"])) == (1, 2)
    assert str(row["matters"]) == "True" and "poolable" not in row["why"]
    history = pd.read_csv(root / "reports" / "tables" / "pooled-release-history.csv", keep_default_na=False)
    assert list(history["release"].astype(str).drop_duplicates()) == ["1", "now"]
    pooled = (root / "reports" / "pooled.html").read_text(encoding="utf-8")
    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert "Version history" in pooled and "The first release" in pooled and "Synthetic 003" in pooled
    assert "What&#39;s new" in index or "What's new" in index
    assert "studies added: Synthetic 002, Synthetic 003" in index and "→" in index
    # the second release: a new file; the first is never rewritten
    make(root, "release")
    files = releases.release_files(root / "data")
    assert len(files) == 2 and files[0].read_bytes() == frozen
    assert [r.release for r in releases.load_releases(root / "data")] == [1, 2]

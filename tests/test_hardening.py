"""Hardening: text from data is escaped everywhere; numbers at the edges build without crashes
or NaN on the page; concurrent builds are serialised by a lock."""

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from cartpool.analysis.pooled_analysis import PooledAnalysis
from cartpool.analysis.study_analysis import StudyAnalysis
from cartpool.data.load import load_all
from cartpool.report.index import index_page
from cartpool.report.pooled_page import PooledPage
from cartpool.report.study_page import StudyPage
from cartpool.synthetic import generate

from .helpers import copy_project, make, snapshot

EVIL_TITLE = 'Evil <script>alert(1)</script> & <img src=x onerror="alert(2)"> study'
EVIL_QUOTE = '<script>alert(1)</script> and 5 of 9 & <img onerror=alert(3)>'


#: The one script a page may carry: the project's own (report/page.js), inline.
PAGE_SCRIPT = (Path(__file__).resolve().parents[1] / "src" / "cartpool" / "report" / "page.js").read_text(
    encoding="utf-8").strip()


class _Scan(HTMLParser):
    """Scripts other than the project's own, event-handler attributes and broken images."""

    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self.imgs_bad = 0, [], 0
        self._script: list[str] | None = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts += "".join(self._script).strip() != PAGE_SCRIPT
            self._script = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._script = []
            if dict(attrs).get("src"):
                self.scripts += 1
        for k, _v in attrs:
            if k.lower().startswith("on"):
                self.handlers.append((tag, k))
        if tag == "img" and dict(attrs).get("src", "").startswith("x"):
            self.imgs_bad += 1


def _plant(studies, sources):
    folder = studies / "syn001"
    study = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    study["title"] = EVIL_TITLE
    study["citation"] = EVIL_TITLE + " J Evil. 2027."
    study["label"] = "Evil & <b>bold</b>"
    (folder / "study.yaml").write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    res = yaml.safe_load((folder / "results.yaml").read_text(encoding="utf-8"))
    res.append({"id": "evil", "population": "infused", "endpoint": "mrd_negative", "statistic": "count",
                "value": 5, "denominator": 9, "location": "<b>Table</b> & co", "quote": EVIL_QUOTE,
                "note": "<script>x</script>"})
    (folder / "results.yaml").write_text(yaml.safe_dump(res, allow_unicode=True), encoding="utf-8")
    src = sources / "syn001.txt"
    src.write_text(src.read_text(encoding="utf-8") + EVIL_QUOTE + "\n", encoding="utf-8")


def _assert_inert(html: str, where: str, shown: str = "&lt;script&gt;alert(1)&lt;/script&gt;"):
    s = _Scan()
    s.feed(html)
    assert s.scripts == 0, f"{where}: a <script> element other than the page's own"
    assert s.handlers == [], f"{where}: event handler attributes {s.handlers}"
    assert s.imgs_bad == 0
    assert shown in html, f"{where}: the text is not shown escaped"


@pytest.mark.slow
def test_markup_in_data_is_escaped_through_the_whole_pipeline(tmp_path):
    root = copy_project(tmp_path / "p")
    _plant(root / "data" / "studies", root / "sources")
    make(root, "_reports", "BROWSER=")
    _assert_inert((root / "reports" / "syn001.html").read_text(encoding="utf-8"), "syn001.html")
    for page in ("pooled.html", "index.html"):  # these show the label, not the title
        _assert_inert((root / "reports" / page).read_text(encoding="utf-8"), page,
                      shown="Evil &amp; &lt;b&gt;bold&lt;/b&gt;")
    title = re.search(r"<title>(.*?)</title>", (root / "reports" / "syn001.html").read_text(encoding="utf-8")).group(1)
    assert "<script>" not in title and "&lt;script&gt;" in title


@pytest.mark.slow
def test_edge_numbers_build_without_crash_or_nan(tmp_path):
    generate(2, tmp_path / "studies", tmp_path / "sources")
    # syn000: per-patient; make every patient an event at time 0 and a non-responder
    csv = tmp_path / "studies" / "syn000" / "patients.csv"
    rows = csv.read_text(encoding="utf-8").splitlines()
    out = [rows[0]]
    for r in rows[1:]:
        c = r.split(",")
        c[1], c[2], c[3], c[4] = "PD", "0", "0", "No"
        out.append(",".join(c))
    csv.write_text("\n".join(out) + "\n", encoding="utf-8")
    for sid, edits in (("syn000", {"orr": 0, "cr_or_better": 0, "crs_any": 0, "crs_ge3": 0}),
                       ("syn001", None)):
        p = tmp_path / "studies" / sid / "results.yaml"
        res = yaml.safe_load(p.read_text(encoding="utf-8"))
        n = res[0]["value"]
        for r in res:
            if edits and r["id"] in edits:
                r["value"] = edits[r["id"]]
            elif not edits and r["statistic"] == "count" and r["id"] != "n_infused":
                r["value"] = n  # all events
        p.write_text(yaml.safe_dump(res, allow_unicode=True), encoding="utf-8")
        src = tmp_path / "sources" / f"{sid}.txt"
        src.write_text(src.read_text(encoding="utf-8") + "\n".join(r["quote"] for r in res), encoding="utf-8")
    studies = load_all(tmp_path / "studies", sources=None)
    pages = []
    for sd in studies:
        pages.append(str(StudyPage(StudyAnalysis(sd)).render_all()))
    for single in ([studies[0]], studies):  # a single study overall, and one study per subgroup
        pages.append(str(PooledPage(PooledAnalysis(single)).render_all()))
    pages.append(index_page(studies, with_pdf=False))
    for html in pages:
        text = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", html))
        assert not re.search(r"\bnan\b|\binf\b", text, re.I), re.findall(r".{40}\bnan\b.{40}", text, re.I)[:3]


@pytest.mark.slow
def test_concurrent_builds_are_serialised_and_leave_correct_reports(project):
    root, _ = project
    (root / "reports" / "syn000.html").unlink()
    env_args = ["make", "-C", str(root), f"PY={sys.executable}", f"VENV={sys.prefix}", "ENV_DEP=",
                f"SOURCES={root / 'sources'}", "reports"]
    a = subprocess.Popen(env_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(env_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_a, err_a = a.communicate(timeout=600)
    out_b, err_b = b.communicate(timeout=600)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    assert "waiting for it to finish" in err_a + err_b
    assert (out_a + out_b).count("syn000       notebook") == 1  # built once, by whichever ran first
    assert (root / "reports" / "syn000.html").is_file()
    snap = snapshot(root / "reports")
    assert not [k for k in snap if k.startswith(".") or "/." in k]


@pytest.mark.parametrize("bad", ["../x", "a b", "Caps"])
def test_new_study_refuses_bad_ids_and_never_overwrites(tmp_path, bad):
    from cartpool.builder.scaffold import new_study

    assert new_study(bad, tmp_path) == 2
    assert new_study("smith2027", tmp_path) == 0
    before = (tmp_path / "smith2027" / "study.yaml").read_text(encoding="utf-8")
    assert new_study("smith2027", tmp_path) == 1
    assert (tmp_path / "smith2027" / "study.yaml").read_text(encoding="utf-8") == before
    assert "not reported" in before

"""A study id is a folder name: the README allows it on a page only inside the name of a CSV beside
the page (`tables/<id>-<table>.csv`). Built from fixtures, with ids a curator may choose ("_" in
them, as in karmma_3), through `make reports` in a temporary copy of the project."""

import re

import pytest

from .helpers import copy_project, make
from .page_text import ALLOWED, offenders, visible_text
from .study_factory import rename_study

pytestmark = pytest.mark.slow  # these tests build reports

IDS = {"syn000": "trial_a_1", "syn001": "trial_b_2"}


def test_study_ids_reach_pages_only_in_the_names_of_their_tables(tmp_path):
    root = copy_project(tmp_path / "project")
    for old, new in IDS.items():
        rename_study(root / "data" / "studies", old, new)
    make(root, "reports", "BROWSER=")
    reports = root / "reports"
    pages = sorted(reports.glob("*.html"))
    assert {p.stem for p in pages} == {"index", "pooled", *IDS.values()}
    found = {}
    for page in pages:
        text = visible_text(page)
        if bad := offenders(text):
            found[page.name] = bad
        elsewhere = ALLOWED.sub(" ", text)
        assert not any(sid in elsewhere for sid in IDS.values()), page.name
    assert found == {}
    # the page title opens with the paper's title, which a reader recognises
    study_page = (reports / "trial_a_1.html").read_text(encoding="utf-8")
    title = re.search(r"<title>([^<]*)</title>", study_page).group(1)
    assert title.startswith("Synthetic CAR-T study 000 — ") and "trial_a_1" not in title
    # and the id is where the README says: the name of a CSV a page links to (in words)
    assert 'href="tables/trial_a_1-audit.csv"' in study_page and "trial_a_1" not in visible_text(study_page)

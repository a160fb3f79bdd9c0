"""Where the source documents come from (README, "Adding a study"; data/README.md, "Sources"):
`make check SOURCES=dir` and `make reports SOURCES=dir` check every quote against the documents in
dir, also when CARTPOOL_SOURCES is set in the environment; without SOURCES, CARTPOOL_SOURCES from
the environment is used, and several folders may be given, separated by ':'. Run on synthetic
studies in a temporary copy of the project; a copy of their sources in which one quote no longer
occurs shows which folder was read."""

import os
import shutil
import subprocess
import sys

import pytest

from .helpers import copy_project

pytestmark = pytest.mark.slow  # these tests build reports

QUOTE = "syn000 was a prospective study"
NOT_FOUND = "does not occur in"  # the message of a quote its source does not hold


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("sources"))
    good = root / "sources"
    bad = root / "altered-sources"
    shutil.copytree(good, bad)
    doc = bad / "syn000.txt"
    text = doc.read_text(encoding="utf-8")
    assert QUOTE in text
    doc.write_text(text.replace(QUOTE, "syn000 was a study"), encoding="utf-8")
    return root, good, bad


def make(root, *args, env_sources=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k not in ("CARTPOOL_SOURCES", "SOURCES")}
    if env_sources is not None:
        env["CARTPOOL_SOURCES"] = str(env_sources)
    cmd = ["make", "-C", str(root), f"PY={sys.executable}", f"VENV={sys.prefix}", "ENV_DEP=", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def _rejected(p) -> bool:
    """Validation failed because the quote is not in the source read: the altered copy was read (the
    good folder, read instead, passes)."""
    return p.returncode != 0 and NOT_FOUND in p.stderr and QUOTE in p.stderr


def test_make_check_reads_the_sources_it_is_given_over_the_environment(project):
    root, good, bad = project
    p = make(root, "check", f"SOURCES={bad}", env_sources=good)
    assert _rejected(p), p.stdout + p.stderr
    p = make(root, "check", f"SOURCES={good}", env_sources=bad)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "not found" not in p.stdout and "were not verified" not in p.stdout


def test_make_check_reads_cartpool_sources_from_the_environment_without_sources(project):
    root, good, bad = project
    p = make(root, "check", env_sources=bad)
    assert _rejected(p), p.stdout + p.stderr
    p = make(root, "check", env_sources=good)
    assert p.returncode == 0 and "were not verified" not in p.stdout, p.stdout + p.stderr


def test_sources_may_be_several_folders_and_relative_to_the_project(project):
    root, good, bad = project
    # the first folder does not exist; the second holds every source: every quote is checked, no notice
    p = make(root, "check", f"SOURCES={root / 'no-such-folder'}:sources", env_sources=bad)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "were not verified" not in p.stdout and "source documents not found" not in p.stdout, p.stdout
    p = make(root, "check", f"SOURCES={bad.name}", env_sources=good)  # relative to the project
    assert _rejected(p), p.stdout + p.stderr


def test_a_folder_without_the_sources_says_which_quotes_went_unchecked(project):
    root, good, _ = project
    p = make(root, "check", f"SOURCES={root / 'no-such-folder'}", env_sources=good)
    assert p.returncode == 0
    assert p.stdout.count("its quotes were not verified") == 2 and "no-such-folder" in p.stdout
    assert "source documents not found" in p.stdout


def test_make_reports_reads_the_sources_it_is_given(project):
    root, good, bad = project
    p = make(root, "reports", "BROWSER=", f"SOURCES={bad}", env_sources=good)
    assert _rejected(p), p.stdout + p.stderr
    assert not (root / "reports").exists()  # validation stops the build before anything is written

"""The pinned environment: three hashed lock groups (build, test, lab) that agree on every shared
package, and environment.yml generated from the test group."""

import importlib.util
import re

from .helpers import ROOT

LOCKS = ROOT / "requirements"


def _make_environment():
    spec = importlib.util.spec_from_file_location("make_environment", ROOT / "scripts" / "make_environment.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pins(group: str) -> dict[str, str]:
    return {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in _make_environment().pins(LOCKS / f"{group}.lock").items()}


def test_environment_yml_is_generated_from_the_test_lock():
    mod = _make_environment()
    assert (ROOT / "environment.yml").read_text(encoding="utf-8") == mod.environment_yml(LOCKS / "test.lock")


def test_every_pin_is_exact_and_hashed():
    for group in ("build", "test", "lab"):
        text = (LOCKS / f"{group}.lock").read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        assert len(blocks) == len(_pins(group)) > 10
        for block in blocks:
            assert re.match(r"[A-Za-z0-9][A-Za-z0-9_.-]*==[0-9][0-9A-Za-z.+]* \\\n", block), block[:80]
            assert "--hash=sha256:" in block, block[:80]


def test_groups_agree_and_nest():
    build, test, lab = _pins("build"), _pins("test"), _pins("lab")
    assert {"pandas", "scipy", "scikit-survival", "papermill", "nbconvert", "pydantic", "matplotlib",
            "pypdf"} <= set(build)
    assert {"pytest", "ruff", "hypothesis", "playwright"} <= set(test) and "jupyterlab" in lab
    assert "playwright" not in build  # the build prints through its own DevTools client (builder/devtools.py)
    assert not {"pytest", "jupyterlab"} & set(build)
    assert "statsmodels" not in test  # proportion CIs are SciPy's beta and normal quantiles
    for other in (test, lab):
        assert {k: other[k] for k in build} == build  # the build group, at the same versions
    assert all(lab[k] == test[k] for k in set(lab) & set(test))


def test_uv_is_pinned_and_hashed_and_installs_the_locks():
    text = (LOCKS / "uv.lock").read_text(encoding="utf-8")
    assert re.search(r"^uv==[0-9][0-9.]* \\\n", text, re.M) and text.count("--hash=sha256:") >= 5  # one per platform
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps -r requirements/uv.lock" in makefile  # pip installs uv, hashes checked
    assert "uv pip install --quiet --python $(1)/bin/python --require-hashes" in makefile
    assert "pip install --quiet --require-virtualenv --require-hashes --no-deps -r $(2)" in makefile  # the fallback

"""environment.yml and requirements.lock name the same packages at the same versions."""

import re

import yaml

from .conftest import ROOT


def _lock() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, ver = line.split("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = ver
    return out


def test_environment_yml_matches_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = {}
    for spec in pip:
        name, ver = spec.split("==")
        conda[re.sub(r"[-_.]+", "-", name).lower()] = ver
    assert conda == _lock()
    assert "python=3.11" in env["dependencies"]


def test_lock_pins_every_package_exactly():
    lock = _lock()
    assert {"pandas", "statsmodels", "scikit-survival", "papermill", "nbconvert", "pydantic", "matplotlib"} <= set(lock)
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+]*", v) for v in lock.values())

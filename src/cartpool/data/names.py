"""The naming rule for ids and study folders (light: imported by the build's planner too)."""

from __future__ import annotations

import re
from pathlib import Path

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
ID_HELP = "lower-case letters, digits and _, starting with a letter (for example crs_ge3)"


def folder_name_problem(name: str) -> str | None:
    """What is wrong with a study folder's name, in a curator's words; None if it is a valid id."""
    if re.match(ID_PATTERN, name):
        return None
    suggestion = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    if not suggestion or not suggestion[0].isalpha():
        suggestion = "study_" + suggestion
    return (f"the folder name {name!r} is not a valid study id: a study folder is named by its id, "
            f"{ID_HELP.split(' (')[0]}. Rename the folder (for example to {suggestion!r}) and set "
            f"id: {suggestion} in its study.yaml")


def exactly_these(given: dict, keys: tuple[str, ...] | list[str], verb: str, hint: str = "") -> dict:
    """`given` with exactly the named keys, in their order; a curator's error names the unknown or
    missing ones (`verb` as in "judge every domain", `hint` after the list of valid keys)."""
    extra = [k for k in given if k not in keys]
    missing = [k for k in keys if k not in given]
    if extra:
        raise ValueError(f"unknown domain(s) {', '.join(extra)}: use {', '.join(keys)}{hint}")
    if missing:
        raise ValueError(f"{verb}; missing: {', '.join(missing)}")
    return {k: given[k] for k in keys}


def study_ids(data_dir: Path | str) -> list[str]:
    """Study ids are the folder names under data/studies, sorted."""
    d = Path(data_dir)
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))

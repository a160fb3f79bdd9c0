"""Reading a curator's files: YAML that keeps printed decimals and refuses duplicate keys, text with
a size limit, and pydantic's validation errors turned into curator messages (file, record, field,
what to type)."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import ValidationError

from .errors import DataIssue
from .model import ID_HELP as V_ID_HELP

MAX_FILE_BYTES = 5_000_000
STUDY_FILE = "study.yaml"
RESULTS_FILE = "results.yaml"
APPRAISAL_FILE = "appraisal.yaml"
COVERAGE_FILE = "coverage.yaml"


# --- YAML ---------------------------------------------------------------------------------------


#: libyaml's parser where PyYAML was built with it (the Debian and PyPI wheels are): the same
#: documents, about ten times faster than the pure-Python parser, which took most of the pooled
#: step's reading time. Construction (decimals, dates, duplicate keys) stays in Python either way.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):
    """A safe loader (no Python objects) that keeps printed decimals as `Decimal`, leaves dates as
    text, and refuses duplicate keys, which PyYAML would otherwise silently overwrite."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node):
    text = str(loader.construct_scalar(node)).replace("_", "")
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if math.isnan(value) or math.isinf(value):
        return value  # rejected later by the model, with the field named
    try:
        return Decimal(text)
    except Exception:  # e.g. sexagesimal forms YAML 1.1 allows
        return Decimal(repr(value))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the field {key!r} appears twice (line {key_node.start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = True
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_text(path: Path, issues: list[DataIssue]) -> str | None:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            issues.append(DataIssue(path.name, "", f"the file is {size:,} bytes, larger than the "
                                    f"{MAX_FILE_BYTES:,}-byte limit for a study file"))
            return None
        raw = path.read_bytes()
    except OSError as e:
        issues.append(DataIssue(path.name, "", f"cannot be read ({e.strerror})"))
        return None
    if b"\x00" in raw:
        issues.append(DataIssue(path.name, "", "is a binary file, not text (it contains NUL bytes)"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        issues.append(DataIssue(path.name, f"byte {e.start}", "is not UTF-8 text; save it as UTF-8"))
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_yaml(path: Path, issues: list[DataIssue]):
    text = read_text(path, issues)
    if text is None:
        return None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        if isinstance(e, yaml.constructor.ConstructorError) and "appears twice" in str(problem):
            where = ""
        issues.append(DataIssue(path.name, where, f"is not valid YAML: {problem}"))
        return None
    except RecursionError:
        issues.append(DataIssue(path.name, "", "is not valid YAML: nested too deeply"))
        return None


def read_study_text(folder: Path, field: str = "label") -> str:
    """A study's label ("Guo 2026") or title from its study.yaml without validating the study; the
    folder name if the file cannot be read."""
    raw = read_yaml(Path(folder) / STUDY_FILE, []) if (Path(folder) / STUDY_FILE).is_file() else None
    value = raw.get(field) if isinstance(raw, dict) else None
    return value if isinstance(value, str) and value else Path(folder).name


# --- pydantic errors in curator words ---------------------------------------------------------


def _loc(loc: tuple, data=None) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            label = f"[{p}]"
            if data is not None and not parts and isinstance(data, list) and 0 <= p < len(data):
                rid = data[p].get("id") if isinstance(data[p], dict) else None
                label = f"record {p + 1}" + (f" (id {rid})" if isinstance(rid, str) else "")
                parts.append(label)
                continue
            parts.append(label)
        elif str(p).startswith(("Sourced[", "function-", "literal[", "list[", "dict[", "str",
                                "decimal", "int", "constrained")):
            continue  # pydantic's union branch names mean nothing to a curator
        else:
            parts.append(str(p))
    out = ""
    for p in parts:
        out += p if p.startswith("[") else (("." if out else "") + p)
    return out


#: What to type, for each kind of pydantic type error (never a Python type name or a pattern).
_WHAT_TO_TYPE = {
    "int": "a whole number, for example 12",
    "decimal": "a number as printed, for example 12 or 33.3 (NR only for a median not reached)",
    "float": "a number as printed, for example 0.95",
    "string": "text (put it in quotes if it starts with a symbol)",
    "bool": "true or false",
    "list": "a list, for example [BCMA] or [primary_pcl, secondary_pcl]",
    "dict": "a block of fields, one per line (key: value)",
    "model": "a block of fields, one per line (key: value)",
    "model_attributes": "a block of fields, one per line (key: value)",
}


def _shown(got) -> str:
    if isinstance(got, dict):
        return "a block of fields"
    if isinstance(got, list):
        return "a list"
    if got is None:
        return "nothing"
    shown = repr(str(got)) if not isinstance(got, bool | int) else str(got).lower()
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _message(err: dict) -> str:
    """A pydantic error as what to type. Never shows a regular expression or a Python type."""
    t, msg = err.get("type", ""), err.get("msg", "")
    got = err.get("input")
    if t == "missing":
        return "this required field is missing"
    if t == "extra_forbidden":
        return "unknown field (check its spelling against data/README.md)"
    if t == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"must be one of {expected}; found {_shown(got)}"
    if t in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if t == "model_type" and isinstance(got, str):
        return ("must be a block of fields (value, location, quote) or, where the source does not give it, "
                f"not reported (the paper does not report it) or not in source; found {_shown(got)}")
    if t.startswith("finite_number") or (isinstance(got, float) and got != got) or got in (float("inf"),
                                                                                        float("-inf")):
        return "must be a finite number (NaN and infinity are not allowed)"
    if t in ("too_short", "string_too_short"):
        return f"must not be empty; found {_shown(got)}"
    if t in ("greater_than", "greater_than_equal"):
        limit = (err.get("ctx") or {}).get("gt", (err.get("ctx") or {}).get("ge"))
        return f"must be {'above' if t == 'greater_than' else 'at least'} {limit}; found {_shown(got)}"
    if t in ("less_than", "less_than_equal"):
        limit = (err.get("ctx") or {}).get("lt", (err.get("ctx") or {}).get("le"))
        return f"must be {'below' if t == 'less_than' else 'at most'} {limit}; found {_shown(got)}"
    for prefix, words in _WHAT_TO_TYPE.items():
        if t.startswith(prefix):
            return f"must be {words}; found {_shown(got)}"
    if t == "string_pattern_mismatch":
        return f"must be {V_ID_HELP}; found {_shown(got)}"
    return f"is not valid here; found {_shown(got)} (see data/README.md for what this field takes)"


def pydantic_issues(file: str, e: ValidationError, data=None) -> list[DataIssue]:
    out, seen = [], set()
    for err in e.errors():
        # A field that is "a sourced value, or not reported" fails both branches; when the value
        # was a block of fields, only the block's own errors matter.
        if err.get("type") == "literal_error" and isinstance(err.get("input"), dict):
            continue
        if err.get("type") == "literal_error" and (err.get("ctx") or {}).get("expected") == "'NR'":
            continue  # the number branch's message already says that NR is allowed for a median
        where, msg = _loc(err["loc"], data), _message(err)
        # A field that is "Sourced or not reported" fails both branches; report it once.
        if err.get("type") == "literal_error" and "not reported" in msg and any(
            k[0] == where for k in seen
        ):
            continue
        key = (where, msg)
        if key in seen:
            continue
        seen.add(key)
        out.append(DataIssue(file, where, msg))
    return out


# --- per-patient tables ---------------------------------------------------------------------

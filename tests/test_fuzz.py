"""Property-based fuzzing of the study loader (hypothesis, seeded, bounded).

Valid study files are mutated (dropped and duplicated lines and fields, wrong types, random
Unicode, huge numbers, NaN and inf, empty files, binary junk, truncation, BOMs and CRLF). The
loader must either accept the folder, and then every documented invariant holds, or reject it
with a StudyDataError whose message names a file; it never raises anything else and never hangs.

The CI run uses FUZZ_EXAMPLES (default 150). A long campaign: `make fuzz` (10,000 examples),
results in docs/reliability.md.
"""

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartpool.data.errors import StudyDataError
from cartpool.data.load import load_study
from cartpool.synthetic import generate

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FILES = ("study.yaml", "results.yaml", "patients.csv", "appraisal.yaml", "coverage.yaml")
_TEMPLATE: dict[str, Path] = {}


def _template(tmp_root: Path) -> Path:
    if "root" not in _TEMPLATE:
        generate(1, tmp_root / "studies", tmp_root / "sources")
        _TEMPLATE["root"] = tmp_root
    return _TEMPLATE["root"]


SCALARS = st.one_of(
    st.text(max_size=20), st.integers(min_value=-10**30, max_value=10**30),
    st.sampled_from([".nan", ".inf", "-.inf", "1e400", "null", "[]", "{}", "~", "'NR'", "-0", "0x1F", "yes"]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def mutation(draw):
    file = draw(st.sampled_from(FILES))
    kind = draw(st.sampled_from(["drop_line", "dup_line", "replace_value", "insert_unicode", "truncate",
                                 "empty", "binary", "bom", "crlf", "swap_lines", "cell"]))
    return file, kind, draw(st.randoms(use_true_random=False)), draw(SCALARS), draw(st.text(min_size=1, max_size=8))


def _mutate(text: str, kind: str, rnd, scalar, uni: str):
    lines = text.split("\n")
    i = rnd.randrange(max(1, len(lines)))
    if kind == "drop_line":
        del lines[i]
    elif kind == "dup_line":
        lines.insert(i, lines[i])
    elif kind == "swap_lines" and len(lines) > 2:
        j = rnd.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "replace_value" and ":" in lines[i]:
        k = lines[i].index(":")
        lines[i] = lines[i][: k + 1] + " " + str(scalar)
    elif kind == "cell" and "," in lines[i]:
        cells = lines[i].split(",")
        cells[rnd.randrange(len(cells))] = str(scalar).replace(",", ";").replace("\n", " ")
        lines[i] = ",".join(cells)
    elif kind == "insert_unicode":
        pos = rnd.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + uni + lines[i][pos:]
    elif kind == "truncate":
        return text[: rnd.randrange(len(text) + 1)].encode("utf-8", "surrogatepass")
    elif kind == "empty":
        return b""
    elif kind == "binary":
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
    elif kind == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    elif kind == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def _check_invariants(sd) -> None:
    """What an accepted study guarantees (the documented invariants)."""
    pops = set(sd.study.populations)
    ids = [r.id for r in sd.results]
    assert len(ids) == len(set(ids))
    for r in sd.results:
        assert r.population in pops
        if r.numerator is not None and r.denominator is not None:
            assert 0 <= r.numerator <= r.denominator
        if r.statistic in ("proportion", "landmark_rate"):
            top = 100 if r.unit == "percent" else 1
            assert 0 <= float(r.value) <= top
        if r.statistic == "count":
            assert float(r.value) >= 0 and float(r.value) == int(r.value)
        if r.ci is not None and r.ci.low not in (None, "NR") and r.ci.high not in (None, "NR"):
            assert float(r.ci.low) <= float(r.ci.high)
    if sd.patients is not None:
        assert len(sd.patients) == sd.population_size(sd.study.patients.population)
        assert sd.patients.index.is_unique
        for v in sd.patients.get("os", []):
            assert v.time >= 0


@settings(max_examples=EXAMPLES, derandomize=True, deadline=5000, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(m=mutation())
def test_loader_accepts_valid_or_rejects_with_a_named_file(tmp_path_factory, m):
    base = _template(tmp_path_factory.mktemp("fuzz-template"))
    work = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(base / "studies" / "syn000", work / "syn000")
    file, kind, rnd, scalar, uni = m
    path = work / "syn000" / file
    path.write_bytes(_mutate(path.read_text(encoding="utf-8"), kind, rnd, scalar, uni))
    try:
        sd = load_study(work / "syn000", sources=base / "sources")
    except StudyDataError as e:
        msg = str(e)
        assert any(f in msg for f in FILES) or "syn000" in msg, msg
        assert "Traceback" not in msg
        return
    _check_invariants(sd)


def test_template_itself_is_valid(tmp_path):
    generate(1, tmp_path / "studies", tmp_path / "sources")
    _check_invariants(load_study(tmp_path / "studies" / "syn000", sources=tmp_path / "sources"))
    assert yaml.safe_load((tmp_path / "studies" / "syn000" / "study.yaml").read_text())["id"] == "syn000"


pytestmark = pytest.mark.filterwarnings("ignore")

"""Bad input is rejected with a message that names the file, the field or row, and the problem,
and never with a traceback. Each case starts from a valid synthetic study and breaks one thing."""

import re

import pytest

from cartpool.data.errors import StudyDataError, UnknownStudyError
from cartpool.data.load import load_study, load_study_by_id


def _load(root, sid="syn000"):
    return load_study(root / "studies" / sid, sources=root / "sources")


def _edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture changed: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _expect(root, file, *phrases, sid="syn000"):
    with pytest.raises(StudyDataError) as e:
        _load(root, sid)
    msg = str(e.value)
    assert file in msg, msg
    for p in phrases:
        assert re.search(p, msg, re.I), f"{p!r} not in: {msg}"
    assert "Traceback" not in msg
    return msg


def test_fixture_is_valid(synthetic):
    _load(synthetic)
    _load(synthetic, "syn001")


CASES = [
    # (id, file to edit, old text, new text, file named in message, phrases in message)
    ("malformed yaml", "study.yaml", "label: Synthetic 000", "label: [Synthetic 000", "study.yaml", "not valid YAML", "line"),
    ("unknown field", "study.yaml", "label: Synthetic 000", "label: Synthetic 000\nlable: typo", "study.yaml", "lable", "unknown field"),
    ("missing required field", "study.yaml", "time_unit: months\n", "", "study.yaml", "time_unit", "required"),
    ("wrong type", "results.yaml", "value: 34\n", "value: twenty\n", "results.yaml", "n_infused", "value"),
    ("count above denominator", "results.yaml", "id: orr\n  population: infused\n  endpoint: orr\n  statistic: count\n  value: ",
     "id: orr\n  population: infused\n  endpoint: orr\n  statistic: count\n  value: 999", "results.yaml", "orr", "above its denominator"),
    ("bad setting", "study.yaml", "value: relapsed_refractory", "value: salvage", "study.yaml", "setting", "frontline"),
    ("bad disease", "study.yaml", "value:\n  - primary_pcl", "value:\n  - lymphoma", "study.yaml", "disease"),
    ("grade outside set", "results.yaml", "grade: '>=3'", "grade: '>=7'", "results.yaml", "crs_ge3", "grade"),
    ("unknown population", "results.yaml", "id: orr\n  population: infused", "id: orr\n  population: evaluable",
     "results.yaml", "evaluable", "not one of the populations"),
    ("duplicate result id", "results.yaml", "id: cr_or_better", "id: orr", "results.yaml", "orr", "more than one record"),
    ("duplicate yaml key", "study.yaml", "label: Synthetic 000", "label: Synthetic 000\nlabel: again", "study.yaml", "appears twice"),
    ("id does not match folder", "study.yaml", "id: syn000", "id: syn999", "study.yaml", "folder"),
    ("nan value", "results.yaml", "value: 34\n", "value: .nan\n", "results.yaml", "finite|number"),
    ("negative count", "results.yaml", "statistic: count\n  value: 34\n", "statistic: count\n  value: -3\n", "results.yaml", "n_infused"),
    ("path escapes folder", "study.yaml", "file: patients.csv", "file: ../../etc/passwd.csv", "study.yaml", "inside the study folder"),
    ("bad id pattern", "study.yaml", "id_column: Patient", "id_column: Patient\n      id_pattern: '(unclosed'", "study.yaml", "regular expression"),
    ("unknown parser", "study.yaml", "parse: response", "parse: magic", "study.yaml", "parse"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_yaml_is_rejected_clearly(synthetic, case):
    _, fname, old, new, named, *phrases = case
    _edit(synthetic / "studies" / "syn000" / fname, old, new)
    _expect(synthetic, named, *phrases)


def _csv(root):
    return root / "studies" / "syn000" / "patients.csv"


def _rows(root):
    return _csv(root).read_text(encoding="utf-8").splitlines()


def _set_cell(root, row: int, col: int, value: str) -> None:
    """Overwrite one cell of the fixture's patients.csv (row 0 is the header)."""
    rows = _rows(root)
    cells = rows[row].split(",")
    cells[col] = value
    rows[row] = ",".join(cells)
    _csv(root).write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_negative_time(synthetic):
    _set_cell(synthetic, 1, 3, "-3")
    _expect(synthetic, "patients.csv", "patient 1", "Survival")


def test_missing_time(synthetic):
    _set_cell(synthetic, 2, 3, "")
    _expect(synthetic, "patients.csv", "patient 2", "no survival time")


def test_event_without_time(synthetic):
    _set_cell(synthetic, 1, 2, "Yes")
    _expect(synthetic, "patients.csv", "patient 1", "expected a number")


def test_response_outside_allowed_set(synthetic):
    _set_cell(synthetic, 3, 1, "CRR")
    _expect(synthetic, "patients.csv", "patient 3", "unknown response 'CRR'")


def test_grade_outside_allowed_set(synthetic):
    _set_cell(synthetic, 1, 4, "7")
    _expect(synthetic, "patients.csv", "patient 1", "grade 0-5")


def test_duplicate_patient_id(synthetic):
    rows = _rows(synthetic)
    rows[2] = "1" + rows[2][rows[2].index(","):]
    _csv(synthetic).write_text("\n".join(rows) + "\n", encoding="utf-8")
    _expect(synthetic, "patients.csv", "patient 1 appears more than once")


def test_row_count_contradicts_stated_n(synthetic):
    rows = _rows(synthetic)
    _csv(synthetic).write_text("\n".join(rows[:-1]) + "\n", encoding="utf-8")
    _expect(synthetic, "patients.csv", "patients but results.yaml states")


def test_progression_after_death(synthetic):
    _set_cell(synthetic, 1, 2, "999")
    _expect(synthetic, "patients.csv", "patient 1", "outside the follow-up")


def test_ragged_csv(synthetic):
    with open(_csv(synthetic), "a", encoding="utf-8") as fh:
        fh.write("99,CR\n")
    _expect(synthetic, "patients.csv", "cells but the header has")


def test_quote_not_in_source(synthetic):
    _edit(synthetic / "studies" / "syn000" / "results.yaml", "syn000: CRS in", "syn000: cytokine storm in")
    _expect(synthetic, "results.yaml", "crs_any", "does not occur in syn000.txt")


def test_binary_junk(synthetic):
    (synthetic / "studies" / "syn000" / "results.yaml").write_bytes(b"\x00\x01\xff\xfe junk")
    _expect(synthetic, "results.yaml", "binary")


def test_not_utf8(synthetic):
    (synthetic / "studies" / "syn000" / "study.yaml").write_bytes("label: caf\u00e9".encode("latin-1"))
    _expect(synthetic, "study.yaml", "not UTF-8")


def test_empty_results(synthetic):
    (synthetic / "studies" / "syn000" / "results.yaml").write_text("", encoding="utf-8")
    _expect(synthetic, "results.yaml", "must be a list")


def test_unreferenced_file(synthetic):
    (synthetic / "studies" / "syn000" / "extra.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    _expect(synthetic, "extra.csv", "not used")


def test_percentage_and_ci_rules(synthetic):
    p = synthetic / "studies" / "syn001" / "results.yaml"
    p.write_text(p.read_text(encoding="utf-8") + """
- {id: bad_pct, population: infused, endpoint: orr, statistic: proportion, value: 130, unit: percent,
   location: Results, quote: "x is here"}
- {id: bad_frac, population: infused, endpoint: orr, statistic: proportion, value: 1.5, unit: fraction,
   location: Results, quote: "x is here"}
- {id: bad_ci, population: infused, endpoint: pfs, statistic: median, value: 10, unit: months,
   ci: {low: 12, high: 8}, location: Results, quote: "x is here"}
- {id: ci_excludes, population: infused, endpoint: pfs, statistic: median, value: 10, unit: months,
   ci: {low: 11, high: 20}, location: Results, quote: "x is here"}
- {id: no_timepoint, population: infused, endpoint: os, statistic: landmark_rate, value: 50, unit: percent,
   location: Results, quote: "x is here"}
""", encoding="utf-8")
    msg = _expect(synthetic, "results.yaml", "bad_pct", "between 0 and 100", "bad_frac", "between 0 and 1",
                  "bad_ci", "lower limit 12 is above the upper limit 8", "ci_excludes", "above the estimate",
                  "no_timepoint", "timepoint", sid="syn001")
    assert msg.count("results.yaml") >= 5  # every problem reported, not only the first


def test_unknown_study_id_lists_known_ids(synthetic):
    with pytest.raises(UnknownStudyError) as e:
        load_study_by_id(synthetic / "studies", "nosuch", sources=None)
    assert "syn000" in str(e.value) and "'nosuch' is not a known study" in str(e.value)
    with pytest.raises(UnknownStudyError):
        load_study_by_id(synthetic / "studies", 7, sources=None)  # papermill turns -p id 007 into 7


def test_safe_yaml_loader_refuses_python_objects(synthetic):
    _edit(synthetic / "studies" / "syn000" / "study.yaml", "label: Synthetic 000",
          "label: !!python/object/apply:os.system ['echo pwned']")
    _expect(synthetic, "study.yaml", "not valid YAML")

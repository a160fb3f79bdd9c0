"""Every fact a curator extracts reaches the study page (issue 26).

Walks every record of results.yaml, every sourced fact, risk factor, co-intervention,
contradiction and link of study.yaml, and every per-patient column, of every study folder in
data/ (and of a synthetic study), and finds each cited on its rendered study page. It names no
study: a study added as data is walked the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cartpool.analysis.study_analysis import StudyAnalysis
from cartpool.analysis.study_records import home_of
from cartpool.data import vocabulary as vocab
from cartpool.data.load import load_study
from cartpool.data.model import Sourced
from cartpool.report.study_page import StudyPage

ROOT = Path(__file__).resolve().parents[1]
STUDIES = sorted(p for p in (ROOT / "data" / "studies").iterdir() if (p / "study.yaml").is_file())


def expected_keys(sd) -> set[str]:
    """The citation key of everything extracted for one study."""
    s = sd.study
    keys = {f"r:{r.id}" for r in sd.results}
    keys |= {f"f:{name}" for name in type(s).model_fields if isinstance(getattr(s, name), Sourced)}
    keys |= {f"k:{i}" for i in range(len(s.risk_factors))}
    keys |= {f"c:{i}" for i in range(len(s.co_interventions))}
    keys |= {f"x:{i}:{side}" for i in range(len(s.contradictions)) for side in (1, 2)}
    if s.patients is not None:
        keys |= {f"p:{f}" for f in s.patients.fields} | {f"p:ae:{f}" for f in s.patients.adverse_events}
        keys |= {f"d:{ep}" for ep in s.patients.definitions}
    return keys


def rendered_keys(sd) -> set[str]:
    page = StudyPage(StudyAnalysis(sd))
    page.render_all()
    return set(page.cites._index)


@pytest.mark.parametrize("folder", STUDIES, ids=[p.name for p in STUDIES])
def test_every_record_and_fact_of_a_study_is_cited_on_its_page(folder):
    sd = load_study(folder, sources=None)
    missing = sorted(expected_keys(sd) - rendered_keys(sd))
    assert missing == [], f"{folder.name}: extracted but shown nowhere: {missing}"


def test_every_record_of_a_synthetic_study_is_shown(synthetic):
    for folder in sorted((synthetic / "studies").iterdir()):
        sd = load_study(folder, sources=None)
        assert expected_keys(sd) - rendered_keys(sd) == set(), folder.name


def test_a_custom_record_and_a_record_in_a_new_population_are_shown(synthetic):
    """Records of any valid kind reach the page without a code change: a custom x_ endpoint, a
    known endpoint in a subgroup nobody tabulates, a pharmacokinetic median and a maximum."""
    import yaml

    folder = sorted((synthetic / "studies").iterdir())[0]
    study = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    pop = next(iter(study["populations"]))
    study["populations"]["x_subgroup"] = {"kind": "subgroup", "label": "A subgroup nobody tabulates"}
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True), encoding="utf-8")
    extra = [
        {"id": "x_custom", "population": pop, "endpoint": "x_time_to_platelet_recovery", "statistic": "median",
         "value": 21, "unit": "days", "location": "Results", "quote": "platelets recovered after 21 days"},
        {"id": "sub_orr", "population": "x_subgroup", "endpoint": "orr", "statistic": "count", "value": 2,
         "location": "Results", "quote": "2 responded"},
        {"id": "sub_n", "population": "x_subgroup", "endpoint": "patients", "statistic": "count", "value": 3,
         "location": "Results", "quote": "3 patients"},
        {"id": "cmax", "population": pop, "endpoint": "car_t_cmax", "statistic": "median", "value": 5000,
         "unit": "copies/μg", "location": "Results", "quote": "median Cmax 5000 copies/μg"},
        {"id": "longest", "population": pop, "endpoint": "dor", "statistic": "maximum", "value": 30,
         "unit": "months", "location": "Results", "quote": "the longest response lasted 30 months"},
    ]
    results = yaml.safe_load((folder / "results.yaml").read_text(encoding="utf-8")) + extra
    (folder / "results.yaml").write_text(yaml.safe_dump(results, sort_keys=False, allow_unicode=True),
                                         encoding="utf-8")
    sd = load_study(folder, sources=None)
    keys = rendered_keys(sd)
    assert {"r:x_custom", "r:sub_orr", "r:cmax", "r:longest"} <= keys
    assert expected_keys(sd) - keys == set()


def test_every_endpoint_has_a_home_and_allows_some_statistic():
    for name, spec in vocab.ENDPOINTS.items():
        assert spec.home in vocab.HOMES, name
        assert spec.statistics and set(spec.statistics) <= set(vocab.ANY_STATISTIC), name


def test_each_record_has_exactly_one_home():
    for folder in STUDIES:
        sd = load_study(folder, sources=None)
        for r in sd.results:
            assert home_of(r) in vocab.HOMES, (folder.name, r.id)


def test_data_readme_lists_every_endpoint_and_section():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert [n for n in vocab.ENDPOINTS if f"`{n}`" not in text] == []
    assert [h for h in vocab.HOMES if f"**{h}**" not in text] == []


def test_a_median_of_a_count_endpoint_is_rejected_with_the_endpoint_to_write(synthetic):
    import yaml

    from cartpool.data.errors import StudyDataError

    folder = sorted((synthetic / "studies").iterdir())[0]
    study = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    pop = next(iter(study["populations"]))
    results = yaml.safe_load((folder / "results.yaml").read_text(encoding="utf-8"))
    results.append({"id": "pfs_typo", "population": pop, "endpoint": "progression_free", "statistic": "median",
                    "value": 18, "unit": "months", "location": "Results", "quote": "median PFS was 18 months"})
    results.append({"id": "pfs_unknown", "population": pop, "endpoint": "progression_free_survival",
                    "statistic": "median", "value": 18, "unit": "months", "location": "Results",
                    "quote": "median PFS was 18 months"})
    (folder / "results.yaml").write_text(yaml.safe_dump(results, sort_keys=False, allow_unicode=True),
                                         encoding="utf-8")
    with pytest.raises(StudyDataError) as e:
        load_study(folder, sources=None)
    msg = str(e.value)
    assert "id pfs_typo, statistic" in msg and "for a median write endpoint: pfs" in msg
    assert "id pfs_unknown, endpoint" in msg and "did you mean 'pfs'" in msg
    assert "'progression_free'" not in msg.split("id pfs_unknown", 1)[1].split("\n", 1)[0]

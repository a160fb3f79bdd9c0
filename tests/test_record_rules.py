"""Rules that read each endpoint as the paper means it (issue 26): all-cause deaths with "at least",
the two readings of "progression-free", the time tolerance of a table with an unknown rounding rule,
a landmark that depends on an event at exactly its time, and a landmark interval that fits another
group's size. Every case is built in a temporary folder; no test names a real study."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from cartpool.analysis.audit import per_patient as A
from cartpool.analysis.survival_curves import landmark_ties
from cartpool.data.load import load_study
from cartpool.domain.deaths import HOW_AT_LEAST, all_cause_deaths
from cartpool.domain.derive import derive_endpoints
from cartpool.domain.landmarks import landmark_fit
from cartpool.stats.kaplan_meier import kaplan_meier

from .study_factory import make_study, n_all

POPS = {"all": {"label": "All patients", "kind": "infused"},
        "responders": {"label": "Responders", "kind": "responders"}}


def _death(rid, pop, value, **kw):
    return {"id": rid, "population": pop, "endpoint": "death", "statistic": "count", "value": value, **kw}


def test_a_printed_total_of_deaths_is_the_total(tmp_path):
    sd = make_study(tmp_path, [n_all(11), _death("d", "all", 7),
                               _death("d1", "all", 5, category="progression", relapse_related=True)])
    t = all_cause_deaths(sd)
    assert (t.events, t.high, t.total, t.at_least) == (7, 7, 11, False)


def test_without_a_total_the_deaths_are_at_least_the_largest_part_accounted_for(tmp_path):
    sd = make_study(tmp_path, [n_all(11), n_all(8, "responders"), _death("dr", "responders", 4),
                               _death("d1", "all", 1, category="infection", relapse_related=False)],
                    populations=POPS)
    t = all_cause_deaths(sd)
    assert (t.events, t.high, t.how, t.result_ids) == (4, None, HOW_AT_LEAST, ("dr",))
    assert t.at_least


def test_a_bounded_total_is_a_range(tmp_path):
    sd = make_study(tmp_path, [n_all(11), _death("d", "all", 5, derived="counted_from_statements",
                                                 bound={"low": 5, "high": 7, "reason": "two not accounted for"})])
    t = all_cause_deaths(sd)
    assert (t.events, t.high, t.total) == (5, 7, 11) and t.at_least


def test_progression_free_is_read_both_ways_and_the_matching_reading_named(tmp_path):
    sd = make_study(tmp_path, [n_all(6), {"id": "pf", "population": "all", "endpoint": "progression_free",
                                          "statistic": "count", "value": 4},
                               {"id": "awp", "population": "all", "endpoint": "alive_without_progression",
                                "statistic": "count", "value": 4}])
    # 4 never progressed; 2 of them died without progression
    sub = pd.DataFrame({"progressed": [False, False, False, False, True, True],
                        "os_event": [False, False, True, True, True, False]})
    own = A._endpoint_reading_row(sd, sd.result("pf"), sub, "Table 1")
    assert own.status == A.CONSISTENT and "alive without progression: 2" in own.note
    other = A._endpoint_reading_row(sd, sd.result("awp"), sub, "Table 1")
    assert other.status == A.READING and "no progression recorded" in other.note


def test_a_landmark_with_an_event_at_exactly_its_time_gives_the_estimate_just_after():
    km = kaplan_meier([3, 6, 12, 14, 15, 20], [True, True, True, False, False, False])
    s, _, _ = km.survival_at(12)
    ties, after = landmark_ties(km, 12)
    assert ties == 1 and s == pytest.approx(0.5) and after == pytest.approx(4 / 6)
    assert landmark_ties(km, 13) == (0, None)


def test_a_landmark_interval_that_fits_the_responders_is_named(tmp_path):
    # S = 3/9 with the log-log interval of 9 uncensored patients, printed for 12 of whom 9 responded
    sd = make_study(tmp_path, [n_all(12), {"id": "orr", "population": "all", "endpoint": "orr",
                                           "statistic": "count", "value": 9, "denominator": 12},
                               {"id": "pfs1", "population": "all", "endpoint": "pfs", "statistic": "landmark_rate",
                                "value": 33.3, "unit": "percent", "timepoint": {"value": 1, "unit": "years"},
                                "ci": {"low": 7.8, "high": 62.3}}])
    fit = landmark_fit(sd, sd.result("pfs1"))
    assert (fit.n, fit.exact, fit.stated) == (9, True, 12)
    assert fit.possibly_responders and "9 of 12" in fit.likely


def test_the_time_tolerance_is_a_full_step_unless_the_table_rounds_to_the_nearest(synthetic):
    folder = sorted((synthetic / "studies").iterdir())[0]
    sd = load_study(folder, sources=None)
    d = derive_endpoints(sd)
    step_days = A.convert(A._time_resolution(d), d["time_unit"].iloc[0], "days")
    assert A._time_tolerance_days(sd, d) == pytest.approx(step_days)
    study = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    for t in study["patients"]["tables"].values():
        t["time_rounding"] = "nearest"
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True), encoding="utf-8")
    sd = load_study(folder, sources=None)
    assert A._time_tolerance_days(sd, derive_endpoints(sd)) == pytest.approx(step_days / 2)

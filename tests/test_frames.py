"""`frames.frame_rows` gives what pandas' own `DataFrame.itertuples()` gives: the same named tuples
of the same Python values, for every kind of column the analysis keeps. pandas is the reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cartpool.frames import frame_rows


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and (a is b or a == b)


@pytest.mark.parametrize("index", [None, ["r1", "r2", "r3"], [10, 20, 30]])
def test_rows_equal_pandas_itertuples_value_for_value(index):
    frame = pd.DataFrame({
        "study": pd.array(["A", None, "C"], dtype="str"),
        "events": [1, 2, 3],
        "proportion": [0.5, np.nan, 1.0],
        "counted": [True, False, True],
        "nullable": pd.array([1, None, 3], dtype="Int64"),
        "nullable float": pd.array([1.5, None, 2.0], dtype="Float64"),
        "nullable bool": pd.array([True, None, False], dtype="boolean"),
        "nullable, none missing": pd.array([4, 5, 6], dtype="Int64"),
        "published": pd.to_datetime(["2020-01-01", "2021-06-30", None]),
        "group": pd.Categorical(["pPCL", "sPCL", "pPCL"]),
        "anything": [None, {"a": 1}, (1, 2)],
        "not an identifier": [1.5, 2.5, 3.5],
        "class": ["x", "y", "z"],
    }, index=index)
    mine, theirs = list(frame_rows(frame)), list(frame.itertuples())
    assert [r._fields for r in mine] == [r._fields for r in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert all(_same(x, y) for x, y in zip(a, b, strict=True)), (a, b)


def test_an_empty_table_has_no_rows():
    assert list(frame_rows(pd.DataFrame({"a": pd.Series([], dtype=float)}))) == []

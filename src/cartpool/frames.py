"""Iterating over a table's rows, shared by the analysis and the renderings.

`frame_rows` gives what `pandas.DataFrame.itertuples()` gives (named tuples with the index as
``Index``, Python scalars), faster. pandas builds each row from one `iloc` column selection per
column and call, about 40 µs a column, and the pooled page iterates over hundreds of small wide
tables: that was a quarter of its sections' time (docs/performance-notes.md). Here the table is
converted once, block by block, with `to_numpy(dtype=object)`, which yields the same Python
values (float, int, bool, str, Timestamp, NaN) that iterating a column does; a nullable number
column, whose values pandas gives as numpy scalars, is iterated as pandas does.
Written by hand because pandas offers no faster way to the same tuples.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from functools import lru_cache

import pandas as pd


@lru_cache(maxsize=512)
def _row_type(fields: tuple[str, ...]):
    return namedtuple("Pandas", fields, rename=True)  # as itertuples names it, invalid names renamed


def frame_rows(frame: pd.DataFrame) -> Iterator:
    """The rows of `frame` as named tuples, the index first as ``Index``: `frame.itertuples()`.

    References
    ----------
    .. [1] pandas.DataFrame.itertuples, https://pandas.pydata.org/docs/reference/api/pandas.DataFrame.itertuples.html
    """
    make = _row_type(("Index", *map(str, frame.columns)))._make
    values = frame.to_numpy(dtype=object)
    for k, dtype in enumerate(frame.dtypes):
        # nullable numbers (Int64, Float64, boolean): pandas yields numpy scalars from these, not Python's
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iufcb":
            for j, value in enumerate(frame.iloc[:, k]):  # each value as pandas yields it
                values[j, k] = value
    return map(make, [(i, *row) for i, row in zip(frame.index, values.tolist(), strict=True)])

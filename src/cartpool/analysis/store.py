"""Results kept between build steps, keyed by the content of their inputs.

Each study's own results (its counts of every outcome, survival points, landmark rows, Kaplan-Meier
fits and audit rows) are computed once, by whichever step needs them first (the study's own step,
the validation or the pooled step), and read by the others. They are keyed by a fingerprint of the
study's data files, the data folder's shared files (the analysis plan among them) and the code
(`cartpool.data.fingerprint.code_version`): content, never modification times. The pooled rows'
statistics (the GLMM, the Bayesian model, leave-one-out) are kept by each row's counts and settings,
each outcome's rows by a canonical description of its inputs (`canonical`), and the pooled page's
figures by the same description of theirs, so that an edit of one study recomputes only the
outcomes whose counts changed and redraws only their figures.

A result read back is the one computed (pickled whole: floats, dtypes and order unchanged), so a
report built from kept results is byte-identical to a clean build. A missing, stale, unreadable or
half-written file is recomputed, never trusted: each file opens with the key it was computed for, and
is written beside its place and renamed over it only when complete. The folder is the build's
(``build/cache``); ``make clean`` removes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import enum
import hashlib
import os
import pickle
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.fingerprint import Hasher, code_version
from ..data.study_data import StudyData

#: What opens every file of the store, before the key it was computed for.
MAGIC = b"cartpool-result-store 1\n"
#: How many versions of one study's results, or of one figure, are kept (the latest used first): an
#: edit and its revert both find theirs.
VERSIONS = 4


class ResultStore:
    """A folder of results keyed by content.

    Parameters
    ----------
    folder : path
        Where the results are kept (created on first write).
    """

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.code = code_version()
        self.hits: list[str] = []  # the studies (and other entries) read back, for the log and the tests
        self.misses: list[str] = []  # the studies (and other entries) computed
        self.rows_read = 0  # pooled rows read back
        self.rows_computed = 0  # pooled rows computed
        self._rows: dict | None = None
        self._rows_added = False

    # --- keys ---------------------------------------------------------------------------------

    def study_key(self, sd: StudyData) -> str:
        """The fingerprint of everything one study's results are computed from: its folder's files,
        the data folder's shared files (the plan, links, judgements, known studies) and the code."""
        folder = Path(sd.folder).resolve()
        data = folder.parent.parent
        hs = Hasher(data)
        files = sorted(data.glob("*.yaml")) + hs.tree(folder)
        return hs.combine(files, ("study", self.code))

    # --- files --------------------------------------------------------------------------------

    def _read(self, path: Path, key: str):
        try:
            with open(path, "rb") as fh:
                if fh.readline() != MAGIC or fh.readline().rstrip(b"\n").decode() != key:
                    return None
                return pickle.load(fh)
        except Exception:  # missing, stale, torn or from other code: computed again
            return None

    def _write(self, path: Path, key: str, value) -> None:
        """Write whole or not at all; a failure to write costs a recomputation, never the build."""
        with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(MAGIC + key.encode() + b"\n")
                    pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

    # --- one study's results ------------------------------------------------------------------

    def _versioned(self, folder: Path, key: str, what: str, compute):
        """`compute()` kept in `folder` under `key`, with the last `VERSIONS` used versions beside it."""
        path = folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.pickle"
        value = self._read(path, key)
        if value is not None:
            self.hits.append(what)
            with contextlib.suppress(OSError):
                os.utime(path)  # the order in which versions are let go, nothing else
            return value
        self.misses.append(what)
        value = compute()
        self._write(path, key, value)
        with contextlib.suppress(OSError):
            kept = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in kept[VERSIONS:]:
                old.unlink()
        return value

    def study_results(self, sd: StudyData, compute):
        """One study's results: read back where they were kept for this content, else `compute()`d
        and kept."""
        return self._versioned(self.folder / "studies" / sd.study.id, self.study_key(sd), sd.study.id, compute)

    # --- anything else, by a fingerprint of its inputs ---------------------------------------------

    def kept(self, kind: str, name: str, inputs, compute):
        """`compute()`, read back where kept under `kind`/`name` for the same `inputs` (by `canonical`:
        equal descriptions, equal inputs), else computed and kept there (the last `VERSIONS` inputs of
        each name)."""
        try:
            digest = hashlib.sha256(repr(canonical(inputs)).encode()).hexdigest()
        except Exception:  # nothing to key it by
            return compute()
        return self._versioned(self.folder / kind / name, f"{digest}-{self.code}", f"{kind}/{name}", compute)

    # --- pooled rows --------------------------------------------------------------------------

    @property
    def rows(self) -> dict:
        """The pooled rows' statistics by their inputs (a dict the pooling functions read and fill)."""
        if self._rows is None:
            kept = self._read(self.folder / "pooled-rows.pickle", self.code)
            self._rows = _Remembered(kept if isinstance(kept, dict) else {}, self)
        return self._rows

    def save_rows(self) -> None:
        """Keep the rows used by this analysis, and as many others as `VERSIONS` - 1 times their number
        (the most recently used: an edit's revert finds its rows; the file does not grow with edits)."""
        if self._rows is not None and self._rows_added:
            self._write(self.folder / "pooled-rows.pickle", self.code, self._rows.recent(VERSIONS))
            self._rows_added = False


class _Remembered(dict):
    """A dict of kept rows that notes which were read and which added."""

    def __init__(self, kept: dict, store: ResultStore):
        super().__init__(kept)
        self._store = store
        self._used: set = set()

    def get(self, key, default=None):
        if key in self:
            self._used.add(key)
            self._store.rows_read += 1
            return super().get(key)
        return default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self._used.add(key)
        self._store.rows_computed += 1
        self._store._rows_added = True

    def recent(self, versions: int) -> dict:
        """The rows used here last, after the others in the order they were kept (oldest first),
        at most `versions` times as many as were used."""
        order = [k for k in self if k not in self._used] + [k for k in self if k in self._used]
        return {k: self[k] for k in order[-versions * max(1, len(self._used)):]}


def canonical(x):
    """A description of a value that is equal for equal values whatever their history in the process
    (unlike a pickle, which shares repeated objects and orders sets by hash), and differs wherever the
    values differ, types included: frames by their columns, dtypes, index and cells; containers by
    their items; dataclasses and plain objects by their type and fields; scalars by type and repr
    (a float's repr is exact). What none of these covers is described by its pickle."""
    if x is None or isinstance(x, (bool, int, float, complex, str, bytes, Decimal, np.generic)):
        return (type(x).__qualname__, repr(x))
    if isinstance(x, enum.Enum):
        return (type(x).__qualname__, repr(x.value))
    if isinstance(x, pd.DataFrame):
        return ("DataFrame", [str(c) for c in x.columns], [str(d) for d in x.dtypes], canonical(x.index),
                [canonical(x.iloc[:, i]) for i in range(x.shape[1])])
    if isinstance(x, pd.Series):
        return ("Series", str(x.name), str(x.dtype), canonical(x.index), [canonical(v) for v in x.tolist()])
    if isinstance(x, pd.Index):
        return ("Index", type(x).__qualname__, str(x.dtype), [canonical(v) for v in x.tolist()])
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return ("ndarray", x.shape, [canonical(v) for v in x.ravel().tolist()])
        return ("ndarray", str(x.dtype), x.shape, hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest())
    if isinstance(x, (list, tuple)):
        return (type(x).__qualname__, [canonical(v) for v in x])
    if isinstance(x, dict):
        return ("dict", [(canonical(k), canonical(v)) for k, v in x.items()])
    if isinstance(x, (set, frozenset)):
        return (type(x).__qualname__, sorted(repr(canonical(v)) for v in x))
    if isinstance(x, (_dt.date, _dt.datetime)):
        return (type(x).__qualname__, x.isoformat())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__module__, type(x).__qualname__,
                [(f.name, canonical(getattr(x, f.name))) for f in dataclasses.fields(x)])
    if hasattr(x, "model_dump"):  # a pydantic model: its fields, in order
        return (type(x).__module__, type(x).__qualname__, canonical(x.model_dump()))
    if hasattr(x, "__dict__") and not callable(x):
        return (type(x).__module__, type(x).__qualname__, canonical(dict(sorted(vars(x).items()))))
    return ("pickle", hashlib.sha256(pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest())

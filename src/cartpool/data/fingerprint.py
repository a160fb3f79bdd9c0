"""Content fingerprints: SHA-256 of files, combined with their names, and the version of the code
that computes from them (the package's source and the pinned lock). The build decides what is stale
by them (`cartpool.builder.stamps`), and the analysis keys the results it keeps between steps by them
(`cartpool.analysis.store`). Standard library only: a build with nothing to do pays one hashing pass.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

#: The files of the package that are code or shape its output.
PACKAGE_SUFFIXES = (".py", ".css", ".js", ".j2", ".json", ".yaml", ".txt", ".mplstyle")


class Hasher:
    """SHA-256 of files, each read once per process."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[Path, str] = {}

    def file(self, path: Path) -> str:
        if path not in self._cache:
            try:
                h = hashlib.sha256()
                with open(path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
                self._cache[path] = h.hexdigest()
            except OSError as e:  # a dangling link, a folder, no permission: its state is the input
                self._cache[path] = f"unreadable:{e.errno}"
        return self._cache[path]

    def tree(self, folder: Path, suffixes: tuple[str, ...] | None = None) -> list[Path]:
        """Every file under `folder` (links are listed, their targets hashed), sorted."""
        out = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in filenames:
                if suffixes is None or name.endswith(suffixes):
                    out.append(Path(dirpath) / name)
        return sorted(out)

    def combine(self, files: list[Path], tokens: tuple[str, ...] = ()) -> str:
        h = hashlib.sha256()
        for p in files:
            try:
                rel = p.relative_to(self.root)
            except ValueError:
                rel = p
            h.update(f"{rel}\0{self.file(p)}\n".encode())
        for t in tokens:
            h.update(f"token\0{t}\n".encode())
        return h.hexdigest()


def package_dir() -> Path:
    """The folder of the running cartpool package (src/cartpool in a checkout)."""
    return Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A fingerprint of the code that computes results: every source file of the running package and
    the pinned lock beside it (library versions can move the last digit of a number)."""
    pkg = package_dir()
    hs = Hasher(pkg.parent)
    files = hs.tree(pkg, PACKAGE_SUFFIXES)
    lock = pkg.parents[1] / "requirements" / "build.lock"
    return hs.combine(files + ([lock] if lock.is_file() else []), ("code",))

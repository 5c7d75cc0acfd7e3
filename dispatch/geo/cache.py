"""A disk cache for prepared road networks and computed travel matrices.

Entries are ``.npz`` files of plain arrays (no pickle), named by a SHA-256 key of everything
that went into them: the OSM file's bytes, the preparation settings and, for matrices, the
provider settings and the exact coordinates. A changed input therefore gets a new key; nothing
is ever invalidated in place. Writes go to a temporary file that is renamed into place, so a
crash never leaves half an entry; an unreadable entry is deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dispatch.model import Location

CACHE_DIR_ENV = "DISPATCH_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$DISPATCH_CACHE_DIR`` if set, else ``.cache/dispatch`` under the current directory."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env) if env else Path.cwd() / ".cache" / "dispatch"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_key(*parts: str | bytes) -> str:
    """Hex SHA-256 over length-prefixed parts, so ``("ab", "c")`` and ``("a", "bc")`` differ."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def matrix_key(network_key: str, settings: str, locations: Sequence[Location]) -> str:
    """Key of a travel matrix: the network, the provider settings and the exact coordinates."""
    coords = np.array([(p.lat, p.lon) for p in locations], dtype="<f8").reshape(-1, 2)
    return make_key("matrix", network_key, settings, coords.tobytes())


@dataclass
class DiskCache:
    """Named arrays on disk under ``root/<kind>/<key>.npz``; counts hits, misses and rebuilds."""

    root: Path = field(default_factory=default_cache_dir)
    hits: int = 0
    misses: int = 0
    corrupt: int = 0

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npz"

    def load_arrays(self, kind: str, key: str) -> dict[str, npt.NDArray[Any]] | None:
        """The arrays stored under ``key``, or None if absent or unreadable (then deleted)."""
        path = self.path(kind, key)
        if not path.is_file():
            self.misses += 1
            return None
        try:
            with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
                arrays = {name: _widen(data[name]) for name in data.files}
        except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile):
            self.corrupt += 1
            self.misses += 1
            path.unlink(missing_ok=True)
            return None
        self.hits += 1
        return arrays

    def save_arrays(self, kind: str, key: str, arrays: Mapping[str, npt.NDArray[Any]]) -> Path:
        """Store arrays atomically (write a temporary file, then rename); returns the path.

        int64 arrays whose values fit are stored as int32 to halve the size of big matrices;
        :meth:`load_arrays` gives them back as int64.
        """
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        narrowed = {name: _narrow(array) for name, array in arrays.items()}
        fd, tmp_name = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **narrowed)  # type: ignore[arg-type]
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return path


_INT32 = np.iinfo(np.int32)


def _narrow(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if array.dtype == np.int64 and array.size:
        low, high = int(array.min()), int(array.max())
        if _INT32.min <= low and high <= _INT32.max:
            return array.astype(np.int32)
    return array


def _widen(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return array.astype(np.int64) if array.dtype == np.int32 else np.array(array)

"""Each worker's figures in Prometheus's multi-process files, and their sum for a scrape.

The layout is prometheus_client's own (``<type>_<pid>.db`` files of ``MmapedDict``,
read by ``MultiProcessCollector``), so that the adding up — gauges by their mode,
histogram buckets cumulated — is the library's. Files of processes that are no longer
running are removed when a worker starts: a new ``serve`` counts from zero, and a
restarted worker's counters restart (``rate()`` takes resets in its stride).
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key

from .families import Family


class WorkerFiles:
    """The files this process writes its figures to."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pid = os.getpid()
        self._files: dict[str, MmapedDict] = {}
        self._keys: dict[tuple[str, tuple[str, ...]], str] = {}
        self._written: dict[str, float] = {}

    def prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in self.directory.glob("*.db"):
            pid = _pid_of(path)
            if pid is not None and pid != self.pid and not _running(pid):
                path.unlink(missing_ok=True)

    def write(self, families: tuple[Family, ...]) -> None:
        """Write what changed since the last write."""
        for family in families:
            file: MmapedDict | None = None
            for name, labels, values, value in family.samples():
                key = self._key(family, name, labels, values)
                if self._written.get(key) == value:
                    continue
                if file is None:
                    file = self._file(family.file)
                file.write_value(key, value, 0.0)
                self._written[key] = value

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()
        self._written.clear()

    def _file(self, kind: str) -> MmapedDict:
        file = self._files.get(kind)
        if file is None:
            file = self._files[kind] = MmapedDict(str(self.directory / f"{kind}_{self.pid}.db"))
        return file

    def _key(
        self, family: Family, name: str, labels: tuple[str, ...], values: tuple[str, ...]
    ) -> str:
        cached = self._keys.get((name, values))
        if cached is None:
            cached = mmap_key(family.name, name, list(labels), list(values), family.documentation)
            self._keys[(name, values)] = cached
        return cached


def _pid_of(path: Path) -> int | None:
    tail = path.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: running
    return True

"""The keys one run has seen when it keeps no journal file: exact de-duplication in flat memory.

A Bloom filter of a fixed size (rbloom) answers "never seen" for almost every new key at
the cost of a hash; only on a hit (a repeat, or a false positive) is the key looked up
where it was kept. Keys are kept in a dict of the latest `batch` and, once that is full,
moved in one transaction to a temporary SQLite file (written without fsync: nothing reads
it after the run, which deletes it). A false positive costs a look-up and changes nothing:
a key counts as seen only when it is found. Memory is the filter plus one batch, however
many rows there are.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from rbloom import Bloom

from .journal import FAILED_STATES, Entry, State

__all__ = ["SeenKeys"]

_EXPECTED_KEYS = 4_000_000
"""Keys the default filter holds at `_FALSE_POSITIVES` (4.8 MB); more only cost more look-ups."""
_FALSE_POSITIVES = 0.01
_BATCH = 1024
"""Keys kept in memory before they are moved to the file in one transaction."""
_Kept = tuple[str, str | None, int, int | None]
"""What is kept of a key: state, reason, position and line, as the file stores them."""


class SeenKeys:
    """Row key -> the entry of the first row with it, for one run (`run` is always 1).

    The same `claim`, `set` and `close` as a `Journal`; only what de-duplication reads is
    kept: that a key was seen (QUEUED), by which row, and whether that row failed.
    """

    run = 1

    def __init__(self, *, expected: int = _EXPECTED_KEYS, batch: int = _BATCH) -> None:
        self._filter = Bloom(expected, _FALSE_POSITIVES)
        self._recent: dict[str, _Kept] = {}
        self._batch = batch
        self._file: Path | None = None
        self._db: sqlite3.Connection | None = None
        self.lookups = 0
        """Keys looked up on a filter hit (repeats and false positives)."""

    def claim(self, key: str, *, position: int, line: int | None = None) -> Entry | None:
        """Record a key never seen before and return None; for a key seen, its entry."""
        if key in self._filter and (entry := self._get(key)) is not None:
            return entry
        self._filter.add(key)
        self._keep(key, (State.QUEUED.value, None, position, line))
        return None

    def set(
        self,
        key: str,
        state: State,
        *,
        position: int,
        line: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Record that the key's row failed; other states are not read here, so not kept."""
        if state in FAILED_STATES:
            self._keep(key, (state.value, reason, position, line))

    def _get(self, key: str) -> Entry | None:
        self.lookups += 1
        kept = self._recent.get(key)
        if kept is None and self._db is not None:
            kept = self._db.execute(
                "SELECT state, reason, position, line FROM seen WHERE key = ?", (key,)
            ).fetchone()
        if kept is None:
            return None
        state, reason, position, line = kept
        return Entry(State(state), self.run, reason, position, line)

    def _keep(self, key: str, kept: _Kept) -> None:
        self._recent[key] = kept
        if len(self._recent) >= self._batch:
            self._spill()

    def _spill(self) -> None:
        """Move the kept entries to the file in one transaction."""
        db = self._db or self._open()
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?, ?)",
                [(key, *kept) for key, kept in self._recent.items()],
            )
        self._recent.clear()

    def _open(self) -> sqlite3.Connection:
        fd, name = tempfile.mkstemp(prefix="leadkit-seen-", suffix=".sqlite")
        os.close(fd)
        self._file = Path(name)
        self._db = sqlite3.connect(name)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE seen (key TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT,"
            " position INTEGER, line INTEGER) WITHOUT ROWID"  # one b-tree, not two
        )
        return self._db

    def close(self) -> None:
        """Forget every key: the file, if one was written, is deleted."""
        self._recent.clear()
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._file is not None:
            with contextlib.suppress(FileNotFoundError):
                self._file.unlink()
            self._file = None

"""The journal: what happened to each row key, durable across crashes, for resume and dedupe.

It is a SQLite file in WAL mode: every state change is one committed transaction, so it
survives ``kill -9`` as soon as `set` returns. A ``sent`` record is also fsync'ed before
`set` returns, so it survives a power cut too; other records wait for the next fsync (a
power cut may lose the last few, which then read as in flight: the safe side). Memory
stays flat however many rows there are: the state lives in the file, not in a dict.
Without a journal path a temporary file (never fsync'ed, committed in batches) plays the
same role for one run, so that de-duplication has the same bounded memory. Each key keeps
the position and line of the row that last set it, for a later row with the same key to
name.
"""

from __future__ import annotations

import enum
import json
import os
import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["FAILED_STATES", "Entry", "Journal", "JournalError", "State"]

_LOCK_WAIT = 1.0
"""Seconds to wait for a journal another run holds before saying it is in use."""
_TEMPORARY_BATCH = 1024
"""Rows a temporary journal writes per transaction: nobody else reads it, so why commit each."""


class JournalError(ValueError):
    """The journal cannot be used for this run (another operation, campaign or a bad file)."""


class State(enum.StrEnum):
    """The last known state of a row key."""

    QUEUED = "queued"
    """Accepted in a run, not sent yet: safe to send."""
    SENT = "sent"
    """The request may have reached the server; no answer was recorded."""
    CREATED = "created"
    ALREADY_EXISTS = "already_exists"
    FAILED = "failed"
    """Failed for sure: the record was not created."""
    UNKNOWN = "unknown"
    """Failed after sending, with no answer: the record may exist."""


FAILED_STATES = frozenset({State.FAILED, State.UNKNOWN})
"""States of a key whose row did not succeed."""
_DEDUPE_READS = FAILED_STATES | {State.QUEUED}
"""What a temporary journal records: a key was seen, and whether its row failed."""


@attrs.frozen
class Entry:
    """The journal's record of one key."""

    state: State
    run: int
    reason: str | None
    position: int | None = attrs.field(default=None, eq=False)
    """The index of the row that set the state, and `line` its line in a file: where a row
    is, not part of the key's state, so neither is compared."""
    line: int | None = attrs.field(default=None, eq=False)


def _storable(text: str | None) -> str | None:
    """`text` as SQLite can store it: UTF-8, so a lone surrogate (in a server's message,
    say) becomes its ``\\udXXX`` escape."""
    return None if text is None else text.encode("utf-8", "backslashreplace").decode("utf-8")


class Journal:
    """Row key -> state, in a SQLite file; `run` numbers the runs that used the file."""

    def __init__(self, path: Path | None, scope: Mapping[str, Any]) -> None:
        self._temporary = path is None
        if path is None:
            fd, name = tempfile.mkstemp(prefix="leadkit-journal-", suffix=".sqlite")
            os.close(fd)
            path = Path(name)
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=_LOCK_WAIT)
        except sqlite3.Error as exc:
            raise JournalError(f"{path}: cannot open the journal ({exc})") from None
        try:
            self.run = self._open(json.dumps(dict(scope), sort_keys=True, default=str))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise JournalError(f"{path} is in use by another run; wait for it to end") from None
            raise JournalError(f"{path}: not a usable journal ({exc})") from None
        except BaseException:
            self._db.close()
            raise
        self._uncommitted = 0
        if self._temporary:
            self._db.execute("BEGIN")

    def _open(self, scope: str) -> int:
        """Set the file up and number this run.

        One run uses a journal at a time: the first write takes an exclusive lock that is
        held until close, so a second run cannot resend the rows this one has in flight.
        """
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'OFF' if self._temporary else 'NORMAL'}")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " run INTEGER NOT NULL, position INTEGER, reason TEXT, line INTEGER)"
        )
        if "line" not in {column[1] for column in self._db.execute("PRAGMA table_info(rows)")}:
            self._db.execute("ALTER TABLE rows ADD COLUMN line INTEGER")  # an older journal
        return self._begin(scope)

    def _begin(self, scope: str) -> int:
        found = self._db.execute("SELECT value FROM meta WHERE name = 'scope'").fetchone()
        if found is not None and found[0] != scope:
            raise JournalError(
                f"{self.path} was written for another load ({found[0]}); "
                "use a new journal file for this one"
            )
        row = self._db.execute("SELECT value FROM meta WHERE name = 'run'").fetchone()
        run = int(row[0]) + 1 if row else 1
        self._db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", [("scope", scope), ("run", str(run))]
        )
        return run

    def get(self, key: str) -> Entry | None:
        """The key's last state, or None when the journal has never seen it."""
        row = self._db.execute(
            "SELECT state, run, reason, position, line FROM rows WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else Entry(State(row[0]), int(row[1]), *row[2:])

    def claim(self, key: str, *, position: int, line: int | None = None) -> Entry | None:
        """Record a key never seen before as QUEUED in this run and return None; for a key
        the journal knows, change nothing and return its entry. One statement for a new key.
        """
        inserted = self._db.execute(
            "INSERT OR IGNORE INTO rows VALUES (?, ?, ?, ?, NULL, ?)",
            (key, State.QUEUED.value, self.run, position, line),
        ).rowcount
        if inserted:
            self._wrote()
            return None
        return self.get(key)

    def set(
        self,
        key: str,
        state: State,
        *,
        position: int,
        line: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Record the key's new state in this run; committed on return, fsync'ed if SENT.

        A temporary journal only de-duplicates one run: it records that a key was seen
        (QUEUED) and whether its row failed, and skips the other states, which nothing will
        read; it commits in batches.
        """
        if self._temporary and state not in _DEDUPE_READS:
            return
        durable = state is State.SENT and not self._temporary
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?, ?, ?)",
            (key, state.value, self.run, position, _storable(reason), line),
        )
        if durable:
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._wrote()

    def _wrote(self) -> None:
        """Count a write; a temporary journal commits and opens its next batch when full."""
        if self._temporary:
            self._uncommitted += 1
            if self._uncommitted >= _TEMPORARY_BATCH:
                self._db.execute("COMMIT")
                self._db.execute("BEGIN")
                self._uncommitted = 0

    def close(self) -> None:
        """Close the file; a temporary journal is deleted."""
        self._db.close()
        if self._temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

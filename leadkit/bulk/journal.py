"""The journal: what happened to each row key, in a file, for resume and de-duplication.

It is a SQLite file in WAL mode, synchronous=FULL: a commit is fsync'ed, so what was
committed survives ``kill -9`` and a power cut. Writes are not committed one by one
(a commit per row cost more than the request itself); they join an open transaction
that is committed in batches (group commit). What a batch may hold depends on what a
crash that loses it would do on the rerun, which reads each key's last committed state:

=====================  ==============================================================
write                  when it is committed
=====================  ==============================================================
``sent``, a row whose  Before its request goes out. The rows about to go in one turn
resend would           of the event loop are marked in one transaction and wait for
duplicate it (no       its commit (`committed`), then all go; a row that would wait
trusted conflict       for the rate limiter is marked alone (`commit`) just before it
status)                goes, so that rows still waiting do not read as in flight
                       after a crash. A crash between the commit and the sends leaves
                       rows that never went reading ``sent``: the rerun reports them
                       as possibly existing and never resends them (the safe side).
``sent``, a row whose  Written just before it goes, committed with the next batch:
resend is safe         lost, the row reads ``queued`` and the rerun sends it again;
(idempotent, or a      the server answers the repeat with its conflict status.
trusted conflict
status)
the claim              With the next batch: lost, the key is unknown and the row is
(``queued``)           new on the rerun. It cannot have been sent: a ``sent`` that
                       had to be committed first commits the claim with it.
results (``created``,  With the next batch: at most `_BATCH` writes or `_DELAY`
``already_exists``,    seconds after they are made, with any earlier commit, and
``failed``,            when the run closes the journal. Lost, a row reads as its
``unknown``; and       state before: ``sent`` (in flight: resent when that is safe,
``queued`` for a row   else reported as possibly existing) or ``queued`` (sent
refused, or stopped    again). A crash never makes a row read ``created`` that was
before it went)        not, so no row is skipped and lost.
=====================  ==============================================================

The file keeps the state, not memory, so a journal stays flat however many rows there
are. Each key keeps the position and line of the row that last set it, for a later row
with the same key to name.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["FAILED_STATES", "Entry", "Journal", "JournalError", "State"]

_LOCK_WAIT = 1.0
"""Seconds to wait for a journal another run holds before saying it is in use."""
_BATCH = 1024
"""Writes after which the open transaction is committed."""
_DELAY = 0.1
"""Seconds after its first write that an open transaction is committed, on an event loop."""


class JournalError(ValueError):
    """The journal cannot be used for this run (another operation, campaign or a bad file),
    or can no longer be written (a full disk, say)."""


class State(enum.StrEnum):
    """The last known state of a row key."""

    QUEUED = "queued"
    """Accepted in a run, not sent yet: safe to send."""
    SENT = "sent"
    """The request may have reached the server; no answer was recorded."""
    CREATED = "created"
    ALREADY_EXISTS = "already_exists"
    CREATED_OR_EXISTS = "created_or_exists"
    """Uploaded by a job that counted duplicates without saying which rows they were."""
    FAILED = "failed"
    """Failed for sure: the record was not created."""
    UNKNOWN = "unknown"
    """Failed after sending, with no answer: the record may exist."""


FAILED_STATES = frozenset({State.FAILED, State.UNKNOWN})
"""States of a key whose row did not succeed."""


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
    """Row key -> state, in a SQLite file; `run` numbers the runs that used the file.

    Writes join the open transaction; see the module docstring for when it is committed.
    """

    def __init__(self, path: Path, scope: Mapping[str, Any]) -> None:
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
        self._timer: asyncio.TimerHandle | None = None
        self._next_commit: asyncio.Future[None] | None = None
        self._broken: str | None = None
        self._closed = False
        self._db.execute("BEGIN")

    def _open(self, scope: str) -> int:
        """Set the file up and number this run.

        One run uses a journal at a time: the first write takes an exclusive lock that is
        held until close, so a second run cannot resend the rows this one has in flight.
        """
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " run INTEGER NOT NULL, position INTEGER, reason TEXT, line INTEGER) WITHOUT ROWID"
        )  # one b-tree per write, not a table and its key's index (older journals have both)
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
        inserted = self._write(
            "INSERT OR IGNORE INTO rows VALUES (?, ?, ?, ?, NULL, ?)",
            (key, State.QUEUED.value, self.run, position, line),
        )
        return None if inserted else self.get(key)

    def set(
        self,
        key: str,
        state: State,
        *,
        position: int,
        line: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Record the key's new state in this run, in the open transaction."""
        self._write(
            "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?, ?, ?)",
            (key, state.value, self.run, position, _storable(reason), line),
        )

    def _write(self, statement: str, values: tuple[Any, ...]) -> int:
        """Run one write in the open transaction and return its row count; commit a full
        batch now, else within `_DELAY` seconds when an event loop runs (without one, at
        the next full batch or at close)."""
        self._check()
        try:
            count = self._db.execute(statement, values).rowcount
        except sqlite3.Error as exc:  # the disk is full, say: the transaction may be lost
            raise self._fail(exc) from None
        self._uncommitted += 1
        if self._uncommitted >= _BATCH:
            self.commit()
        elif self._timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop
                self._timer = asyncio.get_running_loop().call_later(_DELAY, self._commit_later)
        return count

    def commit(self) -> None:
        """Commit (and fsync) every write so far; wake the rows waiting in `committed`."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._check()
        if self._uncommitted:
            try:
                self._db.execute("COMMIT")
                self._db.execute("BEGIN")
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            self._uncommitted = 0
        waiting, self._next_commit = self._next_commit, None
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def _commit_later(self) -> None:
        """A scheduled commit: a failure reaches the rows waiting for it, and every later
        write raises it (`_check`)."""
        with contextlib.suppress(JournalError):
            self.commit()

    async def committed(self) -> None:
        """Wait until every write so far is committed. The callers of one turn of the event
        loop share one commit, made as soon as that turn's other callbacks have run."""
        self._check()
        if not self._uncommitted:
            return
        if self._next_commit is None:
            loop = asyncio.get_running_loop()
            self._next_commit = loop.create_future()
            loop.call_soon(self._commit_later)
        await asyncio.shield(self._next_commit)

    def _check(self) -> None:
        """Refuse to go on after a write or a commit failed: writes may have been lost."""
        if self._broken is not None:
            raise self._fail()

    def _fail(self, error: sqlite3.Error | None = None) -> JournalError:
        """The error that the journal is broken (by `error`), for the caller to raise; the
        rows waiting for a commit get it too."""
        if self._broken is None:
            self._broken = f"{self.path}: cannot write the journal ({error})"
        failure = JournalError(self._broken)
        waiting, self._next_commit = self._next_commit, None
        if waiting is not None and not waiting.done():
            waiting.set_exception(failure)
        return failure

    def close(self) -> None:
        """Commit what is left and close the file (and give up its lock). Closing again
        does nothing."""
        if self._closed:
            return
        try:
            if self._broken is None:
                self.commit()
        finally:
            self._closed = True
            self._db.close()

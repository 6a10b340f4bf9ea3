"""Where the sandbox keeps created leads: in memory, or in a SQLite file that survives restarts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

__all__ = ["LeadStore", "MemoryStore", "SqliteStore", "StorageError", "open_store"]

Record = dict[str, Any]


class LeadStore(Protocol):
    """Leads per API; `scope` groups records for de-duplication (e.g. a campaign)."""

    def insert(
        self, api: str, scope: str, key: str | None, record: Record, *, unique: bool
    ) -> bool:
        """Store `record`; with `unique`, refuse (return False) when `key` exists in `scope`."""
        ...

    def leads(self, api: str) -> list[Record]:
        """Every stored record of `api`, oldest first."""
        ...

    def find(self, api: str, scope: str, field: str, value: str) -> Record | None:
        """The latest record of `api` in `scope` whose `field` is `value`; None for none."""
        ...

    def clear(self) -> None:
        """Forget every record."""
        ...

    def close(self) -> None:
        """Release the storage."""
        ...


class MemoryStore:
    """Leads in a list; gone when the sandbox stops."""

    def __init__(self) -> None:
        self._rows: list[tuple[str, str, str | None, Record]] = []
        self._keys: set[tuple[str, str, str]] = set()

    def insert(
        self, api: str, scope: str, key: str | None, record: Record, *, unique: bool
    ) -> bool:
        """Store `record`; with `unique`, refuse (return False) when `key` exists in `scope`."""
        if key is not None:
            if unique and (api, scope, key) in self._keys:
                return False
            self._keys.add((api, scope, key))
        self._rows.append((api, scope, key, record))
        return True

    def leads(self, api: str) -> list[Record]:
        """Every stored record of `api`, oldest first."""
        return [dict(record) for name, _, _, record in self._rows if name == api]

    def find(self, api: str, scope: str, field: str, value: str) -> Record | None:
        """The latest record of `api` in `scope` whose `field` is `value`; None for none."""
        for name, where, _, record in reversed(self._rows):
            if (name, where) == (api, scope) and record.get(field) == value:
                return dict(record)
        return None

    def clear(self) -> None:
        """Forget every record."""
        self._rows.clear()
        self._keys.clear()

    def close(self) -> None:
        """Nothing to release."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    api TEXT NOT NULL, scope TEXT NOT NULL, key TEXT, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lead_keys (api TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (api, scope, key));
INSERT OR IGNORE INTO lead_keys SELECT api, scope, key FROM leads WHERE key IS NOT NULL;
"""
"""`lead_keys` holds each dedupe key once; its primary key is what refuses a duplicate, even
one sent to another sandbox process sharing the file. The INSERT fills it from a file written
before it existed."""


class StorageError(Exception):
    """The storage file cannot be opened or used as a SQLite database."""


def _connect(path: Path) -> sqlite3.Connection:
    """The database at `path` with the current schema; StorageError naming `path` otherwise."""
    db: sqlite3.Connection | None = None
    try:
        db = sqlite3.connect(path, isolation_level="IMMEDIATE", check_same_thread=False)
        db.executescript(_SCHEMA)
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        reason = str(exc)
        if path.is_dir():
            reason = "it is a directory"
        elif not path.parent.is_dir():
            reason = f"there is no directory {path.parent}"
        raise StorageError(f"cannot use {path} as SQLite storage: {reason}") from None
    return db


class SqliteStore:
    """Leads in a SQLite file: a restarted sandbox still has them."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path)

    def insert(
        self, api: str, scope: str, key: str | None, record: Record, *, unique: bool
    ) -> bool:
        """Store `record`; with `unique`, refuse (return False) when `key` exists in `scope`."""
        with self._db:  # one transaction: a key is never claimed without its record
            if key is not None:
                claim = "INSERT" if unique else "INSERT OR IGNORE"
                try:
                    self._db.execute(
                        f"{claim} INTO lead_keys (api, scope, key) VALUES (?, ?, ?)",
                        (api, scope, key),
                    )
                except sqlite3.IntegrityError:  # taken, perhaps by another sandbox process
                    return False
            self._db.execute(
                "INSERT INTO leads (api, scope, key, record) VALUES (?, ?, ?, ?)",
                (api, scope, key, json.dumps(record)),
            )
        return True

    def leads(self, api: str) -> list[Record]:
        """Every stored record of `api`, oldest first."""
        rows = self._db.execute("SELECT record FROM leads WHERE api = ? ORDER BY seq", (api,))
        return [json.loads(record) for (record,) in rows]

    def find(self, api: str, scope: str, field: str, value: str) -> Record | None:
        """The latest record of `api` in `scope` whose `field` is `value`; None for none."""
        found = self._db.execute(
            "SELECT record FROM leads WHERE api = ? AND scope = ? AND json_extract(record, ?) = ?"
            " ORDER BY seq DESC LIMIT 1",
            (api, scope, "$." + json.dumps(field), value),
        ).fetchone()
        return None if found is None else dict(json.loads(found[0]))

    def clear(self) -> None:
        """Forget every record."""
        with self._db:
            self._db.execute("DELETE FROM leads")
            self._db.execute("DELETE FROM lead_keys")

    def close(self) -> None:
        """Close the database file."""
        self._db.close()


def open_store(path: Path | None) -> LeadStore:
    """A SqliteStore on `path` (StorageError if unusable), or a MemoryStore when it is None."""
    return MemoryStore() if path is None else SqliteStore(path)

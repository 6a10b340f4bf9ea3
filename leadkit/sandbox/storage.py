"""Where the sandbox keeps created leads: in memory, or in a SQLite file that survives restarts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

__all__ = ["LeadStore", "MemoryStore", "SqliteStore", "open_store"]

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

    def clear(self) -> None:
        """Forget every record."""
        self._rows.clear()
        self._keys.clear()

    def close(self) -> None:
        """Nothing to release."""


class SqliteStore:
    """Leads in a SQLite file: a restarted sandbox still has them."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS leads (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " api TEXT NOT NULL, scope TEXT NOT NULL, key TEXT, record TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS leads_key ON leads (api, scope, key)")

    def insert(
        self, api: str, scope: str, key: str | None, record: Record, *, unique: bool
    ) -> bool:
        """Store `record`; with `unique`, refuse (return False) when `key` exists in `scope`."""
        if unique and key is not None:
            found = self._db.execute(
                "SELECT 1 FROM leads WHERE api = ? AND scope = ? AND key = ?", (api, scope, key)
            ).fetchone()
            if found:
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

    def clear(self) -> None:
        """Forget every record."""
        self._db.execute("DELETE FROM leads")

    def close(self) -> None:
        """Close the database file."""
        self._db.close()


def open_store(path: Path | None) -> LeadStore:
    """A SqliteStore on `path`, or a MemoryStore when it is None."""
    return MemoryStore() if path is None else SqliteStore(path)

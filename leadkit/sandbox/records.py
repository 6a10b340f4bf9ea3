"""The records an API stores: created (once per dedupe key where it must be), and found again.

A record is kept with its operation's path parameters (its scope, e.g. a campaign): a
dedupe key is unique within a scope, and a read finds a record in the scope of its own path.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .storage import LeadStore

__all__ = ["Records", "canonical", "dedupe_key", "scope_of"]


def canonical(value: str) -> str:
    """A UUID in one spelling (the server reads 9B1D… and 9b1d… as one campaign)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def scope_of(params: Mapping[str, str]) -> str:
    """The scope of records created or read with these path parameters."""
    return "/".join(canonical(params[name]) for name in sorted(params))


def dedupe_key(value: Any) -> str | None:
    """A dedupe field's value as records are keyed: trimmed and lower-cased text."""
    return value.strip().lower() if isinstance(value, str) else None


class Records:
    """One API's records in the sandbox's store; each one created is counted in `stats`."""

    def __init__(self, api: str, store: LeadStore, stats: Counter[str]) -> None:
        self.api = api
        self.store = store
        self.stats = stats

    def create(
        self, params: Mapping[str, str], key: str | None, record: Mapping[str, Any], *, unique: bool
    ) -> bool:
        """Store `record` with `params`; with `unique`, refuse (False) a key the scope has."""
        stored = self.store.insert(
            self.api, scope_of(params), key, {**record, **params}, unique=unique
        )
        self.stats["created"] += stored
        return stored

    def find(self, params: Mapping[str, str], field: str) -> dict[str, Any] | None:
        """The record whose `field` is the path parameter of that name, in the scope of the
        other parameters."""
        scope = {name: value for name, value in params.items() if name != field}
        return self.store.find(self.api, scope_of(scope), field, canonical(params[field]))

"""Every change between two spec documents, in a stable order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api_walk import diff_api
from .changes import Change
from .operation_walk import diff_operations
from .schema_walk import SchemaWalker

__all__ = ["diff_specs"]


def diff_specs(
    old: Mapping[str, Any], new: Mapping[str, Any], name: str | None = None
) -> tuple[Change, ...]:
    """Classified changes from document `old` to `new` (both valid, $refs resolvable).

    `name`: the API's package name (its spec file's stem), which default settings derive from.
    """
    walker = SchemaWalker(old, new)
    diff_api(walker, name)
    diff_operations(walker)
    return tuple(sorted(set(walker.changes), key=Change.sort_key))

"""Path, query and header values as the wire wants them, and paths filled in safely."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["expand_path", "path_values", "query_value"]


def query_value(value: Any) -> str:
    """A path, query or header value as text: JSON's booleans, ISO 8601 dates, enum values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):  # str() of a datetime has a space where ISO has "T"
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


_DOT_SEGMENTS = ("", ".", "..")
"""Path parameter values that percent-encoding leaves as they are and that would change the
path itself (``..`` climbs a level), so the request would go to another endpoint."""


@functools.lru_cache(maxsize=1024)
def expand_path(path: str, path_params: tuple[tuple[str, str], ...]) -> str:
    """`path` with its parameters filled in and percent-encoded (cached: bulk loads repeat).

    Raises ValueError for a value that is empty, ``.`` or ``..``.
    """
    for name, value in path_params:
        if value in _DOT_SEGMENTS:
            raise ValueError(f"path parameter {name}={value!r} would change the request's path")
    return path.format(**{name: quote(value, safe="") for name, value in path_params})


def path_values(path_params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Path parameters as `expand_path` takes them."""
    return tuple((name, query_value(value)) for name, value in path_params.items())

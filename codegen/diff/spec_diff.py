"""Every change between two specs, in a stable order: the two IRs the generator reads, compared."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..build import build_api
from ..ir import Api
from ..load import LoadedSpec
from .api_walk import diff_api
from .changes import Change
from .operation_walk import diff_operations
from .schema_walk import SchemaWalker

__all__ = ["diff_apis", "diff_specs", "read_leniently"]


def read_leniently(document: Mapping[str, Any], name: str, label: str) -> Api:
    """The IR of a valid spec document, including what the generator would refuse."""
    spec = LoadedSpec(Path(f"{name}.yaml"), label, name, document, sha256="")
    return build_api(spec, strict=False)


def diff_apis(old: Api, new: Api) -> tuple[Change, ...]:
    """Classified changes from IR `old` to IR `new`."""
    walker = SchemaWalker(old, new)
    diff_api(walker)
    diff_operations(walker)
    return tuple(sorted(set(walker.changes), key=Change.sort_key))


def diff_specs(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    name: str | None = None,
    labels: tuple[str, str] = ("old spec", "new spec"),
) -> tuple[Change, ...]:
    """Classified changes from document `old` to `new` (both valid, $refs resolvable).

    `name`: the API's package name (its spec file's stem), which default settings derive from;
    unknown (None), the default key variable shows as ``<NAME>_API_KEY``. A document the
    schema parser cannot read raises SpecError naming its label.
    """
    name = name or "<name>"
    old_api, new_api = (
        read_leniently(d, name, label) for d, label in zip((old, new), labels, strict=True)
    )
    return diff_apis(old_api, new_api)

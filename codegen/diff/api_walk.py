"""Compare what applies to a whole API: servers, the security scheme, x-rate-limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..operations import key_env_var
from .changes import Location
from .schema_walk import SchemaWalker

__all__ = ["diff_api"]


def _base_url(doc: Mapping[str, Any]) -> Any:
    servers = doc.get("servers") or [{}]
    return servers[0].get("url")


def _auth(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The scheme of the first security requirement, as the generator picks it."""
    requirements = doc.get("security") or [{}]
    name = next(iter(requirements[0]), None)
    return doc.get("components", {}).get("securitySchemes", {}).get(name) or {}


def _diff_rate_limit(walker: SchemaWalker, old: Any, new: Any) -> None:
    where = Location("api", path="x-rate-limit")
    if old is None or new is None:
        if old is not new:
            walker.emit("rate_limit.removed" if new is None else "rate_limit.added", where, "")
        return
    before, after = ({w["seconds"]: w["limit"] for w in d.get("windows", ())} for d in (old, new))
    for seconds in sorted(before.keys() | after.keys()):
        limit, now = before.get(seconds), after.get(seconds)
        if limit == now:
            continue
        tighter = limit is None or (now is not None and now < limit)
        shown = " -> ".join("none" if n is None else str(n) for n in (limit, now))
        kind = "rate_limit.tightened" if tighter else "rate_limit.loosened"
        walker.emit(kind, where, f"{shown} requests per {seconds}s")
    old_headers, new_headers = old.get("headers", {}), new.get("headers", {})
    for key in sorted(old_headers.keys() | new_headers.keys()):
        if old_headers.get(key) != new_headers.get(key):
            detail = f"{key}: {old_headers.get(key)} -> {new_headers.get(key)}"
            walker.emit("rate_limit.header_changed", where, detail)
    for key, kind in (
        ("reset", "rate_limit.reset_changed"),
        ("retry-after-body-pattern", "rate_limit.retry_pattern_changed"),
    ):
        if old.get(key) != new.get(key):
            walker.emit(kind, where, f"{old.get(key)} -> {new.get(key)}")


def diff_api(walker: SchemaWalker, name: str | None) -> None:
    """Report changes to the base URL, the security scheme and the rate-limit declaration.

    `name` is the API's package name, from which the default key variable derives;
    unknown (None), that default shows as ``<NAME>_API_KEY``.
    """
    old, new = walker.old, walker.new
    if _base_url(old) != _base_url(new):
        detail = f"{_base_url(old)} -> {_base_url(new)}"
        walker.emit("server.base_url_changed", Location("api", path="servers"), detail)
    old_auth, new_auth = _auth(old), _auth(new)
    for keys, kind in (
        (("type", "in", "scheme"), "auth.scheme_changed"),
        (("name",), "auth.header_changed"),
    ):
        before, after = ([auth.get(k) for k in keys] for auth in (old_auth, new_auth))
        if before != after:
            shown = " -> ".join(" ".join(str(v) for v in vs if v) for vs in (before, after))
            walker.emit(kind, Location("api", path="security"), shown)
    old_var, new_var = (key_env_var(auth, name or "<name>") for auth in (old_auth, new_auth))
    if old_var != new_var:
        walker.emit(
            "auth.env_var_changed", Location("api", path="security"), f"{old_var} -> {new_var}"
        )
    _diff_rate_limit(walker, old.get("x-rate-limit"), new.get("x-rate-limit"))

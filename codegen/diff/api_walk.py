"""Compare what applies to a whole API: servers, the security scheme, x-rate-limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadkit.runtime.api import RateLimitPolicy, rate_limit_from_spec

from ..build import key_env_var
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


def _policy(declared: Any) -> RateLimitPolicy | str | None:
    """The x-rate-limit as the generated client reads it (defaults filled in); a string
    saying why when the generator refuses it."""
    try:
        return rate_limit_from_spec(declared)
    except ValueError as exc:
        return str(exc)


def _diff_rate_limit(walker: SchemaWalker, old: Any, new: Any) -> None:
    where = Location("api", path="x-rate-limit")
    before, after = _policy(old), _policy(new)
    for side, policy in (("old", before), ("new", after)):
        if isinstance(policy, str):
            walker.emit("rate_limit.invalid", where, f"{side} spec: {policy}")
    if isinstance(before, str) or isinstance(after, str):
        return
    if before is None or after is None:
        if before is not after:
            walker.emit("rate_limit.removed" if after is None else "rate_limit.added", where, "")
        return
    old_windows, new_windows = ({w.seconds: w.limit for w in p.windows} for p in (before, after))
    for seconds in sorted(old_windows.keys() | new_windows.keys()):
        limit, now = old_windows.get(seconds), new_windows.get(seconds)
        if limit == now:
            continue
        tighter = limit is None or (now is not None and now < limit)
        shown = " -> ".join("none" if n is None else str(n) for n in (limit, now))
        kind = "rate_limit.tightened" if tighter else "rate_limit.loosened"
        walker.emit(kind, where, f"{shown} requests per {seconds:g}s")
    for key, kind in (
        ("limit_header", "rate_limit.header_changed"),
        ("remaining_header", "rate_limit.header_changed"),
        ("reset_header", "rate_limit.header_changed"),
        ("reset_kind", "rate_limit.reset_changed"),
        ("retry_after_body_pattern", "rate_limit.retry_pattern_changed"),
    ):
        was, now = getattr(before, key), getattr(after, key)
        if was != now:
            walker.emit(kind, where, f"{key}: {was} -> {now}")


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

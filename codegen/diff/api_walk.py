"""Compare what applies to a whole API: the base URL, how the key is sent, x-rate-limit."""

from __future__ import annotations

from ..errors import json_pointer
from ..ir import Api
from .changes import Location
from .schema_walk import SchemaWalker

__all__ = ["diff_api"]

_RATE_LIMIT = json_pointer(("x-rate-limit",))


def _rate_limit_problem(api: Api) -> str | None:
    """Why the generator refuses the API's x-rate-limit, if it does."""
    return next((p.message for p in api.problems if p.pointer == _RATE_LIMIT), None)


def _diff_rate_limit(walker: SchemaWalker) -> None:
    where = Location("api", path="x-rate-limit")
    problems = {
        side: _rate_limit_problem(api) for side, api in (("old", walker.old), ("new", walker.new))
    }
    for side, problem in problems.items():
        if problem is not None:
            walker.emit("rate_limit.invalid", where, f"{side} spec: {problem}")
    if any(problems.values()):
        return
    before, after = walker.old.rate_limit, walker.new.rate_limit
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
        ("retry_after_body_pointer", "rate_limit.retry_pattern_changed"),
        ("retry_after_body_unit", "rate_limit.retry_pattern_changed"),
    ):
        was, now = getattr(before, key), getattr(after, key)
        if was != now:
            walker.emit(kind, where, f"{key}: {was} -> {now}")


def diff_api(walker: SchemaWalker) -> None:
    """Report changes to the base URL, the way the key is sent and the rate-limit declaration."""
    old, new = walker.old, walker.new
    if old.base_url != new.base_url:
        walker.emit(
            "server.base_url_changed",
            Location("api", path="servers"),
            f"{old.base_url} -> {new.base_url}",
        )
    security = Location("api", path="security")
    for kind, was, now in (
        ("auth.scheme_changed", old.auth.scheme, new.auth.scheme),
        ("auth.header_changed", old.auth.header, new.auth.header),
        ("auth.env_var_changed", old.auth.env_var, new.auth.env_var),
    ):
        if was != now:
            walker.emit(kind, security, f"{was} -> {now}")
    _diff_rate_limit(walker)

"""SandboxConfig and FaultConfig: every knob of the sandbox, as frozen data."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from leadkit.runtime.api import Window

__all__ = [
    "DEFAULT_KEY_PREFIXES",
    "DuplicatePolicy",
    "FaultConfig",
    "SandboxConfig",
    "parse_window",
]

DuplicatePolicy = Literal["allow", "reject"]

DEFAULT_KEY_PREFIXES: Mapping[str, str] = {"coldsend": "cs_live_"}
"""Keys an API accepts start with this prefix; an API not listed accepts any non-empty key."""

DEFAULT_READONLY_KEYS: Mapping[str, frozenset[str]] = {"coldsend": frozenset({"cs_live_readonly"})}
"""Per API, keys that authenticate but lack the write scope; an API not listed has none."""

DEFAULT_ASSIGNED: Mapping[str, Mapping[str, Any]] = {"coldsend": {"status": "PENDING"}}
"""Values the server assigns that the spec gives no default or example for."""


def _probability(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in [0, 1], got {value}")


def _latency(_: Any, attribute: attrs.Attribute[tuple[int, int]], value: tuple[int, int]) -> None:
    low, high = value
    if not 0 <= low <= high:
        raise ValueError(f"{attribute.name} must be (low, high) with 0 <= low <= high, got {value}")


_WINDOW = re.compile(r"(\d+)/(\d+(?:\.\d+)?)(s|m|h)")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_window(text: str) -> Window:
    """A window written LIMIT/LENGTH with a unit: ``60/60s``, ``100/1m``, ``60/1h``, ``20/8s``.

    The unit is required: "60/60" is exactly the ambiguity (seconds or minutes?) that makes
    documented limits wrong. Raises ValueError saying how to write one.
    """
    match = _WINDOW.fullmatch(text.strip())
    window = None
    if match is not None:
        limit, length, unit = match.groups()
        window = Window(int(limit), float(length) * _UNIT_SECONDS[unit])
    if window is None or window.limit < 1 or not 0 < window.seconds < math.inf:
        raise ValueError(
            f"{text!r} is not a rate-limit window: write LIMIT/LENGTH with a unit (s, m or h), "
            "e.g. 60/60s, 100/1m, 60/1h; the limit at least 1, the length more than 0"
        )
    return window


def _windows(value: Iterable[Window | str]) -> tuple[Window, ...]:
    """Windows given as Window or as text (`parse_window`)."""
    if isinstance(value, str):
        raise TypeError(f"enforce_windows takes a sequence of windows, e.g. ({value!r},)")
    return tuple(w if isinstance(w, Window) else parse_window(w) for w in value)


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Probabilities of each fault per API request, drawn from `random.Random(seed)`.

    The faults exclude each other (one draw per request picks at most one), so their
    probabilities must add up to at most 1. `latency_ms` is a uniform (low, high) range
    of wall-clock milliseconds added before a request is processed.
    """

    seed: int = 0
    error_5xx: float = attrs.field(default=0.0, validator=_probability)
    rate_limit_burst: float = attrs.field(default=0.0, validator=_probability)
    drop_before: float = attrs.field(default=0.0, validator=_probability)
    drop_after: float = attrs.field(default=0.0, validator=_probability)
    malformed: float = attrs.field(default=0.0, validator=_probability)
    latency_ms: tuple[int, int] = attrs.field(default=(0, 0), validator=_latency)

    def __attrs_post_init__(self) -> None:
        total = sum(p for _, p in self.probabilities())
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities add up to {total:g}, more than 1")

    def probabilities(self) -> tuple[tuple[str, float], ...]:
        """(fault name, probability) of each exclusive fault, in draw order."""
        return (
            ("drop_before", self.drop_before),
            ("error_5xx", self.error_5xx),
            ("malformed", self.malformed),
            ("rate_limit_burst", self.rate_limit_burst),
            ("drop_after", self.drop_after),
        )


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """How the sandbox behaves; the defaults are a well-behaved copy of both APIs."""

    time_scale: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    """Sandbox seconds per wall-clock second: 60.0 makes a 60 s window last 1 s."""
    rate_limits: bool = True
    """Enforce every window the spec's x-rate-limit declares (or `enforce_windows`)."""
    enforce_windows: tuple[Window, ...] = attrs.field(default=(), converter=_windows)
    """Windows every API enforces and announces in its headers instead of its spec's, in
    sandbox seconds (Window or text such as "60/8m"): a server whose documented limits are
    wrong, for a client to learn the real ones. Empty: the spec's."""
    faults: FaultConfig = FaultConfig()
    storage: Path | None = None
    """A SQLite file that keeps the leads across restarts; None keeps them in memory."""
    breakcold_duplicates: DuplicatePolicy = "allow"
    """Breakcold documents no duplicate handling: allow, or reject with 409 CONFLICT."""
    readonly_keys: Mapping[str, frozenset[str]] = DEFAULT_READONLY_KEYS
    """Per API, keys that authenticate but lack the write scope: 403 from that API only."""
    key_prefixes: Mapping[str, str] = DEFAULT_KEY_PREFIXES
    assigned: Mapping[str, Mapping[str, Any]] = DEFAULT_ASSIGNED

    def duplicate_policy(self, api: str) -> DuplicatePolicy:
        """The policy for an API whose spec declares no conflict status."""
        return self.breakcold_duplicates if api == "breakcold" else "allow"

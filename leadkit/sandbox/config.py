"""SandboxConfig and FaultConfig: every knob of the sandbox, as frozen data."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, get_args

import attrs

from leadkit.runtime.api import Window

from .declaration import DuplicatePolicy, SandboxDeclaration

__all__ = ["FaultConfig", "SandboxConfig", "parse_window"]


def _probability(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in [0, 1], got {value}")


def _latency(_: Any, attribute: attrs.Attribute[tuple[int, int]], value: tuple[int, int]) -> None:
    low, high = value
    if not 0 <= low <= high:
        raise ValueError(f"{attribute.name} must be (low, high) with 0 <= low <= high, got {value}")


_WINDOW = r"(\d+)/(\d+(?:\.\d+)?)(s|m|h)"
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_window(text: str) -> Window:
    """A window written LIMIT/LENGTH with a unit: ``60/60s``, ``100/1m``, ``60/1h``, ``20/8s``.

    The unit is required: "60/60" is exactly the ambiguity (seconds or minutes?) that makes
    documented limits wrong. Raises ValueError saying how to write one.
    """
    match = re.fullmatch(_WINDOW, text.strip())
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


def _policies(value: Mapping[str, str]) -> dict[str, DuplicatePolicy]:
    """Per-API duplicate policies, each allow or reject."""
    policies = get_args(DuplicatePolicy)
    for api, policy in value.items():
        if policy not in policies:
            raise ValueError(f"duplicates for {api}: {policy!r} is not one of {policies}")
    return dict(value)  # type: ignore[arg-type]  # checked above


def _key_sets(value: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Per-API key sets; a bare string (its letters as keys) is refused."""
    if any(isinstance(keys, str) for keys in value.values()):
        raise TypeError("readonly_keys maps an API to a set of keys, e.g. {'api': {'key'}}")
    return {api: frozenset(keys) for api, keys in value.items()}


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
    """How the sandbox behaves; the defaults serve each API as its spec describes it."""

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
    duplicates: Mapping[str, DuplicatePolicy] = attrs.field(factory=dict, converter=_policies)
    """Per API, what a duplicate its spec declares no conflict status for gets: allow, or
    reject with 409; instead of its x-sandbox `duplicates`."""
    readonly_keys: Mapping[str, frozenset[str]] = attrs.field(factory=dict, converter=_key_sets)
    """Per API, keys that authenticate but lack the write scope (403 from that API only),
    besides its x-sandbox `readonly-keys`."""
    key_prefixes: Mapping[str, str] = attrs.field(factory=dict)
    """Per API, what its keys start with, instead of its x-sandbox `key-prefix` (the spec's
    read-only keys that do not start with it are dropped)."""
    assigned: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    """Per API, values the server assigns to response properties, over its x-sandbox
    `assigned`."""
    upload_rate: float = attrs.field(default=500.0, validator=attrs.validators.gt(0))
    """Rows an upload job (x-upload) processes per sandbox second (`time_scale` speeds it up
    with the rest); it validates them ten times as fast first."""

    def apis_named(self) -> frozenset[str]:
        """Every API the per-API settings name."""
        settings = (self.duplicates, self.readonly_keys, self.key_prefixes, self.assigned)
        return frozenset(api for setting in settings for api in setting)

    def declaration_for(self, api: str, declared: SandboxDeclaration) -> SandboxDeclaration:
        """The spec's x-sandbox of `api` with this config's settings for it applied."""
        prefix = self.key_prefixes.get(api, declared.key_prefix)
        kept = frozenset(k for k in declared.readonly_keys if k.startswith(prefix))  # else 401s
        return attrs.evolve(
            declared,
            duplicates=self.duplicates.get(api, declared.duplicates),
            readonly_keys=kept | self.readonly_keys.get(api, frozenset()),
            key_prefix=prefix,
            assigned={**declared.assigned, **self.assigned.get(api, {})},
        )

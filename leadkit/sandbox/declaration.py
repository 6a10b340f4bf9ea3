"""A spec's ``x-sandbox`` extension: how a server of the API behaves where OpenAPI is silent.

The key format, the keys that authenticate but may not write, the values the server assigns,
the shape of its error bodies, what it does with a duplicate the spec declares no status
for, and which reads answer a stored record. The generator reads the extension with
`read_declaration` (refusing a wrong one with its JSON pointer) and embeds it, defaults
filled in, in ``generated/<api>/contract.py``; the sandbox reads it back from there with the
same function.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Literal, get_args

import attrs

__all__ = [
    "DEFAULT_VALIDATION_STATUS",
    "DeclarationError",
    "DuplicatePolicy",
    "ErrorDialect",
    "SandboxDeclaration",
    "read_declaration",
]

ErrorDialect = Literal["problem", "fastapi", "trpc"]
"""How error bodies are worded: RFC 9457 problem details, FastAPI's ``detail`` or tRPC's."""
DuplicatePolicy = Literal["allow", "reject"]
DEFAULT_VALIDATION_STATUS: Mapping[ErrorDialect, int] = {
    "problem": 422,
    "fastapi": 422,
    "trpc": 400,
}
"""The status each dialect answers an invalid request with, unless the spec says another."""
KEYS = (
    "error-dialect",
    "validation-status",
    "key-prefix",
    "readonly-keys",
    "assigned",
    "duplicates",
    "reads",
)
"""What an ``x-sandbox`` mapping may hold."""


class DeclarationError(ValueError):
    """A wrong ``x-sandbox``: `where` is the path inside it, e.g. ``("readonly-keys", 0)``."""

    def __init__(self, where: tuple[str | int, ...], message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(message)


@attrs.frozen(kw_only=True)
class SandboxDeclaration:
    """The ``x-sandbox`` of one spec, each key read or defaulted."""

    error_dialect: ErrorDialect = "problem"
    validation_status: int = 422
    key_prefix: str = ""
    """What every key the API accepts starts with ("": any non-empty key)."""
    readonly_keys: frozenset[str] = frozenset()
    """Keys that authenticate but lack the write scope: 403 on every write."""
    assigned: Mapping[str, Any] = attrs.field(factory=dict)
    """Response property -> the value the server gives it (the spec gives no default)."""
    duplicates: DuplicatePolicy = "allow"
    """A second record with the same x-dedupe key, where no conflict-status is declared."""
    reads: Mapping[str, str] = attrs.field(factory=dict)
    """Operation -> its path parameter naming the stored record it answers (by the record's
    property of that name)."""

    def to_contract(self) -> dict[str, Any]:
        """The declaration as ``x-sandbox`` data, every key written (for contract.py)."""
        return {
            "error-dialect": self.error_dialect,
            "validation-status": self.validation_status,
            "key-prefix": self.key_prefix,
            "readonly-keys": sorted(self.readonly_keys),
            "assigned": dict(self.assigned),
            "duplicates": self.duplicates,
            "reads": dict(self.reads),
        }

    def new_key(self) -> str:
        """A fresh key the API accepts with every scope: the prefix, ``sandbox_``, 16 hex digits."""
        return f"{self.key_prefix}sandbox_{secrets.token_hex(8)}"


def _choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = raw.get(key, default)
    if value not in choices:
        raise DeclarationError((key,), f"must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def _readonly_keys(raw: Any, prefix: str) -> frozenset[str]:
    if not isinstance(raw, list):
        raise DeclarationError(("readonly-keys",), "must be a list of keys")
    for index, key in enumerate(raw):
        if not isinstance(key, str) or not key or not key.startswith(prefix):
            # the key itself is not repeated: the pointer says which one
            raise DeclarationError(
                ("readonly-keys", index),
                f"must be a non-empty string starting with the key-prefix {prefix!r} "
                "(else it is refused with 401 before its scope is looked at)",
            )
    return frozenset(raw)


def read_declaration(raw: Any) -> SandboxDeclaration:
    """Read an ``x-sandbox`` value (None: not declared); DeclarationError says what and where."""
    if raw is None:
        return SandboxDeclaration()
    if not isinstance(raw, Mapping):
        raise DeclarationError((), f"must be a mapping with any of {', '.join(KEYS)}")
    for key in raw:
        if key not in KEYS:
            raise DeclarationError((key,), f"unknown key; x-sandbox takes {', '.join(KEYS)}")
    dialect: Any = _choice(raw, "error-dialect", get_args(ErrorDialect), "problem")
    status = raw.get("validation-status", DEFAULT_VALIDATION_STATUS[dialect])
    if type(status) is not int or not 400 <= status <= 499:
        raise DeclarationError(("validation-status",), f"must be a 4xx status, not {status!r}")
    prefix = raw.get("key-prefix", "")
    if not isinstance(prefix, str):
        raise DeclarationError(("key-prefix",), f"must be a string, not {prefix!r}")
    assigned = raw.get("assigned", {})
    if not isinstance(assigned, Mapping) or not all(isinstance(k, str) for k in assigned):
        raise DeclarationError(("assigned",), "must map response property names to values")
    duplicates: Any = _choice(raw, "duplicates", get_args(DuplicatePolicy), "allow")
    reads = raw.get("reads", {})
    if not isinstance(reads, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in reads.items()
    ):
        raise DeclarationError(("reads",), "must map operations to a path parameter each")
    return SandboxDeclaration(
        error_dialect=dialect,
        validation_status=status,
        key_prefix=prefix,
        readonly_keys=_readonly_keys(raw.get("readonly-keys", []), prefix),
        assigned=dict(assigned),
        duplicates=duplicates,
        reads=dict(reads),
    )

"""`parse_uuid`: ``uuid.UUID(text)`` without its string juggling for the usual forms."""

from __future__ import annotations

import uuid

__all__ = ["parse_uuid"]

_UUID = uuid.UUID
_UNKNOWN = uuid.SafeUUID.unknown
_new = object.__new__
_set = object.__setattr__


def parse_uuid(text: str) -> uuid.UUID:
    """The same UUID (or the same ValueError) as ``uuid.UUID(text)``, about twice as fast.

    ``uuid.UUID`` drops "urn:", "uuid:", braces and hyphens, then reads 32 hex digits.
    When the text less its hyphens already is 32 hex digits, those steps change nothing,
    so the value is read directly; any other text goes to ``uuid.UUID`` itself.
    """
    digits = text.replace("-", "")
    if len(digits) == 32:
        try:
            value = int(digits, 16)
        except ValueError:
            return uuid.UUID(text)
        made = _new(_UUID)
        _set(made, "int", value)
        _set(made, "is_safe", _UNKNOWN)
        return made
    return uuid.UUID(text)

"""An API key that never shows itself in reprs, logs or exception texts."""

from typing import Final

__all__ = ["Secret"]

_MASK: Final = "***"
_MASK_BYTES: Final = _MASK.encode()
_MIN_MASKED: Final = 8
"""A shorter secret is not masked in other text: it is no real key (a sandbox's "x"), and
masking it would garble ordinary words and data."""


class Secret:
    """Holds a secret string; only `reveal()` gives it back."""

    __slots__ = ("_masked", "_masked_bytes", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._masked = value if len(value) >= _MIN_MASKED else None
        """What `redact` masks: the secret, unless it is too short to be a real one."""
        self._masked_bytes = self._masked.encode() if self._masked else None

    def reveal(self) -> str:
        """Return the secret itself, for the few places that must send or check it."""
        return self._value

    def appears_in(self, text: str) -> bool:
        """Whether `redact` would mask anything in `text`."""
        return self._masked is not None and self._masked in text

    def redact(self, text: str) -> str:
        """`text` with every occurrence of the secret masked (a server may echo it back)."""
        return text.replace(self._masked, _MASK) if self._masked else text

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` with every occurrence of the secret's UTF-8 bytes masked."""
        return data.replace(self._masked_bytes, _MASK_BYTES) if self._masked_bytes else data

    def __repr__(self) -> str:
        return f"Secret({_MASK})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")

"""An API key that never shows itself in reprs, logs or exception texts."""

from typing import Final

__all__ = ["Secret"]

_MASK: Final = "***"
_MIN_MASKED: Final = 8
"""A shorter secret is not masked in other text: it is no real key (a sandbox's "x"), and
masking it would garble ordinary words and data."""


class Secret:
    """Holds a secret string; only `reveal()` gives it back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself, for the few places that must send or check it."""
        return self._value

    def redact(self, text: str) -> str:
        """`text` with every occurrence of the secret masked (a server may echo it back)."""
        return text.replace(self._value, _MASK) if len(self._value) >= _MIN_MASKED else text

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` with every occurrence of the secret's UTF-8 bytes masked."""
        masked = len(self._value) >= _MIN_MASKED
        return data.replace(self._value.encode(), _MASK.encode()) if masked else data

    def __repr__(self) -> str:
        return f"Secret({_MASK})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")

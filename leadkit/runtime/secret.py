"""An API key that never shows itself in reprs, logs or exception texts."""

from typing import Final

__all__ = ["Secret"]

_MASK: Final = "***"


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
        return text.replace(self._value, _MASK) if self._value else text

    def redact_bytes(self, data: bytes) -> bytes:
        """`data` with every occurrence of the secret's UTF-8 bytes masked."""
        return data.replace(self._value.encode(), _MASK.encode()) if self._value else data

    def __repr__(self) -> str:
        return f"Secret({_MASK})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")

"""The UNSET sentinel: a field that was never given, as opposed to an explicit null."""

import enum
from typing import Final

__all__ = ["UNSET", "Unset"]


class Unset(enum.Enum):
    """Type of the UNSET sentinel; omitted on the wire."""

    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET

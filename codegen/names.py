"""How the spec's names become Python names: one rule for every argument and method."""

from __future__ import annotations

import keyword
import re

from .signatures import OPTION_NAMES

__all__ = ["argument_name", "snake_case"]


def snake_case(name: str) -> str:
    """`usersId` -> `users_id`, `X-Request-Id` -> `x_request_id`; keywords get a `_`."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def argument_name(wire_name: str) -> str:
    """A parameter's or a part's argument: `snake_case`, with a `_` when a call option has
    that name (``timeout`` -> ``timeout_``), as a Python keyword gets one."""
    name = snake_case(wire_name)
    return f"{name}_" if name in OPTION_NAMES else name

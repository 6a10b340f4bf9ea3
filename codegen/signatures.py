"""The keyword arguments generated methods take besides an operation's own.

Each method that sends a request takes the call options of `BaseClient.with_options`
(``timeout=``, ``retry=``, ``extra_headers=``); each ``<op>_bulk`` the options of
`leadkit.bulk.bulk_create`. They are read from those signatures, so a generated method
cannot drift from what it passes on.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs

from leadkit.bulk import bulk_create
from leadkit.runtime import BaseClient

__all__ = ["BULK_OPTIONS", "CALL_OPTIONS", "OPTION_NAMES", "Keyword"]

_LITERALS = (bool, int, float, str, type(None))


@attrs.frozen
class Keyword:
    """A keyword-only argument: its name, its annotation as written, its default as code."""

    name: str
    annotation: str
    default: str

    @property
    def declaration(self) -> str:
        """``name: annotation = default``, as a signature declares it."""
        return f"{self.name}: {self.annotation} = {self.default}"


def keywords(function: Callable[..., Any], *, skip: tuple[str, ...] = ()) -> tuple[Keyword, ...]:
    """The keyword-only arguments of `function` but `skip`, in order.

    Its module must keep annotations as text (``from __future__ import annotations``) and
    its defaults must be literals, which the generated code repeats.
    """
    found = []
    for param in inspect.signature(function).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY or param.name in skip:
            continue
        if not isinstance(param.annotation, str) or type(param.default) not in _LITERALS:
            raise TypeError(f"{function.__qualname__}: {param} cannot be repeated as code")
        found.append(Keyword(param.name, param.annotation, repr(param.default)))
    return tuple(found)


CALL_OPTIONS = keywords(BaseClient.with_options)
"""What every generated method takes for that call alone."""
BULK_OPTIONS = keywords(bulk_create, skip=("path_params",))
"""What every ``<op>_bulk`` takes, passed on to `bulk_create`."""
OPTION_NAMES = frozenset(k.name for k in CALL_OPTIONS + BULK_OPTIONS)
"""Names an operation's parameter cannot have as an argument (it gets a trailing ``_``)."""

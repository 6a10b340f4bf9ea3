"""Multipart/form-data request bodies: the parts a generated method takes, checked before
anything is sent, and a fresh aiohttp body for each attempt.

A file part takes bytes, a path or an async iterable of bytes (or a `FilePart` that also
names the file and its media type). Bytes are sent again as they are; a path is opened
anew for each attempt and streamed from disk in chunks (aiohttp reads 256 KiB at a time
and closes the file after the attempt); an async iterable is streamed as it yields, never
gathered in memory, and so can be sent once only: once an attempt has started reading it,
the client refuses to retry (`BodyNotReplayableError`) rather than send a truncated file.
A JSON part takes a model or a mapping and is checked strictly, as a JSON body is; a text
part takes its value (a str for a string part) and is checked the same way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import aiohttp
import attrs
import cattrs

from .api import FormPart
from .errors import RequestValidationError
from .paths import query_value
from .request_bodies import check_request

__all__ = ["FileContent", "FilePart", "MultipartBody", "encode_parts"]

_BYTES = (bytes, bytearray, memoryview)


@attrs.frozen
class FilePart:
    """A file part's content with the file name and media type it is sent with.

    Without one, a path is sent under its own name, other content under the part's name,
    and the media type is the spec's for the part.
    """

    content: bytes | os.PathLike[str] | AsyncIterable[bytes] = attrs.field(repr=False)
    filename: str | None = None
    content_type: str | None = None


FileContent: TypeAlias = bytes | os.PathLike[str] | AsyncIterable[bytes] | FilePart
"""What a file part takes: its bytes, a path to stream it from, an async iterable of its
chunks (sent once: a retry is refused), or a `FilePart` naming its file and media type."""


class _OneShot:
    """An async iterable of bytes passed as a file part: streamed once, noting when it starts."""

    def __init__(self, name: str, source: AsyncIterable[Any]) -> None:
        self.name = name
        self.started = False
        self._source = source
        self._chunks: AsyncIterator[Any] | None = None

    def __aiter__(self) -> _OneShot:
        return self

    async def __anext__(self) -> bytes:
        if self._chunks is None:
            self.started = True
            self._chunks = aiter(self._source)
        chunk = await anext(self._chunks)
        if not isinstance(chunk, _BYTES):
            raise TypeError(
                f"part {self.name!r}: the async iterable yielded {type(chunk).__name__}, not bytes"
            )
        return bytes(chunk) if not isinstance(chunk, bytes) else chunk


@attrs.frozen
class _Part:
    """A checked part: what each attempt sends."""

    name: str
    value: str | bytes | Path | _OneShot = attrs.field(repr=False)
    """Text for a JSON or text part; bytes, a path or a one-shot stream for a file."""
    content_type: str
    filename: str | None = None


class MultipartBody(aiohttp.FormData):
    """The checked parts of one call, passed to aiohttp as the `data` of every attempt.

    aiohttp calls a FormData for the body it sends; this one makes that body anew on each
    call (`__call__`), so that each attempt sends the whole file again.
    """

    def __init__(self, parts: list[_Part]) -> None:
        super().__init__()
        self._parts = parts

    def __repr__(self) -> str:
        return f"MultipartBody(parts={[part.name for part in self._parts]!r})"

    def __call__(self) -> aiohttp.payload.Payload:
        """A new body for one attempt: paths opened again, bytes as they are.

        aiohttp closes the files it opens here when the attempt ends, sent or not.
        """
        form = aiohttp.FormData(quote_fields=False)  # a file name as browsers send it: _filename
        for part in self._parts:
            value = part.value.open("rb") if isinstance(part.value, Path) else part.value
            form.add_field(part.name, value, content_type=part.content_type, filename=part.filename)
        return form()

    def spent(self) -> str | None:
        """Why the body cannot be sent again, if it cannot: a one-shot part already read."""
        for part in self._parts:
            if isinstance(part.value, _OneShot) and part.value.started:
                return (
                    f"the part {part.name!r} was an async iterable, read by the failed attempt, "
                    "and cannot be sent again (pass bytes or a path to let the client retry)"
                )
        return None


def encode_parts(
    converter: cattrs.Converter,
    operation: str,
    declared: tuple[FormPart, ...],
    values: Mapping[str, Any],
) -> MultipartBody:
    """Check each part's value against its declaration; raise RequestValidationError naming
    every wrong part (nothing is sent), else give the body to send."""
    problems: list[str] = []
    parts: list[_Part] = []
    for unknown in sorted(set(values) - {part.name for part in declared}):
        problems.append(f"{unknown}: not a part of this body")
    for part in declared:
        value = values.get(part.name)
        if value is None:
            if part.required:
                problems.append(f"{part.name}: the part is required")
            continue
        try:
            parts.append(_checked(converter, part, value))
        except RequestValidationError as exc:
            problems += [f"{part.name}: {problem}" for problem in exc.problems]
    if problems:
        raise RequestValidationError(f"multipart body of {operation}", problems)
    return MultipartBody(parts)


def _checked(converter: cattrs.Converter, part: FormPart, value: Any) -> _Part:
    if part.kind == "file":
        return _file(part, value)
    checked = check_request(converter, value, part.type)
    # as text: aiohttp would send bytes without a file name as a file named after the part
    text = checked.payload.decode() if part.kind == "json" else query_value(checked.data)
    return _Part(part.name, text, part.content_type)


def _file(part: FormPart, value: Any) -> _Part:
    """A file part's content, its file name and media type."""
    filename, content_type = None, part.content_type
    if isinstance(value, FilePart):
        filename, content_type = value.filename, value.content_type or content_type
        value = value.content
    content: bytes | Path | _OneShot
    if isinstance(value, _BYTES):
        content = bytes(value)
    elif isinstance(value, os.PathLike):
        content = Path(value)
        if not content.is_file() or not os.access(content, os.R_OK):
            raise RequestValidationError(part.name, [f"{content} is not a readable file"])
        filename = filename or content.name
    elif isinstance(value, AsyncIterable):
        content = _OneShot(part.name, value)
    elif isinstance(value, str):
        raise RequestValidationError(
            part.name,
            [
                "a str is ambiguous for a file: pass pathlib.Path(...) to send a file, or "
                "text.encode() to send the text"
            ],
        )
    else:
        raise RequestValidationError(
            part.name,
            [f"expected bytes, a path or an async iterable of bytes, got {type(value).__name__}"],
        )
    return _Part(part.name, content, content_type, _filename(filename or part.name))


def _filename(name: str) -> str:
    """A file name as browsers write it in Content-Disposition (WHATWG's multipart/form-data
    encoding): UTF-8 as it is, the quote and line breaks percent-encoded."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")

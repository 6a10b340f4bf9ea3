"""The multipart body of an upload (x-upload): its file, within the size limit, and its mapping.

The file part is read in chunks and refused (`TooLarge`) as soon as it passes the limit, not
after it was read whole; the mapping part must be JSON that its schema takes. Parts the
upload does not name are ignored, as a form handler does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from .problems import MISSING, Problem, schema_problems
from .spec import UploadSpec

__all__ = ["TooLarge", "UploadForm", "read_form"]

_CHUNK = 256 * 1024


class TooLarge(Exception):
    """The file is over the upload's limit; the message says which."""


@attrs.frozen
class UploadForm:
    """The parts of an upload that the job reads."""

    data: bytes = attrs.field(repr=False)
    mapping: Mapping[str, str] | None


def _problem(where: tuple[str | int, ...], kind: str, message: str, received: Any) -> Problem:
    return Problem(where, kind, "object", received, message)


async def _file(part: BodyPartReader, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the file is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(
    request: web.Request, upload: UploadSpec, spec: Mapping[str, Any], mapping_schema: Any
) -> UploadForm | list[Problem]:
    """The file and the mapping of an upload request, or the problems that refuse it;
    TooLarge for a file over `upload.max_bytes`."""
    if not request.content_type.startswith("multipart/"):
        said = f'Unsupported content-type "{request.content_type}"'
        return [_problem(("body",), "media_type", said, MISSING)]
    data: bytes | None = None
    mapping: Any = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue  # a nested multipart: not a part of this form
            if part.name == upload.file:
                data = await _file(part, upload.max_bytes)
            elif upload.mapping is not None and part.name == upload.mapping:
                text = bytes(await part.read()).decode("utf-8", "replace")
                try:
                    mapping = json.loads(text)
                except ValueError as exc:
                    return [_problem(("body", upload.mapping), "json", str(exc), text)]
            else:
                await part.release()
    except (ValueError, HttpProcessingError) as exc:  # aiohttp's: not a multipart body
        said = f"not a multipart body ({str(exc).strip()})"
        return [_problem(("body",), "media_type", said, MISSING)]
    problems = [] if data is not None else [_problem(("body", upload.file), "missing", "", MISSING)]
    if mapping is not None:
        problems += schema_problems(spec, mapping_schema, mapping, ("body", str(upload.mapping)))
    if problems or data is None:
        return problems
    return UploadForm(data, mapping)

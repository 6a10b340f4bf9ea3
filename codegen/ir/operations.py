"""The IR's operations: parameters, bodies and their parts, responses, x-dedupe and x-poll."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from leadkit.runtime.api import PartKind

from .type_ref import TypeRef

__all__ = [
    "UPLOAD_COUNTS",
    "UPLOAD_STATUSES",
    "WAIT_ARGUMENTS",
    "Body",
    "Dedupe",
    "Operation",
    "Param",
    "Part",
    "Poll",
    "Response",
    "Upload",
]

WAIT_ARGUMENTS = ("on_progress", "max_wait", "polling")
"""The arguments `<op>_and_wait` takes besides the operation's own."""


@attrs.frozen
class Param:
    """A path, query or header parameter of an operation."""

    wire_name: str
    python_name: str
    location: str
    type: TypeRef
    required: bool
    description: str
    pointer: str
    schema: Mapping[str, Any] = attrs.field(repr=False)
    """The parameter's schema as written (for what `leadkit diff` reads beyond the type)."""

    @property
    def type_expr(self) -> str:
        return self.type.hint("models.")

    @property
    def annotation(self) -> str:
        """The argument's annotation: UUIDs also take str; optional ones default to None."""
        annotation = f"{self.type_expr} | str" if self.type.kind == "uuid" else self.type_expr
        return annotation if self.required else f"{annotation} | None = None"


@attrs.frozen
class Part:
    """One part of a multipart/form-data request body: a keyword argument of its method.

    A `file` part takes bytes, a path or an async iterable of bytes; a `json` part a model or
    a mapping, sent as JSON; a `text` part its value, sent as text.
    """

    wire_name: str
    python_name: str
    kind: PartKind
    type: TypeRef
    """What a json or text part holds; `any` for a file part."""
    required: bool
    content_type: str
    """The media type the part is sent with: its encoding's, else the OpenAPI default."""
    description: str
    pointer: str
    schema: Mapping[str, Any] = attrs.field(repr=False)
    """The part's schema as written (for what `leadkit diff` reads beyond the type)."""
    model: str | None = None
    """The type when it is an attrs class (``models.X``): the part also takes a mapping."""

    @property
    def type_expr(self) -> str:
        """The runtime type the part's value is checked against (None for a file part)."""
        return "None" if self.kind == "file" else self.type.hint("models.")

    @property
    def annotation(self) -> str:
        """The argument's annotation; an optional part defaults to None (not sent)."""
        if self.kind == "file":
            annotation = "FileContent"
        elif self.model:
            annotation = f"{self.model} | Mapping[str, Any]"
        else:
            annotation = self.type_expr
        return annotation if self.required else f"{annotation} | None = None"


@attrs.frozen
class Body:
    """A request or response body: its media type and what it holds.

    A multipart/form-data request body has `parts` (its `type` is then `any`).
    """

    media_type: str
    type: TypeRef
    """`any` when the media type declares no schema."""
    schema: Mapping[str, Any] | None = attrs.field(repr=False)
    """The body's schema as written, for request validation in the sandbox (None: no schema)."""
    required: bool = False
    """For a request body: whether the spec says it is required (the client always needs it)."""
    parts: tuple[Part, ...] = ()

    @property
    def type_expr(self) -> str:
        return self.type.hint("models.")

    @property
    def multipart(self) -> bool:
        return self.media_type == "multipart/form-data"


@attrs.frozen
class Response:
    """One documented status (or ``default``) and its body (None: no content)."""

    status: int | str
    """The status code, or ``default``."""
    body: Body | None

    @property
    def code(self) -> int | None:
        """The status code; None for the ``default`` response."""
        return self.status if isinstance(self.status, int) else None

    @property
    def type_expr(self) -> str | None:
        return None if self.body is None else self.body.type_expr


@attrs.frozen
class Dedupe:
    """Which request field identifies a record, and the status meaning 'already exists'."""

    field: str
    conflict_status: int | None


@attrs.frozen
class Poll:
    """``x-poll``: the operation that reads the status of the job an operation starts."""

    operation: str
    """The status operation's operationId."""
    const_name: str
    """Its OperationSpec constant in client.py."""
    status_type: str
    """What it returns: the status model (``models.X``)."""
    params: tuple[Param, ...]
    """Its path parameters, in the order its own method takes them: `<op>_job`'s arguments."""
    id_param: Param
    """The one of `params` that takes the job's id."""
    id_attr: str
    """The starting operation's response attribute holding the job's id."""
    status_attr: str
    progress_attr: str | None
    done: tuple[str, ...]
    failed: tuple[str, ...]


UPLOAD_STATUSES = ("queued", "validating", "running", "completed", "failed")
"""The phases of an upload job, each named by the status value the API gives it."""
UPLOAD_COUNTS = (
    "total",
    "processed",
    "created",
    "duplicates",
    "errors",
    "percentage",
    "started",
    "completed",
)
"""The status model's fields an upload names: its counts, percentage and timestamps."""


@attrs.frozen
class Upload:
    """``x-upload``: an operation that creates, from a file of rows, what `creates` creates."""

    creates: str
    """The operationId of the create operation each row is a request of."""
    creates_const: str
    """Its OperationSpec constant in client.py."""
    const_name: str
    """The constant of the declaration in client.py, e.g. ``ADD_LEAD_UPLOAD``."""
    file: str
    """The multipart part holding the file (wire name)."""
    mapping: str | None
    """The JSON part holding the mapping, request field -> file column (None: none)."""
    format: str
    max_rows: int
    max_bytes: int
    statuses: tuple[tuple[str, str], ...]
    """(phase, status value) of each of UPLOAD_STATUSES."""
    counts: tuple[tuple[str, str, str], ...]
    """(role, wire name, attribute) of each status field of UPLOAD_COUNTS the spec names."""
    errors: tuple[str, str]
    """The (wire name, attribute) of the status model's list of per-row errors."""
    error_row: tuple[str, ...]
    """Keys an error item may give its row number under, in the order they are read."""
    error_message: tuple[str, ...]
    first_row: int
    """The number the first row after the header has in the errors."""

    def count(self, role: str) -> str | None:
        """The attribute of the status model holding the count of `role`, if named."""
        return next((attr for name, _, attr in self.counts if name == role), None)

    def to_contract(self, poll: Poll, status_field: str) -> dict[str, Any]:
        """The declaration as the sandbox reads it from contract.py (wire names)."""
        return {
            "creates": self.creates,
            "file": self.file,
            "mapping": self.mapping,
            "format": self.format,
            "max_rows": self.max_rows,
            "max_bytes": self.max_bytes,
            "statuses": dict(self.statuses),
            "counts": {role: wire for role, wire, _ in self.counts},
            "errors": {
                "field": self.errors[0],
                "row": list(self.error_row),
                "message": list(self.error_message),
                "first_row": self.first_row,
            },
            "poll": {
                "operation": poll.operation,
                "id": poll.id_param.wire_name,
                "status": status_field,
            },
        }


@attrs.frozen
class Operation:
    """One operation: a client method."""

    key: str
    """The operationId (``METHOD /path`` for an operation without one, which is refused)."""
    name: str
    method: str
    path: str
    summary: str
    description: str
    params: tuple[Param, ...]
    body: Body | None
    responses: tuple[Response, ...]
    dedupe: Dedupe | None
    dedupe_declared: Any
    """The x-dedupe value as written (None: not declared), which `leadkit diff` compares."""
    scopes: tuple[str, ...]
    """Scopes its security requirements name (the operation's own, else the API's)."""
    body_model: str | None
    """The body's type when it is an attrs class (``models.X``): rows can be mappings."""
    column_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(wire name, other column names) of each body field with x-aliases, in spec order."""
    extra_columns: str | None = None
    """The body's object field for the columns of a file matching no field (x-extra-columns)."""
    poll: Poll | None = None
    poll_declared: Any = None
    """The x-poll value as written (None: not declared), which `leadkit diff` compares."""
    upload: Upload | None = None
    upload_declared: Any = None
    """The x-upload value as written (None: not declared)."""

    @property
    def const_name(self) -> str:
        return self.name.upper().strip("_")

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "path")

    @property
    def other_params(self) -> tuple[Param, ...]:
        """Query and header parameters, required ones first."""
        others = (p for p in self.params if p.location != "path")
        return tuple(sorted(others, key=lambda p: not p.required))

    @property
    def body_type(self) -> str | None:
        """The JSON body's type; None without one (a multipart body has `parts`)."""
        return None if self.body is None or self.body.multipart else self.body.type_expr

    @property
    def parts(self) -> tuple[Part, ...]:
        return () if self.body is None else self.body.parts

    @property
    def success(self) -> tuple[Response, ...]:
        return tuple(r for r in self.responses if r.code is not None and 200 <= r.code < 300)

    @property
    def errors(self) -> tuple[Response, ...]:
        return tuple(r for r in self.responses if r.code is not None and not 200 <= r.code < 300)

    @property
    def default_error(self) -> str | None:
        return next((r.type_expr for r in self.responses if r.code is None), None)

    @property
    def return_type(self) -> str:
        kinds = sorted({c.type_expr for c in self.success if c.type_expr})
        if any(c.type_expr is None for c in self.success) and kinds:
            kinds.append("None")
        return " | ".join(kinds) if kinds else "None"

    @property
    def bulk(self) -> bool:
        """Whether the client gets a `<name>_bulk` method (a create with a dedupe key)."""
        return self.dedupe is not None and self.body_model is not None

    def signature(self, options: Sequence[str] = ()) -> str:
        """Parameters of the method after `self`, e.g. ``campaign_id: UUID | str, *, body: ...``.

        Path parameters are positional; the body (or its parts), the other parameters and
        `options` (the declarations of the call options) keyword-only.
        """
        return _signature(self._declared, [*self._keywords, *options])

    def wait_signature(self, options: Sequence[str] = ()) -> str:
        """The parameters of `<name>_and_wait`: the method's, how to wait, then `options`."""
        assert self.poll is not None
        waiting = [
            f"on_progress: ProgressHook[{self.poll.status_type}] | None = None",
            "max_wait: float | None = None",
            "polling: PollPolicy = DEFAULT_POLLING",
        ]
        return _signature(self._declared, [*self._keywords, *waiting, *options])

    @property
    def job_signature(self) -> str:
        """The parameters of `<name>_job`: the status operation's path parameters."""
        assert self.poll is not None
        declared = [f"{p.python_name}: {p.annotation}" for p in self.poll.params]
        return _signature(declared, ["polling: PollPolicy = DEFAULT_POLLING"])

    def job_path_params(self, started: str | None) -> str:
        """The status operation's path parameters as a dict display: the job's id from
        `started` (a response's name) or, without it, from the argument."""
        assert self.poll is not None
        items = []
        for p in self.poll.params:
            value = p.python_name
            if started is not None and p is self.poll.id_param:
                value = f"{started}.{self.poll.id_attr}"
            items.append(f"{p.wire_name!r}: {value}")
        return "{" + ", ".join(items) + "}"

    def call_args(self, options: Sequence[str] = ()) -> str:
        """The same parameters passed on, e.g. ``campaign_id, body=body, timeout=timeout``."""
        passed = [p.python_name for p in self.path_params]
        passed += ["body=body"] if self.body and not self.body.multipart else []
        passed += [f"{part.python_name}={part.python_name}" for part in self.parts]
        passed += [f"{p.python_name}={p.python_name}" for p in self.other_params]
        passed += [f"{name}={name}" for name in options]
        return ", ".join(passed)

    @property
    def parts_display(self) -> str:
        """The parts' values by wire name, as a dict display: ``{"file": file}``."""
        return "{" + ", ".join(f"{p.wire_name!r}: {p.python_name}" for p in self.parts) + "}"

    @property
    def _declared(self) -> list[str]:
        return [f"{p.python_name}: {p.annotation}" for p in self.path_params]

    @property
    def _keywords(self) -> list[str]:
        """The keyword-only parameters: the body or its parts (required ones first), then
        the other parameters."""
        keyword = []
        if self.body and not self.body.multipart:
            keyword.append(f"body: {self._body_annotation}")
        parts = sorted(self.parts, key=lambda part: not part.required)
        keyword += [f"{part.python_name}: {part.annotation}" for part in parts]
        keyword += [f"{p.python_name}: {p.annotation}" for p in self.other_params]
        return keyword

    @property
    def _body_annotation(self) -> str:
        assert self.body is not None
        return f"{self.body_model} | Mapping[str, Any]" if self.body_model else self.body.type_expr


def _signature(declared: list[str], keyword: list[str]) -> str:
    return ", ".join(declared + (["*", *keyword] if keyword else []))

"""Stage 3: ``x-upload``, an operation that creates records from a file of rows, checked.

``x-upload`` on a multipart operation that starts a job (``x-poll``) says which create
operation each row of the file is a request of (`creates`), which parts hold the file and
the mapping (request field -> file column), the file's format and limits, which status
value each phase of the job has, which fields of the status model hold its counts, and
where and how the status lists the rows it refused. The bulk loader reads it from the
generated client, the sandbox from contract.py. Every refusal names the key that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .errors import Problems
from .ir import UPLOAD_COUNTS, UPLOAD_STATUSES, Field, Model, Operation, Upload
from .polls import class_fields

__all__ = ["UPLOAD_KEYS", "read_uploads"]

UPLOAD_KEYS = (
    "creates",
    "file",
    "mapping",
    "format",
    "max-rows",
    "max-bytes",
    "statuses",
    "counts",
    "errors",
)
"""What an x-upload mapping may hold (mapping and format are optional)."""
FORMATS = ("csv",)
REQUIRED_COUNTS = ("total", "created", "duplicates", "errors")
"""The counts the bulk loader needs to account for every row of a job."""
ERRORS_KEYS = ("field", "row", "message", "first-row")
_KINDS = {
    "percentage": ({"int", "float"}, "number"),
    "started": ({"datetime", "str"}, "date-time or string"),
    "completed": ({"datetime", "str"}, "date-time or string"),
}
"""What each count field must hold; the others are integers."""


def _words(value: Any) -> tuple[str, ...] | None:
    """A non-empty list of strings as a tuple; None for anything else."""
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


class _UploadReader:
    """Reads the x-upload of each operation; refusals go to `problems`."""

    def __init__(
        self, operations: tuple[Operation, ...], models: tuple[Model, ...], problems: Problems
    ) -> None:
        self.by_key = {op.key: op for op in operations}
        self.models = models
        self.problems = problems
        self.creators: dict[str, str] = {}
        """Create operation -> the upload declaring it, one each (it names the constant)."""

    def read(self, op: Operation) -> Upload | None:
        raw, where = op.upload_declared, ("paths", op.path, op.method.lower(), "x-upload")
        if not isinstance(raw, Mapping):
            self.problems.refuse(where, f"x-upload must be a mapping of {', '.join(UPLOAD_KEYS)}")
            return None
        for key in raw:
            if key not in UPLOAD_KEYS:
                self.problems.refuse(
                    (*where, key), f"unknown key; x-upload takes {', '.join(UPLOAD_KEYS)}"
                )
        if op.poll is None:
            self.problems.refuse(where, "an upload is a job: declare x-poll on the operation too")
            return None
        creates = self.creates(op, raw.get("creates"), (*where, "creates"))
        status_fields = class_fields(self.models, op.poll.status_type) or {}
        file, mapping = self.parts(op, creates, raw, where)
        fmt = raw.get("format", "csv")
        if fmt not in FORMATS:
            self.problems.refuse((*where, "format"), f"must be one of {', '.join(FORMATS)}")
        limits = [self.limit(raw.get(key), (*where, key)) for key in ("max-rows", "max-bytes")]
        statuses = self.statuses(op, raw.get("statuses"), (*where, "statuses"))
        counts = self.counts(raw.get("counts"), status_fields, (*where, "counts"))
        errors = self.errors(raw.get("errors"), status_fields, (*where, "errors"))
        if creates is None or file is None or errors is None:
            return None
        self.creators[creates.key] = op.key
        return Upload(
            creates=creates.key,
            creates_const=creates.const_name,
            const_name=f"{creates.const_name}_UPLOAD",
            file=file,
            mapping=mapping,
            format=str(fmt),
            max_rows=limits[0],
            max_bytes=limits[1],
            statuses=statuses,
            counts=counts,
            errors=errors[0],
            error_row=errors[1],
            error_message=errors[2],
            first_row=errors[3],
        )

    def creates(self, op: Operation, name: Any, where: tuple[Any, ...]) -> Operation | None:
        """The create operation: a POST with an object body and an x-dedupe on a required
        field (a repeated upload is recognised by it), its path parameters among `op`'s."""
        target = self.by_key.get(name) if isinstance(name, str) else None
        if target is None:
            self.problems.refuse(where, f"no operation {name!r}; name the create's operationId")
            return None
        if target.method != "POST" or target.body_model is None:
            self.problems.refuse(where, f"{name} must be a POST whose body is an object")
            return None
        fields = class_fields(self.models, target.body_model) or {}
        key = fields.get(target.dedupe.field) if target.dedupe else None
        if key is None or not key.required:
            self.problems.refuse(
                where,
                f"{name} needs an x-dedupe on a required field: a row uploaded again is "
                "recognised by it",
            )
        own = {p.wire_name for p in op.path_params}
        for param in target.path_params:
            if param.wire_name not in own:
                self.problems.refuse(
                    where, f"{name}'s path parameter {param.wire_name!r} is not one of {op.key}'s"
                )
        if name in self.creators:
            self.problems.refuse(where, f"{self.creators[name]} uploads {name} already")
        return target

    def parts(
        self,
        op: Operation,
        creates: Operation | None,
        raw: Mapping[str, Any],
        where: tuple[Any, ...],
    ) -> tuple[str | None, str | None]:
        """The file part and the mapping part, each a part of `op`'s multipart body."""
        parts = {part.wire_name: part for part in op.parts}
        file = parts.get(raw.get("file"))  # type: ignore[arg-type]
        if file is None or file.kind != "file":
            self.problems.refuse((*where, "file"), f"{op.key} has no file part {raw.get('file')!r}")
        if "mapping" not in raw:
            return (file.wire_name if file else None), None
        mapping = parts.get(raw["mapping"])
        if mapping is None or mapping.kind != "json":
            self.problems.refuse(
                (*where, "mapping"), f"{op.key} has no JSON part {raw['mapping']!r}"
            )
            return (file.wire_name if file else None), None
        fields = class_fields(self.models, mapping.model) or {}
        request = class_fields(self.models, creates.body_model) if creates else None
        for name in sorted(set(fields) - set(request or fields)):
            self.problems.refuse(
                (*where, "mapping"),
                f"the mapping's field {name!r} is not a field of {creates.key if creates else ''}",
            )
        return (file.wire_name if file else None), mapping.wire_name

    def limit(self, value: Any, where: tuple[Any, ...]) -> int:
        if type(value) is not int or value < 1:
            self.problems.refuse(where, f"must be a positive integer, not {value!r}")
            return 1
        return value

    def statuses(
        self, op: Operation, raw: Any, where: tuple[Any, ...]
    ) -> tuple[tuple[str, str], ...]:
        """The status of each phase; the x-poll's `done` ends exactly the last two."""
        assert op.poll is not None
        if (
            not isinstance(raw, Mapping)
            or sorted(raw) != sorted(UPLOAD_STATUSES)
            or not all(isinstance(value, str) for value in raw.values())
        ):
            self.problems.refuse(
                where, f"must give the status of each of {', '.join(UPLOAD_STATUSES)}"
            )
            return ()
        done, failed = set(op.poll.done), set(op.poll.failed)
        for phase, status in raw.items():
            ends = phase in ("completed", "failed")
            if (status in done) != ends or (status in failed) != (phase == "failed"):
                said = "ends the job" if status in done else "does not end the job"
                self.problems.refuse((*where, phase), f"{status!r} {said} by x-poll's done/failed")
        return tuple((phase, raw[phase]) for phase in UPLOAD_STATUSES)

    def counts(
        self, raw: Any, fields: Mapping[str, Field], where: tuple[Any, ...]
    ) -> tuple[tuple[str, str, str], ...]:
        """(role, wire name, attribute) of each count the spec names in the status model."""
        if not isinstance(raw, Mapping) or not all(key in raw for key in REQUIRED_COUNTS):
            needed = ", ".join(REQUIRED_COUNTS)
            self.problems.refuse(where, f"must name the status fields of {needed} at least")
            return ()
        found = []
        for role in UPLOAD_COUNTS:
            if role not in raw:
                continue
            field = fields.get(str(raw[role]))
            kinds, words = _KINDS.get(role, ({"int"}, "integer"))
            held = {t.kind for t in field.type.members} - {"null"} if field else set()
            if field is None or not held or not held <= kinds:
                self.problems.refuse(
                    (*where, role), f"the status has no {words} field {raw[role]!r}"
                )
                continue
            found.append((role, field.wire_name, field.python_name))
        for key in raw:
            if key not in UPLOAD_COUNTS:
                self.problems.refuse(
                    (*where, key), f"unknown count; name {', '.join(UPLOAD_COUNTS)}"
                )
        return tuple(found)

    def errors(
        self, raw: Any, fields: Mapping[str, Field], where: tuple[Any, ...]
    ) -> tuple[tuple[str, str], tuple[str, ...], tuple[str, ...], int] | None:
        """The status's list of refused rows: its field, the keys of an item's row number and
        message (in reading order) and the number of the first row after the header."""
        if not isinstance(raw, Mapping):
            self.problems.refuse(where, f"must be a mapping of {', '.join(ERRORS_KEYS)}")
            return None
        for key in raw:
            if key not in ERRORS_KEYS:
                self.problems.refuse(
                    (*where, key), f"unknown key; errors takes {', '.join(ERRORS_KEYS)}"
                )
        field = fields.get(str(raw.get("field")))
        if field is None or field.type.kind != "list":
            self.problems.refuse(
                (*where, "field"), f"the status has no list field {raw.get('field')!r}"
            )
            return None
        row, message = _words(raw.get("row", ["row"])), _words(raw.get("message", ["message"]))
        for key, words in (("row", row), ("message", message)):
            if words is None:
                self.problems.refuse((*where, key), "must be a non-empty list of item keys")
        first = raw.get("first-row", 1)
        if type(first) is not int or first < 0:
            self.problems.refuse((*where, "first-row"), f"must be 0 or more, not {first!r}")
        return (field.wire_name, field.python_name), row or (), message or (), first


def read_uploads(
    operations: tuple[Operation, ...], models: tuple[Model, ...], problems: Problems
) -> tuple[Operation, ...]:
    """The operations, each declaring x-upload with its `Upload` read and checked."""
    reader = _UploadReader(operations, models, problems)
    return tuple(
        attrs.evolve(op, upload=reader.read(op)) if op.upload_declared is not None else op
        for op in operations
    )

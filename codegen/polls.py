"""Stage 3: ``x-poll``, the long-running job an operation starts, checked against the spec.

``x-poll: {operation: get_upload_progress, id: job_id, status: status, done: [COMPLETED,
FAILED], failed: [FAILED], progress: progress_percentage}`` on the starting operation says
which operation reads the job's status (a GET), which field of the start's response holds
the job's id (the status operation's path parameter of the same name takes it), which field
of the status holds the job's status, which statuses end the job, which of those mean it
failed, and (optionally) which field holds a percentage done. Every refusal names the key
of x-poll that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .errors import Problems
from .ir import WAIT_ARGUMENTS, ClassModel, Field, Model, Operation, Poll

__all__ = ["POLL_KEYS", "class_fields", "read_polls"]

POLL_KEYS = ("operation", "id", "status", "done", "failed", "progress")
"""What an x-poll mapping may hold (operation, id, status and done are required)."""


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def class_fields(models: tuple[Model, ...], type_expr: str | None) -> dict[str, Field] | None:
    """The fields (inherited ones too) by wire name of a class type; None for another."""
    classes = {m.name: m for m in models if isinstance(m, ClassModel)}
    cls = classes.get((type_expr or "").removeprefix("models."))
    if not type_expr or cls is None:
        return None
    found: dict[str, Field] = {}
    while cls is not None:
        found = {f.wire_name: f for f in cls.fields} | found
        cls = classes.get(cls.base or "")
    return found


class _PollReader:
    def __init__(
        self, operations: tuple[Operation, ...], models: tuple[Model, ...], problems: Problems
    ) -> None:
        self.by_key = {op.key: op for op in operations}
        self.models = models
        self.problems = problems

    def fields(self, type_expr: str | None) -> dict[str, Field] | None:
        """The fields (inherited ones too) by wire name of a class type; None for another."""
        return class_fields(self.models, type_expr)

    def read(self, op: Operation) -> Poll | None:
        raw, where = op.poll_declared, ("paths", op.path, op.method.lower(), "x-poll")
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            expected = "operation, id, status, done (and failed, progress)"
            self.problems.refuse(where, f"x-poll must be a mapping: {expected}")
            return None
        for key in raw:
            if key not in POLL_KEYS:
                self.problems.refuse(
                    (*where, key), f"unknown key; x-poll takes {', '.join(POLL_KEYS)}"
                )
        for name in (*(p.python_name for p in op.params), *(p.python_name for p in op.parts)):
            if name in WAIT_ARGUMENTS:
                self.problems.refuse(
                    where, f"the argument {name!r} would clash with {op.name}_and_wait's own"
                )
        target = self.status_operation(op, raw.get("operation"), (*where, "operation"))
        if target is None:
            return None
        return self.poll(op, target, raw, where)

    def status_operation(
        self, op: Operation, name: Any, where: tuple[Any, ...]
    ) -> Operation | None:
        """The operation x-poll names: a GET without a body, each required argument fillable."""
        target = self.by_key.get(name) if isinstance(name, str) else None
        if target is None:
            self.problems.refuse(
                where,
                f"no operation {name!r} in this spec; name the status operation's operationId",
            )
            return None
        if target.method != "GET" or target.body is not None:
            self.problems.refuse(where, f"{name} must be a GET without a body: it is repeated")
        for param in target.other_params:
            if param.required:
                self.problems.refuse(
                    where,
                    f"{name} needs the {param.location} parameter {param.wire_name!r}, which "
                    "polling cannot fill",
                )
        return target

    def poll(
        self, op: Operation, target: Operation, raw: Mapping[str, Any], where: tuple[Any, ...]
    ) -> Poll | None:
        id_name, start_fields = raw.get("id"), [self.fields(r.type_expr) for r in op.success]
        id_param = next((p for p in target.path_params if p.wire_name == id_name), None)
        if id_param is None:
            self.problems.refuse(
                (*where, "id"), f"{target.key} takes no path parameter {id_name!r}"
            )
        own = {p.wire_name for p in op.path_params}
        for param in target.path_params:
            if param is not id_param and param.wire_name not in own:
                self.problems.refuse(
                    (*where, "operation"),
                    f"{target.key}'s path parameter {param.wire_name!r} is not one of "
                    f"{op.key}'s, so {op.name}_and_wait cannot fill it",
                )
        for response, fields in zip(op.success, start_fields, strict=True):
            field = (fields or {}).get(str(id_name))
            if field is None or not field.required:
                self.problems.refuse(
                    (*where, "id"),
                    f"the {response.status} response of {op.key} has no required field {id_name!r}",
                )
        status_types = {r.type_expr for r in target.success}
        fields = self.fields(next(iter(status_types))) if len(status_types) == 1 else None
        if fields is None:
            self.problems.refuse(
                (*where, "operation"), f"{target.key} must answer one model, the job's status"
            )
            return None
        status, progress = self.status_fields(raw, fields, where)
        done, failed = raw.get("done"), raw.get("failed", [])
        if not _strings(done) or not done:
            self.problems.refuse((*where, "done"), "needs a list of the statuses that end the job")
            done = []
        if not _strings(failed) or not set(failed) <= set(done):
            self.problems.refuse((*where, "failed"), "must list statuses of `done`")
            failed = []
        enum = status.schema.get("enum") if status else None
        for value in [v for v in done if v not in enum] if isinstance(enum, list) else []:
            self.problems.refuse((*where, "done"), f"{value!r} is not a value of {raw['status']!r}")
        if id_param is None or status is None or any(f is None for f in start_fields):
            return None
        first = start_fields[0]
        assert first is not None
        return Poll(
            operation=target.key,
            const_name=target.const_name,
            status_type=target.return_type,
            params=target.path_params,
            id_param=id_param,
            id_attr=first[str(id_name)].python_name,
            status_attr=status.python_name,
            progress_attr=progress.python_name if progress else None,
            done=tuple(done),
            failed=tuple(failed),
        )

    def status_fields(
        self, raw: Mapping[str, Any], fields: Mapping[str, Field], where: tuple[Any, ...]
    ) -> tuple[Field | None, Field | None]:
        """The status field and the progress field x-poll names in the status model."""
        status = fields.get(str(raw.get("status")))
        if status is None:
            self.problems.refuse(
                (*where, "status"), f"the status has no field {raw.get('status')!r}"
            )
        progress = fields.get(str(raw["progress"])) if "progress" in raw else None
        numbers = {"int", "float", "null"}
        if "progress" in raw and (
            progress is None or not {t.kind for t in progress.type.members} <= numbers
        ):
            self.problems.refuse(
                (*where, "progress"), f"the status has no number field {raw['progress']!r}"
            )
            progress = None
        return status, progress


def read_polls(
    operations: tuple[Operation, ...], models: tuple[Model, ...], problems: Problems
) -> tuple[Operation, ...]:
    """The operations, each declaring x-poll with its `Poll` read and checked."""
    reader = _PollReader(operations, models, problems)
    return tuple(
        attrs.evolve(op, poll=reader.read(op)) if op.poll_declared is not None else op
        for op in operations
    )

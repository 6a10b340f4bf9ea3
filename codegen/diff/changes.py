"""The Change record and the rules that classify each kind of change for a client user."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["RULES", "SCHEMA_RULES", "Change", "Location", "classify"]

Rule = tuple[bool, str]
"""(breaking, why) for one kind of change."""

_SCOPES = ("api", "operation", "model")

SCHEMA_RULES: dict[str, tuple[Rule, Rule]] = {
    # (as seen in a request, as seen in a response or an error body)
    "field.added": (
        (False, "optional, callers may leave it unset"),
        (False, "a new attribute; existing callers ignore it"),
    ),
    "field.added_required": (
        (True, "callers must now pass it"),
        (False, "a new attribute, always present"),
    ),
    "field.removed": (
        (True, "callers that pass it are refused: the request converter rejects unknown keys"),
        (True, "callers that read it get an AttributeError"),
    ),
    "field.became_required": (
        (True, "callers that omit it must now pass it"),
        (False, "it is always present now"),
    ),
    "field.became_optional": (
        (False, "callers may now omit it"),
        (True, "it may now be UNSET; callers that read it must check"),
    ),
    "type.became_nullable": (
        (False, "callers may now send None"),
        (True, "it may now be None; callers that read it must check"),
    ),
    "type.became_non_nullable": (
        (True, "callers that send None are refused"),
        (False, "it is never None now"),
    ),
    "type.widened": (
        (False, "every value accepted before is still accepted"),
        (True, "callers may get values of a type they do not handle"),
    ),
    "type.narrowed": (
        (True, "values callers sent before may now be refused"),
        (False, "every value callers get now was possible before"),
    ),
    "type.changed": (
        (True, "callers must send the new type"),
        (True, "callers get a different type"),
    ),
    "enum.value_added": (
        (False, "callers may send the new value"),
        (False, "the response converter keeps unknown enum values; exhaustive matches need a case"),
    ),
    "enum.value_removed": (
        (True, "the request converter refuses the value callers may still send"),
        (False, "callers no longer get it"),
    ),
    "constraint.tightened": (
        (True, "values callers sent before may now be refused by the server"),
        (False, "every value callers get now was possible before"),
    ),
    "constraint.loosened": (
        (False, "every value accepted before is still accepted"),
        (False, "the attribute's type is the same; values beyond the old bound may arrive"),
    ),
    "constraint.changed": (
        (True, "values callers sent before may now be refused by the server"),
        (False, "the attribute's type is the same; values may arrive in another form"),
    ),
    "default.changed": (
        (False, "an omitted value now means the new default; no signature changes"),
        (False, "an omitted value now means the new default; no signature changes"),
    ),
}
"""Rules for changes inside schemas, by direction."""

RULES: dict[str, Rule] = {
    # operations
    "operation.added": (False, "a new client method"),
    "operation.removed": (True, "the client method disappears"),
    "operation.path_changed": (
        False,
        "the client method keeps its signature, sends to the new path",
    ),
    "operation.method_changed": (
        False,
        "the client method keeps its signature, sends the new verb",
    ),
    "parameter.added": (False, "a new optional argument"),
    "parameter.added_required": (True, "callers must pass a new argument"),
    "parameter.removed": (True, "callers that pass it get a TypeError"),
    "parameter.became_required": (True, "callers that omit it must now pass it"),
    "parameter.became_optional": (False, "callers may now omit it"),
    "parameter.moved": (False, "the argument keeps its name; the client sends it elsewhere"),
    "parameter.moved_from_path": (
        True,
        "it is keyword-only now: callers that pass it by position get a TypeError",
    ),
    "parameter.reordered": (
        True,
        "path arguments are positional: callers that pass them by position send wrong values",
    ),
    "parameter.renamed_on_wire": (
        False,
        "the argument keeps its Python name; the client sends the new name",
    ),
    "request_body.added": (
        True,
        "the client method takes body= as a required argument even when the spec does not",
    ),
    "request_body.added_required": (True, "callers must now pass a body"),
    "request_body.removed": (True, "callers that pass a body get a TypeError"),
    "request_body.became_required": (False, "the client method already took body= as required"),
    "request_body.became_optional": (False, "the client method still takes body= as required"),
    "request_body.media_type_changed": (
        True,
        "the method's arguments change: a JSON body is body=, a multipart body one per part",
    ),
    "part.added": (False, "a new optional keyword argument"),
    "part.added_required": (True, "callers must pass a new argument"),
    "part.removed": (True, "callers that pass it get a TypeError"),
    "part.became_required": (True, "callers that omit it must now pass it"),
    "part.became_optional": (False, "callers may now omit it"),
    "part.kind_changed": (
        True,
        "the argument takes another kind of value (a file, a model or mapping, or text)",
    ),
    "part.media_type_changed": (False, "the client sends the part with the new media type"),
    "part.renamed_on_wire": (
        False,
        "the argument keeps its Python name; the client sends the new name",
    ),
    "success_code.added": (
        False,
        "the client also accepts this status; the return type is the same",
    ),
    "success_code.added_new_type": (
        True,
        "the return type gains an alternative callers must handle",
    ),
    "success_code.removed": (
        False,
        "the client no longer expects this status; the return type narrows",
    ),
    "error_code.added": (False, "errors with this status now carry a parsed body"),
    "error_code.removed": (
        True,
        "exc.body of this status is no longer a model; attribute reads break",
    ),
    "dedupe.added": (False, "a new bulk client method, <operation>_bulk"),
    "dedupe.removed": (True, "the bulk client method, <operation>_bulk, disappears"),
    "dedupe.changed": (False, "declares server behaviour on duplicates; no signature changes"),
    "poll.added": (False, "new client methods, <operation>_and_wait and <operation>_job"),
    "poll.removed": (True, "the client methods <operation>_and_wait and <operation>_job disappear"),
    "poll.changed": (False, "the client waits for the job by the new declaration; same signatures"),
    "poll.target_changed": (
        True,
        "<operation>_and_wait may return another status model, <operation>_job take other "
        "arguments",
    ),
    # the API as a whole
    "api.added": (False, "a new client package"),
    "api.removed": (True, "the client package disappears"),
    "server.base_url_changed": (False, "the default base URL changes; an explicit base_url wins"),
    "auth.scheme_changed": (False, "the client sends the key the new way by itself"),
    "auth.header_changed": (False, "the client sends the key in the new header by itself"),
    "auth.env_var_changed": (True, "the client reads the key from another environment variable"),
    "rate_limit.added": (False, "the client starts pacing itself from the spec"),
    "rate_limit.removed": (False, "the client stops pacing itself; the server may answer 429"),
    "rate_limit.tightened": (False, "the client paces itself from the spec: calls wait, not fail"),
    "rate_limit.loosened": (False, "the client paces itself from the spec: calls wait less"),
    "rate_limit.header_changed": (False, "the client reads the window state from the new header"),
    "rate_limit.reset_changed": (False, "the client reads the reset header the new way"),
    "rate_limit.retry_pattern_changed": (False, "the client reads 429 retry delays the new way"),
    "rate_limit.invalid": (True, "the generator refuses this x-rate-limit: no client is generated"),
}
"""Rules for changes to operations and to the API as a whole."""


@attrs.frozen
class Location:
    """Where a change is: the API, an operation or a model, a field path, a direction."""

    scope: str
    name: str = ""
    path: str = ""
    direction: str = ""
    """'request', 'response' or 'error' for schema changes; '' otherwise."""

    def at(self, part: str) -> Location:
        """The location one step further down (`[]`: array items, `{}`: map values)."""
        joiner = "" if not self.path or part in ("[]", "{}") else "."
        return attrs.evolve(self, path=f"{self.path}{joiner}{part}")

    def __str__(self) -> str:
        text = f"{self.scope} {self.name}" if self.name else self.scope
        if self.path:
            text += ("." if self.name else " ") + self.path
        return f"{text} ({self.direction})" if self.direction else text


@attrs.frozen
class Change:
    """One change between two specs, classified for a client user."""

    kind: str
    location: Location
    detail: str
    breaking: bool
    reason: str

    def sort_key(self) -> tuple[Any, ...]:
        """Order: API, then operations, then models; by name, path, direction, kind, detail."""
        where = self.location
        scope = _SCOPES.index(where.scope)
        return (scope, where.name, where.path, where.direction, self.kind, self.detail)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "location": str(self.location),
            **attrs.asdict(self.location),
            "detail": self.detail,
            "breaking": self.breaking,
            "reason": self.reason,
        }


def classify(kind: str, location: Location, detail: str) -> Change:
    """Make the Change of `kind` at `location`, breaking or not by the rule for its direction."""
    if kind in SCHEMA_RULES:
        request, response = SCHEMA_RULES[kind]
        breaking, reason = request if location.direction == "request" else response
    else:
        breaking, reason = RULES[kind]
    return Change(kind, location, detail, breaking, reason)

"""The aiohttp application: one route per spec operation, plus the /_sandbox inspection routes.

Every operation passes the same gate (faults, key, scope, rate limit); then a create (POST)
validates, answers and stores, an upload (x-upload) starts a job, the status operation of
an upload's job says where the job stands, a read of x-sandbox `reads` answers a stored
record, and any other operation is validated and answered from its schema.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from leadkit.runtime.api import RateLimitPolicy, Window

from .config import SandboxConfig
from .dialects import DIALECTS, Dialect, retry_after_text
from .faults import Draw, FaultPlan
from .forms import TooLarge, read_form
from .jobs import JobBoard, JobRunner
from .problems import OperationValidator, Problem
from .ratelimit import Clock, Decision, RateLimiter
from .records import Records, dedupe_key
from .responses import ResponseBuilder
from .spec import ApiModel, Operation, resolve
from .storage import LeadStore

__all__ = ["BAD_GATEWAY_HTML", "WRITE_SCOPE", "ApiService", "SandboxState", "build_app"]

BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
WRITE_SCOPE = "write"
"""The scope a read-only key lacks, when the operation's security requirement names none."""
NO_BODY: Any = object()
"""The body of an answer the spec gives no content (204)."""
_NO_POLICY = Decision(allowed=False, limit=0, remaining=0, reset_after=60.0)


class SandboxState:
    """What every route shares: config, storage, counters, the fault plan and the clock."""

    def __init__(self, config: SandboxConfig, store: LeadStore) -> None:
        self.config = config
        self.store = store
        self.stats: Counter[str] = Counter()
        self.faults = FaultPlan(config.faults)
        self.clock = Clock(config.time_scale)
        self.limiters: list[RateLimiter] = []
        self.jobs = JobBoard()

    def reset(self) -> None:
        """Forget the leads, the upload jobs, the counters and the rate-limit windows."""
        self.jobs.clear()
        self.store.clear()
        self.stats.clear()
        self.faults = FaultPlan(self.config.faults)  # the seeded sequence starts again
        for limiter in self.limiters:
            limiter.reset()


@attrs.frozen
class Answer:
    """What an operation answers once the request passed the gate: a status and its body."""

    status: int
    body: Any
    """The JSON body; `NO_BODY` for none."""


Serve = Callable[[web.Request, dict[str, str]], Awaitable[Answer]]


@attrs.frozen
class _Route:
    op: Operation
    serve: Serve


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering."""
    if request.transport is not None:
        request.transport.close()
    return web.Response()


class ApiService:
    """Serves one API's operations: auth, faults, limits, validation, storage, response."""

    def __init__(self, api: ApiModel, state: SandboxState) -> None:
        self.api = api
        self.state = state
        self.declaration = state.config.declaration_for(api.name, api.sandbox)
        """The spec's x-sandbox, as the config amends it."""
        self.dialect: Dialect = DIALECTS[self.declaration.error_dialect]
        self.policy = _enforced(api.rate_limit, state.config.enforce_windows)
        """The windows enforced and announced, and the headers' names and meanings."""
        self.limiter = RateLimiter(self.policy, state.clock) if self.policy else None
        if self.limiter is not None:
            state.limiters.append(self.limiter)
        self.records = Records(api.name, state.store, state.stats)
        self.builder = ResponseBuilder(api.spec, self.declaration.assigned)
        turn = asyncio.Lock()  # one upload job of the API runs at a time
        self.jobs = {
            op.upload.status_operation: JobRunner(
                api,
                op.upload,
                self.records,
                self.builder,
                board=state.jobs,
                clock=state.clock,
                rate=state.config.upload_rate,
                turn=turn,
            )
            for op in api.operations
            if op.upload is not None
        }
        """The status operation of each upload -> the runner of its jobs."""
        self.routes = [_Route(op, self._serve(op)) for op in api.operations]

    def _serve(self, op: Operation) -> Serve:
        """What answers `op` once a request passed the gate."""
        validator = OperationValidator(self.api, op)
        if op.upload is not None:
            return functools.partial(
                self._upload, op, validator, self.jobs[op.upload.status_operation]
            )
        if op.name in self.jobs:
            return functools.partial(self._job_status, op, validator, self.jobs[op.name])
        if op.name in self.declaration.reads:
            return functools.partial(self._read, op, validator, self.declaration.reads[op.name])
        return functools.partial(self._validated, op, validator)

    def add_routes(self, app: web.Application) -> None:
        """Register a handler for every operation under the spec's server prefix."""
        for route in self.routes:
            handler = functools.partial(self.handle, route)
            app.router.add_route(route.op.method, self.api.route(route.op), handler)

    def _json(self, status: int, body: Any, decision: Decision | None = None) -> web.Response:
        """A JSON answer; `NO_BODY` for one without a body (204)."""
        self.state.stats[f"status:{status}"] += 1
        policy = self.policy
        headers = decision.headers(policy) if decision is not None and policy else {}
        if body is NO_BODY:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    def _rate_limited(self, op: Operation, decision: Decision) -> web.Response:
        pattern = self.policy.retry_after_body_pattern if self.policy else None
        text = retry_after_text(pattern, decision.retry_after())
        return self._json(429, self.dialect.rate_limited(op, retry_after=text), decision)

    def _authorize(self, op: Operation, key: str) -> web.Response | None:
        if not key or not key.startswith(self.declaration.key_prefix):
            body = self.dialect.unauthorized(op, header=self.api.auth_header, missing=not key)
            return self._json(401, body)
        if op.writes and key in self.declaration.readonly_keys:
            required = list(op.scopes) or [WRITE_SCOPE]
            granted = [_read_scope(scope) for scope in required]
            return self._json(403, self.dialect.forbidden(op, required=required, granted=granted))
        return None

    def _fault(self, op: Operation, draw: Draw, key: str) -> web.Response:
        """The answer of a fault that replaces processing: 5xx, HTML 502 or a 429 burst."""
        self.state.stats[f"fault:{draw.fault}"] += 1
        if draw.fault == "error_5xx":
            return self._json(draw.status, self.dialect.server_error(op, draw.status))
        if draw.fault == "malformed":
            self.state.stats["status:502"] += 1
            return web.Response(status=502, text=BAD_GATEWAY_HTML, content_type="text/html")
        decision = self.limiter.peek(key, exhausted=True) if self.limiter else _NO_POLICY
        return self._rate_limited(op, decision)

    async def handle(self, route: _Route, request: web.Request) -> web.StreamResponse:
        """Answer one request the way the real API would, counting every answer's status."""
        stats = self.state.stats
        stats["requests"] += 1
        try:
            return await self._answer(route, request)
        except web.HTTPException as exc:  # aiohttp's own answers, e.g. 413 for too large a body
            stats[f"status:{exc.status}"] += 1
            raise
        except ConnectionResetError:  # the client left mid-request: no one gets an answer
            stats["disconnected"] += 1
            return _drop(request)
        except Exception:  # aiohttp answers 500
            stats["status:500"] += 1
            raise

    async def _answer(self, route: _Route, request: web.Request) -> web.StreamResponse:
        """The answer, faults included; _json and _fault count the statuses."""
        op, stats = route.op, self.state.stats
        draw = self.state.faults.draw()
        if draw.latency:
            await asyncio.sleep(draw.latency)
        if draw.fault == "drop_before":
            stats["fault:drop_before"] += 1
            return _drop(request)
        key = request.headers.get(self.api.auth_header, "")
        if (denied := self._authorize(op, key)) is not None:
            return denied
        if draw.fault in ("error_5xx", "malformed", "rate_limit_burst"):
            return self._fault(op, draw, key)
        enforced = self.limiter if self.state.config.rate_limits else None
        decision = enforced.hit(key) if enforced is not None else None
        if decision is not None and not decision.allowed:
            return self._rate_limited(op, decision)
        answer = await route.serve(request, dict(request.match_info))
        if draw.fault == "drop_after" and 200 <= answer.status < 300:
            stats["fault:drop_after"] += 1
            return _drop(request)
        return self._json(answer.status, answer.body, decision)

    def _invalid(self, op: Operation, problems: list[Problem]) -> Answer:
        status = self.declaration.validation_status
        return Answer(status, self.dialect.invalid(op, problems, status))

    def _refused(self, op: Operation, status: int, message: str) -> Answer:
        return Answer(status, self.dialect.refused(op, status, message))

    async def _validated(
        self,
        op: Operation,
        validator: OperationValidator,
        request: web.Request,
        params: dict[str, str],
    ) -> Answer:
        """Validate the request and answer from the schema; a create stores what it answers."""
        raw, content_type = await request.read(), request.headers.get("Content-Type")
        body, problems = validator.check(params, raw, content_type)
        if problems:
            return self._invalid(op, problems)
        schema = op.response_schema
        response = NO_BODY if schema is None else self.builder.build(schema, body)
        if op.creates and not self._store(op, params, body, response):
            status = op.conflict_status or 409
            return Answer(status, self.dialect.conflict(op, status))
        return Answer(op.success_status, response)

    def _store(self, op: Operation, params: dict[str, str], body: Any, response: Any) -> bool:
        """Store each object a create answered, with the path parameters; False for a refused
        duplicate."""
        value = body.get(op.dedupe_field) if op.dedupe_field and isinstance(body, dict) else None
        unique = op.conflict_status is not None or self.declaration.duplicates == "reject"
        for record in response if isinstance(response, list) else [response]:  # a list: no key
            if isinstance(record, dict) and not self.records.create(
                params, dedupe_key(value), record, unique=unique
            ):
                return False
        return True

    async def _upload(
        self,
        op: Operation,
        validator: OperationValidator,
        jobs: JobRunner,
        request: web.Request,
        params: dict[str, str],
    ) -> Answer:
        """Start a job for the uploaded file; 413 for one over the limits."""
        assert op.upload is not None
        if problems := validator.check_path(params):
            return self._invalid(op, problems)
        form_schema = resolve(self.api.spec, op.request_schema or {})
        mapping = form_schema.get("properties", {}).get(op.upload.mapping or "", {})
        try:
            form = await read_form(request, op.upload, self.api.spec, mapping)
            if isinstance(form, list):
                return self._invalid(op, form)
            job = jobs.start(params, form)
        except TooLarge as exc:
            return self._refused(op, 413, str(exc))
        started = {op.upload.job_id: job.id}
        schema = op.response_schema
        return Answer(
            op.success_status, NO_BODY if schema is None else self.builder.build(schema, started)
        )

    async def _job_status(
        self,
        op: Operation,
        validator: OperationValidator,
        jobs: JobRunner,
        request: web.Request,
        params: dict[str, str],
    ) -> Answer:
        """Where the upload job of the path stands; 404 for a job the sandbox does not have."""
        if problems := validator.check_path(params):
            return self._invalid(op, problems)
        job = jobs.find(params)
        if job is None:
            return self._refused(op, 404, "Upload job not found")
        self.state.stats["polls"] += 1
        return Answer(op.success_status, jobs.status(job))

    async def _read(
        self,
        op: Operation,
        validator: OperationValidator,
        field: str,
        request: web.Request,
        params: dict[str, str],
    ) -> Answer:
        """The stored record whose `field` is the path's; 404 for none."""
        if problems := validator.check_path(params):
            return self._invalid(op, problems)
        record = self.records.find(params, field)
        if record is None:
            return self._refused(op, 404, f"No record with this {field}")
        schema = op.response_schema
        return Answer(
            op.success_status, NO_BODY if schema is None else self.builder.build(schema, record)
        )


def _enforced(
    declared: RateLimitPolicy | None, windows: tuple[Window, ...]
) -> RateLimitPolicy | None:
    """The spec's policy with `windows` instead of its own (the spec's when there are none)."""
    if not windows:
        return declared
    return attrs.evolve(declared or RateLimitPolicy(windows=()), windows=windows)


def _read_scope(scope: str) -> str:
    """What a read-only key has instead of `scope`: leads:create -> leads:read, write -> read."""
    resource, _, _ = scope.rpartition(":")
    return f"{resource}:read" if resource else "read"


def _inspection_routes(state: SandboxState, apis: list[str]) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/_sandbox/leads")
    async def leads(request: web.Request) -> web.Response:
        api = request.query.get("api", "")
        if api not in apis:
            return web.json_response({"error": f"api must be one of {apis}"}, status=400)
        return web.json_response(state.store.leads(api))

    @routes.get("/_sandbox/stats")
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(state.stats))

    @routes.post("/_sandbox/reset")
    async def reset(request: web.Request) -> web.Response:
        state.reset()
        return web.Response(status=204)

    return routes


def build_app(apis: list[ApiModel], state: SandboxState) -> web.Application:
    """The application serving every API in `apis` and the inspection routes."""
    app = web.Application()
    for api in apis:
        ApiService(api, state).add_routes(app)
    app.add_routes(_inspection_routes(state, [api.name for api in apis]))
    return app

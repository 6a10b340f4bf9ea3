"""`leadkit load coldsend --campaign-id UUID leads.csv`: create every lead of a CSV or JSONL file.

Paces itself to the API's rate limits, resumes from a journal, writes the rows that did
not succeed to a failures file, and shows a progress bar and a summary table. Exit code:
0 when every row succeeded, 1 when some did not (or the load was stopped), 2 on a usage
error. `--sandbox` runs the whole load against an in-process sandbox: no key, no network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import pkgutil
import re
import secrets
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .failure_list import FailureList, one_line

if TYPE_CHECKING:
    from rich.console import Console

    from leadkit.bulk import BulkRun, InputRow, RowResult, Summary
    from leadkit.runtime import BaseClient, OperationSpec, RateLimitPolicy

__all__ = ["register"]


def _generated_apis() -> list[str]:
    """Names of the generated packages, found without importing them."""
    import generated

    return sorted(m.name for m in pkgutil.iter_modules(generated.__path__) if m.ispkg)


_SANDBOX_KEY_PREFIX = "cs_live_sandbox_"
_PATH_OPTIONS = {"campaign_id": "--campaign-id"}
"""Path parameters with an option of their own, whose dest is the parameter's name."""


class UsageError(Exception):
    """Bad arguments or input the load cannot start with: exit code 2."""


def _positive(kind: type[int] | type[float], *, zero: bool = False) -> Any:
    """An argparse type: a finite number greater than 0 (or equal to it, with `zero`)."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(
                f"{text} must be {'0 or more' if zero else 'greater than 0'}"
            )
        return value

    return parse


def _target(api: str) -> tuple[type[BaseClient], OperationSpec[Any]]:
    """The API's client class and its create operation (the one with a dedupe key)."""
    import importlib

    from leadkit.runtime import BaseClient, OperationSpec

    module = importlib.import_module(f"generated.{api}.client")
    values = list(vars(module).values())
    client = next(
        v
        for v in values
        if isinstance(v, type) and issubclass(v, BaseClient) and v.__module__ == module.__name__
    )
    creates = [v for v in values if isinstance(v, OperationSpec) and v.dedupe and v.body_type]
    if len(creates) != 1:
        names = ", ".join(op.name for op in creates) or "none"
        raise UsageError(f"{api} has no single create operation with a dedupe key ({names})")
    return client, creates[0]


def _given_params(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(name, value, option) of each path parameter given on the command line."""
    given = [
        (name, value, flag)
        for name, flag in _PATH_OPTIONS.items()
        if (value := getattr(args, name)) is not None
    ]
    for item in args.param:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UsageError(f"--param {item}: expected NAME=VALUE")
        given.append((name, value, f"--param {name}"))
    return given


def _path_params(op: OperationSpec[Any], args: argparse.Namespace) -> dict[str, str]:
    """The operation's path parameters from the command line (a sandbox invents missing ones)."""
    from leadkit.runtime.client import expand_path, path_values

    names = re.findall(r"{(\w+)}", op.path)
    params: dict[str, str] = {}
    for name, value, flag in _given_params(args):
        if name not in names:
            takes = ", ".join(names) or "none"
            raise UsageError(f"{flag}: {args.api} has no path parameter {name} (it has: {takes})")
        if name in params:
            raise UsageError(f"{flag}: {name} is given twice")
        if not value:
            raise UsageError(f"{flag}: the value is empty")
        params[name] = value
    for name in names:
        if name not in params and not args.sandbox:
            raise UsageError(f"{args.api} needs {_PATH_OPTIONS.get(name, f'--param {name}=...')}")
        params.setdefault(name, str(uuid.uuid4()))
    try:
        expand_path(op.path, path_values(params))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return params


def _path_option(name: str, value: str) -> str:
    """The command-line words that give path parameter `name` the `value`."""
    if name in _PATH_OPTIONS:
        return f" {_PATH_OPTIONS[name]} {value}"
    return f" --param {name}={value}"


def _refuse_other_suffixes(args: argparse.Namespace) -> None:
    """Refuse a --failures-out or --report not named .jsonl: load reads a file by its suffix,
    so a failures file named .csv would be read back as CSV."""
    for flag, path in (("--failures-out", args.failures_out), ("--report", args.report)):
        if path is not None and path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise UsageError(f"{flag} {path}: it is written as JSONL; name it .jsonl")


def _refuse_shared_files(args: argparse.Namespace) -> None:
    """Refuse when two of the input, --failures-out, --report and --journal are one file."""
    named = {
        "the input file": args.file,
        "--failures-out": args.failures_out,
        "--report": args.report,
        "--journal": args.journal,
    }
    files = [(name, path) for name, path in named.items() if path is not None]
    for (one, first), (other, second) in itertools.combinations(files, 2):
        if _same_file(first, second):
            raise UsageError(f"{one} and {other} are the same file ({second}); give each its own")


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return first.resolve() == second.resolve()


def _refuse_unwritable(args: argparse.Namespace) -> None:
    """Refuse an output that cannot be written (a folder missing, permission denied, a
    folder in its place) before anything starts; a file that is there is left as it is."""
    outputs = [args.failures_out, args.report, None if args.dry_run else args.journal]
    for path in filter(None, outputs):
        existed = os.path.lexists(path)
        with _writable(), path.open("a"):
            pass
        if not existed:
            path.unlink()


@contextlib.contextmanager
def _writable() -> Iterator[None]:
    """Turn an OSError while opening an output file into a usage error naming the file."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from None


def _rate_policy(
    declared: RateLimitPolicy | None, rate: float | None, time_scale: float
) -> RateLimitPolicy | None:
    """--rate as one request per 1/rate seconds, else the spec's windows sped up for a sandbox."""
    import attrs

    from leadkit.runtime import RateLimitPolicy, Window

    base = declared or RateLimitPolicy(windows=())
    if rate is not None:
        return attrs.evolve(base, windows=(Window(limit=1, seconds=1.0 / rate),))
    if time_scale == 1.0:
        return None
    return attrs.evolve(
        base, windows=tuple(Window(w.limit, w.seconds / time_scale) for w in base.windows)
    )


def _estimate_rows(path: Path) -> int | None:
    """Non-blank lines after the header (CSV) or non-blank lines (JSONL): the bar's total."""
    try:
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
    except OSError:
        return None
    return max(lines - (path.suffix.lower() == ".csv"), 0)


def _cut_short(path: Path, before: os.stat_result) -> str | None:
    """What to say when the input is the file it was but shorter: rows past the cut were
    never read. (A file deleted or replaced meanwhile is still read whole from the open one.)"""
    try:
        now = os.stat(path)
    except OSError:
        return None
    if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino) or now.st_size >= before.st_size:
        return None
    return (
        f"{path} was cut short while it was read ({before.st_size} bytes, now {now.st_size}): "
        "rows past the cut were not read"
    )


LOG_PROGRESS_EVERY = 30.0
"""Seconds between the plain progress lines a log (stderr not a terminal) gets."""


class _Progress:
    """A rich progress bar with rate, ETA and counts per outcome, on stderr when it is a
    terminal (a log would get one last line cut to 80 columns); a log gets a plain line
    every LOG_PROGRESS_EVERY seconds instead."""

    def __init__(self, console: Console, total: int | None, label: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}/s ETA", markup=False),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self._task = self._progress.add_task(label, total=total, speed="0.0")
        self._counts: dict[str, int] = {}
        self._console = console
        self._label = label
        self._logged = time.monotonic()

    def __enter__(self) -> _Progress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def advance(self, result: RowResult) -> None:
        name = result.outcome.value
        self._counts[name] = self._counts.get(name, 0) + 1
        counts = " ".join(f"{k} {v}" for k, v in sorted(self._counts.items()))
        task = self._progress.tasks[0]
        speed = f"{task.speed or 0.0:.1f}"
        total = task.total
        if total is not None and task.completed + 1 > total:
            total = task.completed + 1
        self._progress.update(self._task, advance=1, description=counts, speed=speed, total=total)
        if self._progress.disable and time.monotonic() - self._logged >= LOG_PROGRESS_EVERY:
            self._logged = time.monotonic()
            of = f" of {total:,}" if total is not None else ""
            done = f"{task.completed:,}{of} rows"
            self._console.print(f"{self._label}: {done} ({counts}), {speed} rows/s")


def _summary_table(summary: Summary, api: str) -> Any:
    from rich.table import Table

    table = Table(title=f"leadkit load {api}: summary")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for outcome, count in summary.counts.items():
        if count or outcome.value != "valid":
            table.add_row(outcome.value, str(count))
    table.add_section()
    table.add_row("total", str(summary.total))
    table.add_row("from the journal", str(summary.resumed))
    table.add_row("elapsed", f"{summary.elapsed:.1f} s")
    table.add_row("rate", f"{summary.rate:.1f} rows/s")
    if summary.unread_from is not None:
        table.add_row("not read (stopped)", f"rows from index {summary.unread_from} on")
    return table


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP before the load's event loop watches them; args[0] names it."""


def _interrupted(signum: int, frame: object) -> None:
    raise _Interrupted(signal.Signals(signum).name)


_WATCHED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Ctrl-C, a container being stopped, a terminal or ssh session gone."""


class _Signals:
    """Ctrl-C / SIGTERM / SIGHUP during the load: the first stops the run (at once when it has not
    started yet), letting in-flight requests finish; the second aborts it."""

    def __init__(self, grace: float, console: Console) -> None:
        self._grace = grace
        self._console = console
        self._run: BulkRun | None = None
        self._received: list[str] = []

    def __enter__(self) -> _Signals:
        loop = asyncio.get_running_loop()
        for signum in _WATCHED:
            loop.add_signal_handler(signum, self._handle, signum)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for signum in _WATCHED:  # the load is over: ignored until the command returns
            loop.remove_signal_handler(signum)
            signal.signal(signum, signal.SIG_IGN)

    def attach(self, run: BulkRun) -> None:
        """Stop or abort `run` as the signals so far ask; later ones act on it at once."""
        self._run = run
        for count, name in enumerate(self._received[:2], 1):
            self._act(count, name)

    def _handle(self, signum: int) -> None:
        if self._run is not None and self._run.summary is not None:
            return  # the run is over; its summary is being printed
        name = signal.Signals(signum).name
        self._received.append(name)
        count = len(self._received)
        if count == 1:
            self._console.print(
                f"{name}: stopping; in-flight requests get {self._grace:g}s to finish "
                "(again to abort now)",
                style="yellow",
            )
        elif count == 2:
            self._console.print(f"{name}: aborting", style="red")
        if self._run is not None:
            self._act(count, name)

    def _act(self, count: int, name: str) -> None:
        assert self._run is not None
        if count == 1:
            self._run.stop(self._grace, f"stopped by {name}")
        else:
            self._run.abort()


async def _load(args: argparse.Namespace, rows: Iterator[InputRow]) -> int:
    from .output import console

    err, out = console(stderr=True), console(stderr=False)
    with _Signals(args.grace, err) as signals:  # from the start: a sandbox starting included
        summary, failures, params = await _send_all(args, rows, signals, err)
        return _report(args, summary, failures, params, out)


async def _send_all(
    args: argparse.Namespace, rows: Iterator[InputRow], signals: _Signals, err: Console
) -> tuple[Summary, FailureList, dict[str, str]]:
    """Run the load: its summary, the rows that did not succeed and the path parameters."""
    from leadkit.bulk import bulk_create
    from leadkit.bulk.failures import JSON_SAFE
    from leadkit.runtime import RetryPolicy
    from leadkit.runtime.errors import MissingApiKeyError

    client_class, op = _target(args.api)
    params = _path_params(op, args)
    async with contextlib.AsyncExitStack() as stack:
        report: TextIO | None = None
        if args.report:
            with _writable():
                report = stack.enter_context(
                    args.report.open("w", encoding="utf-8", errors=JSON_SAFE)
                )
        api_key, base_url, time_scale = None, args.base_url, 1.0
        if args.sandbox:
            from leadkit.sandbox import Sandbox, SandboxConfig

            time_scale = args.sandbox_time_scale
            sandbox = await stack.enter_async_context(
                Sandbox(SandboxConfig(time_scale=time_scale), port=0)
            )
            api_key = _SANDBOX_KEY_PREFIX + secrets.token_hex(8)
            base_url = sandbox.base_url(args.api)
            err.print(f"sandbox: {args.api} at {base_url}, path parameters {params}")
        policy = _rate_policy(client_class.api.rate_limit, args.rate, time_scale)
        try:
            retry = RetryPolicy(trust_conflict_status=not args.never_resend)
            client = client_class(
                api_key=api_key, base_url=base_url, rate_limit=policy, retry=retry
            )
        except (ValueError, MissingApiKeyError) as exc:
            raise UsageError(str(exc)) from None
        await stack.enter_async_context(client)
        with _writable():
            run = bulk_create(
                client,
                op,
                rows,
                path_params=params,
                concurrency=args.concurrency,
                ordered=args.ordered,
                journal=args.journal,
                failures_out=args.failures_out,
                dry_run=args.dry_run,
            )
        stack.callback(run.close)  # if anything fails before the run is iterated
        signals.attach(run)
        label = f"{'checking' if args.dry_run else 'loading'} {args.file.name}"
        failures = FailureList()
        with _Progress(err, args.total, label) as progress:
            async for result in run:
                progress.advance(result)
                failures.add(result)
                if report is not None:
                    report.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    assert run.summary is not None
    return run.summary, failures, params


def _report(
    args: argparse.Namespace,
    summary: Summary,
    failures: FailureList,
    params: dict[str, str],
    out: Console,
) -> int:
    """Print the rows that did not succeed, the summary and what to do next; the exit code."""
    for line in failures.lines(failures_file=args.failures_out is not None):
        out.print(line)
    out.print(_summary_table(summary, args.api))
    if summary.stop_reason:
        out.print(one_line(summary.stop_reason), style="yellow")
    cut = None if summary.unread_from is not None else _cut_short(args.file, args.stat)
    if cut:
        out.print(cut, style="yellow")
    if args.failures_out and failures.count:  # a stop alone leaves the file empty
        out.print(f"rows that did not succeed: {args.failures_out} (fix them and load that file)")
    if args.journal and summary.unread_from is not None:
        given = {name for name, _, _ in _given_params(args)}
        made_up = "".join(  # a sandbox made these up; the journal is tied to them
            _path_option(name, value) for name, value in params.items() if name not in given
        )
        out.print(f"run the same command again with --journal {args.journal}{made_up} to resume")
    return 0 if summary.all_succeeded and not cut else 1


def _tell(text: str) -> None:
    """`leadkit load: TEXT` on stderr; a reader that went away leaves the exit code as it is."""
    from .output import console

    console(stderr=True).print(f"leadkit load: {text}")


def _run(args: argparse.Namespace) -> int:
    from leadkit.bulk import InputFileError, JournalError, open_input, request_fields

    # until the load's event loop watches them, Ctrl-C and SIGTERM end the command at once
    previous = {signum: signal.signal(signum, _interrupted) for signum in _WATCHED}
    try:
        _refuse_other_suffixes(args)
        _refuse_shared_files(args)
        _refuse_unwritable(args)
        if args.dry_run and args.journal:
            note = f"--dry-run neither reads nor writes the journal {args.journal}"
            _tell(note)
        client_class, op = _target(args.api)
        fields = request_fields(client_class.api, op.body_type)
        rows = open_input(args.file, fields, extra_columns_to=args.extra_columns_to)
        args.total, args.stat = _estimate_rows(args.file), os.stat(args.file)
        return asyncio.run(_load(args, rows))
    except (UsageError, InputFileError, JournalError) as exc:
        _tell(str(exc))
        return 2
    except _Interrupted as exc:
        _tell(f"stopped by {exc} before any row was read")
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `load` subcommand."""
    parser = subparsers.add_parser(
        "load",
        help="create every lead of a CSV or JSONL file, resumably",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("api", choices=_generated_apis(), help="which API to load into")
    parser.add_argument("file", type=Path, help="a .csv (header row) or .jsonl file of leads")
    parser.add_argument("--campaign-id", help="Coldsend: the campaign to add the leads to")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other path parameter of the create operation (repeatable)",
    )
    parser.add_argument(
        "--extra-columns-to",
        metavar="FIELD",
        help="send CSV columns (or JSONL keys) that match no field inside this object field "
        "(custom_fields for Coldsend, attributes for Breakcold)",
    )
    parser.add_argument("--dry-run", action="store_true", help="validate every row, send none")
    parser.add_argument(
        "--concurrency",
        type=_positive(int),
        default=8,
        help="most requests in flight (AIMD below it; default 8)",
    )
    parser.add_argument(
        "--rate",
        type=_positive(float),
        metavar="PER_SECOND",
        help="requests per second, replacing the API's declared rate limits",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        help="file recording each row's outcome; rerun with the same file to resume",
    )
    parser.add_argument(
        "--failures-out", type=Path, help="JSONL of every row that did not succeed, with why"
    )
    parser.add_argument("--report", type=Path, help="JSONL of every row's result")
    parser.add_argument("--ordered", action="store_true", help="report results in input order")
    parser.add_argument(
        "--never-resend",
        action="store_true",
        help="never send a row again that may have reached the server, even where the spec "
        "declares a conflict status (Coldsend's 409 for a duplicate email is inferred)",
    )
    parser.add_argument(
        "--grace",
        type=_positive(float, zero=True),
        default=30.0,
        help="seconds in-flight requests get to finish after Ctrl-C or SIGTERM (default 30; "
        "0 cancels them at once)",
    )
    parser.add_argument("--base-url", help="the API's base URL (default: the spec's)")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="load into an in-process sandbox of the API: no key, no network",
    )
    parser.add_argument(
        "--sandbox-time-scale",
        type=_positive(float),
        default=20.0,
        help="with --sandbox, how much faster than real time the rate limits run (default 20)",
    )
    parser.set_defaults(func=_run)

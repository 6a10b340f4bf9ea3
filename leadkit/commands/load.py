"""leadkit load API FILE: create every lead of a CSV or JSONL export, resumably.

Columns become the API's fields by name and by the aliases its spec declares for the
exports people have (Apollo, HubSpot, Sales Navigator tools, Salesforce reports, lemlist,
Instantly, Google Contacts); --dry-run prints where each column goes and the first valid
row's body. The file's encoding is found before the first row. A journal (its place is
printed) makes the same command, run again, resume: rows created are not sent twice. The
load paces itself to the API's rate limits and says about how long they make it take.

Exit code: 0 when every row succeeded, 1 when some did not or the load stopped (a 401, or
rows in a row that cannot reach the server), 2 on a usage error (nothing was sent).
--sandbox runs the whole load against an in-process sandbox: no key, no network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pkgutil
import re
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from .failure_list import FailureList
from .load_arguments import AUTO_UPLOAD_ROWS, PATH_OPTIONS, add_arguments
from .load_options import (
    LoadOptions,
    UsageError,
    column_options,
    given_params,
    journal_place,
    path_option,
    path_params,
    rate_policy,
    refuse_other_suffixes,
    refuse_shared_files,
    refuse_unwritable,
    writable,
)
from .load_signals import WATCHED, Interrupted, Signals, interrupted

if TYPE_CHECKING:
    from rich.console import Console

    from leadkit.bulk import BulkRun, InputFile, Summary, UploadRun
    from leadkit.runtime import BaseClient, OperationSpec, Upload

__all__ = ["register"]

_EXAMPLE_ID = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"


def _generated_apis() -> list[str]:
    """Names of the generated packages, found without importing them."""
    import leadkit.apis

    return sorted(m.name for m in pkgutil.iter_modules(leadkit.apis.__path__) if m.ispkg)


def _target(api: str) -> tuple[type[BaseClient], OperationSpec[Any], Upload[Any] | None]:
    """The API's client class, its create operation (the one with a dedupe key) and the
    upload that creates its rows from a file, if the spec declares one (x-upload)."""
    import importlib

    from leadkit.runtime import BaseClient, OperationSpec, Upload

    module = importlib.import_module(f"leadkit.apis.{api}.client")
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
    upload = next((v for v in values if isinstance(v, Upload) and v.creates is creates[0]), None)
    return client, creates[0], upload


def _via(options: LoadOptions, upload: Upload[Any] | None, rows: int) -> Upload[Any] | None:
    """The upload the load goes through (--via), or None for one request per row."""
    if options.via == "upload":
        if upload is None:
            raise UsageError(
                f"--via upload: {options.api} declares no upload of its rows (x-upload); "
                "use --via single"
            )
        if options.ordered:
            raise UsageError(
                "--ordered: the upload path reports a chunk's rows when its job ends; "
                "use --via single for input order"
            )
        return upload
    auto = options.via == "auto" and not options.ordered and rows > AUTO_UPLOAD_ROWS
    return upload if auto else None


@attrs.frozen
class _Load:
    """A load ready to start: what it sends, to where, from what, journaled where."""

    client_class: type[BaseClient]
    op: OperationSpec[Any]
    upload: Upload[Any] | None
    """The upload the rows go through; None: one request per row."""
    params: dict[str, str]
    source: InputFile
    journal: Path | None
    stat: os.stat_result


def _timeout(seconds: float | None) -> Any:
    """The client's timeout: --timeout for each response (the whole exchange gets twice
    that, at least the default's), else the default."""
    import aiohttp

    from leadkit.runtime import DEFAULT_TIMEOUT

    if seconds is None:
        return DEFAULT_TIMEOUT
    total = max(DEFAULT_TIMEOUT.total or 0.0, 2 * seconds)
    return aiohttp.ClientTimeout(total=total, connect=DEFAULT_TIMEOUT.connect, sock_read=seconds)


async def _load(options: LoadOptions, load: _Load) -> int:
    from .load_report import cut_short, report
    from .output import console

    err, out = console(stderr=True), console(stderr=False)
    with Signals(options.grace, err) as signals:  # from the start: a sandbox starting included
        summary, failures = await _send_all(options, load, signals, err)
        cut = None if summary.unread_from is not None else cut_short(options.file, load.stat)
        report(
            out, options.api, summary, failures, options.failures_out, _resume(options, load), cut
        )
        return 0 if summary.all_succeeded and not cut else 1


def _resume(options: LoadOptions, load: _Load) -> list[str] | None:
    """The command that resumes this load (None without a journal): the one given, with the
    path parameters a sandbox made up (the journal is tied to them)."""
    if load.journal is None:
        return None
    given = {name for name, _, _ in given_params(options)}
    words = ["leadkit", *options.command]
    for name, value in load.params.items():
        if name not in given:
            words += path_option(name, value)
    return words


async def _send_all(
    options: LoadOptions, load: _Load, signals: Signals, err: Console
) -> tuple[Summary, FailureList]:
    """Run the load: its summary and the rows that did not succeed."""
    from leadkit.bulk import Outcome
    from leadkit.bulk.failures import JSON_SAFE
    from leadkit.runtime import RetryPolicy
    from leadkit.runtime.errors import MissingApiKeyError

    from .load_eta import estimate, upload_estimate
    from .load_progress import Pace, Progress
    from .load_report import announce, first_valid_body

    async with contextlib.AsyncExitStack() as stack:
        stack.callback(load.source.close)  # if anything fails before the run reads it
        report: TextIO | None = None
        if options.report:
            with writable():
                report = stack.enter_context(
                    options.report.open("w", encoding="utf-8", errors=JSON_SAFE)
                )
        api_key, base_url, time_scale = None, options.base_url, 1.0
        if options.sandbox:
            from leadkit.sandbox import Sandbox, SandboxConfig

            time_scale = options.sandbox_time_scale
            sandbox = await stack.enter_async_context(
                Sandbox(SandboxConfig(time_scale=time_scale), port=0)
            )
            api_key = sandbox.api_key(options.api)
            base_url = sandbox.base_url(options.api)
            err.print(f"sandbox: {options.api} at {base_url}, path parameters {load.params}")
        declared = load.client_class.api.rate_limit
        policy = rate_policy(declared, options.rate, time_scale)
        pacing = policy or declared
        windows = pacing.windows if pacing is not None else ()
        total = load.source.estimated_rows
        label = f"{'checking' if options.dry_run else 'loading'} {options.file.name}"
        pace = None if options.dry_run else Pace(windows if load.upload is None else ())
        progress = Progress(err, total, label, pace)
        try:
            retry = RetryPolicy(trust_conflict_status=not options.never_resend)
            client = load.client_class(
                api_key=api_key,
                base_url=base_url,
                rate_limit=policy,
                retry=retry,
                timeout=_timeout(options.timeout),
                event_hooks=[progress.hook],
            )
        except (ValueError, MissingApiKeyError) as exc:
            raise UsageError(str(exc)) from None
        await stack.enter_async_context(client)
        if load.upload is None:
            planned = estimate(total, windows)
        else:
            planned = upload_estimate(total, load.upload.max_rows, load.upload.max_bytes)
        announce(err, load.source, load.journal, planned, full=options.dry_run)
        try:
            run = _start(client, options, load)
        except OSError as exc:
            raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from None
        stack.callback(run.close)  # if anything fails before the run is iterated
        signals.attach(run)
        failures, shown = FailureList(), not options.dry_run
        with progress:
            async for result in run:
                progress.advance(result)
                failures.add(result)
                if not shown and result.outcome is Outcome.VALID:
                    first_valid_body(err, result)
                    shown = True
                if report is not None:
                    report.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    assert run.summary is not None
    return run.summary, failures


def _start(client: BaseClient, options: LoadOptions, load: _Load) -> BulkRun | UploadRun:
    """The run of the load: through its upload, or one request per row."""
    from leadkit.bulk import bulk_create, bulk_upload

    if load.upload is not None:
        return bulk_upload(
            client,
            load.upload,
            load.source,
            path_params=load.params,
            journal=load.journal,
            failures_out=options.failures_out,
            dry_run=options.dry_run,
        )
    return bulk_create(
        client,
        load.op,
        load.source,
        path_params=load.params,
        concurrency=options.concurrency,
        ordered=options.ordered,
        journal=load.journal,
        failures_out=options.failures_out,
        dry_run=options.dry_run,
    )


def _tell(text: str) -> None:
    """`leadkit load: TEXT` on stderr; a reader that went away leaves the exit code as it is."""
    from .output import console

    console(stderr=True).print(f"leadkit load: {text}")


def _prepare(options: LoadOptions) -> _Load:
    """Check every option and open the input: what `_load` starts from."""
    from leadkit.bulk import input_fields, open_input

    refuse_other_suffixes(options)
    refuse_shared_files(options)
    refuse_unwritable(options)
    if options.dry_run and options.journal:
        _tell(f"--dry-run neither reads nor writes the journal {options.journal}")
    client_class, op, declared = _target(options.api)
    params = path_params(op, options)
    journal = journal_place(options, op.name, params)
    source = open_input(
        options.file,
        input_fields(client_class.api, op),
        options=column_options(options),
        encoding=options.encoding,
    )
    try:
        upload = _via(options, declared, source.estimated_rows)
        failures = options.failures_out
        if failures is not None and failures.suffix.lower() == ".csv" and source.layout is None:
            raise UsageError(
                f"--failures-out {failures}: a CSV failures file copies a CSV input's columns; "
                "for this input name it .jsonl"
            )
    except UsageError:
        source.close()
        raise
    return _Load(client_class, op, upload, params, source, journal, os.stat(options.file))


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from leadkit.bulk import InputFileError, JournalError

    options = LoadOptions.from_args(args, argv)
    # until the load's event loop watches them, Ctrl-C and SIGTERM end the command at once
    previous = {signum: signal.signal(signum, interrupted) for signum in WATCHED}
    try:
        return asyncio.run(_load(options, _prepare(options)))
    except (UsageError, InputFileError, JournalError) as exc:
        _tell(str(exc))
        return 2
    except Interrupted as exc:
        _tell(f"stopped by {exc} before any row was read")
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _epilog() -> str:
    """Each API's key variable and path parameters, and one complete example (imports the
    generated clients, so it is made only when --help asks)."""
    lines = ["API keys are read from the environment (never a flag, which `ps` would show):"]
    example: list[str] = []
    for api in _generated_apis():
        client, op, _ = _target(api)
        needs = [path_option(name, "ID")[0] for name in re.findall(r"{(\w+)}", op.path)]
        need = f"; needs {', '.join(needs)}" if needs else ""
        lines.append(f"  {api:<10} {client.api.auth.env_var}{need}")
        if needs and not example:
            options = " ".join(f"{flag} {_EXAMPLE_ID}" for flag in needs)
            example = [f"  export {client.api.auth.env_var}=...", f"  leadkit load {api} {options}"]
    lines += [
        "",
        "Path parameters name the record in your account that the leads are added to:",
        *(
            f"  {flag} is {name} in the create operation's path"
            for name, flag in PATH_OPTIONS.items()
        ),
        "  (for a campaign, the UUID the API and the app give it); --param NAME=VALUE gives",
        "  any other.",
        "",
        "Example (--dry-run first: the mapping and one row's body; then the load, and the",
        "same command again to resume; fix failed.csv and load it the same way):",
    ]
    if example:
        lines += [
            example[0],
            f"{example[1]} leads.csv --dry-run",
            f"{example[1]} leads.csv --failures-out failed.csv",
        ]
    return "\n".join(lines)


class _Help(argparse.RawDescriptionHelpFormatter):
    """Renders the epilog placeholder as `_epilog()`: only --help pays for its imports."""

    def add_text(self, text: str | None) -> None:
        super().add_text(_epilog() if text == _EPILOG else text)


_EPILOG = "(API keys, path parameters and an example)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `load` subcommand."""
    parser = subparsers.add_parser(
        "load",
        help="create every lead of a CSV or JSONL export, resumably",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=_Help,
    )
    add_arguments(parser, _generated_apis())
    parser.set_defaults(func=_run)

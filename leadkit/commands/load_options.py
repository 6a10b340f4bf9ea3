"""The options of `leadkit load` as one typed object, and what they mean: checked before
anything starts.

`LoadOptions.from_args` reads argparse's answer (`leadkit.commands.load_arguments`) once;
everything else takes the object. Everything here runs before the input is read or the
sandbox starts; a problem is a `UsageError` (exit code 2) that names the option.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import attrs

from .load_arguments import PATH_OPTIONS

if TYPE_CHECKING:
    from leadkit.bulk import ColumnOptions
    from leadkit.runtime import OperationSpec, RateLimitPolicy

__all__ = [
    "LoadOptions",
    "UsageError",
    "column_options",
    "given_params",
    "journal_place",
    "path_option",
    "path_params",
    "rate_policy",
    "refuse_other_suffixes",
    "refuse_shared_files",
    "refuse_unwritable",
    "writable",
]


class UsageError(Exception):
    """Bad arguments or input the load cannot start with: exit code 2."""


Pair = tuple[str, str]


@attrs.frozen(kw_only=True)
class LoadOptions:
    """What `leadkit load` was asked to do, as its options say it (see `--help`)."""

    api: str
    file: Path
    command: tuple[str, ...]
    """The command line as given, after `leadkit`: said again to resume the load."""
    path_options: Mapping[str, str]
    """Path parameters given by an option of their own (`PATH_OPTIONS`), by name."""
    param: tuple[str, ...] = ()
    """Each --param, as written (NAME=VALUE)."""
    map: tuple[Pair, ...] = ()
    map_file: Path | None = None
    ignore: tuple[str, ...] = ()
    set: tuple[Pair, ...] = ()
    extra_columns_to: str | None = None
    strict_columns: bool = False
    list_separator: str = ";"
    encoding: str | None = None
    dry_run: bool = False
    via: str = "auto"
    concurrency: int = 8
    rate: float | None = None
    timeout: float | None = None
    journal: Path | None = None
    no_journal: bool = False
    failures_out: Path | None = None
    report: Path | None = None
    ordered: bool = False
    never_resend: bool = False
    grace: float = 30.0
    base_url: str | None = None
    sandbox: bool = False
    sandbox_time_scale: float = 20.0

    @classmethod
    def from_args(cls, args: argparse.Namespace, command: Sequence[str]) -> Self:
        """The options argparse read for the `load` subcommand of `command`."""
        return cls(
            api=args.api,
            file=args.file,
            command=tuple(command),
            path_options={
                name: value for name in PATH_OPTIONS if (value := getattr(args, name)) is not None
            },
            param=tuple(args.param),
            map=tuple(args.map),
            map_file=args.map_file,
            ignore=tuple(args.ignore),
            set=tuple(args.set),
            extra_columns_to=args.extra_columns_to,
            strict_columns=args.strict_columns,
            list_separator=args.list_separator,
            encoding=args.encoding,
            dry_run=args.dry_run,
            via=args.via,
            concurrency=args.concurrency,
            rate=args.rate,
            timeout=args.timeout,
            journal=args.journal,
            no_journal=args.no_journal,
            failures_out=args.failures_out,
            report=args.report,
            ordered=args.ordered,
            never_resend=args.never_resend,
            grace=args.grace,
            base_url=args.base_url,
            sandbox=args.sandbox,
            sandbox_time_scale=args.sandbox_time_scale,
        )


def given_params(options: LoadOptions) -> list[tuple[str, str, str]]:
    """(name, value, option) of each path parameter given on the command line."""
    given = [(name, value, PATH_OPTIONS[name]) for name, value in options.path_options.items()]
    for item in options.param:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UsageError(f"--param {item}: expected NAME=VALUE")
        given.append((name, value, f"--param {name}"))
    return given


def path_params(op: OperationSpec[Any], options: LoadOptions) -> dict[str, str]:
    """The operation's path parameters from the command line (a sandbox invents missing ones)."""
    from leadkit.runtime.client import expand_path, path_values

    names = re.findall(r"{(\w+)}", op.path)
    params: dict[str, str] = {}
    for name, value, flag in given_params(options):
        if name not in names:
            takes = ", ".join(names) or "none"
            raise UsageError(
                f"{flag}: {options.api} has no path parameter {name} (it has: {takes})"
            )
        if name in params:
            raise UsageError(f"{flag}: {name} is given twice")
        if not value:
            raise UsageError(f"{flag}: the value is empty")
        params[name] = value
    for name in names:
        if name not in params and not options.sandbox:
            raise UsageError(f"{options.api} needs {PATH_OPTIONS.get(name, f'--param {name}=...')}")
        params.setdefault(name, str(uuid.uuid4()))
    try:
        expand_path(op.path, path_values(params))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return params


def path_option(name: str, value: str) -> list[str]:
    """The command-line words that give path parameter `name` the `value`."""
    if name in PATH_OPTIONS:
        return [PATH_OPTIONS[name], value]
    return ["--param", f"{name}={value}"]


def column_options(options: LoadOptions) -> ColumnOptions:
    """What --map, --map-file, --ignore, --set and the rest say about the columns."""
    from leadkit.bulk import ColumnOptions

    maps: dict[str, str | None] = _map_file(options.map_file) if options.map_file else {}
    maps.update(dict(options.map))
    maps.update(dict.fromkeys(options.ignore))
    if not options.list_separator:
        raise UsageError("--list-separator: give one or more characters")
    return ColumnOptions(
        maps=maps,
        constants=dict(options.set),
        extra_to=options.extra_columns_to,
        strict=options.strict_columns,
        list_separator=options.list_separator,
    )


def _map_file(path: Path) -> dict[str, str | None]:
    """A --map-file: YAML of ``COLUMN: FIELD`` (or ``FIELD.KEY``; null leaves a column out)."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UsageError(f"--map-file {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"--map-file {path}: not YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(loaded, Mapping):
        raise UsageError(f"--map-file {path}: expected lines of COLUMN: FIELD")
    maps: dict[str, str | None] = {}
    for column, field in loaded.items():
        if not isinstance(column, str) or not (field is None or isinstance(field, str)):
            raise UsageError(f"--map-file {path}: {column!r}: {field!r} is not COLUMN: FIELD")
        maps[column] = field
    return maps


def rate_policy(
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


def journal_place(options: LoadOptions, op_name: str, params: dict[str, str]) -> Path | None:
    """The journal of this load: --journal, else (not with --no-journal, --dry-run or
    --sandbox, whose sandbox is new each run) a file in the user's state folder named after
    the API, the operation, the path parameters and the input's absolute path."""
    if options.no_journal or options.dry_run:
        return None
    given: Path | None = options.journal
    if given is not None or options.sandbox:
        return given  # a sandbox's own journal only when asked for
    from platformdirs import user_state_path

    tied = {"api": options.api, "operation": op_name, "path_params": params}
    tied["input"] = str(options.file.resolve())
    digest = hashlib.sha256(json.dumps(tied, sort_keys=True).encode()).hexdigest()[:16]
    stem = re.sub(r"[^\w.-]+", "_", options.file.stem)[:40]
    folder = user_state_path("leadkit") / "journals"
    with writable():
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{options.api}-{stem}-{digest}.sqlite"


def refuse_shared_files(options: LoadOptions) -> None:
    """Refuse when two of the input, --failures-out, --report and --journal are one file."""
    named = {
        "the input file": options.file,
        "--failures-out": options.failures_out,
        "--report": options.report,
        "--journal": options.journal,
    }
    files = [(name, path) for name, path in named.items() if path is not None]
    for (one, first), (other, second) in itertools.combinations(files, 2):
        if _same_file(first, second):
            raise UsageError(f"{one} and {other} are the same file ({second}); give each its own")


def refuse_other_suffixes(options: LoadOptions) -> None:
    """Refuse a --report not named .jsonl, a --failures-out named neither .csv nor .jsonl:
    load reads a file by its suffix, and the suffix chooses a failures file's form."""
    if options.report is not None and options.report.suffix.lower() not in (".jsonl", ".ndjson"):
        raise UsageError(f"--report {options.report}: it is written as JSONL; name it .jsonl")
    failures = options.failures_out
    if failures is not None and failures.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise UsageError(f"--failures-out {failures}: name it .csv or .jsonl, the form it takes")


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return first.resolve() == second.resolve()


def refuse_unwritable(options: LoadOptions) -> None:
    """Refuse an output that cannot be written (a folder missing, permission denied, a
    folder in its place) before anything starts; a file that is there is left as it is."""
    outputs = [options.failures_out, options.report, None if options.dry_run else options.journal]
    for path in filter(None, outputs):
        existed = os.path.lexists(path)
        with writable(), path.open("a"):
            pass
        if not existed:
            path.unlink()


@contextlib.contextmanager
def writable() -> Iterator[None]:
    """Turn an OSError while opening an output file into a usage error naming the file."""
    try:
        yield
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from None

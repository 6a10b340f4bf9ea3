"""The options of `leadkit load`, and what they mean once parsed: checked before anything starts.

Everything here runs before the input is read or the sandbox starts; a problem is a
`UsageError` (exit code 2) that names the option.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import math
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadkit.bulk import ColumnOptions
    from leadkit.runtime import OperationSpec, RateLimitPolicy

__all__ = [
    "PATH_OPTIONS",
    "UsageError",
    "add_arguments",
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

PATH_OPTIONS = {"campaign_id": "--campaign-id"}
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


def _pair(text: str) -> tuple[str, str]:
    """An argparse type: ``LEFT=RIGHT`` (split at the last ``=``: a column may hold one)."""
    left, equals, right = text.rpartition("=")
    if not equals or not left.strip() or not right.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    return left.strip(), right.strip()


def add_arguments(parser: argparse.ArgumentParser, apis: list[str]) -> None:
    """Add the options of `leadkit load` to its parser."""
    parser.add_argument("api", choices=apis, help="which API to load into")
    parser.add_argument("file", type=Path, help="a .csv (header row) or .jsonl file of leads")
    parser.add_argument(
        "--campaign-id", metavar="ID", help="the campaign the leads are added to (a UUID)"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other path parameter of the create operation (repeatable)",
    )
    columns = parser.add_argument_group("columns (see docs/column-mapping.md)")
    columns.add_argument(
        "--map",
        action="append",
        default=[],
        type=_pair,
        metavar="COLUMN=FIELD",
        help='send a column as a field, or as FIELD.KEY inside an object field: --map "Company '
        'Name=company" (repeatable; wins over --map-file)',
    )
    columns.add_argument(
        "--map-file", type=Path, metavar="FILE", help="YAML of COLUMN: FIELD lines (null: ignore)"
    )
    columns.add_argument(
        "--ignore", action="append", default=[], metavar="COLUMN", help="do not send a column"
    )
    columns.add_argument(
        "--set",
        action="append",
        default=[],
        type=_pair,
        metavar="FIELD=VALUE",
        help="give every row this value, read as a cell of that field: --set tags=webinar",
    )
    columns.add_argument(
        "--extra-columns-to",
        metavar="FIELD",
        help="the object field for columns that match no field (default: the spec's, if any)",
    )
    columns.add_argument(
        "--strict-columns",
        action="store_true",
        help="refuse the file if a column would not be sent",
    )
    columns.add_argument(
        "--list-separator",
        default=";",
        metavar="SEP",
        help="what separates the items of a list cell (default ';')",
    )
    columns.add_argument(
        "--encoding", metavar="NAME", help="the file's encoding (default: found, and printed)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the mapping and the first valid row's body, validate every row, send none",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive(int),
        default=8,
        metavar="N",
        help="most requests in flight (AIMD below it; default 8)",
    )
    parser.add_argument(
        "--rate",
        type=_positive(float),
        metavar="PER_SECOND",
        help="requests per second, replacing the API's declared rate limits",
    )
    parser.add_argument(
        "--timeout",
        type=_positive(float),
        metavar="SECONDS",
        help="how long to wait for each response (default 30)",
    )
    journal = parser.add_mutually_exclusive_group()
    journal.add_argument(
        "--journal",
        type=Path,
        metavar="FILE",
        help="where to record each row's outcome (default: a file per API, path parameters "
        "and input, whose place is printed at the start)",
    )
    journal.add_argument(
        "--no-journal",
        action="store_true",
        help="record nothing: running the command again sends every row again",
    )
    parser.add_argument(
        "--failures-out",
        type=Path,
        metavar="FILE",
        help="every row that did not succeed, with why: .csv in the input's own columns "
        "(for a CSV input), or .jsonl",
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="JSONL of every row's result")
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
        metavar="SECONDS",
        help="seconds in-flight requests get to finish after Ctrl-C or SIGTERM (default 30; "
        "0 cancels them at once)",
    )
    parser.add_argument(
        "--base-url", metavar="URL", help="the API's base URL (default: the spec's)"
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="load into an in-process sandbox of the API: no key, no network, no journal",
    )
    parser.add_argument(
        "--sandbox-time-scale",
        type=_positive(float),
        default=20.0,
        metavar="FACTOR",
        help="with --sandbox, how much faster than real time the rate limits run (default 20)",
    )


def given_params(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """(name, value, option) of each path parameter given on the command line."""
    given = [
        (name, value, flag)
        for name, flag in PATH_OPTIONS.items()
        if (value := getattr(args, name)) is not None
    ]
    for item in args.param:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UsageError(f"--param {item}: expected NAME=VALUE")
        given.append((name, value, f"--param {name}"))
    return given


def path_params(op: OperationSpec[Any], args: argparse.Namespace) -> dict[str, str]:
    """The operation's path parameters from the command line (a sandbox invents missing ones)."""
    from leadkit.runtime.client import expand_path, path_values

    names = re.findall(r"{(\w+)}", op.path)
    params: dict[str, str] = {}
    for name, value, flag in given_params(args):
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
            raise UsageError(f"{args.api} needs {PATH_OPTIONS.get(name, f'--param {name}=...')}")
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


def column_options(args: argparse.Namespace) -> ColumnOptions:
    """What --map, --map-file, --ignore, --set and the rest say about the columns."""
    from leadkit.bulk import ColumnOptions

    maps: dict[str, str | None] = _map_file(args.map_file) if args.map_file else {}
    maps.update(dict(args.map))
    maps.update(dict.fromkeys(args.ignore))
    if not args.list_separator:
        raise UsageError("--list-separator: give one or more characters")
    return ColumnOptions(
        maps=maps,
        constants=dict(args.set),
        extra_to=args.extra_columns_to,
        strict=args.strict_columns,
        list_separator=args.list_separator,
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


def journal_place(args: argparse.Namespace, op_name: str, params: dict[str, str]) -> Path | None:
    """The journal of this load: --journal, else (not with --no-journal, --dry-run or
    --sandbox, whose sandbox is new each run) a file in the user's state folder named after
    the API, the operation, the path parameters and the input's absolute path."""
    if args.no_journal or args.dry_run:
        return None
    given: Path | None = args.journal
    if given is not None or args.sandbox:
        return given  # a sandbox's own journal only when asked for
    from platformdirs import user_state_path

    tied = {"api": args.api, "operation": op_name, "path_params": params}
    tied["input"] = str(args.file.resolve())
    digest = hashlib.sha256(json.dumps(tied, sort_keys=True).encode()).hexdigest()[:16]
    stem = re.sub(r"[^\w.-]+", "_", args.file.stem)[:40]
    folder = user_state_path("leadkit") / "journals"
    with writable():
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{args.api}-{stem}-{digest}.sqlite"


def refuse_shared_files(args: argparse.Namespace) -> None:
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


def refuse_other_suffixes(args: argparse.Namespace) -> None:
    """Refuse a --report not named .jsonl, a --failures-out named neither .csv nor .jsonl:
    load reads a file by its suffix, and the suffix chooses a failures file's form."""
    if args.report is not None and args.report.suffix.lower() not in (".jsonl", ".ndjson"):
        raise UsageError(f"--report {args.report}: it is written as JSONL; name it .jsonl")
    failures = args.failures_out
    if failures is not None and failures.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise UsageError(f"--failures-out {failures}: name it .csv or .jsonl, the form it takes")


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return first.resolve() == second.resolve()


def refuse_unwritable(args: argparse.Namespace) -> None:
    """Refuse an output that cannot be written (a folder missing, permission denied, a
    folder in its place) before anything starts; a file that is there is left as it is."""
    outputs = [args.failures_out, args.report, None if args.dry_run else args.journal]
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

"""The command line of `leadkit load`: its arguments and how argparse reads each one.

What they mean once parsed is `leadkit.commands.load_options`.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

__all__ = ["AUTO_UPLOAD_ROWS", "PATH_OPTIONS", "add_arguments"]

AUTO_UPLOAD_ROWS = 20
"""--via auto uploads a file of more rows than this (when the API declares an upload)."""

PATH_OPTIONS = {"campaign_id": "--campaign-id"}
"""Path parameters with an option of their own, whose dest is the parameter's name."""


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
        "--via",
        choices=("auto", "upload", "single"),
        default="auto",
        help="upload: in files of many rows, through the API's upload operation (x-upload), "
        "each a job polled to its end; single: one request per row; auto (default): upload "
        f"when the API declares one and the file has more than {AUTO_UPLOAD_ROWS} rows "
        "(and --ordered is not given)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive(int),
        default=8,
        metavar="N",
        help="most requests in flight, one row each (AIMD below it; default 8); the upload "
        "path keeps two uploads in flight",
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
        help="how long to wait for each response (default: the whole exchange within 60 s)",
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
    parser.add_argument(
        "--ordered", action="store_true", help="report results in input order (--via single)"
    )
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
        help="load into an in-process sandbox of the API: no key, no network, no journal unless "
        "--journal is given",
    )
    parser.add_argument(
        "--sandbox-time-scale",
        type=_positive(float),
        default=20.0,
        metavar="FACTOR",
        help="with --sandbox, how much faster than real time the rate limits run (default 20)",
    )

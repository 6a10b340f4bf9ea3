"""What `leadkit load` says before its first row and after its last.

Before (on stderr): how the file is read (encoding, delimiter), where its columns go (every
column in a dry run; the ones not sent always), where the journal is, and about how long the
rate limits take (or how many uploads). After (on stdout): the rows that did not succeed,
the summary, why the run stopped, and the one command that resumes it.
"""

from __future__ import annotations

import json
import os
import shlex
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .failure_list import FailureList, one_line

if TYPE_CHECKING:
    from rich.console import Console

    from leadkit.bulk import InputFile, RowResult, Summary

__all__ = ["announce", "cut_short", "first_valid_body", "report", "summary_table"]


def announce(
    err: Console, source: InputFile, journal: Path | None, estimate: str, *, full: bool
) -> None:
    """Say how the input is read and mapped, where the journal is, and about how long;
    `full` (a dry run) lists every column."""
    shape = ""
    if source.layout is not None and source.layout.delimiter != ",":
        shape = f", {source.layout.delimiter!r}-separated"
    err.print(f"reading {source.path.name}: {source.encoding.describe()}{shape}")
    plan = source.columns
    if plan is not None:
        if full:
            err.print(f"columns of {source.path.name}:")
            for line in plan.describe():
                err.print(f"  {line}")
        else:
            err.print(f"columns: {_tally(plan.columns)}")
            for column in plan.unsent:
                err.print(f"  {column.describe()}")
        if plan.unsent:
            err.print(
                "  (--map COLUMN=FIELD sends a column, or FIELD.KEY into an object field; "
                "--ignore COLUMN leaves it out; --strict-columns refuses such a file)"
            )
    if journal is not None:
        err.print(f"journal: {journal} (the same command run again resumes from it)")
    err.print(estimate)


def _tally(columns: Any) -> str:
    """``5 to fields, 7 to custom_fields, 1 ignored, 2 not sent``."""
    counts: Counter[str] = Counter()
    for column in columns:
        if column.target is not None and column.target.key is not None:
            counts[f"to {column.target.field}"] += 1
        else:
            counts["to fields" if column.target is not None else column.kind.value] += 1
    last = ("ignored", "not sent")  # after the places columns go to
    order = sorted(counts, key=lambda what: (what in last, last.index(what) if what in last else 0))
    return ", ".join(f"{counts[what]} {what}" for what in order)


def first_valid_body(out: Console, result: RowResult) -> None:
    """A dry run's first valid row: the JSON body it would send."""
    where = f"line {result.line}" if result.line is not None else f"row index {result.index}"
    out.print(f"first valid row ({where}), as it would be sent:")
    out.print(json.dumps(result.body, ensure_ascii=False, indent=2, default=str))


def summary_table(summary: Summary, api: str) -> Any:
    """The summary of a load as a rich table."""
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


def cut_short(path: Path, before: os.stat_result) -> str | None:
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


def report(
    out: Console,
    api: str,
    summary: Summary,
    failures: FailureList,
    failures_file: Path | None,
    resume: list[str] | None,
    cut: str | None,
) -> None:
    """Print the rows that did not succeed, the summary and what to do next.

    `resume` is the command that resumes the load (None without a journal), said when the
    run stopped early.
    """
    for line in failures.lines(failures_file=failures_file is not None):
        out.print(line)
    out.print(summary_table(summary, api))
    if summary.stop_reason:
        out.print(one_line(summary.stop_reason), style="yellow")
    if cut:
        out.print(cut, style="yellow")
    if failures_file is not None and failures.count:  # a stop alone leaves the file empty
        out.print(f"rows that did not succeed: {failures_file} (fix them and load that file)")
    if resume is not None and (summary.stop_reason or summary.unread_from is not None):
        out.print(f"to resume, run: {shlex.join(resume)}")

"""``python -m bench [--quick] [--only SCENARIO] [--write-docs]``: run the scenarios, print
the tables."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path

from . import memory, models, ratelimit, startup, throughput, uploads
from .harness import ROOT, Row, Target, machine, markdown
from .peers import Peers
from .server import serving

__all__ = ["main"]

PAGE = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _header(quick: bool) -> str:
    mode = "`python -m bench --quick` (small N, no generated peers)" if quick else "`nox -s bench`"
    return (
        f"Measured by {mode} on {dt.date.today():%Y-%m-%d}: {machine()}. The throughput "
        "and memory servers run in a separate process on the same cores, so client and "
        "server compete for CPU; each throughput contender runs in a client process of its "
        "own, whose user and system CPU per request are its own. Medians of interleaved "
        "runs, range = smallest to largest run, x baseline = median / the scenario's first "
        "row."
    )


SCENARIOS = ("models", "startup", "throughput", "memory", "uploads", "ratelimit")


def run_all(
    quick: bool, folder: Path, only: Collection[str] = SCENARIOS
) -> tuple[list[Row], list[Target]]:
    """The scenarios named in `only` (every one by default), small in quick mode; quick mode
    generates no openapi-python-client."""
    peers = Peers(folder)
    rows: list[Row] = []
    targets: list[Target] = []

    def add(result: tuple[list[Row], list[Target]]) -> None:
        rows.extend(result[0])
        targets.extend(result[1])

    if "models" in only:
        add(models.run(peers, 3 if quick else 7, with_opc=not quick))
    if "startup" in only:
        add(startup.run(2 if quick else 5))
    if "throughput" in only or "memory" in only:
        with serving() as url:
            if "throughput" in only:
                creates, rounds = (300, 2) if quick else (20_000, 5)
                add(throughput.run(url, creates, rounds, None if quick else peers))
            if "memory" in only:
                add(memory.run(url, (300, 1_000) if quick else (10_000, 1_000_000), 1))
    if "uploads" in only:
        add(uploads.run(*((2_000, 20.0) if quick else (20_000, 1.0))))
    if "ratelimit" in only:
        add(ratelimit.run(60.0, 200 if quick else ratelimit.five_windows(), 1))
        add(ratelimit.run_learning(480.0 if quick else 240.0, 3 if quick else 5, 1))
    return rows, targets


def write_page(table: str) -> None:
    """Replace the benchmarks page's lines between its markers with `table`."""
    text = PAGE.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    PAGE.write_text(f"{head}{START}\n{table}{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; print the markdown tables; optionally write them to the docs."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N, only (a) (b) and pydantic")
    parser.add_argument(
        "--write-docs", action="store_true", help="rewrite the tables of docs/benchmarks.md"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SCENARIOS,
        metavar="SCENARIO",
        help=f"run only this scenario (repeatable; one of {', '.join(SCENARIOS)})",
    )
    args = parser.parse_args(argv)
    if args.only and args.write_docs:
        parser.error("--write-docs rewrites every table: run every scenario (no --only)")
    with tempfile.TemporaryDirectory(prefix="leadkit-peers-") as folder:
        rows, targets = run_all(args.quick, Path(folder), args.only or SCENARIOS)
    table = markdown(rows, targets, _header(args.quick))
    print(table)
    if args.write_docs:
        write_page(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

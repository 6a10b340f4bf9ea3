"""The `leadkit` console script: one subcommand per module in leadkit.commands."""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main"]

COMMANDS: tuple[str, ...] = ("diff", "load", "sandbox")
"""Modules of leadkit.commands; each has `register(subparsers)` setting `func` on its parser:
`func(args, argv)` runs the command, `argv` being the command line as given (a command may
say it again, as `load` says how to resume)."""


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand; return its exit code."""
    parser = argparse.ArgumentParser(prog="leadkit", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"leadkit.commands.{name}").register(subparsers)
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(words)
    code: int = args.func(args, words)
    return code


if __name__ == "__main__":
    sys.exit(main())

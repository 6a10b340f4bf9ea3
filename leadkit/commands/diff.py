"""`leadkit diff OLD_SPEC NEW_SPEC`: what a regeneration changes for client users."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["register"]


def _run(args: argparse.Namespace, _argv: Sequence[str]) -> int:
    try:
        from leadkit.codegen.diff import diff_specs, has_breaking, render_json, render_text
        from leadkit.codegen.errors import SpecError
        from leadkit.codegen.load import load_spec
    except ImportError as exc:  # PyYAML and the validator come with the codegen extra
        print(
            f"leadkit diff: needs the generator's dependencies ({exc}); "
            "install them with: pip install -e '.[codegen]'",
            file=sys.stderr,
        )
        return 2
    try:
        old, new = load_spec(args.old_spec), load_spec(args.new_spec)
        changes = diff_specs(old.document, new.document, new.name, (old.label, new.label))
    except (SpecError, OSError) as exc:
        print(
            f"leadkit diff: cannot compare the specs: {exc}. Both files must be valid "
            "OpenAPI 3.1 documents whose $refs resolve inside the file; fix the spec and "
            "run the command again.",
            file=sys.stderr,
        )
        return 2
    reports = {f"{old.label} -> {new.label}": changes}
    print(render_json(reports) if args.format == "json" else render_text(reports))
    return 1 if args.fail_on_breaking and has_breaking(reports) else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `diff` subcommand."""
    parser = subparsers.add_parser(
        "diff",
        help="list what changes between two specs, breaking or compatible",
        description=__doc__,
    )
    parser.add_argument("old_spec", type=Path, metavar="OLD_SPEC", help="spec before the change")
    parser.add_argument("new_spec", type=Path, metavar="NEW_SPEC", help="spec after the change")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--fail-on-breaking", action="store_true", help="exit 1 when any change is breaking"
    )
    parser.set_defaults(func=_run)

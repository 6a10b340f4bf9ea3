"""`python -m leadkit.codegen [--check]`: regenerate generated/ from specs/, or check it is
current; both folders are the current folder's (a project's top) unless given."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import SpecError
from .pipeline import generate_tree
from .write import compare, write_tree


def main(argv: list[str] | None = None) -> int:
    """Run the generator; exit 0 when done or current, 1 on drift, 2 on a bad spec."""
    parser = argparse.ArgumentParser(prog="python -m leadkit.codegen", description=__doc__)
    parser.add_argument("--specs", type=Path, default=Path("specs"), help="folder of *.yaml specs")
    parser.add_argument("--out", type=Path, default=Path("generated"), help="output folder")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    args = parser.parse_args(argv)
    if not args.specs.is_dir():
        print(
            f"error: no folder of specs at {args.specs} (run from the project's top folder, "
            "or pass --specs)",
            file=sys.stderr,
        )
        return 2
    try:
        files = generate_tree(args.specs, label_root=args.specs.resolve().parent)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        drift = compare(files, args.out)
        if drift:
            print(
                f"{args.out} is not what the generator makes from {args.specs}:\n", file=sys.stderr
            )
            print(drift.report(), file=sys.stderr)
            from .diff import tree_report_text

            print("\nwhat changes for client users:", file=sys.stderr)
            print(tree_report_text(args.specs, args.out), file=sys.stderr)
            print("\nrun `python -m leadkit.codegen` to regenerate.", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({len(files)} files).")
        return 0
    drift = write_tree(files, args.out)
    print(
        f"wrote {args.out}: {len(drift.changed)} changed, {len(drift.added)} added, "
        f"{len(drift.stale)} deleted, {len(files)} files in all."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

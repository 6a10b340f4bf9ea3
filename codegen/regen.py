"""`python -m leadkit.codegen.regen`: report what specs/ changes, regenerate, refresh the golden
snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

from .diff import tree_report_text
from .errors import SpecError
from .pipeline import generate_tree
from .write import write_tree

__all__ = ["main", "regenerate"]

ROOT = Path(__file__).resolve().parent.parent
TREES = (("specs", "generated"), ("tests/golden/specs", "tests/golden/expected"))
"""(spec folder, output folder) pairs, relative to the project root."""


def regenerate(root: Path) -> int:
    """In project `root`: print the report of specs/ against generated/, rewrite both trees.

    Every spec is generated before anything is written: a bad one leaves both trees alone.
    """
    try:
        trees = {
            out_dir: generate_tree(root / spec_dir, label_root=(root / spec_dir).parent)
            for spec_dir, out_dir in TREES
        }
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"what changes for client users:\n{tree_report_text(root / 'specs', root / 'generated')}\n"
    )
    for out_dir, files in trees.items():
        drift = write_tree(files, root / out_dir)
        print(
            f"wrote {out_dir}: {len(drift.changed)} changed, {len(drift.added)} added, "
            f"{len(drift.stale)} deleted"
        )
    return 0


def main() -> int:
    """Regenerate this project."""
    return regenerate(ROOT)


if __name__ == "__main__":
    sys.exit(main())

"""`python -m codegen.regen`: report what specs/ changes, regenerate, refresh golden snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

from .diff import render_text, tree_report
from .errors import SpecError
from .pipeline import generate_tree
from .write import write_tree

__all__ = ["main", "regenerate"]

ROOT = Path(__file__).resolve().parent.parent


def _write(root: Path, spec_dir: str, out_dir: str) -> str:
    files = generate_tree(root / spec_dir, label_root=(root / spec_dir).parent)
    drift = write_tree(files, root / out_dir)
    return (
        f"wrote {out_dir}: {len(drift.changed)} changed, {len(drift.added)} added, "
        f"{len(drift.stale)} deleted"
    )


def regenerate(root: Path) -> int:
    """In project `root`: print the report of specs/ against generated/, rewrite both trees."""
    try:
        report = render_text(tree_report(root / "specs", root / "generated"))
        print(f"what changes for client users:\n{report}\n")
        print(_write(root, "specs", "generated"))
        print(_write(root, "tests/golden/specs", "tests/golden/expected"))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main() -> int:
    """Regenerate this project."""
    return regenerate(ROOT)


if __name__ == "__main__":
    sys.exit(main())

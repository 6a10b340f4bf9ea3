"""The whole generator: every spec in a folder -> one package per spec."""

from __future__ import annotations

from pathlib import Path

from .build import build_api
from .load import load_spec
from .render import render_api, render_root
from .write import format_sources

__all__ = ["generate_tree"]


def generate_tree(spec_dir: Path, label_root: Path | None = None) -> dict[str, str]:
    """Return {relative path: text} of the whole output tree for the specs in `spec_dir`."""
    files = render_root()
    for path in sorted(spec_dir.glob("*.yaml")):
        label = path.name
        if label_root:
            label = path.resolve().relative_to(label_root.resolve()).as_posix()
        files.update(render_api(build_api(load_spec(path, label))))
    return format_sources(files)

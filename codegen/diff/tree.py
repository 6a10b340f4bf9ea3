"""The report of a specs/ folder against the SPECs embedded in a committed generated/ tree."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..load import load_spec
from .changes import Change, Location, classify
from .spec_diff import diff_specs

__all__ = ["committed_spec", "tree_report"]


def committed_spec(spec_module: Path) -> dict[str, Any]:
    """The `SPEC` dict literal of a generated `spec.py`, read without importing it."""
    for node in ast.parse(spec_module.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "SPEC"
            and node.value is not None
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, dict):
                return value
    raise SpecError(str(spec_module), "#", "no `SPEC: dict[str, Any] = {...}` literal found")


def tree_report(spec_dir: Path, generated_dir: Path) -> dict[str, tuple[Change, ...]]:
    """{api name: changes} from each committed package's SPEC to the spec in `spec_dir`."""
    specs = {path.stem: path for path in spec_dir.glob("*.yaml")}
    committed = {path.parent.name: path for path in generated_dir.glob("*/spec.py")}
    report: dict[str, tuple[Change, ...]] = {}
    for name in sorted(specs.keys() | committed.keys()):
        if name not in committed:
            report[name] = (classify("api.added", Location("api"), specs[name].name),)
        elif name not in specs:
            report[name] = (classify("api.removed", Location("api"), committed[name].name),)
        else:
            label = specs[name].relative_to(spec_dir.parent).as_posix()
            new = load_spec(specs[name], label).document
            report[name] = diff_specs(committed_spec(committed[name]), new)
    return report

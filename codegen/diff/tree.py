"""The report of a specs/ folder against the SPECs embedded in a committed generated/ tree."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..load import load_spec
from .changes import Change, Location, classify
from .report import render_text
from .spec_diff import diff_specs

__all__ = ["committed_spec", "tree_report", "tree_report_text"]


def _spec_literal(source: bytes) -> ast.expr | None:
    """The value of the module's `SPEC: ... = value` statement, if it has one."""
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "SPEC"
        ):
            return node.value
    return None


def committed_spec(spec_module: Path, label: str | None = None) -> dict[str, Any]:
    """The `SPEC` dict literal of a generated `spec.py`, read without importing it.

    A damaged file raises SpecError naming `label` (default: the path).
    """
    label = label or str(spec_module)
    try:
        node = _spec_literal(spec_module.read_bytes())
        value = None if node is None else ast.literal_eval(node)
    except SyntaxError as exc:
        raise SpecError(label, "#", f"not valid Python (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, TypeError):
        value = None
    if not isinstance(value, dict):
        raise SpecError(label, "#", "no `SPEC: dict[str, Any] = {...}` literal found")
    return value


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
            old_label = f"{generated_dir.name}/{name}/spec.py"
            old = committed_spec(committed[name], old_label)
            report[name] = diff_specs(old, new, name, (old_label, label))
    return report


def tree_report_text(spec_dir: Path, generated_dir: Path) -> str:
    """`tree_report` as text, or why the committed tree cannot be compared."""
    try:
        return render_text(tree_report(spec_dir, generated_dir))
    except SpecError as exc:
        return f"unknown: {exc.file} cannot be read: {exc.message}; regenerating rewrites it"

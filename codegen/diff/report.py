"""Render semantic reports (API label -> changes) as text for people or JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from .changes import Change

__all__ = ["has_breaking", "render_json", "render_text"]

Reports = Mapping[str, Sequence[Change]]


def has_breaking(reports: Reports) -> bool:
    """Whether any report holds a breaking change."""
    return any(c.breaking for changes in reports.values() for c in changes)


def render_text(reports: Reports) -> str:
    """One heading per API, then one line per change: class, kind, location, detail, reason."""
    lines = []
    for label, changes in reports.items():
        if not changes:
            lines.append(f"{label}: no API changes")
            continue
        breaking = sum(c.breaking for c in changes)
        lines.append(f"{label}: {len(changes)} API changes, {breaking} breaking")
        for change in changes:
            label_ = "BREAKING  " if change.breaking else "compatible"
            detail = f" [{change.detail}]" if change.detail else ""
            lines.append(f"  {label_} {change.kind}: {change.location}{detail}: {change.reason}")
    return "\n".join(lines)


def render_json(reports: Reports) -> str:
    """`{"breaking": n, "apis": [{"api", "breaking", "changes": [...]}]}`, stable key order."""
    apis = [
        {
            "api": label,
            "breaking": sum(c.breaking for c in changes),
            "changes": [c.as_dict() for c in changes],
        }
        for label, changes in reports.items()
    ]
    total = sum(c.breaking for changes in reports.values() for c in changes)
    return json.dumps({"breaking": total, "apis": apis}, indent=2, sort_keys=True)

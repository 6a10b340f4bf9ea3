"""Semantic diff of two specs: what a regeneration changes for client users (issue 7)."""

from .changes import Change, Location
from .report import has_breaking, render_json, render_text
from .spec_diff import diff_specs
from .tree import committed_spec, tree_report, tree_report_text

__all__ = [
    "Change",
    "Location",
    "committed_spec",
    "diff_specs",
    "has_breaking",
    "render_json",
    "render_text",
    "tree_report",
    "tree_report_text",
]

"""Stage 6: format with the pinned ruff, then write the tree or compare it (`--check`)."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import attrs

__all__ = ["Drift", "compare", "format_sources", "write_tree"]

RUFF_ARGS = (
    *("--no-cache", "--isolated", "--line-length", "100", "--target-version", "py311"),
    # import sections must not depend on the current directory: no `src` guesses, and
    # leadkit is first-party wherever the generator runs
    *("--config", "src = []", "--config", "lint.isort.known-first-party = ['leadkit']"),
)
_FIX_RULES = "I,F401,UP,RUF022"  # RUF022: __all__ sorted


def _ruff(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", *args], capture_output=True, text=True)
    if done.returncode != 0:
        problem = f"ruff {args[0]} failed on generated code (a template bug):\n{done.stderr}"
        raise RuntimeError(problem)


def format_sources(files: Mapping[str, str]) -> dict[str, str]:
    """Sort imports, drop unused ones and format every .py file with the pinned ruff."""
    with tempfile.TemporaryDirectory(prefix="leadkit-fmt-") as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8", newline="\n")
        _ruff("check", *RUFF_ARGS, "--select", _FIX_RULES, "--fix-only", "--exit-zero", str(root))
        _ruff("format", *RUFF_ARGS, str(root))
        return {rel: (root / rel).read_bytes().decode("utf-8") for rel in files}


@attrs.frozen
class Drift:
    """How a tree on disk differs from what the generator makes."""

    changed: tuple[str, ...]
    added: tuple[str, ...]
    stale: tuple[str, ...]
    diff: str

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.stale)

    def report(self) -> str:
        """Readable summary and unified diff."""
        lines = []
        for title, paths in (
            ("changed", self.changed),
            ("missing (would be added)", self.added),
            ("stale (would be deleted)", self.stale),
        ):
            lines += [f"{title}: {p}" for p in paths]
        return "\n".join(lines) + ("\n\n" + self.diff if self.diff else "")


def _on_disk(out_dir: Path) -> dict[str, bytes]:
    """The bytes of every file under `out_dir`: line endings as they are."""
    if not out_dir.exists():
        return {}
    return {
        p.relative_to(out_dir).as_posix(): p.read_bytes()
        for p in sorted(out_dir.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _file_diff(name: str, committed: bytes, generated: bytes) -> str:
    """Unified diff of one file, or a note when only its line endings differ."""
    if committed.replace(b"\r\n", b"\n") == generated:
        return f"{name}: only the line endings differ (CRLF on disk; the generator writes LF)\n"
    old, new = (b.decode("utf-8", errors="replace") for b in (committed, generated))
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"{name} (committed)",
            f"{name} (generated now)",
        )
    )


def compare(files: Mapping[str, str], out_dir: Path) -> Drift:
    """Compare the expected `files` with the tree under `out_dir`, byte for byte; write nothing."""
    current, expected = _on_disk(out_dir), {p: t.encode("utf-8") for p, t in files.items()}
    changed = tuple(sorted(p for p in files if p in current and current[p] != expected[p]))
    diff = "".join(_file_diff(f"{out_dir.name}/{p}", current[p], expected[p]) for p in changed)
    return Drift(
        changed=changed,
        added=tuple(sorted(set(files) - set(current))),
        stale=tuple(sorted(set(current) - set(files))),
        diff=diff,
    )


def _remove_empty_packages(out_dir: Path) -> None:
    """Delete folders left with nothing but Python's byte-code caches."""
    folders = (d for d in out_dir.rglob("*") if d.is_dir() and d.name != "__pycache__")
    for folder in sorted(folders, reverse=True):
        leftovers = list(folder.iterdir())
        if all(p.name == "__pycache__" for p in leftovers):
            for cache in leftovers:
                shutil.rmtree(cache)
            folder.rmdir()


def write_tree(files: Mapping[str, str], out_dir: Path) -> Drift:
    """Make `out_dir` hold exactly `files`: write changed and new ones, delete stale ones."""
    drift = compare(files, out_dir)
    for rel in (*drift.changed, *drift.added):
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[rel], encoding="utf-8", newline="\n")
    for rel in drift.stale:
        (out_dir / rel).unlink()
    _remove_empty_packages(out_dir)
    return drift

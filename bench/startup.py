"""Generator and import: wall time of child processes, each run from the repository root.

A full regeneration writes every file into an empty folder; ``--check`` compares that
folder with what the generator makes. The import rows compare ``import leadkit.apis.coldsend``
with a bare ``import aiohttp, attrs, cattrs`` in the same run.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from .harness import ROOT, Contender, Row, Target, interleave, rows_of

__all__ = ["run"]

BARE = "import aiohttp, attrs, cattrs"
OURS = "import leadkit.apis.coldsend"


def _wall(args: list[str]) -> float:
    """Seconds one child process `python ARGS` takes; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"`python {' '.join(args)}` failed: {done.stderr.strip()[-400:]}")
    return elapsed


def _generator(folder: Path) -> list[Contender[float]]:
    counter = iter(range(1_000_000))

    def full() -> float:
        return _wall(["-m", "leadkit.codegen", "--out", str(folder / f"full-{next(counter)}")])

    checked = folder / "checked"
    _wall(["-m", "leadkit.codegen", "--out", str(checked)])

    def check() -> float:
        return _wall(["-m", "leadkit.codegen", "--check", "--out", str(checked)])

    return [Contender("full regeneration", full), Contender("--check", check)]


def run(rounds: int) -> tuple[list[Row], list[Target]]:
    """Generator wall times (target < 2 s each) and the import ratio (target <= 1.15)."""
    imports = [
        Contender(f"python -c '{code}'", partial(_wall, ["-c", code])) for code in (BARE, OURS)
    ]
    with tempfile.TemporaryDirectory(prefix="leadkit-bench-") as folder:
        generator = _generator(Path(folder))
        rows = rows_of("generator", "s", generator, interleave(generator, rounds))
    rows += rows_of("import", "s", imports, interleave(imports, max(rounds, 5)))
    targets = [
        Target("generator: full regeneration (s)", rows[0].median, 2.0, at_least=False),
        Target("generator: --check (s)", rows[1].median, 2.0, at_least=False),
        Target("import: leadkit.apis.coldsend / bare", rows[3].ratio, 1.15, at_least=False),
    ]
    return rows, targets

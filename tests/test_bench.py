"""`python -m bench --quick` runs every scenario and prints well-formed tables; no timings."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.processes import run

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"^[\d,]+(\.\d+)?(e[-+]?\d+)?$")


def _table(text: str, header: str) -> list[list[str]]:
    """The body rows of the markdown table whose header line is `header`."""
    lines = text.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


@pytest.mark.slow
def test_quick_bench_prints_every_scenario_with_numbers() -> None:
    done = run(sys.executable, "-m", "bench", "--quick", cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    results = _table(done.stdout, "| scenario | contender | median | unit | x baseline | runs |")
    contenders = {(row[0].split(":")[0], row[1]) for row in results}
    assert {
        ("throughput", "(a) bare aiohttp pool, pre-serialised JSON"),
        ("throughput", "(b) leadkit bulk helper, generated client"),
        ("models", "leadkit (generated serde functions, attrs)"),
        ("models", "pydantic v2 (datamodel-code-generator)"),
        ("generator", "full regeneration"),
        ("generator", "--check"),
        ("import", "python -c 'import generated.coldsend'"),
        ("memory", "bulk run, 1,000 leads"),
        ("rate limit", "429 responses"),
        ("rate limit learned", "leadkit bulk helper, generated client"),
        ("rate limit learned", "429 per window learned"),
    } <= contenders
    for row in results:
        assert len(row) == 6, row
        assert NUMBER.match(row[2]) and NUMBER.match(row[5]), row
    targets = _table(done.stdout, "| target | measured | required | result |")
    assert len(targets) == 16
    for row in targets:
        assert NUMBER.match(row[1]), row
        assert row[3] == "met" or row[3].startswith("**missed**"), row

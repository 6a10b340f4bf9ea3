"""`python -m bench --quick` runs every scenario and prints well-formed tables; no timings."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.processes import run

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?(e[-+]?\d+)?$")


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
    header = "| scenario | contender | median | range | unit | x baseline | runs |"
    results = _table(done.stdout, header)
    contenders = {(row[0].split(":")[0], row[1]) for row in results}
    assert {
        ("throughput (asyncio)", "(a') minimal loop: json.dumps each row, json.loads each answer"),
        ("throughput (asyncio)", "(a) bare aiohttp pool, pre-serialised JSON, answers unread"),
        ("throughput (asyncio)", "(b) leadkit bulk helper, generated client"),
        ("throughput (asyncio)", "(b) + journal file"),
        ("models", "leadkit (generated serde functions, attrs)"),
        ("models", "pydantic v2 (datamodel-code-generator)"),
        ("generator", "full regeneration"),
        ("generator", "--check"),
        ("import", "python -c 'import leadkit.apis.coldsend'"),
        ("memory", "bulk run, 1,000 leads"),
        ("memory", "bulk run, 1,000 leads, journal file"),
        ("rate limit", "429 responses"),
        ("rate limit learned", "leadkit bulk helper, generated client"),
        ("rate limit learned", "429 per window learned"),
        ("uploads", "single-lead path, least time the windows allow"),
        ("uploads", "upload path (bulk_upload), wall time"),
        ("uploads", "upload path: rows with exactly one result"),
        ("uploads", "upload path: upload requests"),
        ("uploads", "upload path, 20,000 leads"),
        ("uploads", "single-lead path (add_lead_bulk), 2,000 leads"),
    } <= contenders
    units = {row[4] for row in results if row[0].startswith("throughput (asyncio)")}
    assert units == {"req/s", "µs user CPU/req", "µs sys CPU/req"}
    for row in results:
        assert len(row) == 7, row
        assert NUMBER.match(row[2]) and NUMBER.match(row[6]), row
        if row[6] != "1":
            low, high = map(float, row[3].replace(",", "").split(" to "))
            assert low <= float(row[2].replace(",", "")) <= high, row
    targets = _table(done.stdout, "| target | measured | required | result |")
    claims = {row[0] for row in targets}
    assert {
        "throughput (asyncio): (b) / (a')",
        "client user CPU per request: (b) minus (a') (µs)",
        "throughput: (b) + journal file / (b)",
        "rate limit learned: 429 per window learned",
        "uploads: 2,000 leads at x20, wall time (s)",
        "uploads: peak RSS, largest of the upload path / the single path's",
    } <= claims
    for row in targets:
        assert NUMBER.match(row[1]), row
        assert row[3] == "met" or row[3].startswith("**missed**"), row


def test_only_runs_the_scenarios_named_and_cannot_rewrite_the_page() -> None:
    done = run(sys.executable, "-m", "bench", "--only", "uploads", "--write-docs", cwd=ROOT)
    assert done.returncode == 2
    assert "--write-docs rewrites every table: run every scenario (no --only)" in done.stderr
    done = run(sys.executable, "-m", "bench", "--only", "sideways", cwd=ROOT)
    assert done.returncode == 2 and "invalid choice: 'sideways'" in done.stderr

"""`leadkit load --via upload|single|auto`: the upload path end to end, kill -9 while a job is
polled and the rerun, and 20,000 rows at Coldsend's real rate limits."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from leadkit.cli import main
from tests.cli_support import ROOT, stored_emails
from tests.processes import run, running
from tests.waiting import wait_until

KEY = "cs_live_load_uploads"
INVALID_AT, COPY_AT, COPIED = 502, 702, 5
"""The file's line without an email, and its line repeating line 5's email."""


def write_leads(path: Path, rows: int) -> Path:
    """`rows` rows of leads, one of them without an email and one a copy of another."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Email", "First Name", "Last Name", "Company", "Job Title"])
        for line in range(2, rows + 2):
            email = f"lead{line}@{path.stem}.example"
            if line == INVALID_AT:
                email = ""
            elif line == COPY_AT:
                email = f"LEAD{COPIED}@{path.stem}.example"
            writer.writerow([email, "Ada", "Lovelace", "Analytical Engines", "CTO"])
    return path


def stats(url: str) -> Counter[str]:
    with urllib.request.urlopen(f"{url}/_sandbox/stats") as response:
        return Counter(json.load(response))


@contextmanager
def sandbox_process(*options: str) -> Iterator[str]:
    """A `leadkit sandbox` with `options` on a free port; yields its root URL."""
    command = [sys.executable, "-m", "leadkit.cli", "sandbox", "--port", "0", *options]
    with running(*command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first, f"the sandbox did not start: {process.communicate(timeout=30)[1]}"
        yield first.split()[-1]


def report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_every_row(results: list[dict[str, Any]], rows: int) -> None:
    """One result per row; the row without an email invalid, the copy skipped, by line."""
    assert sorted(r["index"] for r in results) == list(range(rows)), "one result per row"
    by_line = {r["line"]: r for r in results}
    assert (by_line[INVALID_AT]["outcome"], by_line[INVALID_AT]["error"]) == (
        "invalid",
        "required field missing @ $.email",
    )
    assert (by_line[COPY_AT]["outcome"], by_line[COPY_AT]["error"]) == (
        "skipped_duplicate",
        f"same key as line {COPIED}",
    )
    others = Counter(r["outcome"] for r in results if r["line"] not in (INVALID_AT, COPY_AT))
    assert others == {"created": rows - 2}


@pytest.mark.parametrize(
    ("rows", "args", "uploaded"),
    [
        (30, [], True),  # auto: more than 20 rows
        (10, [], False),
        (30, ["--via", "single"], False),
        (5, ["--via", "upload"], True),
        (30, ["--ordered"], False),  # auto keeps input order by single creates
    ],
)
def test_via_chooses_the_path(
    rows: int, args: list[str], uploaded: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads, results = tmp_path / "leads.csv", tmp_path / "report.jsonl"
    leads.write_text("email\n" + "".join(f"v{i}@example.com\n" for i in range(rows)))
    command = ["load", "coldsend", "--sandbox", "--sandbox-time-scale", "1000", str(leads)]
    assert main([*command, "--report", str(results), *args]) == 0, capsys.readouterr().err
    jobs = {r["job"] for r in report(results)}
    assert (None not in jobs) if uploaded else (jobs == {None})
    said = capsys.readouterr().err
    assert ("of at most 10,000 rows and 50 MiB, each a job" in said) == uploaded


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--via", "upload", "--ordered"], "--ordered: the upload path reports a chunk's rows"),
        (["--via", "sideways"], "argument --via: invalid choice: 'sideways'"),
    ],
)
def test_a_path_that_cannot_be_taken_is_a_usage_error(
    args: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("email\na@example.com\n")
    try:
        code = main(["load", "coldsend", "--sandbox", str(leads), *args])
    except SystemExit as exited:  # argparse's own
        code = int(str(exited.code))
    assert code == 2 and said in capsys.readouterr().err


@pytest.mark.slow
def test_kill_9_while_jobs_are_polled_then_the_rerun_waits_for_them(tmp_path: Path) -> None:
    """Load 12,000 rows (two chunks, jobs of 5 s and 1 s at 2,000 rows a second) into a
    sandbox process with a journal; kill -9 the load once the sandbox has answered a poll of
    a job; load again: no job is uploaded twice, and the rerun reports every row once.
    (Three processes: slow; `test_bulk_upload` has the same rerun in one process.)"""
    rows = 12_000
    leads = write_leads(tmp_path / f"kill{uuid.uuid4().hex[:8]}.csv", rows)
    campaign, journal = str(uuid.uuid4()), tmp_path / "journal.sqlite"
    chunks = -(-(rows - 1) // 10_000)  # the invalid row is not uploaded
    env = {**os.environ, "COLDSEND_API_KEY": KEY}
    with sandbox_process("--upload-rate", "2000") as url:
        load = [sys.executable, "-m", "leadkit.cli", "load", "coldsend", "--base-url", url]
        load += ["--campaign-id", campaign, "--journal", str(journal), str(leads)]
        with running(*load, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) as first:
            wait_until(lambda: stats(url)["polls"] >= 1, "a poll of the first job", first)
            os.kill(first.pid, signal.SIGKILL)
            assert first.wait(timeout=30) == -signal.SIGKILL
        before = stats(url)["uploads"]
        assert 1 <= before <= chunks
        again = run(*load, "--report", tmp_path / "again.jsonl", cwd=ROOT, env=env, timeout=600)
        assert again.returncode == 1, again.stderr  # the row without an email
        assert stats(url)["uploads"] == chunks, "no job was uploaded twice"
        stored = stored_emails(url, campaign)
    results = report(tmp_path / "again.jsonl")
    check_every_row(results, rows)
    assert set(stored.values()) == {1} and len(stored) == rows - 2
    resumed = [r for r in results if r["outcome"] == "created" and r["resumed"]]
    assert len(resumed) >= min(rows - 2, 9_999), "the killed run's job, waited for, not redone"
    assert f"line {INVALID_AT}: invalid: required field missing @ $.email" in again.stdout


@pytest.mark.slow
def test_20000_rows_at_real_rate_limits_go_in_two_uploads_each_row_one_result(
    tmp_path: Path,
) -> None:
    """The issue's command: Coldsend's 100/min and 1,000/h (20 hours of single creates), the
    sandbox's jobs at 500 rows a second. What proves the path: two jobs of at most 10,000
    rows took every valid row, none was created one by one, and the invalid row and the copy
    are reported by line. (Its time is measured by `python -m bench --only uploads`.)"""
    leads = write_leads(tmp_path / "20000-rows.csv", 20_000)
    command = [sys.executable, "-m", "leadkit.cli", "load", "coldsend", "--sandbox"]
    command += ["--campaign-id", str(uuid.uuid4()), "--sandbox-time-scale", "1", str(leads)]
    done = run(*command, "--report", tmp_path / "report.jsonl", cwd=ROOT, timeout=900)
    assert done.returncode == 1, done.stderr  # the row without an email
    results = report(tmp_path / "report.jsonl")
    check_every_row(results, 20_000)
    jobs = Counter(r["job"] for r in results if r["outcome"] == "created")
    assert None not in jobs and sorted(jobs.values()) == [9_998, 10_000]
    assert "20,000 rows: at least 2 uploads of at most 10,000 rows" in done.stderr
    assert f"line {INVALID_AT}: invalid: required field missing @ $.email" in done.stdout

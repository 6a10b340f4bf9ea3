"""`leadkit load` stopped by Ctrl-C, SIGTERM or SIGHUP at any moment, and read by logs and pipes."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from leadkit.cli import main
from leadkit.commands import load_progress
from tests.cli_support import ROOT, sandbox_process, stored_emails
from tests.processes import run, running
from tests.waiting import wait_until

KEY = "cs_live_signals_test"
EXAMPLE = ["examples/coldsend_leads.csv"]


def _python(code: str, *args: str | Path) -> AbstractContextManager[subprocess.Popen[str]]:
    """`python -c CODE ARGS` running in a subprocess while the block lasts."""
    return running(
        sys.executable, "-c", code, *args, cwd=ROOT, env={**os.environ, "COLDSEND_API_KEY": KEY},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _leadkit(*args: str | Path) -> AbstractContextManager[subprocess.Popen[str]]:
    return _python("import sys; from leadkit.cli import main; sys.exit(main())", *args)


def _table_count(stdout: str, row: str) -> int:
    match = re.search(rf"│ {row} +│ +(\d+)", stdout)
    assert match is not None, stdout
    return int(match.group(1))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `leadkit sandbox` process with SQLite storage and slow answers; yields its root URL."""
    with sandbox_process(tmp_path_factory.mktemp("sandbox") / "leads.sqlite", "100:300") as url:
        yield url


def _write_jsonl(path: Path, n: int, width: int = 0) -> list[str]:
    """n leads, each line padded to `width` bytes when given; their e-mails."""
    emails = [f"lead{i}@signals.io" for i in range(n)]
    with path.open("w") as handle:
        for email in emails:
            line = json.dumps({"email": email, "first_name": ""})
            pad = max(width - len(line) - 1, 0)
            handle.write(json.dumps({"email": email, "first_name": "A" * pad}) + "\n")
    return emails


# a load whose sandbox sends this process `signal` just before it starts listening
_SIGNAL_AT_SANDBOX_START = """
import os, signal, sys
from leadkit.cli import main
from leadkit.sandbox.server import Sandbox
start = Sandbox.start
async def start_signalled(self):
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    await start(self)
Sandbox.start = start_signalled
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_while_the_sandbox_starts_stops_before_any_row_and_resumes(
    tmp_path: Path, name: str
) -> None:
    journal = tmp_path / "j.sqlite"
    args = ["load", "coldsend", "--sandbox", "--sandbox-time-scale", "1000"]
    args += ["--journal", str(journal), "--failures-out", str(tmp_path / "f.jsonl"), *EXAMPLE]
    with _python(_SIGNAL_AT_SANDBOX_START, name, *args) as process:
        stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert f"{name}: stopping" in stderr
    assert _table_count(stdout, "total") == 0
    assert "rows from index 0 on" in stdout
    assert "did not succeed" not in stdout  # the failures file is empty: nothing to fix
    said = " ".join(stdout.split())
    assert f"stopped by {name}" in said
    command = shlex.join(["leadkit", *args])
    hint = re.search(rf"to resume, run: {re.escape(command)} --campaign-id (\S+)$", said)
    assert hint is not None, stdout
    with _leadkit(*args, "--campaign-id", hint.group(1)) as resumed:
        stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 1, stderr  # the example's invalid rows
    assert _table_count(stdout, "created") == 194


# a load that is sent `signal` while it reads its input file's encoding
_SIGNAL_WHILE_MEASURING = """
import os, signal, sys
from leadkit.cli import main
from leadkit.bulk import inputs
scan = inputs.scan
def measure(path, given):
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    return scan(path, given)
inputs.scan = measure
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_while_the_input_is_measured_exits_1_without_a_traceback(name: str) -> None:
    with _python(_SIGNAL_WHILE_MEASURING, name, "load", "coldsend", "--sandbox", *EXAMPLE) as p:
        _, stderr = p.communicate(timeout=300)
    assert p.returncode == 1
    assert stderr == f"leadkit load: stopped by {name} before any row was read\n"


@pytest.mark.slow
def test_sigterm_with_stderr_gone_stops_in_order_and_a_rerun_loads_each_lead_once(
    sandbox: str, tmp_path: Path
) -> None:
    """`leadkit load ... 2>&1 | head -1` in a container that is then stopped: SIGTERM."""
    leads, journal = tmp_path / "leads.jsonl", tmp_path / "j.sqlite"
    emails = _write_jsonl(leads, 400)
    campaign, first, second = str(uuid.uuid4()), tmp_path / "r1.jsonl", tmp_path / "r2.jsonl"
    args = ["load", "coldsend", "--base-url", sandbox, "--campaign-id", campaign, leads]
    args += ["--rate", "1000", "--via", "single"]  # the spec's limits would take minutes
    args += ["--journal", journal, "--concurrency", "4", "--via", "single"]
    with _leadkit(*args, "--report", first) as process:
        assert process.stderr is not None
        process.stderr.close()  # the reader of stderr went away
        wait_until(
            lambda: sum(stored_emails(sandbox, campaign).values()) >= 20, "20 leads", process
        )
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=300)
    assert process.returncode == 1
    said = " ".join(stdout.split())
    assert "stopped by SIGTERM" in said
    reported = [json.loads(line) for line in first.read_text().splitlines()]
    assert len(reported) == _table_count(stdout, "total") < len(emails)
    unread = re.search(r"rows from index (\d+) on", stdout)
    assert unread is not None and int(unread.group(1)) == len(reported)

    with _leadkit(*args, "--report", second) as resumed:
        stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert stored_emails(sandbox, campaign) == dict.fromkeys(emails, 1)
    again = [json.loads(line) for line in second.read_text().splitlines()]
    assert len(again) == len(emails)
    created_first = {r["index"] for r in reported if r["outcome"] == "created"}
    assert {r["index"] for r in again if r["resumed"]} == created_first
    assert _table_count(stdout, "from the journal") == len(created_first)


def test_a_reader_that_goes_away_changes_neither_the_load_nor_its_exit_code(
    tmp_path: Path,
) -> None:
    """`leadkit load ... | true`: every row loads, the report has each, and the exit code
    says so."""
    leads, report = tmp_path / "leads.jsonl", tmp_path / "report.jsonl"
    _write_jsonl(leads, 30)
    with _leadkit("load", "coldsend", "--sandbox", leads, "--report", report) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
        assert process.wait(timeout=300) == 0
    outcomes = Counter(json.loads(line)["outcome"] for line in report.read_text().splitlines())
    assert outcomes == {"created": 30}


def test_a_log_gets_no_progress_bar(tmp_path: Path) -> None:
    leads = tmp_path / "leads.jsonl"
    _write_jsonl(leads, 30)
    with _leadkit("load", "coldsend", "--sandbox", leads, "--via", "single") as process:
        _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert stderr.startswith("sandbox: coldsend at ")
    assert "━" not in stderr  # no last frame of a bar cut to 80 columns
    assert stderr.splitlines()[1:] == [
        "reading leads.jsonl: UTF-8",
        "30 rows, 100/3 s and 1,000/180 s: within every window's budget, no wait",
    ]


def test_a_log_gets_a_plain_progress_line_now_and_then(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_progress, "LOG_PROGRESS_EVERY", 0.0)  # a line per row
    leads = tmp_path / "leads.jsonl"
    _write_jsonl(leads, 5)
    assert main(["load", "coldsend", "--sandbox", str(leads)]) == 0
    lines = capsys.readouterr().err.splitlines()[3:]  # after the sandbox's and the start's
    assert [re.sub(r", [0-9.]+ rows/s, ETA .*$", "", line) for line in lines] == [
        f"loading leads.jsonl: {n} of 5 rows (created {n})" for n in range(1, 6)
    ]


@pytest.mark.parametrize(("grace", "accepted"), [("0", True), ("nan", False)])
def test_grace_may_be_0_but_not_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], grace: str, accepted: bool
) -> None:
    leads = tmp_path / "leads.jsonl"
    leads.write_text('{"email": "x@x.io"}\n')
    argv = ["load", "breakcold", "--sandbox", f"--grace={grace}", "--dry-run", str(leads)]
    if accepted:
        assert main(argv) == 0
    else:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert "argument --grace" in capsys.readouterr().err


@pytest.mark.slow
def test_an_input_cut_short_while_it_is_read_exits_1(sandbox: str, tmp_path: Path) -> None:
    leads, campaign = tmp_path / "leads.jsonl", str(uuid.uuid4())
    _write_jsonl(leads, 4096, width=128)  # 64 lines a block: a cut falls between rows
    args = ["load", "coldsend", "--base-url", sandbox, "--campaign-id", campaign, leads]
    args += ["--rate", "1000", "--via", "single"]  # the spec's limits would take minutes
    with _leadkit(*args, "--concurrency", "2") as process:
        wait_until(lambda: sum(stored_emails(sandbox, campaign).values()) >= 5, "5 leads", process)
        with leads.open("r+") as handle:
            handle.truncate(0)
        stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr
    said = " ".join(stdout.split())
    assert f"{leads} was cut short while it was read (524288 bytes, now 0)" in said
    assert _table_count(stdout, "failed") + _table_count(stdout, "invalid") == 0


@pytest.mark.slow
def test_sigterm_stops_the_sandbox_as_ctrl_c_does(tmp_path: Path) -> None:
    with _leadkit("sandbox", "--port", "0", "--storage", tmp_path / "leads.sqlite") as process:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("leadkit sandbox on ")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert stderr == "stopped\n"


def test_a_usage_error_exits_2_when_nobody_reads_stderr(tmp_path: Path) -> None:
    with _leadkit("load", "breakcold", "--sandbox", tmp_path / "missing.csv") as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
        assert process.wait(timeout=300) == 2


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_stderr_that_cannot_be_written_does_not_stop_the_load(tmp_path: Path) -> None:
    """`2>ci.log` on a full disk: every write to stderr fails."""
    leads, report = tmp_path / "leads.jsonl", tmp_path / "report.jsonl"
    _write_jsonl(leads, 30)
    with Path("/dev/full").open("w") as full:
        result = run(
            sys.executable, "-m", "leadkit.cli", "load", "coldsend", "--sandbox", leads,
            "--report", report, cwd=ROOT, stderr=full,
        )  # fmt: skip
    assert result.returncode == 0
    assert "leadkit load coldsend: summary" in result.stdout
    assert len(report.read_text().splitlines()) == 30

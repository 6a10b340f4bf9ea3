"""`leadkit load` end to end: subprocesses against a sandbox, exit codes, kill -9 and resume."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from subprocess import PIPE

import attrs
import pytest
from aiohttp import web

from leadkit.apis.coldsend.client import ADD_LEAD
from leadkit.bulk.journal import Journal, State
from leadkit.cli import main
from leadkit.commands.load import register
from leadkit.commands.load_options import LoadOptions, UsageError, path_params
from tests.cli_support import ROOT, sandbox_process, stored_emails
from tests.processes import run, running, running_async
from tests.waiting import wait_until

KEY = "cs_live_load_test"


def _environment(env: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "COLDSEND_API_KEY": KEY, **(env or {})}


def _leadkit(*args: str | Path) -> AbstractContextManager[subprocess.Popen[str]]:
    """`leadkit ARGS` running in a subprocess while the block lasts."""
    command = (sys.executable, "-m", "leadkit.cli", *args)
    return running(*command, cwd=ROOT, env=_environment(), stdout=PIPE, stderr=PIPE)


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`leadkit ARGS` in a subprocess, to its end."""
    return run(sys.executable, "-m", "leadkit.cli", *args, cwd=ROOT, env=_environment(env))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `leadkit sandbox` process with SQLite storage; yields its root URL."""
    with sandbox_process(tmp_path_factory.mktemp("sandbox") / "leads.sqlite", "2:8") as url:
        yield url


def _load(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """`leadkit load ARGS` in this process: the exit code and stderr."""
    code = main(["load", *map(str, args)])
    return code, capsys.readouterr().err


def _table_count(stdout: str, outcome: str) -> int:
    match = re.search(rf"│ {outcome} +│ +(\d+) │", stdout)
    assert match is not None, stdout
    return int(match.group(1))


def _listed_failures(stdout: str) -> list[str]:
    """The lines printed above the summary table."""
    return stdout.split("leadkit load coldsend: summary")[0].rstrip().splitlines()


def _coldsend(sandbox: str, campaign: str, *args: str | Path) -> list[str | Path]:
    """A load by single creates (the upload path's are in test_load_uploads)."""
    return ["load", "coldsend", "--base-url", sandbox, "--campaign-id", campaign, "--rate",
            "100000", "--via", "single", *args]  # fmt: skip


def test_the_example_loads_into_the_in_process_sandbox(tmp_path: Path) -> None:
    report, failures = tmp_path / "report.jsonl", tmp_path / "failures.jsonl"
    result = _run(
        "load", "coldsend", "--sandbox", "--sandbox-time-scale", "1000",
        "examples/coldsend_leads.csv", "--report", report, "--failures-out", failures,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "leadkit load coldsend: summary" in result.stdout
    assert _table_count(result.stdout, "created") == 194
    assert _table_count(result.stdout, "skipped_duplicate") == 4
    outcomes = Counter(json.loads(line)["outcome"] for line in report.read_text().splitlines())
    assert outcomes == {"created": 194, "skipped_duplicate": 4, "invalid": 4}
    assert len(failures.read_text().splitlines()) == 4
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load", "coldsend", "examples/coldsend_leads.csv"], "coldsend needs --campaign-id"),
        (["load", "breakcold", "--strict-columns", "examples/coldsend_leads.csv"],
         "--strict-columns: columns not sent: 'Industry': not sent (no field is like it)"),
        (["load", "breakcold", "--map", "Industry=industry", "examples/coldsend_leads.csv"],
         "--map Industry=industry: 'industry' is not a field of the request"),
        (["load", "breakcold", "examples/breakcold_leads.csv"],
         "BreakcoldClient needs an API key: pass api_key=... or set BREAKCOLD_API_KEY"),
        (["load", "breakcold", "missing.csv"], "missing.csv: No such file or directory"),
        (["load", "inventory", "x.csv"], "argument api: invalid choice: 'inventory'"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = _run(*args, env={"BREAKCOLD_API_KEY": ""})
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [("empty.csv", "a CSV needs a header row"), ("empty.jsonl", "a JSONL file needs a row")],
)
def test_an_empty_file_exits_2(tmp_path: Path, name: str, message: str) -> None:
    empty = tmp_path / name
    empty.write_bytes(b"\n")
    result = _run("load", "breakcold", "--sandbox", empty)
    assert result.returncode == 2
    assert f"{name}: the file is empty: {message}" in result.stderr


def test_a_malformed_csv_reports_numbered_rows_and_loads_the_good_ones(
    sandbox: str, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(
        b"email,first_name\n"
        b"one@x.io,Ann\n"
        b'two@x.io,"Bo"b\n'
        b"three@x.io\n"
        b"four@x.io,\xc9mile\n"
        b"five@x.io,Eve\n"
        b"six@x.io,\xc3\x89mile\n"
    )
    campaign, failures = str(uuid.uuid4()), tmp_path / "failures.jsonl"
    result = _run(*_coldsend(sandbox, campaign, path, "--failures-out", failures))
    assert result.returncode == 1, result.stderr
    reasons = [json.loads(line)["_leadkit"]["reason"] for line in failures.read_text().splitlines()]
    assert sorted(reasons) == [
        "line 3: bad CSV quoting (',' expected after '\"')",
        "line 4: 1 columns, the header has 2",
        "line 5: not valid UTF-8 (byte 0xC9)",
    ]
    assert stored_emails(sandbox, campaign) == {"one@x.io": 1, "five@x.io": 1, "six@x.io": 1}
    listed = _listed_failures(result.stdout)
    assert listed == [
        "rows that did not succeed (3):",
        "  line 3: invalid: bad CSV quoting (',' expected after '\"')",
        "  line 4: invalid: 1 columns, the header has 2",
        "  line 5: invalid: not valid UTF-8 (byte 0xC9)",
    ]


def test_brackets_in_names_are_printed_as_they_are(sandbox: str, tmp_path: Path) -> None:
    """Rich would read "[/x]" as a closing tag: a crash after the whole load."""
    folder = tmp_path / "a [" / "x] b"  # its path holds "[/x]"
    folder.mkdir(parents=True)
    path, failures = folder / "leads.csv", folder / "failed.jsonl"
    path.write_text("email,first_name\n,Ann\n")
    result = _run(*_coldsend(sandbox, str(uuid.uuid4()), path, "--failures-out", failures))
    assert result.returncode == 1, result.stderr
    assert f"rows that did not succeed: {failures} (fix them and load that file)" in " ".join(
        result.stdout.split()
    )


async def test_a_hostile_fatal_error_is_printed_inert(tmp_path: Path) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"detail": "\x1b[2J[/x] go\naway \ud800"}, status=401)

    app = web.Application()
    app.router.add_post(ADD_LEAD.path, refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    path = tmp_path / "leads.csv"
    path.write_text("email\na@x.io\n")
    try:
        url, report = f"http://127.0.0.1:{runner.addresses[0][1]}", tmp_path / "report.jsonl"
        args = _coldsend(url, str(uuid.uuid4()), path, "--report", report)
        async with running_async(
            sys.executable, "-m", "leadkit.cli", *args, cwd=ROOT, env=_environment(),
            stdout=PIPE, stderr=PIPE,
        ) as process:  # fmt: skip
            async with asyncio.timeout(60):
                stdout, _ = await process.communicate()
    finally:
        await runner.cleanup()
    assert process.returncode == 1
    (stop,) = [line for line in stdout.decode().splitlines() if line.startswith("stopped")]
    assert stop.startswith("stopped after a fatal error: ")
    assert stop.endswith("[2J[/x] go away")  # no escape character, no line break, no crash
    (line,) = report.read_text(encoding="utf-8").splitlines()  # a lone surrogate, written
    assert "[/x] go\naway \ud800" in json.loads(line)["error"]


def test_without_a_failures_file_the_first_ten_bad_rows_are_listed(
    sandbox: str, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email,first_name\n" + "".join(f",Nobody{i}\n" for i in range(12)))
    result = _run(*_coldsend(sandbox, str(uuid.uuid4()), path))
    assert result.returncode == 1, result.stderr
    listed = _listed_failures(result.stdout)
    assert listed[0] == "rows that did not succeed (12):"
    assert listed[1:11] == [
        f"  line {line}: invalid: required field missing @ $.email" for line in range(2, 12)
    ]
    hint = "--failures-out FILE writes every one, with its data, to fix and load again"
    assert listed[11:] == [f"  … and 2 more; {hint}"]


def test_a_dry_run_sends_nothing(sandbox: str) -> None:
    campaign = str(uuid.uuid4())
    args = _coldsend(sandbox, campaign, "--dry-run", "--extra-columns-to", "custom_fields")
    result = _run(*args, "examples/coldsend_leads.csv")
    assert result.returncode == 1
    assert _table_count(result.stdout, "valid") == 194
    assert stored_emails(sandbox, campaign) == {}


def test_any_path_parameter_can_be_given_with_param(sandbox: str, tmp_path: Path) -> None:
    campaign, path = str(uuid.uuid4()), tmp_path / "one.jsonl"
    path.write_text('{"email": "param@x.io"}\n')
    result = _run(
        "load", "coldsend", "--base-url", sandbox, "--param", f"campaign_id={campaign}", path
    )
    assert result.returncode == 0, result.stderr
    assert stored_emails(sandbox, campaign) == {"param@x.io": 1}


def _write_leads(path: Path, n: int) -> set[str]:
    """n rows: some invalid (no e-mail), some duplicates in another case; the valid e-mails."""
    valid: set[str] = set()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "First Name", "Company"])
        for i in range(n):
            if i % 97 == 0:
                writer.writerow(["", f"Nobody{i}", "Acme"])
            elif i % 53 == 0:
                writer.writerow([f"  LEAD{i - 1}@Example.com ", "Dup", "Acme"])
                valid.add(f"lead{i - 1}@example.com")
            else:
                writer.writerow([f"lead{i}@example.com", f"Ann{i}", "Acme"])
                valid.add(f"lead{i}@example.com")
    return valid


@pytest.mark.slow
def test_a_load_killed_midway_resumes_without_losing_or_duplicating(
    sandbox: str, tmp_path: Path
) -> None:
    leads, journal = tmp_path / "leads.csv", tmp_path / "journal.sqlite"
    valid = _write_leads(leads, 5000)
    campaign = str(uuid.uuid4())
    args = _coldsend(sandbox, campaign, leads, "--journal", journal, "--concurrency", "16")
    with _leadkit(*args) as process:
        wait_until(
            lambda: sum(stored_emails(sandbox, campaign).values()) >= 1500, "1500 leads", process
        )
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    stored = stored_emails(sandbox, campaign)
    assert 1500 <= sum(stored.values()) < len(valid)

    report = tmp_path / "report.jsonl"
    resumed = _run(*args, "--report", report)
    assert resumed.returncode == 1, resumed.stderr
    stored = stored_emails(sandbox, campaign)
    assert set(stored) == valid
    assert set(stored.values()) == {1}
    results = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(results) == 5000
    outcomes = Counter(r["outcome"] for r in results)
    assert outcomes["created"] + outcomes["already_exists"] == len(valid)
    assert outcomes["invalid"] == len(range(0, 5000, 97))
    assert sum(r["resumed"] for r in results) >= 1400


@pytest.mark.slow
def test_a_stopped_sandbox_load_says_how_to_resume_with_the_campaign_it_made_up(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.sqlite"
    args = ["load", "coldsend", "--sandbox", "--rate", "20", "--journal", journal]
    args += ["--via", "single", "examples/coldsend_leads.csv"]
    with _leadkit(*args) as process:
        assert process.stderr is not None
        announced = ""
        while "path parameters" not in announced:  # "sandbox: coldsend at URL, path parameters {…}"
            announced = process.stderr.readline()
            assert announced, "the load ended before it announced its sandbox"
        found = re.search(r" at (\S+), path parameters .*'campaign_id': '([^']+)'", announced)
        assert found is not None, announced
        sandbox, campaign = found.groups()
        wait_until(lambda: len(stored_emails(sandbox, campaign)) >= 3, "3 rows sent", process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    said = " ".join(stdout.split())  # rich wraps long lines
    command = shlex.join(["leadkit", *map(str, args)])
    hint = re.search(rf"to resume, run: {re.escape(command)} --campaign-id (\S+)$", said)
    assert hint is not None, stdout
    resumed = _run(*args, "--campaign-id", hint.group(1))
    assert resumed.returncode == 1, resumed.stderr  # the example's invalid rows
    assert _table_count(resumed.stdout, "from the journal") > 0


ONE_LEAD = '{"email": "one@x.io"}\n'


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--failures-out", "leads.jsonl"], "the input file and --failures-out are the same file"),
        (["--report", "./sub/../leads.jsonl"], "the input file and --report are the same file"),
        (["--journal", "link.jsonl"], "the input file and --journal are the same file"),
        (
            ["--report", "out.jsonl", "--failures-out", "out.jsonl"],
            "--failures-out and --report are the same",
        ),
        (
            ["--report", "out.jsonl", "--journal", "sub/../out.jsonl"],
            "--report and --journal are the same file",
        ),
        (
            ["--failures-out", "out.csv"],
            "--failures-out out.csv: a CSV failures file copies a "
            "CSV input's columns; for this input name it .jsonl",
        ),
        (["--failures-out", "out.txt"], "--failures-out out.txt: name it .csv or .jsonl"),
        (["--report", "out"], "--report out: it is written as JSONL; name it .jsonl"),
    ],
)
def test_two_files_that_are_one_exit_2_before_anything_is_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("leads.jsonl").write_text(ONE_LEAD)
    Path("sub").mkdir()
    os.link("leads.jsonl", "link.jsonl")
    code, stderr = _load(capsys, "breakcold", "--sandbox", "leads.jsonl", *flags)
    assert code == 2
    assert message in stderr
    assert Path("leads.jsonl").read_text() == ONE_LEAD
    assert [p.name for p in Path().iterdir() if p.name.startswith("out")] == []


def test_a_json_array_named_jsonl_exits_2_with_how_to_convert_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.jsonl"
    leads.write_text(json.dumps([{"email": "a@x.io"}, {"email": "b@x.io"}], indent=2))
    code, stderr = _load(capsys, "breakcold", "--sandbox", leads)
    assert code == 2
    assert stderr == (
        f"leadkit load: {leads}: holds a JSON array, not one JSON object per line (JSONL); "
        f"convert it with: jq -c '.[]' {leads} > leads.lines.jsonl\n"
    )


def test_a_nan_rows_failures_file_loads_back_as_that_row_still_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads, failures = tmp_path / "leads.jsonl", tmp_path / "failures.jsonl"
    leads.write_text('{"email": "a@x.io", "contract_value": NaN}\n{"email": "b@x.io"}\n')
    assert (
        main(["load", "breakcold", "--sandbox", str(leads), "--failures-out", str(failures)]) == 1
    )
    (line,) = failures.read_text().splitlines()
    meta = json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in {line}"))
    assert meta["_leadkit"]["raw"] == '{"email": "a@x.io", "contract_value": NaN}'
    capsys.readouterr()
    assert main(["load", "breakcold", "--sandbox", str(failures)]) == 1
    assert _listed_failures(capsys.readouterr().out)[1] == (
        "  line 1: invalid: an earlier load could not send it (expected a finite "
        "number, got nan: JSON has no NaN or infinity @ $.contract_value); fix it in the "
        "source file"
    )


@pytest.mark.parametrize("flag", ["--report", "--failures-out", "--journal"])
@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("missing/out.jsonl", "No such file or directory"),
        ("leads.jsonl/out.jsonl", "Not a directory"),
        ("folder.jsonl", "Is a directory"),
    ],
)
def test_an_unwritable_output_exits_2_before_the_load_starts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    name: str,
    problem: str,
) -> None:
    scratch, leads = tmp_path / "tmp", tmp_path / "leads.jsonl"
    scratch.mkdir()
    (tmp_path / "folder.jsonl").mkdir()
    leads.write_text(ONE_LEAD)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    output = tmp_path / name
    code, stderr = _load(capsys, "breakcold", "--sandbox", leads, flag, output)
    assert code == 2
    assert stderr == f"leadkit load: cannot write {output}: {problem}\n"  # no sandbox started
    assert list(scratch.iterdir()) == []


def test_outputs_are_checked_without_touching_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads, kept = tmp_path / "leads.jsonl", tmp_path / "kept.jsonl"
    leads.write_text(ONE_LEAD)
    kept.write_text("earlier failures\n")
    code, _ = _load(capsys, "breakcold", "--sandbox", leads, "--failures-out", kept, "--report",
                    tmp_path / "new.jsonl", "--journal", tmp_path / "missing" / "j")  # fmt: skip
    assert code == 2
    assert kept.read_text() == "earlier failures\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.jsonl", "leads.jsonl"]


@pytest.mark.parametrize(
    ("api", "flags", "message"),
    [
        ("coldsend", ["--param", "campaign_id"], "--param campaign_id: expected NAME=VALUE"),
        ("coldsend", ["--param", "=x"], "--param =x: expected NAME=VALUE"),
        ("coldsend", ["--param", "campaign_id="], "--param campaign_id: the value is empty"),
        ("coldsend", ["--param", "nope=1"], "no path parameter nope (it has: campaign_id)"),
        ("breakcold", ["--campaign-id", "c"], "no path parameter campaign_id (it has: none)"),
        ("coldsend", ["--campaign-id", "c", "--param", "campaign_id=d"], "given twice"),
        ("coldsend", ["--campaign-id", ".."], "campaign_id='..' would change the request's path"),
    ],
)  # fmt: skip
def test_bad_path_parameters_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], api: str, flags: list[str], message: str
) -> None:
    leads = tmp_path / "leads.jsonl"
    leads.write_text(ONE_LEAD)
    code, stderr = _load(capsys, api, "--sandbox", leads, *flags)
    assert code == 2
    assert message in stderr


def _parse_load(*argv: str) -> LoadOptions:
    parser = argparse.ArgumentParser(prog="leadkit")
    register(parser.add_subparsers(dest="command", required=True))
    command = ["load", *argv]
    return LoadOptions.from_args(parser.parse_args(command), command)


def test_path_parameters_come_only_from_their_own_options() -> None:
    op = attrs.evolve(ADD_LEAD, path="/lists/{file}/{rate}/{api}/{campaign_id}")
    options = _parse_load("coldsend", "leads.csv", "--rate", "5", "--campaign-id", "c", "--sandbox")
    params = path_params(op, options)
    assert params["campaign_id"] == "c"
    assert all(uuid.UUID(params[name]) for name in ("file", "rate", "api"))
    with pytest.raises(UsageError, match=r"coldsend needs --param file=\.\.\."):
        path_params(op, _parse_load("coldsend", "leads.csv", "--campaign-id", "c"))


def test_repeated_extra_columns_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("email,Notes,Notes\na@x.io,one,two\n")
    code, stderr = _load(
        capsys, "breakcold", "--sandbox", "--extra-columns-to", "attributes", leads
    )
    assert code == 2
    assert "leads.csv: the header repeats a column: 'Notes', 'Notes'" in stderr


def test_a_dry_run_says_it_leaves_the_journal_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads, journal = tmp_path / "leads.jsonl", tmp_path / "load.journal"
    leads.write_text(ONE_LEAD)
    code, stderr = _load(capsys, "breakcold", "--sandbox", "--dry-run", "--journal", journal, leads)
    assert code == 0
    assert f"leadkit load: --dry-run neither reads nor writes the journal {journal}" in stderr
    assert not journal.exists()


def test_a_row_no_request_can_carry_is_invalid_and_the_load_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads, failures = tmp_path / "leads.jsonl", tmp_path / "failures.jsonl"
    leads.write_text(
        ONE_LEAD + '{"email": "b\\ud800@x.io"}\n' + "[" * 200_000 + '\n{"email": "two@x.io"}\n'
    )
    args: list[str | Path] = ["breakcold", "--sandbox", "--sandbox-time-scale", "1000", leads]
    code, _ = _load(capsys, *args, "--failures-out", failures)
    assert code == 1
    reasons = [json.loads(line)["_leadkit"]["reason"] for line in failures.read_text().splitlines()]
    assert reasons == [
        "line 2: the escape \\ud800 is half a surrogate pair, not a character",
        "line 3: nested too deeply to read",
    ]


@pytest.mark.parametrize(("flags", "outcome"), [([], "created"), (["--never-resend"], "failed")])
def test_never_resend_leaves_a_row_that_was_in_flight_alone(
    flags: list[str], outcome: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign, journal = str(uuid.uuid4()), tmp_path / "j.sqlite"
    scope = {"api": "coldsend", "operation": "add_lead", "path_params": {"campaign_id": campaign}}
    flying = Journal(journal, scope)
    flying.set("key:flying@x.io", State.SENT, position=0)
    flying.close()
    leads, report = tmp_path / "leads.jsonl", tmp_path / "report.jsonl"
    leads.write_text('{"email": "flying@x.io"}\n')
    args = ["load", "coldsend", "--sandbox", "--campaign-id", campaign, "--journal", journal]
    assert main([*map(str, args), "--report", str(report), *flags, str(leads)]) in (0, 1)
    [result] = [json.loads(line) for line in report.read_text().splitlines()]
    assert result["outcome"] == outcome

"""`leadkit load` run again: the default journal, the CSV failures file, and stopping early
on errors every row would meet (a host that cannot be reached, a server failing every row)."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadkit.bulk import NOT_SENT_REASON
from leadkit.cli import main
from leadkit.sandbox import FaultConfig, SandboxConfig
from leadkit.sandbox.server import Sandbox, running_in_thread
from tests.commands.test_load_exports import stored


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox of both APIs in a thread of its own, rate limits off; keys in the env."""
    monkeypatch.setenv("COLDSEND_API_KEY", "cs_live_reruns_test")
    monkeypatch.setenv("BREAKCOLD_API_KEY", "breakcold-usr-reruns-test")
    with running_in_thread(SandboxConfig(rate_limits=False)) as running:
        yield running


def _leads(path: Path, n: int) -> list[str]:
    emails = [f"lead{i}@reruns.example" for i in range(n)]
    path.write_text("Email,First Name,Company Name\n" + "".join(f"{e},Ann,Acme\n" for e in emails))
    return emails


def _count(stdout: str, row: str) -> int:
    match = re.search(rf"│ {row} +│ +(\d+)", stdout)
    assert match is not None, stdout
    return int(match.group(1))


@pytest.mark.parametrize("api", ["breakcold", "coldsend"])
def test_the_same_command_twice_stores_every_lead_once(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], api: str
) -> None:
    leads = tmp_path / "leads.csv"
    emails = _leads(leads, 30)
    path = ["--campaign-id", str(uuid.uuid4())] if api == "coldsend" else []
    command = ["load", api, "--base-url", sandbox.base_url(api), *path, str(leads)]
    assert main(command) == 0
    said = capsys.readouterr().err
    journal = re.search(
        r"^journal: (\S+) \(the same command run again resumes from it\)$", said, re.M
    )
    assert journal is not None and Path(journal.group(1)).is_file(), said
    assert main(command) == 0
    again = capsys.readouterr()
    assert f"journal: {journal.group(1)} " in again.err
    assert _count(again.out, "created") == 30 and _count(again.out, "from the journal") == 30
    leads_stored = Counter(lead["email"] for lead in _stored_list(sandbox, api))
    assert leads_stored == dict.fromkeys(emails, 1)


def _stored_list(sandbox: Sandbox, api: str) -> list[dict[str, object]]:
    return list(stored(sandbox, api).values()) if api == "coldsend" else _all(sandbox, api)


def _all(sandbox: Sandbox, api: str) -> list[dict[str, object]]:
    import urllib.request

    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/leads?api={api}") as response:
        leads: list[dict[str, object]] = json.load(response)
    return leads


def test_without_a_journal_breakcold_stores_a_rerun_twice(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the default journal prevents: Breakcold does not refuse a duplicate e-mail."""
    leads = tmp_path / "leads.csv"
    emails = _leads(leads, 5)
    command = ["load", "breakcold", "--base-url", sandbox.base_url("breakcold"), "--no-journal"]
    assert main([*command, str(leads)]) == 0
    assert main([*command, str(leads)]) == 0
    assert "journal" not in capsys.readouterr().err
    assert Counter(lead["email"] for lead in _all(sandbox, "breakcold")) == dict.fromkeys(emails, 2)


BROKEN = (
    "\ufeffEmail;First Name;Company;Is Company;Tags\r\n"
    'ok@x.io;Zoë;Grün AG;no;"fair;inbound"\r\n'
    'bool@x.io;José;Café Olé;maybe;"fair"\r\n'
    'quote@x.io;"Dee"x;Delta;no;\r\n'
)


def test_a_csv_failures_file_has_the_inputs_shape_and_loads_again_once_fixed(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads, failed, again = tmp_path / "leads.csv", tmp_path / "failed.csv", tmp_path / "again.csv"
    leads.write_bytes(BROKEN.encode())
    base = ["load", "breakcold", "--base-url", sandbox.base_url("breakcold")]
    assert main([*base, str(leads), "--failures-out", str(failed)]) == 1
    written = failed.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf") and b"\r\n" in written
    text = written.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text, newline=""), delimiter=";")) == [
        ["Email", "First Name", "Company", "Is Company", "Tags", "line", "error"],
        ["bool@x.io", "José", "Café Olé", "maybe", "fair", "3",
         "column 'Is Company': 'maybe' is not a boolean (true/false, yes/no or 1/0)"],
        ["", "", "", "", "", "4",
         "bad CSV quoting (';' expected after '\"'); as read: quote@x.io;\"Dee\"x;Delta;no;"],
    ]  # fmt: skip
    failed.write_bytes(written.replace(b";maybe;", b";yes;"))  # fixed in the spreadsheet
    capsys.readouterr()
    assert main([*base, str(failed), "--failures-out", str(again)]) == 1
    assert "rows that did not succeed (1):" in capsys.readouterr().out
    leads_stored = stored(sandbox, "breakcold")
    assert leads_stored["bool@x.io"]["is_company"] is True
    assert leads_stored["ok@x.io"]["first_name"] == "Zoë"
    (_, unread) = csv.reader(again.read_text(encoding="utf-8-sig").splitlines(), delimiter=";")
    assert unread[:6] == ["", "", "", "", "", "3"]
    assert unread[6].startswith("an earlier load could not read it (bad CSV quoting")


def test_a_cp1252_inputs_failures_file_is_utf8_that_excel_opens(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    leads, failed = tmp_path / "ansi.csv", tmp_path / "failed.csv"
    leads.write_bytes(
        "E-mail Address,First Name,Is Company\r\nj@x.io,José,peut-être\r\n".encode("cp1252")
    )
    base = ["load", "breakcold", "--base-url", sandbox.base_url("breakcold"), str(leads)]
    assert main([*base, "--failures-out", str(failed)]) == 1
    assert failed.read_bytes().startswith(b"\xef\xbb\xbf")
    assert (
        failed.read_text(encoding="utf-8-sig")
        .splitlines()[1]
        .startswith("j@x.io,José,peut-être,2,")
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("failure", ["refused", "tls"])
def test_a_load_to_an_unreachable_host_stops_soon_and_a_rerun_resumes(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], failure: str
) -> None:
    leads, report = tmp_path / "leads.csv", tmp_path / "report.jsonl"
    emails = _leads(leads, 500)
    base = sandbox.base_url("breakcold")
    wrong = (
        f"http://127.0.0.1:{_closed_port()}/rest"
        if failure == "refused"
        else base.replace("http://", "https://")  # TLS to a server speaking plain HTTP
    )
    started = time.monotonic()
    assert (
        main(["load", "breakcold", "--base-url", wrong, str(leads), "--report", str(report)]) == 1
    )
    assert time.monotonic() - started < 60  # five tries of each of 500 rows would take hours
    out = " ".join(capsys.readouterr().out.split())
    results = [json.loads(line) for line in report.read_text().splitlines()]
    unread = re.search(r"rows from index (\d+) on", out)
    assert unread is not None and int(unread.group(1)) == len(results) <= 8 + 3
    assert {r["outcome"] for r in results} == {"failed"}
    assert sum(r["error"] == NOT_SENT_REASON for r in results) == len(results) - sum(
        "could not" in r["error"] or "cannot connect" in r["error"] or "TLS" in r["error"]
        for r in results
    )
    assert "stopped: 3 rows in a row could not reach the server, each after its retries" in out
    assert f"to resume, run: leadkit load breakcold --base-url {wrong} {leads}" in out
    fixed = ["load", "breakcold", "--base-url", base, str(leads), "--rate", "1000"]
    assert main(fixed) == 0  # the sandbox has no limits; Breakcold's 60/min would take minutes
    assert Counter(lead["email"] for lead in _all(sandbox, "breakcold")) == dict.fromkeys(emails, 1)


def test_a_server_failing_every_row_stops_the_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKCOLD_API_KEY", "breakcold-usr-reruns-test")
    leads, report = tmp_path / "leads.csv", tmp_path / "report.jsonl"
    _leads(leads, 300)
    failing = SandboxConfig(rate_limits=False, faults=FaultConfig(error_5xx=1.0, seed=7))
    with running_in_thread(failing) as broken:
        args = ["load", "breakcold", "--base-url", broken.base_url("breakcold"), str(leads)]
        assert main([*args, "--concurrency", "2", "--report", str(report)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "stopped: 10 rows in a row got a server error and none succeeded" in out
    read = len(report.read_text().splitlines())
    assert f"rows from index {read} on" in out and read < 20

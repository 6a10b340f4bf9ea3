"""`leadkit sandbox`: every fault has a flag, and the command serves until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from leadkit.commands.sandbox import config_from_args, register
from leadkit.runtime import Window
from tests.processes import run, running_async


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="leadkit")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["sandbox", *argv])


@pytest.mark.parametrize(
    ("flag", "field"),
    [
        ("--fault-5xx", "error_5xx"),
        ("--fault-429", "rate_limit_burst"),
        ("--fault-drop-before", "drop_before"),
        ("--fault-drop-after", "drop_after"),
        ("--fault-malformed", "malformed"),
    ],
)
def test_each_fault_has_a_flag(flag: str, field: str) -> None:
    faults = config_from_args(parse(flag, "0.25", "--seed", "9")).faults
    assert getattr(faults, field) == 0.25
    assert faults.seed == 9
    assert sum(p for _, p in faults.probabilities()) == 0.25


def test_the_other_settings_have_flags(tmp_path: Path) -> None:
    config = config_from_args(
        parse(
            "--fault-latency",
            "20:80",
            "--time-scale",
            "60",
            "--storage",
            str(tmp_path / "db"),
            "--duplicates",
            "breakcold=reject",
            "--no-rate-limits",
            "--readonly-key",
            "coldsend=cs_live_ro",
            "--readonly-key",
            "coldsend=cs_live_a=b",
        )
    )
    assert config.readonly_keys == {"coldsend": frozenset({"cs_live_ro", "cs_live_a=b"})}
    assert config.faults.latency_ms == (20, 80)
    assert (config.time_scale, config.storage, config.rate_limits) == (60.0, tmp_path / "db", False)
    assert config.duplicates == {"breakcold": "reject"}


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ("--readonly-key", "cs_live_secret"),  # the spelling before API=KEY
            "argument --readonly-key: write API=VALUE: the API's name, '=', then the value",
        ),
        (("--duplicates", "breakcold=maybe"), "'breakcold=maybe': the policy is allow or reject"),
        (
            ("--breakcold-duplicates", "reject"),
            "unrecognized arguments: --breakcold-duplicates reject",
        ),
    ],
)
def test_per_api_settings_are_written_api_equals_value(
    argv: tuple[str, ...], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert said.splitlines()[-1].endswith(error)
    assert "cs_live_secret" not in said


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ("--duplicates", "nowhere=reject"),
            "leadkit sandbox: the sandbox config names nowhere, which it does not serve "
            "(it serves breakcold, coldsend)",
        ),
        (
            ("--readonly-key", "coldsend=sk_secret"),
            "leadkit sandbox: a read-only key for coldsend does not start with its key prefix "
            "'cs_live_': it would be refused with 401, not 403",
        ),
    ],
)
def test_a_setting_the_sandbox_cannot_apply_is_a_usage_error(
    argv: tuple[str, ...], error: str
) -> None:
    done = run(sys.executable, "-m", "leadkit.cli", "sandbox", "--port", "0", *argv, timeout=30)
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (2, [error], "")


def test_enforce_window_is_repeatable_and_read_with_its_unit() -> None:
    config = config_from_args(parse("--enforce-window", "20/8s", "--enforce-window", "60/1h"))
    assert config.enforce_windows == (Window(20, 8.0), Window(60, 3600.0))
    assert config_from_args(parse()).enforce_windows == ()


@pytest.mark.parametrize("text", ["60/60", "60", "0/60s", "60/0s", "0.5/60s", "60/1d", "a/b"])
def test_a_window_without_its_unit_or_impossible_is_a_usage_error(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse("--enforce-window", text)
    assert exited.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == (
        f"leadkit sandbox: error: argument --enforce-window: {text!r} is not a rate-limit window: "
        "write LIMIT/LENGTH with a unit (s, m or h), e.g. 60/60s, 100/1m, 60/1h; "
        "the limit at least 1, the length more than 0"
    )


def test_impossible_values_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse("--fault-5xx", "1.5")
    with pytest.raises(ValueError, match="add up to"):
        config_from_args(parse("--fault-5xx", "0.7", "--fault-malformed", "0.7"))


@pytest.mark.parametrize(
    ("where", "reason"),
    [("missing-directory/leads.sqlite", "there is no directory"), ("", "it is a directory")],
)
def test_an_unusable_storage_path_is_a_one_line_usage_error(
    tmp_path: Path, where: str, reason: str
) -> None:
    storage = tmp_path / where
    done = run(
        sys.executable, "-m", "leadkit.cli", "sandbox", "--port", "0", "--storage", storage,
        timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"leadkit sandbox: cannot use {storage} as SQLite storage: {reason}")
    assert done.stdout == ""


async def test_the_command_serves_faults_until_ctrl_c(tmp_path: Path) -> None:
    command = ["sandbox", "--port", "0", "--fault-drop-after", "1"]
    async with running_async(
        sys.executable, "-m", "leadkit.cli", *command, "--storage", tmp_path / "leads.sqlite",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        lead_url = f"{url}/api/public/v1/campaigns/{uuid.uuid4()}/leads/manual"
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await http.post(
                    lead_url, json={"email": "a@b.co"}, headers={"X-API-Key": "cs_live_x"}
                )
            async with http.get(url + "/_sandbox/leads?api=coldsend") as response:
                assert [lead["email"] for lead in await response.json()] == ["a@b.co"]
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            _, stderr = await process.communicate()
    assert process.returncode == 0
    assert b"Traceback" not in stderr

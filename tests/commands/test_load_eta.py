"""How long a load takes: before the first row from the windows, during it from the sends,
and a wait for a window named as such; and what `leadkit load --help` tells."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest

from leadkit.apis.breakcold.client import API as BREAKCOLD
from leadkit.apis.coldsend.client import API as COLDSEND
from leadkit.cli import main
from leadkit.commands.load_eta import Schedule, duration_text, estimate, window_text
from leadkit.commands.load_progress import Pace
from leadkit.runtime import RateLimitWait, RequestSent, Window

COLDSEND_WINDOWS = COLDSEND.rate_limit.windows if COLDSEND.rate_limit else ()
MINUTE, HOUR = COLDSEND_WINDOWS


def test_the_estimate_for_20000_coldsend_rows_is_about_20_hours() -> None:
    assert estimate(20_000, COLDSEND_WINDOWS) == "20,000 rows, 100/min and 1,000/h: about 20 h"
    assert BREAKCOLD.rate_limit is not None
    assert estimate(202, BREAKCOLD.rate_limit.windows) == "202 rows, 60/min: about 3 min 22 s"
    assert estimate(1, ()) == "1 row, no rate limit declared"


def test_rows_within_every_windows_budget_wait_for_none_and_the_estimate_says_so() -> None:
    """500 Coldsend rows outgrow the minute (100) but not the hour (1,000): the minute's pace
    alone, not the hour's 30 min; 100 rows outgrow neither."""
    assert estimate(500, COLDSEND_WINDOWS) == "500 rows, 100/min and 1,000/h: about 5 min"
    assert estimate(100, COLDSEND_WINDOWS) == (
        "100 rows, 100/min and 1,000/h: within every window's budget, no wait"
    )


@pytest.mark.parametrize(
    ("window", "text"),
    [(Window(100, 60.0), "100/min"), (Window(1000, 3600.0), "1,000/h"),
     (Window(5, 86400.0), "5/day"), (Window(60, 3.0), "60/3 s"), (Window(1, 0.05), "20/s")],
)  # fmt: skip
def test_windows_read_as_people_say_them(window: Window, text: str) -> None:
    assert window_text(window) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "under a second"), (59, "59 s"), (202, "3 min 22 s"), (72_000, "20 h"),
     (90_061, "1 day 1 h"), (200_000, "2 days 7 h")],
)  # fmt: skip
def test_durations_keep_their_two_largest_units(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_the_schedule_follows_the_limiters_rule_for_each_window() -> None:
    now = [0.0]
    schedule = Schedule([Window(2, 10.0), Window(5, 60.0)], clock=lambda: now[0])
    schedule.sent()
    now[0] = 1.0
    # one send left in the first window; then each goes when a send of 10 s before leaves it
    assert [schedule.seconds_left(n) for n in range(5)] == [0.0, 0.0, 9.0, 10.0, 19.0]
    schedule.sent()
    assert [schedule.seconds_left(n) for n in range(4)] == [0.0, 9.0, 10.0, 19.0]


def _pace(sends: int, at: float) -> tuple[Pace, list[float]]:
    """A Pace of Coldsend's windows that saw `sends` requests go out at clock time `at`."""
    now = [at]
    pace = Pace(COLDSEND_WINDOWS, clock=lambda: now[0], wall=lambda: 1_000_000.0 + now[0])
    for _ in range(sends):
        pace.hook(RequestSent(operation="POST /x", attempt=1, url="http://x"))
    return pace, now


def test_a_wait_for_a_full_window_is_named_with_when_sending_resumes() -> None:
    pace, _ = _pace(100, at=0.0)
    assert pace.status(19_900, None) == "ETA 19 h"  # 900 left this hour, then 19 windows
    pace.hook(RateLimitWait(operation="POST /x", delay=60.0, kind="window", window=MINUTE,
                            reason="pacing to the window of 100 per 60s"))  # fmt: skip
    resumes = time.strftime("%H:%M:%S", time.localtime(1_000_060.0))
    assert pace.status(19_900, None) == f"waiting for the 100/min window, resumes {resumes}"
    pace.hook(RequestSent(operation="POST /x", attempt=1, url="http://x"))
    assert pace.status(19_899, None).startswith("ETA ")

    pace, _ = _pace(1000, at=0.0)
    pace.hook(RateLimitWait(operation="POST /x", delay=3000.0, kind="window", window=HOUR,
                            reason="pacing to the window of 1000 per 3600s"))  # fmt: skip
    resumes = time.strftime("%H:%M", time.localtime(1_003_000.0))
    assert pace.status(19_000, None) == f"waiting for the 1,000/h window, resumes {resumes}"


def test_a_wait_for_the_servers_budget_is_named_as_the_window_its_headers_describe() -> None:
    pace, _ = _pace(700, at=0.0)
    reason = "X-RateLimit-Remaining=0, reset in 3e+03s"
    pace.hook(RateLimitWait(operation="POST /x", delay=3000.0, kind="budget", window=HOUR,
                            reason=reason))  # fmt: skip
    resumes = time.strftime("%H:%M", time.localtime(1_003_000.0))
    assert pace.status(19_300, None) == f"waiting for the 1,000/h window, resumes {resumes}"
    pace, _ = _pace(700, at=0.0)
    pace.hook(RateLimitWait(operation="POST /x", delay=3000.0, kind="budget", reason=reason))
    assert pace.status(19_300, None).startswith("waiting for the server's rate limit, resumes ")


def test_short_waits_are_pacing_and_a_pause_the_server_asked_for_says_why() -> None:
    pace, _ = _pace(10, at=0.0)
    pace.hook(RateLimitWait(operation="POST /x", delay=0.5, kind="window", window=MINUTE,
                            reason="pacing to the window of 100 per 60s"))  # fmt: skip
    assert pace.status(100, None).startswith("ETA ")
    pace.hook(RateLimitWait(operation="POST /x", delay=30.0, kind="pause", reason="429 on POST /x"))
    assert pace.status(100, None).startswith(
        "waiting for the server's rate limit (429 on POST /x), resumes "
    )
    without = Pace(())
    assert without.status(100, 42.0) == "ETA 42 s" and without.status(100, None) == ""


def test_a_dry_run_of_20000_rows_prints_the_least_time_before_the_first_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLDSEND_API_KEY", "cs_live_eta_test")
    leads = tmp_path / "leads.csv"
    leads.write_text("email\n" + "".join(f"l{i}@eta.example\n" for i in range(20_000)))
    args = ["load", "coldsend", "--campaign-id", str(uuid.uuid4()), "--dry-run", str(leads)]
    assert main([*args, "--via", "single"]) == 0
    assert "20,000 rows, 100/min and 1,000/h: about 20 h\n" in capsys.readouterr().err
    assert main(args) == 0  # --via auto: by upload
    said = "20,000 rows: at least 2 uploads of at most 10,000 rows and 50 MiB, each a job"
    assert said in capsys.readouterr().err


@pytest.mark.slow
def test_the_progress_line_names_the_window_the_load_waits_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Coldsend's windows 120 times faster: 100 per 0.5 s and 1,000 per 30 s. The first 1,000
    rows go out in 5 s and some (however loaded the machine); the rest wait for the hourly
    (here 30 s) window."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(f'{{"email": "w{i}@eta.example"}}\n' for i in range(1_010)))
    args = ["load", "coldsend", "--sandbox", "--sandbox-time-scale", "120", "--via", "single"]
    assert main([*args, str(leads)]) == 0
    lines = capsys.readouterr().err.splitlines()
    waiting = [line for line in lines if "waiting for" in line]
    progress = r"loading leads\.jsonl: [\d,]+ of 1,010 rows \(created [\d]+\), [\d.]+ rows/s, "
    window = progress + r"waiting for the 1,000/30 s window, resumes \d\d:\d\d:\d\d"
    budget = progress + (  # the server's Remaining runs out with the same hourly window
        r"waiting for the server's rate limit \(X-RateLimit-Remaining=\d+, reset in [\d.]+s\), "
        r"resumes \d\d:\d\d:\d\d"
    )
    assert any(re.fullmatch(window, line) for line in waiting), waiting
    for line in waiting:  # no wait of 2 s or more can be for the window of 0.5 s
        assert re.fullmatch(window, line) or re.fullmatch(budget, line), waiting


def test_help_says_where_the_key_and_the_campaign_id_come_from_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["load", "--help"])
    assert exited.value.code == 0
    said = capsys.readouterr().out
    for api in (BREAKCOLD, COLDSEND):
        assert re.search(rf"^  {api.name} +{api.auth.env_var}", said, re.M), said
    assert "  coldsend   COLDSEND_API_KEY; needs --campaign-id" in said
    assert "--campaign-id is campaign_id in the create operation's path" in said
    assert "  export COLDSEND_API_KEY=...\n" in said
    assert re.search(r"^  leadkit load coldsend --campaign-id [0-9a-f-]{36} leads\.csv", said, re.M)

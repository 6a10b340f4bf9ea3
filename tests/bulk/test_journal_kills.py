"""kill -9 in each window the journal's group commit opens; a rerun loses and duplicates nothing.

A child process (``python -m tests.bulk.test_journal_kills ...``) loads rows into a sandbox
process with a journal file and kills itself with SIGKILL at a chosen event: the first
request about to go (its group commit is made, no row of it is sent), or the n-th
response (results made since the last commit are lost). The rerun, in this process,
reads the same journal; the sandbox's stored leads say what was created and how often.
Breakcold declares no conflict status: a row sent twice is stored twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadkit.apis.breakcold.client import CREATE_LEAD, BreakcoldClient
from leadkit.apis.coldsend.client import ADD_LEAD, ColdsendClient
from leadkit.bulk import IN_FLIGHT_REASON, Outcome, RowResult, bulk_create
from leadkit.runtime.client import BaseClient
from leadkit.runtime.events import Event
from tests.cli_support import ROOT, sandbox_process

N = 400
CONCURRENCY = 16


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sandbox_process(tmp_path_factory.mktemp("sandbox") / "leads.sqlite", "2:8") as url:
        yield url


def _client(api: str, url: str, **options: Any) -> BaseClient:
    if api == "coldsend":
        return ColdsendClient(api_key="cs_live_kill", base_url=url, rate_limit=False, **options)
    rest = url + "/rest"  # the path of Breakcold's server URL
    return BreakcoldClient(api_key="bc_kill", base_url=rest, rate_limit=False, **options)


def _run(client: BaseClient, api: str, emails: list[str], journal: Path, campaign: str) -> Any:
    op, params = (ADD_LEAD, {"campaign_id": campaign}) if api == "coldsend" else (CREATE_LEAD, {})
    rows = [{"email": email} for email in emails]
    return bulk_create(
        client, op, rows, path_params=params, journal=journal, concurrency=CONCURRENCY
    )


async def _load_until_killed(
    api: str, url: str, journal: Path, campaign: str, emails: list[str], event: str, nth: int
) -> None:
    """The child: load `emails`, and kill -9 this process at the `nth` event named `event`."""
    seen = 0

    def hook(happened: Event) -> None:
        nonlocal seen
        seen += type(happened).__name__ == event
        if seen == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    async with _client(api, url, event_hooks=[hook]) as client:
        async for _ in _run(client, api, emails, journal, campaign):
            pass


def _killed_load(
    api: str, sandbox: str, journal: Path, campaign: str, emails: list[str], at: str
) -> None:
    args = [api, sandbox, str(journal), campaign, json.dumps(emails), at]
    module = "tests.bulk.test_journal_kills"
    child = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT)
    try:
        assert child.wait(timeout=120) == -signal.SIGKILL, "the load ended before its kill"
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


async def _rerun(api: str, sandbox: str, journal: Path, campaign: str, emails: list[str]) -> Any:
    async with _client(api, sandbox) as client:
        return [r async for r in _run(client, api, emails, journal, campaign)]


def _stored(sandbox: str, api: str, emails: list[str]) -> Counter[str]:
    """How many times the sandbox stored each of `emails` (in any campaign: they are new)."""
    with urllib.request.urlopen(f"{sandbox}/_sandbox/leads?api={api}") as response:
        leads = json.load(response)
    wanted = set(emails)
    return Counter(lead["email"] for lead in leads if lead.get("email") in wanted)


def _emails() -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"kill{run}-{i}@example.com" for i in range(N)]


def _by_email(results: list[RowResult], emails: list[str]) -> dict[str, RowResult]:
    assert sorted(r.index for r in results) == list(range(len(emails))), "one result per row"
    return {emails[r.index]: r for r in results}


async def test_a_kill_after_a_group_commit_before_its_sends_resends_none_of_them(
    sandbox: str, tmp_path: Path
) -> None:
    emails, journal = _emails(), tmp_path / "j.sqlite"
    _killed_load("breakcold", sandbox, journal, "", emails, "RequestSent:1")
    assert _stored(sandbox, "breakcold", emails) == Counter(), "the kill came before any send"
    results = _by_email(await _rerun("breakcold", sandbox, journal, "", emails), emails)
    stored = _stored(sandbox, "breakcold", emails)
    assert set(stored.values()) == {1}, "no row was sent twice"
    in_flight = {e for e, r in results.items() if r.error == IN_FLIGHT_REASON}
    assert 1 <= len(in_flight) <= CONCURRENCY, "the rows of the group read as in flight"
    assert not in_flight & set(stored), "they were marked sent, never sent, and not resent"
    created = {e for e, r in results.items() if r.outcome is Outcome.CREATED}
    assert created == set(stored) == set(emails) - in_flight, "the others, once each"


@pytest.mark.parametrize("nth", [150, 300])
async def test_a_kill_with_results_uncommitted_resends_them_safely_where_a_conflict_is_trusted(
    sandbox: str, tmp_path: Path, nth: int
) -> None:
    emails, journal, campaign = _emails(), tmp_path / "j.sqlite", str(uuid.uuid4())
    _killed_load("coldsend", sandbox, journal, campaign, emails, f"ResponseReceived:{nth}")
    before = _stored(sandbox, "coldsend", emails)
    assert nth <= sum(before.values()) < N
    results = _by_email(await _rerun("coldsend", sandbox, journal, campaign, emails), emails)
    stored = _stored(sandbox, "coldsend", emails)
    assert set(stored) == set(emails) and set(stored.values()) == {1}
    outcomes = Counter(r.outcome for r in results.values())
    assert outcomes[Outcome.CREATED] + outcomes[Outcome.ALREADY_EXISTS] == N
    lost = {e for e, r in results.items() if r.outcome is Outcome.ALREADY_EXISTS}
    assert lost, "the kill lost a result: that row was sent again and the server said it exists"
    assert lost <= set(before), "only rows created before the kill read as already existing"


async def test_a_kill_with_results_uncommitted_reports_them_as_in_flight_without_a_conflict(
    sandbox: str, tmp_path: Path
) -> None:
    emails, journal = _emails(), tmp_path / "j.sqlite"
    _killed_load("breakcold", sandbox, journal, "", emails, "ResponseReceived:200")
    before = _stored(sandbox, "breakcold", emails)
    results = _by_email(await _rerun("breakcold", sandbox, journal, "", emails), emails)
    stored = _stored(sandbox, "breakcold", emails)
    assert set(stored.values()) == {1}, "no row was sent twice"
    in_flight = {e for e, r in results.items() if r.error == IN_FLIGHT_REASON}
    done = {e for e, r in results.items() if r.outcome is Outcome.CREATED}
    assert in_flight | done == set(emails) and not in_flight & done, "every row accounted for"
    assert done <= set(stored), "a row reported created is stored"
    assert set(stored) - done <= in_flight & set(before), (
        "a stored row not reported created was sent before the kill and is reported in flight"
    )
    assert in_flight & set(before), "the kill lost a result: that row reads as in flight"


if __name__ == "__main__":
    api, url, journal, campaign, emails, at = sys.argv[1:]
    event, nth = at.split(":")
    asyncio.run(
        _load_until_killed(api, url, Path(journal), campaign, json.loads(emails), event, int(nth))
    )

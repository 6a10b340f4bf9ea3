"""The journal keeps each key's state across runs, commits in batches, refuses another load's."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from leadkit.bulk import journal as journal_module
from leadkit.bulk.journal import Entry, Journal, JournalError, State
from tests.processes import run

SCOPE = {"api": "coldsend", "operation": "add_lead", "path_params": {"campaign_id": "c1"}}


def test_states_survive_reopening_and_runs_are_numbered(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    first = Journal(path, SCOPE)
    first.set("key:a", State.SENT, position=0)
    first.set("key:b", State.CREATED, position=1)
    first.close()
    second = Journal(path, SCOPE)
    assert second.run == 2
    assert second.get("key:a") == Entry(State.SENT, 1, None)
    assert second.get("key:b") == Entry(State.CREATED, 1, None)
    assert second.get("key:c") is None
    second.close()


def test_a_journal_of_another_load_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path, SCOPE).close()
    other = {**SCOPE, "path_params": {"campaign_id": "c2"}}
    with pytest.raises(JournalError, match="was written for another load"):
        Journal(path, other)


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not SQLite\n" * 100)
    with pytest.raises(JournalError, match="not a usable journal"):
        Journal(path, SCOPE)


def _killed_after(path: Path, code: str) -> list[tuple[str, str]]:
    """Run `code` with an open journal `j` at `path`, then kill -9 the process; the
    (key, state) rows the file holds afterwards."""
    script = (
        "import os, signal, sys; from leadkit.bulk.journal import Journal, State\n"
        f"j = Journal(sys.argv[1], {SCOPE!r})\n{code}\n"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = run(sys.executable, "-c", script, path)
    assert done.returncode == -signal.SIGKILL, done.stderr
    reader = sqlite3.connect(path)
    rows = reader.execute("SELECT key, state FROM rows ORDER BY key").fetchall()
    reader.close()
    return rows


def test_a_kill_keeps_what_was_committed_and_loses_what_was_not(tmp_path: Path) -> None:
    code = (
        "j.set('key:a', State.SENT, position=0); j.commit()\n"
        "j.set('key:a', State.CREATED, position=0); j.claim('key:b', position=1)"
    )
    assert _killed_after(tmp_path / "j.sqlite", code) == [("key:a", "sent")]


def test_a_full_batch_commits_itself(tmp_path: Path) -> None:
    batch = journal_module._BATCH
    code = f"for i in range({batch + 3}): j.claim(f'key:{{i:05}}', position=i)"
    rows = _killed_after(tmp_path / "j.sqlite", code)
    assert rows == [(f"key:{i:05}", "queued") for i in range(batch)]


def _commits(journal: Journal) -> list[str]:
    """Every COMMIT the journal's connection executes from now on, as SQLite traces it."""
    statements: list[str] = []
    journal._db.set_trace_callback(statements.append)
    return statements


async def test_rows_waiting_in_one_turn_of_the_loop_share_one_commit(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite", SCOPE)
    traced = _commits(journal)

    async def mark(i: int) -> None:
        journal.set(f"key:{i}", State.SENT, position=i)
        await journal.committed()

    await asyncio.gather(*(mark(i) for i in range(5)))
    assert traced.count("COMMIT") == 1
    await journal.committed()  # nothing written since: nothing to wait for
    assert traced.count("COMMIT") == 1
    await mark(5)
    assert traced.count("COMMIT") == 2
    journal.close()
    reopened = Journal(tmp_path / "j.sqlite", SCOPE)
    assert [reopened.get(f"key:{i}") for i in range(6)] == [Entry(State.SENT, 1, None)] * 6
    reopened.close()


async def test_writes_nobody_waits_for_are_committed_by_a_timer(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite", SCOPE)
    traced = _commits(journal)
    journal.set("key:a", State.CREATED, position=0)
    assert traced.count("COMMIT") == 0
    await asyncio.sleep(journal_module._DELAY * 3)  # the timer was set to fire before this
    assert traced.count("COMMIT") == 1
    journal.close()


def test_one_run_at_a_time_uses_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    first = Journal(path, SCOPE)
    with pytest.raises(JournalError, match="in use by another run"):
        Journal(path, SCOPE)
    first.close()
    second = Journal(path, SCOPE)
    assert second.run == 2, "the refused run left no trace"
    second.close()


def test_claim_records_a_new_key_and_returns_a_known_keys_entry(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, SCOPE)
    assert journal.claim("key:a", position=3) is None
    assert journal.get("key:a") == Entry(State.QUEUED, 1, None)
    journal.set("key:a", State.CREATED, position=3)
    assert journal.claim("key:a", position=9) == Entry(State.CREATED, 1, None)
    assert journal.get("key:a") == Entry(State.CREATED, 1, None), "a claim changes nothing"
    journal.close()


async def test_a_full_disk_fails_the_rows_waiting_for_a_commit_and_every_later_write(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite", SCOPE)
    (pages,) = journal._db.execute("PRAGMA page_count").fetchone()
    journal._db.execute(f"PRAGMA max_page_count={pages}")  # the file may not grow: disk full

    async def mark(key: str, reason: str | None) -> None:
        journal.set(key, State.SENT, position=0, reason=reason)
        await journal.committed()

    waiting = asyncio.create_task(mark("key:a", None))
    await asyncio.sleep(0)  # it waits for the group commit
    with pytest.raises(JournalError, match=r"j\.sqlite: cannot write the journal .*full"):
        await mark("key:b", "x" * 100_000)  # more than the file may hold
    with pytest.raises(JournalError, match="cannot write the journal"):
        await waiting
    with pytest.raises(JournalError, match="cannot write the journal"):
        journal.claim("key:c", position=2)
    journal.close()

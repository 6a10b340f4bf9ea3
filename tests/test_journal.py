"""The journal keeps each key's state across runs and refuses another load's file."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

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


def test_a_temporary_journal_is_deleted_on_close() -> None:
    journal = Journal(None, SCOPE)
    journal.set("key:a", State.QUEUED, position=0)
    assert journal.path.exists()
    journal.close()
    assert not journal.path.exists()


def test_records_are_committed_when_set_returns(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    killed = (  # as kill -9 would: the process ends with the journal still open
        "import os, sys; from leadkit.bulk.journal import Journal, State\n"
        f"j = Journal(sys.argv[1], {SCOPE!r}); j.set('key:a', State.SENT, position=7)\n"
        "os._exit(0)"
    )
    run(sys.executable, "-c", killed, path, check=True)
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT state, position FROM rows").fetchall() == [("sent", 7)]
    reader.close()


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


def test_a_temporary_journal_sees_every_claim_across_its_batches() -> None:
    journal = Journal(None, SCOPE)
    keys = [f"key:{i}" for i in range(2_500)]  # more than two commit batches
    assert all(journal.claim(key, position=i) is None for i, key in enumerate(keys))
    again = [journal.claim(key, position=0) for key in keys]
    assert all(entry == Entry(State.QUEUED, 1, None) for entry in again)
    journal.close()
    assert not journal.path.exists()

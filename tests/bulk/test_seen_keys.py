"""A run without a journal file de-duplicates exactly, in flat memory: a Bloom filter, then a
look-up where the keys were kept (memory, then a temporary file)."""

from __future__ import annotations

import glob
import os
import tempfile

from leadkit.bulk.journal import Entry, State
from leadkit.bulk.seen import SeenKeys


def _seen_files() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "leadkit-seen-*")))


def test_repeats_far_apart_are_caught_and_false_positives_skip_nothing() -> None:
    before = _seen_files()
    seen = SeenKeys(expected=1_000, batch=500)  # a small filter: most new keys hit it
    n = 50_000
    assert all(seen.claim(f"key:lead{i}@x.io", position=i) is None for i in range(n)), (
        "a filter hit on a key never seen must not count it as seen"
    )
    assert seen.lookups > n // 2, "the filter was too large to test its false positives"
    (spilled,) = _seen_files() - before
    first = seen.claim("key:lead0@x.io", position=n, line=7)  # 50,000 rows after the first
    assert first == Entry(State.QUEUED, 1, None)
    assert (first.position, first.line) == (0, None)
    last = seen.claim(f"key:lead{n - 1}@x.io", position=n + 1)  # still in memory
    assert last is not None and last.position == n - 1
    seen.close()
    assert not os.path.exists(spilled)


def test_a_failed_row_is_remembered_with_its_reason_after_it_was_moved_to_the_file() -> None:
    seen = SeenKeys(expected=100, batch=10)
    seen.claim("key:a", position=0, line=2)
    seen.set("key:a", State.SENT, position=0, line=2)
    assert seen.claim("key:a", position=1) == Entry(State.QUEUED, 1, None), "sent: not kept"
    seen.set("key:a", State.UNKNOWN, position=0, line=2, reason="timed out")
    for i in range(25):  # two batches: key:a goes to the file
        seen.claim(f"key:{i}", position=i + 3)
    entry = seen.claim("key:a", position=99)
    assert entry == Entry(State.UNKNOWN, 1, "timed out")
    assert (entry.position, entry.line) == (0, 2)
    seen.close()


def test_a_run_that_never_fills_a_batch_writes_no_file() -> None:
    before = _seen_files()
    seen = SeenKeys()
    assert [seen.claim(key, position=0) for key in ("key:a", "key:b")] == [None, None]
    assert seen.claim("key:a", position=2) == Entry(State.QUEUED, 1, None)
    assert _seen_files() == before
    seen.close()

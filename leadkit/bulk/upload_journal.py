"""The journal of an upload load: the row journal, plus each chunk and the job that took it.

Before a chunk is uploaded, its rows are marked ``sent`` and listed with the chunk (each with
its place in the chunk's file), and that is committed; once the upload is answered, the
job's id is committed with the chunk. So after ``kill -9``:

* a chunk with a job id is not uploaded again: the rerun polls the job to its end and writes
  each row's outcome (`resolve`, keeping the run that sent it), then reads the input, where
  those rows are resumed like any other;
* a chunk without one (killed before the answer, or the answer lost) is `lost`: its rows
  read as ``sent`` by an earlier run and are uploaded again, which is safe because the
  upload counts a repeated row (by its x-dedupe key) as a duplicate instead of storing it
  twice.

The tables live in the same file as the rows, so the same journal serves a load by upload
and one by single creates (which does not read them).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .chunks import Spooled
from .journal import Journal, State, _storable

__all__ = ["EarlierChunk", "UploadJournal"]

_TABLES = """
CREATE TABLE IF NOT EXISTS chunks (id INTEGER PRIMARY KEY, run INTEGER NOT NULL, job TEXT,
    state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_rows (key TEXT PRIMARY KEY, chunk INTEGER NOT NULL,
    position INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunk_rows_of_chunk ON chunk_rows (chunk, position);
"""
_UPLOADING, _DONE, _LOST = "uploading", "done", "lost"


@attrs.frozen
class EarlierChunk:
    """A chunk an earlier run sent and did not see to its end."""

    id: int
    run: int
    job: str | None
    """The id of its job; None when the upload's answer never came."""


class UploadJournal(Journal):
    """A `Journal` that also records the chunks of an upload load (see the module)."""

    def _open(self, scope: str) -> int:
        run = super()._open(scope)
        for statement in filter(str.strip, _TABLES.split(";")):
            self._db.execute(statement)
        return run

    def begin(self, rows: Iterable[Spooled]) -> int:
        """Mark the rows of a chunk sent and list them with it, committed: the chunk's id."""
        (last,) = self._db.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()
        chunk = int(last) + 1
        self._write("INSERT INTO chunks VALUES (?, ?, NULL, ?)", (chunk, self.run, _UPLOADING))
        for row in rows:
            self.set(row.journal_key, State.SENT, position=row.index, line=row.line)
            self._write(
                "INSERT OR REPLACE INTO chunk_rows VALUES (?, ?, ?)",
                (row.journal_key, chunk, row.position),
            )
        self.commit()
        return chunk

    def accepted(self, chunk: int, job: str) -> None:
        """The upload of `chunk` started `job`: committed at once."""
        self._write("UPDATE chunks SET job = ? WHERE id = ?", (job, chunk))
        self.commit()

    def done(self, chunk: int) -> None:
        """Every row of `chunk` has its outcome written."""
        self._write("UPDATE chunks SET state = ? WHERE id = ?", (_DONE, chunk))

    def lost(self, chunk: int) -> None:
        """Nothing is known of `chunk`'s job: its rows are uploaded again."""
        self._write("UPDATE chunks SET state = ? WHERE id = ?", (_LOST, chunk))

    def earlier(self) -> list[EarlierChunk]:
        """The chunks earlier runs sent and did not see to their end, oldest first."""
        found = self._db.execute(
            "SELECT id, run, job FROM chunks WHERE state = ? AND run < ? ORDER BY id",
            (_UPLOADING, self.run),
        )
        return [EarlierChunk(*row) for row in found]

    def rows_of(self, chunk: int) -> list[tuple[str, int]]:
        """(journal key, place in the file) of the rows `chunk` still holds, in file order."""
        found = self._db.execute(
            "SELECT key, position FROM chunk_rows WHERE chunk = ? ORDER BY position", (chunk,)
        )
        return [(str(key), int(position)) for key, position in found]

    def resolve(self, key: str, state: State, reason: str | None) -> None:
        """Write the outcome an earlier run's job gave a row, as of the run that sent it."""
        self._write(
            "UPDATE rows SET state = ?, reason = ? WHERE key = ?",
            (state.value, _storable(reason), key),
        )

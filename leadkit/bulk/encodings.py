"""Which text encoding a file is in, decided once before its first row is read.

A file that is UTF-8 (with or without a byte-order mark) or UTF-16 with one is read as such.
Any other is given to charset-normalizer, first to choose among the code pages spreadsheets
save "CSV" in (`PREFERRED`), then, if none of them reads it without mess, among all the
encodings it knows; the file is read whole in the first encoding proposed in which every
byte of it decodes: so a file is never read half in one encoding. (Asked among all at once,
charset-normalizer reads a line or two of French as Big5.) Where it finds encodings equally
likely (Windows-1250 and Windows-1252 often are, for a few names), the one that reads more
of the file's other-than-ASCII characters as letters is taken (``Łukasz`` rather than
``£ukasz``), then the first of them in `PREFERRED` (``Núñez`` rather than ``Núńez``).

A file with any line in UTF-8 beyond ASCII is UTF-8 even if other lines are not (a file put
together from two sources): those lines are rows of their own, reported invalid, rather than
every UTF-8 row read wrong and sent so.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

import attrs

__all__ = ["PREFERRED", "EncodingError", "FileEncoding", "scan"]

PREFERRED = ("cp1252", "cp1250", "cp1251", "mac_roman", "cp850")
"""The code pages Excel saves "CSV" in (Windows' Western, Central European and Cyrillic, then
the Mac's and DOS's), asked about first; among encodings equally likely, the first of these."""
SAMPLE_BYTES = 64 * 1024
"""charset-normalizer is shown up to this much of the lines that are not ASCII."""
_CHUNK = 1024 * 1024
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class EncodingError(ValueError):
    """The file cannot be read in one encoding (or the one given); nothing was read."""


@attrs.frozen
class FileEncoding:
    """How a file's bytes become text."""

    codec: str
    """The Python codec that reads it (``utf-8-sig`` skips a UTF-8 byte-order mark)."""
    how: str
    """How it was chosen: "given", "byte-order mark", "UTF-8", "ASCII", "charset-normalizer"."""
    bom: bool = False
    bad_lines: tuple[int, ...] = ()
    """Lines that are not valid in it (a UTF-8 file with a few broken lines): invalid rows."""

    @property
    def name(self) -> str:
        """The encoding's usual name: UTF-8, UTF-16, cp1252, ..."""
        canonical = codecs.lookup(self.codec).name
        return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16"}.get(
            canonical, canonical
        )

    def describe(self) -> str:
        """What to print: ``cp1252 (found by charset-normalizer; --encoding NAME to read ...)``."""
        text = f"{self.name} with a byte-order mark" if self.bom else self.name
        if self.how == "charset-normalizer":
            text += " (found by charset-normalizer; --encoding NAME reads it as another)"
        elif self.how == "given":
            text += " (--encoding)"
        if self.bad_lines:
            shown = ", ".join(map(str, self.bad_lines[:5]))
            more = " ..." if len(self.bad_lines) > 5 else ""
            count = len(self.bad_lines)
            lines = "1 line is" if count == 1 else f"{count} lines are"
            text += f"; {lines} not valid {self.name} (line {shown}{more}): invalid rows"
        return text


@attrs.define
class _Survey:
    """What one pass over a file's lines found."""

    nonblank: int = 0
    utf8_lines: int = 0
    bad_lines: list[int] = attrs.Factory(list)
    sample: bytearray = attrs.Factory(bytearray)


def scan(path: Path, given: str | None = None) -> tuple[FileEncoding, int]:
    """The encoding of the file at `path` (`given` names one) and its number of non-blank
    lines; EncodingError when it cannot be read whole in one, OSError when not at all."""
    with path.open("rb") as handle:
        start = handle.read(4)
        handle.seek(0)
        survey = _survey(handle)
    if given is not None:
        return _given(path, given), survey.nonblank
    if start.startswith(_UTF16_BOMS):
        return FileEncoding("utf-16", "byte-order mark", bom=True), survey.nonblank
    bom = start.startswith(codecs.BOM_UTF8)
    bad = tuple(survey.bad_lines)
    if bom or not bad or survey.utf8_lines:
        how = "byte-order mark" if bom else "UTF-8" if survey.utf8_lines or bad else "ASCII"
        return FileEncoding("utf-8-sig", how, bom=bom, bad_lines=bad), survey.nonblank
    return _detected(path, bytes(survey.sample)), survey.nonblank


def _survey(handle: Iterator[bytes]) -> _Survey:
    """Count non-blank lines, and the lines that are UTF-8 beyond ASCII and those that are not
    UTF-8 at all; keep a sample of the lines that are not ASCII."""
    survey = _Survey()
    for number, line in enumerate(handle, start=1):
        if line.strip():
            survey.nonblank += 1
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            survey.bad_lines.append(number)
        else:
            survey.utf8_lines += number > 1 or not line.startswith(codecs.BOM_UTF8)
        if len(survey.sample) < SAMPLE_BYTES:
            survey.sample += line
    return survey


def _given(path: Path, name: str) -> FileEncoding:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise EncodingError(f"--encoding {name}: Python knows no such encoding") from None
    if (line := _first_undecodable(path, codec)) is not None:
        raise EncodingError(f"line {line} is not {name}: a byte there has no meaning in it")
    return FileEncoding(codec, "given")


def _detected(path: Path, sample: bytes) -> FileEncoding:
    """The first encoding charset-normalizer proposes in which the whole file decodes."""
    for codec in dict.fromkeys(_candidates(sample)):  # each tried once, lazily
        if _first_undecodable(path, codec) is None:
            return FileEncoding(codec, "charset-normalizer")
    raise EncodingError(
        "its encoding could not be found: no encoding charset-normalizer proposes reads every "
        "byte; give it with --encoding NAME (Excel's CSV: cp1252), or save it as CSV UTF-8"
    )


def _candidates(sample: bytes) -> Iterator[str]:
    """charset-normalizer's encodings for `sample`, best first: among PREFERRED, then among
    all; the best equally likely ones (and those that read it the same) ordered by the share
    of letters they read, then by PREFERRED."""
    from charset_normalizer import from_bytes  # imported on use: only legacy files need it

    for isolation in (list(PREFERRED), None):
        matches = list(from_bytes(sample, cp_isolation=isolation))
        if not matches:
            continue
        best = matches[0]
        tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        alike = dict.fromkeys(name for m in tied for name in [m.encoding, *m.could_be_from_charset])
        order = PREFERRED.index
        yield from sorted(
            alike,
            key=lambda name: (-_letters(sample, name), order(name) if name in PREFERRED else 99),
        )
        yield from (m.encoding for m in matches)


def _letters(sample: bytes, codec: str) -> float:
    """The share of letters among the characters beyond ASCII that `codec` reads `sample` as."""
    beyond = [c for c in sample.decode(codec, errors="replace") if ord(c) > 127]
    return sum(c.isalpha() for c in beyond) / len(beyond) if beyond else 1.0


def _first_undecodable(path: Path, codec: str) -> int | None:
    """The line of the first byte that `codec` cannot decode, or None when every byte can."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = 1
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + chunk.count(b"\n", 0, exc.start)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines
    return None

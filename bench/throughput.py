"""Throughput and client CPU per request: N creates against the local server, W in flight.

Each contender runs in a client process of its own (`bench.clients`), the server in another,
so that each process's CPU time is its own: the client's user and system CPU per request is
steadier than req/s on a shared machine. Rounds interleave the contenders.

(a'), a user's minimal hand-written aiohttp loop that serialises each row and decodes each
answer, is the baseline; (a), the same pool posting pre-serialised JSON and reading
nothing, is this machine's limit for the job; (b) is our bulk helper through the generated
client, without a journal and with a journal file; (c) openapi-python-client (httpx);
(d) openapi-generator's python client with the asyncio library. uvloop speeds both sides,
so its rows are a scenario of their own with (a') on uvloop as their baseline.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import attrs

from .clients import WORKERS
from .harness import ROOT, Contender, Row, Target, interleave, rows_of
from .peers import Peers

__all__ = ["run"]

MINIMAL = "(a') minimal loop: json.dumps each row, json.loads each answer"
BARE = "(a) bare aiohttp pool, pre-serialised JSON, answers unread"
OURS = "(b) leadkit bulk helper, generated client"
JOURNAL = "(b) + journal file"
UNTRUSTED = "(b) + journal file, conflict status not trusted"
OPC = "(c) openapi-python-client (httpx)"
OGEN = "(d) openapi-generator python, asyncio"
_JOBS = {
    MINIMAL: "minimal",
    BARE: "bare",
    OURS: "ours",
    JOURNAL: "ours-journal",
    UNTRUSTED: "ours-journal-untrusted",
    OPC: "opc",
    OGEN: "ogen",
}


@attrs.frozen
class Sample:
    """One run of one contender: requests per second, client CPU µs per request."""

    rate: float
    user: float
    system: float


def _sampler(name: str, url: str, n: int, loop: str, peers: Path | None) -> Callable[[], Sample]:
    args = [sys.executable, "-m", "bench.clients", _JOBS[name], url, str(n), loop]
    args += [str(peers)] if peers is not None else []

    def sample() -> Sample:
        done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"throughput: {name} failed: {done.stderr[-2000:]}")
        result = json.loads(done.stdout.splitlines()[-1])
        if result["created"] != n:
            raise RuntimeError(f"throughput: {name}: {result['created']} of {n} creates succeeded")
        per_request = 1e6 / n
        return Sample(
            n / result["seconds"], result["user"] * per_request, result["system"] * per_request
        )

    return sample


def _on(loop: str, name: str) -> str:
    """A contender's name on `loop`: asyncio's rows go by their plain names."""
    return name if loop == "asyncio" else f"{name}, {loop}"


def _contenders(url: str, n: int, loop: str, peers: Peers | None) -> list[Contender[Sample]]:
    names = [MINIMAL, BARE, OURS]
    if loop == "asyncio":
        names += [JOURNAL, UNTRUSTED] + ([OPC, OGEN] if peers is not None else [])
    contenders = []
    for name in names:
        why_not = ""
        if name in (OPC, OGEN):
            assert peers is not None
            why_not = (peers.opc() if name == OPC else peers.ogen()).why_not
        folder = peers.folder if peers is not None else None
        sample = None if why_not else _sampler(name, url, n, loop, folder)
        contenders.append(Contender(_on(loop, name), sample, why_not))
    return contenders


def _rows(
    loop: str, n: int, contenders: list[Contender[Sample]], samples: dict[str, list[Sample]]
) -> list[Row]:
    scenario = f"throughput ({loop}): {n:,} creates, {WORKERS} in flight"
    rows = []
    units = (("req/s", "rate"), ("µs user CPU/req", "user"), ("µs sys CPU/req", "system"))
    for unit, field in units:
        values = {name: [getattr(s, field) for s in got] for name, got in samples.items()}
        rows += rows_of(scenario, unit, contenders, values)
    return rows


def _median(rows: list[Row], contender: str, unit: str = "req/s") -> float | None:
    return next((r.median for r in rows if r.contender == contender and r.unit == unit), None)


def _ratio(rows: list[Row], top: str, bottom: str) -> float | None:
    a, b = _median(rows, top), _median(rows, bottom)
    return a / b if a and b else None


def _targets(loop: str, rows: list[Row], peers: Peers | None) -> list[Target]:
    ratio = _ratio(rows, _on(loop, OURS), _on(loop, MINIMAL))
    targets = [Target(f"throughput ({loop}): (b) / (a')", ratio, 0.75, at_least=True)]
    if loop != "asyncio":
        return targets
    ours, minimal = (_median(rows, name, "µs user CPU/req") for name in (OURS, MINIMAL))
    overhead = ours - minimal if ours is not None and minimal is not None else None
    targets += [
        Target("client user CPU per request: (b) minus (a') (µs)", overhead, 40.0, at_least=False),
        Target("throughput: (b) + journal file / (b)", _ratio(rows, JOURNAL, OURS), 0.6, True),
        Target(
            "throughput: (b) + journal file, conflict status not trusted / (b)",
            _ratio(rows, UNTRUSTED, OURS),
            0.6,
            True,
        ),
    ]
    if peers is not None:
        why = next(r.why_not for r in rows if r.contender == OPC)
        targets.append(Target("throughput: (b) / (c)", _ratio(rows, OURS, OPC), 10.0, True, why))
    return targets


def loops() -> list[str]:
    """The event loops to measure on: asyncio, and uvloop when it is installed."""
    return ["asyncio"] + (["uvloop"] if importlib.util.find_spec("uvloop") else [])


def run(url: str, n: int, rounds: int, peers: Peers | None) -> tuple[list[Row], list[Target]]:
    """Measure every contender on every loop, interleaved; peers only when `peers` is given
    (not in quick mode)."""
    by_loop = {loop: _contenders(url, n, loop, peers) for loop in loops()}
    samples = interleave([c for contenders in by_loop.values() for c in contenders], rounds)
    rows: list[Row] = []
    targets: list[Target] = []
    for loop, contenders in by_loop.items():
        loop_rows = _rows(loop, n, contenders, samples)
        rows += loop_rows
        targets += _targets(loop, loop_rows, peers)
    return rows, targets

"""Shared harness: interleaved rounds, medians, ratios to a baseline, targets, markdown."""

from __future__ import annotations

import os
import platform
import resource
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import attrs

__all__ = [
    "ROOT",
    "Contender",
    "Row",
    "Target",
    "interleave",
    "machine",
    "markdown",
    "peak_rss_kib",
    "rows_of",
]

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: child processes run from here so that `bench` is importable."""
T = TypeVar("T")


@attrs.frozen
class Contender(Generic[T]):
    """One side of a scenario: `sample()` measures once; None `sample` means not runnable."""

    name: str
    sample: Callable[[], T] | None
    why_not: str = ""


@attrs.frozen
class Row:
    """The median of one contender's samples and its ratio to the scenario's baseline."""

    scenario: str
    contender: str
    unit: str
    median: float | None
    ratio: float | None
    samples: int = 0
    why_not: str = ""
    spread: tuple[float, float] | None = None
    """The smallest and the largest sample."""


@attrs.frozen
class Target:
    """A claim checked on medians: `measured` must be >= (or <=) `bound`."""

    claim: str
    measured: float | None
    bound: float
    at_least: bool
    why_not: str = ""

    @property
    def met(self) -> bool | None:
        """True or False; None when it could not be measured here."""
        if self.measured is None:
            return None
        return self.measured >= self.bound if self.at_least else self.measured <= self.bound

    def verdict(self) -> str:
        """'met', 'missed by N %' or why it was not measured."""
        if self.measured is None:
            return f"not measured: {self.why_not}"
        if self.met:
            return "met"
        factor = self.measured / self.bound if self.bound else float("inf")
        if factor >= 2:
            return f"**missed**: {factor:.3g} x the bound"
        return f"**missed** by {abs(factor - 1) * 100:.1f} %"


def peak_rss_kib() -> int:
    """This process's peak RSS in KiB: VmHWM, which exec starts afresh. (`ru_maxrss` of a
    child starts from its parent's RSS at the fork, here the bench's own.)"""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux


def interleave(contenders: Sequence[Contender[T]], rounds: int) -> dict[str, list[T]]:
    """Sample every runnable contender once per round, in turn (A B A B ...)."""
    samples: dict[str, list[T]] = {c.name: [] for c in contenders if c.sample}
    for _ in range(rounds):
        for contender in contenders:
            if contender.sample is not None:
                samples[contender.name].append(contender.sample())
    return samples


def rows_of(
    scenario: str,
    unit: str,
    contenders: Sequence[Contender[Any]],
    samples: dict[str, list[float]],
) -> list[Row]:
    """One row per contender; the ratio is to the first contender (the baseline)."""
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians.get(contenders[0].name)
    rows = []
    for contender in contenders:
        median = medians.get(contender.name)
        ratio = median / baseline if median is not None and baseline else None
        values = samples.get(contender.name, [])
        spread = (min(values), max(values)) if values else None
        count, why_not = len(values), contender.why_not
        rows.append(Row(scenario, contender.name, unit, median, ratio, count, why_not, spread))
    return rows


def machine() -> str:
    """CPU model, cores, memory, OS and Python version of this machine."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
        with open("/proc/meminfo") as info:
            kib = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
            memory = f", {kib / 1024**2:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def markdown(rows: Sequence[Row], targets: Sequence[Target], header: str) -> str:
    """The results and the targets as two markdown tables under `header`."""
    lines = [
        header,
        "",
        "| scenario | contender | median | range | unit | x baseline | runs |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for row in rows:
        if row.median is None:
            lines.append(
                f"| {row.scenario} | {row.contender} | not runnable here: {row.why_not} | | | | 0 |"
            )
            continue
        ratio = f"{row.ratio:.3g}" if row.ratio is not None else "-"
        spread = "-"
        if row.spread is not None and row.samples > 1:
            spread = f"{_number(row.spread[0])} to {_number(row.spread[1])}"
        lines.append(
            f"| {row.scenario} | {row.contender} | {_number(row.median)} | {spread} "
            f"| {row.unit} | {ratio} | {row.samples} |"
        )
    lines += ["", "| target | measured | required | result |", "| --- | ---: | ---: | --- |"]
    for target in targets:
        sign = "≥" if target.at_least else "≤"
        lines.append(
            f"| {target.claim} | {_number(target.measured)} | {sign} {_number(target.bound)} "
            f"| {target.verdict()} |"
        )
    return "\n".join(lines) + "\n"

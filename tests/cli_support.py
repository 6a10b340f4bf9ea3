"""Helpers of the CLI tests: a `leadkit sandbox` process and the leads it stored."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import running

__all__ = ["ROOT", "sandbox_process", "stored_emails"]

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def sandbox_process(storage: Path, latency: str) -> Iterator[str]:
    """A `leadkit sandbox` with SQLite `storage`, no rate limits and `--fault-latency`
    `latency` (ms); yields its root URL, then stops it (SIGTERM, as a container is stopped)."""
    command = ["sandbox", "--port", "0", "--no-rate-limits", "--storage", str(storage)]
    with running(
        sys.executable, "-m", "leadkit.cli", *command, "--fault-latency", latency,
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        first = process.stdout.readline()  # "leadkit sandbox on URL" once it listens
        assert first, f"the sandbox did not start: {process.communicate(timeout=30)[1]}"
        yield first.split()[-1]


def stored_emails(sandbox: str, campaign: str) -> Counter[str]:
    """How many times the sandbox stored each (normalised) email in `campaign`."""
    with urllib.request.urlopen(f"{sandbox}/_sandbox/leads?api=coldsend") as response:
        leads = json.load(response)
    return Counter(lead["email"].strip().lower() for lead in leads if campaign in json.dumps(lead))

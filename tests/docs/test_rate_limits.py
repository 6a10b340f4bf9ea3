"""docs/rate-limits.md: its Python example runs unchanged against the sandbox and prints what
the page says it prints; the x-rate-limit keys it lists are the keys the generator reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from leadkit.runtime.api import RATE_LIMIT_KEYS

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "rate-limits.md").read_text(encoding="utf-8")


def test_the_example_prints_what_the_page_says() -> None:
    [(example, printed)] = re.findall(
        r"^```python\n(.*?)^```\n\nprints\n\n```text\n(.*?)^```$", PAGE, re.M | re.S
    )
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == printed


def test_the_page_lists_every_x_rate_limit_key() -> None:
    table = PAGE.split("## The `x-rate-limit` keys", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z-]+)` \|", table, re.M)
    assert sorted(listed) == sorted(RATE_LIMIT_KEYS)

"""The README's Python examples run, in order as a reader would, against the sandbox.

Top-level `await` is allowed (as in ``python -m asyncio``); each example's names stay for the
next ones. The clients' spec base URLs point at the sandbox and the keys' environment
variables are set: the examples themselves run unchanged.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from generated.breakcold import BreakcoldClient
from generated.coldsend import ColdsendClient
from leadkit.bulk import Outcome
from leadkit.sandbox import Sandbox

README = Path(__file__).resolve().parents[1] / "README.md"
CAMPAIGN = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"


def python_examples() -> list[str]:
    """Every ```python block of the README, in order."""
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.M | re.S)


async def run_example(source: str, namespace: dict[str, Any]) -> None:
    """Run one example; a script ending in ``asyncio.run(main())`` has ``main()`` awaited."""
    tree = ast.parse(source)
    last = tree.body[-1]
    script = isinstance(last, ast.Expr) and ast.unparse(last) == "asyncio.run(main())"
    if script:
        tree.body.pop()
    code = compile(tree, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if (pending := eval(code, namespace)) is not None:  # a coroutine: it has top-level await
        await pending
    if script:
        await namespace["main"]()


async def test_the_readme_examples_run_against_the_sandbox(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for client in (ColdsendClient, BreakcoldClient):
        api = attrs.evolve(client.api, base_url=sandbox.base_url(client.api.name))
        monkeypatch.setattr(client, "api", api)
    monkeypatch.setenv("COLDSEND_API_KEY", "cs_live_readme")
    monkeypatch.setenv("BREAKCOLD_API_KEY", "bc_readme")
    monkeypatch.chdir(tmp_path)  # the bulk example writes load.journal
    rows = [{"email": f"reader{i}@example.com"} for i in range(30)]
    rows += [{"email": "READER0@example.com"}, {"first_name": "no email"}]
    namespace: dict[str, Any] = {"campaign_id": CAMPAIGN, "rows": rows}

    examples = python_examples()
    assert len(examples) == 5, "a README example was added or removed: check it here"
    for example in examples:
        await run_example(example, namespace)

    printed = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"[0-9a-f-]{36} PENDING \{\}", printed[0])  # the first lead
    assert printed[1] == "200 59 None"  # Breakcold: status, budget left, users_id
    assert namespace["client"].base_url == sandbox.base_url("coldsend")  # configured client
    assert (tmp_path / "load.journal").exists()
    stored = sorted(lead["email"] for lead in sandbox.leads("coldsend"))
    assert stored == sorted(["ada@example.com", *(row["email"] for row in rows[:30])])
    counts = namespace["run"].summary.counts  # the sandbox example's run
    assert (counts[Outcome.INVALID], counts[Outcome.SKIPPED_DUPLICATE]) == (1, 1)
    assert namespace["dropped"] == counts[Outcome.ALREADY_EXISTS] > 0
    assert namespace["stored"] == 30 == counts[Outcome.CREATED] + counts[Outcome.ALREADY_EXISTS]

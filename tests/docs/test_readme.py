"""The Python examples of the README and of docs/ run, unchanged, in order as a reader would.

Each Markdown file's ```python blocks run in order in one namespace, against a fresh sandbox:
top-level `await` is allowed (as in ``python -m asyncio``), and a block ending in
``asyncio.run(main())`` has ``main()`` awaited instead. The clients' spec base URLs point at
the sandbox, the keys' environment variables are set, ``campaign_id`` and ``rows`` are
defined and the current folder is a temporary one. A block that cannot run is marked on the
line before it with ``<!-- not-run: REASON -->``; a Python block fenced any other way is
refused, so that none is skipped by accident. Some files' results are checked further below.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from leadkit.apis.breakcold import BreakcoldClient
from leadkit.apis.coldsend import ColdsendClient
from leadkit.bulk import Outcome
from leadkit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = (README, *sorted((ROOT / "docs").rglob("*.md")))
CAMPAIGN = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
PYTHON_LANGUAGES = frozenset({"python", "py", "python3", "py3", "pycon", "ipython"})
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_NOT_RUN = re.compile(r"<!--\s*not-run:(?P<reason>.*?)-->")


@attrs.frozen
class Block:
    """One fenced code block: where it starts, how it is fenced, what precedes and fills it."""

    line: int
    indent: str
    info: str
    before: str
    source: str


@attrs.frozen
class Example:
    """A Python example to run: its file, the line of its opening fence, its code."""

    path: Path
    line: int
    source: str


def fenced_blocks(text: str) -> Iterator[Block]:
    """Every top-level fenced block of a Markdown text (a fence inside another is its text)."""
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        fence = opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = next((i for i in range(number + 1, len(lines)) if closing.match(lines[i])), None)
        if end is None:
            end = len(lines)  # an unclosed fence runs to the end of the file, as Markdown says
        before = lines[number - 1] if number else ""
        body = "".join(f"{line}\n" for line in lines[number + 1 : end])
        yield Block(number + 1, opening["indent"], opening["info"].strip(), before, body)
        number = end + 1


def python_examples(path: Path, *, root: Path = ROOT) -> list[Example]:
    """The runnable ```python blocks of a Markdown file, in order; refuse ambiguous ones."""
    examples = []
    for block in fenced_blocks(path.read_text(encoding="utf-8")):
        language = block.info.split(maxsplit=1)[0].lower() if block.info else ""
        language = language.removeprefix("{").removeprefix(".")
        where = f"{path.relative_to(root)}:{block.line}"
        if language not in PYTHON_LANGUAGES:
            continue
        if block.indent or block.info != "python":
            raise ValueError(
                f"{where}: fence a Python example as ```python at the start of a line, or "
                "mark it <!-- not-run: REASON --> on the line before; this one would be skipped"
            )
        marker = _NOT_RUN.search(block.before)
        if marker is None:
            examples.append(Example(path, block.line, block.source))
        elif not marker["reason"].strip():
            raise ValueError(f"{where}: <!-- not-run: --> needs a reason")
    return examples


async def run_example(example: Example, namespace: dict[str, Any]) -> None:
    """Run one example; a script ending in ``asyncio.run(main())`` has ``main()`` awaited."""
    tree = ast.parse(example.source)
    last = tree.body[-1]
    script = isinstance(last, ast.Expr) and ast.unparse(last) == "asyncio.run(main())"
    if script:
        tree.body.pop()
    ast.increment_lineno(tree, example.line)  # tracebacks name the line in the Markdown file
    filename = str(example.path.relative_to(ROOT))
    code = compile(tree, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    try:
        if (pending := eval(code, namespace)) is not None:  # a coroutine: top-level await
            await pending
        if script:
            await namespace["main"]()
    except Exception as exc:
        exc.add_note(f"in the example of {filename} that starts at line {example.line}")
        raise


@attrs.frozen
class Ran:
    """What running one file's examples left behind, for the checks below."""

    namespace: dict[str, Any]
    printed: list[str]
    sandbox: Sandbox
    folder: Path


def check_readme(ran: Ran) -> None:
    assert re.fullmatch(r"[0-9a-f-]{36} PENDING \{\}", ran.printed[0])  # the Coldsend script
    assert ran.printed[1] == "200 59 None"  # Breakcold: status, budget left, users_id
    assert [lead["email"] for lead in ran.sandbox.leads("coldsend")] == ["ada@example.com"]
    assert [lead["email"] for lead in ran.sandbox.leads("breakcold")] == ["grace@example.com"]


def check_getting_started(ran: Ran) -> None:
    assert re.fullmatch(r"[0-9a-f-]{36} PENDING", ran.printed[0])


def check_clients(ran: Ran) -> None:
    polled = [line for line in ran.printed if re.fullmatch(r"[A-Z_]+ \d+%", line)]
    printed = [line for line in ran.printed if line not in polled]  # on_progress: a line a poll
    assert printed[2] == "invalid ManualLeadRequest: expected str, got int @ $.email"
    assert re.fullmatch(r"[0-9a-f-]{36}", printed[3])  # upload_leads: the job's id
    assert printed[4] == "0 2 []"  # upload_leads_and_wait of the same file: two duplicates
    assert polled[-1] == "COMPLETED 100%" and ran.sandbox.stats["uploads"] == 3
    assert printed[5] == "401 Invalid or revoked API key"
    assert printed[6] == "False"  # the session passed in stays open
    assert printed[7] == "True 10"  # with_options: one limiter, its own retry policy
    assert printed[8] == "200 karen@example.com"  # client.call
    assert printed[9].startswith("5 60 (Window(limit=100, seconds=60")
    emails = {lead["email"] for lead in ran.sandbox.leads("coldsend")}
    assert emails == {
        "ada@example.com",
        "linus@example.com",
        "margaret@example.com",
        "barbara@example.com",
        "frances@example.com",
        "karen@example.com",
        "uploaded1@example.com",  # the uploads'
        "uploaded2@example.com",
    }


def check_retries(ran: Ran) -> None:
    assert ran.namespace["client"].base_url == ran.sandbox.base_url("coldsend")
    assert ran.printed == ["1 1", "ada is in the campaign already", "{200: 2, 409: 1}"]


def check_bulk_loading(ran: Ran) -> None:
    assert (ran.folder / "load.journal").exists()
    counts = ran.namespace["run"].summary.counts  # the dry run's
    assert (counts[Outcome.VALID], counts[Outcome.SKIPPED_DUPLICATE]) == (20, 1)
    assert counts[Outcome.INVALID] == 1
    assert len(ran.sandbox.leads("coldsend")) == 20  # the first run's; the dry run sent none
    uploaded = ran.namespace["upload"].summary.counts  # bulk_upload's, of the same rows again
    assert (uploaded[Outcome.CREATED_OR_EXISTS], uploaded[Outcome.INVALID]) == (20, 1)
    assert (uploaded[Outcome.SKIPPED_DUPLICATE], ran.sandbox.stats["uploads"]) == (1, 1)
    assert ran.printed[-2:] == ["21 invalid required field missing @ $.email", "20"]


def check_sandbox(ran: Ran) -> None:
    counts = ran.namespace["run"].summary.counts
    assert (counts[Outcome.INVALID], counts[Outcome.SKIPPED_DUPLICATE]) == (1, 1)
    assert ran.namespace["dropped"] == counts[Outcome.ALREADY_EXISTS] > 0
    stored = ran.namespace["stored"]
    assert stored == 30 == counts[Outcome.CREATED] + counts[Outcome.ALREADY_EXISTS]


CHECKS: dict[str, Callable[[Ran], None]] = {
    "README.md": check_readme,
    "docs/getting-started.md": check_getting_started,
    "docs/clients.md": check_clients,
    "docs/retries.md": check_retries,
    "docs/bulk-loading.md": check_bulk_loading,
    "docs/sandbox.md": check_sandbox,
}
WITH_EXAMPLES = [path for path in DOCUMENTS if python_examples(path)]


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
async def test_the_examples_of_each_file_run_against_the_sandbox(
    path: Path,
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
    monkeypatch.chdir(tmp_path)  # examples write files such as load.journal
    rows = [{"email": f"reader{i}@example.com"} for i in range(30)]
    rows += [{"email": "READER0@example.com"}, {"first_name": "no email"}]
    namespace: dict[str, Any] = {"campaign_id": CAMPAIGN, "rows": rows}

    for example in python_examples(path):
        await run_example(example, namespace)

    check = CHECKS.get(str(path.relative_to(ROOT)))
    if check is not None:
        check(Ran(namespace, capsys.readouterr().out.splitlines(), sandbox, tmp_path))


def test_every_file_with_checks_has_examples() -> None:
    """A check whose file lost its examples (renamed, moved) would silently check nothing."""
    assert {str(p.relative_to(ROOT)) for p in WITH_EXAMPLES} >= set(CHECKS)


def test_the_readme_has_one_example_per_api() -> None:
    sources = [example.source for example in python_examples(README)]
    assert len(sources) == 2, "a README example was added or removed: check it above"
    assert "ColdsendClient" in sources[0] and "BreakcoldClient" in sources[1]


def test_the_readme_links_point_at_files_and_headings_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    fenced = {
        number
        for block in fenced_blocks(text)
        for number in range(block.line, block.line + block.source.count("\n") + 2)
    }
    headings = {  # GitHub's anchors of the headings outside code blocks
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for number, line in enumerate(text.splitlines(), start=1)
        if line.startswith("#") and number not in fenced
    }
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets
    for target in targets:
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        if file:
            assert (ROOT / file).is_file(), f"README links to {target}, which does not exist"
        else:
            assert anchor in headings, f"README links to #{anchor}, which is no heading"


def test_a_marked_block_is_skipped_and_a_mis_fenced_one_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nfirst = 1\n```\n\n"
        "<!-- not-run: needs a real key -->\n```python\nraise SystemExit\n```\n\n"
        "````markdown\n```python\nshown, not run\n```\n````\n\n"
        "```sh\nleadkit --help\n```\n"
        "```python\nsecond = 2\n```\n",
        encoding="utf-8",
    )
    examples = python_examples(page, root=tmp_path)
    assert [(e.line, e.source) for e in examples] == [(1, "first = 1\n"), (19, "second = 2\n")]
    for wrong in (
        "```py\nx = 1\n```\n",
        "  ```python\nx = 1\n```\n",
        '```python title="x.py"\nx = 1\n```\n',
        "<!-- not-run: -->\n```python\nx = 1\n```\n",
    ):
        page.write_text(wrong, encoding="utf-8")
        with pytest.raises(ValueError, match=r"page\.md:\d+: "):
            python_examples(page, root=tmp_path)


async def test_a_failing_example_names_its_file_and_line(tmp_path: Path) -> None:
    example = Example(README, 40, "x = 1\nraise RuntimeError('broken')\n")
    with pytest.raises(RuntimeError) as caught:
        await run_example(example, {})
    assert caught.value.__notes__ == ["in the example of README.md that starts at line 40"]
    assert caught.traceback[-1].lineno + 1 == 42  # the raise, on the Markdown file's line 42


def test_the_spec_written_in_the_docs_generates_the_client_it_describes(tmp_path: Path) -> None:
    from leadkit.codegen.pipeline import generate_tree

    page = ROOT / "docs" / "writing-a-spec.md"
    [spec] = [b.source for b in fenced_blocks(page.read_text(encoding="utf-8")) if b.info == "yaml"]
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "acme.yaml").write_text(spec, encoding="utf-8")
    tree = generate_tree(tmp_path / "specs")
    client = tree["acme/client.py"]
    for declared in ('"error-dialect": "fastapi"', '"readonly-keys": ["acme_readonly"]'):
        assert declared in tree["acme/contract.py"]
    for promised in (
        "class AcmeClient(BaseClient):",
        "async def create_contact(",
        "def create_contact_bulk(",
        'env_var="ACME_API_KEY"',
        'base_url="https://api.acme.example/v1"',
        "Window(limit=120, seconds=60.0)",
        'Dedupe(field="email", conflict_status=409)',
    ):
        assert promised in client

"""The generator on spec changes a maintainer makes: names Python or the runtime reserve,
YAML 1.1 scalars, formats, compositions, operation names and parameters it cannot send."""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiohttp import web

from leadkit.codegen.pipeline import generate_tree
from tests.codegen.test_codegen import MINIMAL, ROOT, assert_spec_error
from tests.processes import run
from tests.transport_support import serve

_PACKAGES = itertools.count()
FIRST_PARTY = "lint.isort.known-first-party = ['leadkit']"


def generate(tmp_path: Path, text: str) -> dict[str, str]:
    """The output tree of one spec, `probe.yaml`."""
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "probe.yaml").write_text(text, encoding="utf-8")
    return generate_tree(tmp_path / "specs")


@pytest.fixture
def importer(tmp_path: Path) -> Iterator[Any]:
    """Generate a spec and import its package (under a fresh name)."""
    added: list[str] = []

    def load(text: str) -> ModuleType:
        name = f"review_out_{next(_PACKAGES)}"
        root = tmp_path / "out" / name
        for rel, content in generate(tmp_path, text).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(content, encoding="utf-8")
        if str(tmp_path / "out") not in sys.path:
            sys.path.insert(0, str(tmp_path / "out"))
            added.append(str(tmp_path / "out"))
        added.append(name)
        return importlib.import_module(f"{name}.probe")

    yield load
    for entry in added:
        if entry in sys.path:
            sys.path.remove(entry)
        for module in [m for m in sys.modules if m == entry or m.startswith(f"{entry}.")]:
            del sys.modules[module]


def static_problems(tmp_path: Path, files: dict[str, str]) -> str:
    """What `ruff check` (the project's rules) and `mypy --strict` say of a generated tree."""
    root = tmp_path / "static" / "gen"
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content, encoding="utf-8")
    ruff = [sys.executable, "-m", "ruff", "check", "--no-cache", "--ignore", "E501"]
    ruff += ["--config", str(ROOT / "pyproject.toml"), "--config", FIRST_PARTY]
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    said = [run(*command, root, cwd=ROOT, env=env) for command in (ruff, mypy)]
    return "".join(done.stdout + done.stderr for done in said if done.returncode)


def with_thing(properties: str, extra_schemas: str = "") -> str:
    """A spec whose one operation sends and returns `Thing` with these properties."""
    return MINIMAL + (
        "  schemas:\n"
        f"    Thing:\n      type: object\n      properties:\n{properties}{extra_schemas}"
        "paths:\n  /things:\n    post:\n      operationId: create_thing\n"
        "      requestBody:\n        content:\n          application/json:\n"
        "            schema: {$ref: '#/components/schemas/Thing'}\n"
        "      responses:\n        '201':\n          description: ok\n          content:\n"
        "            application/json:\n"
        "              schema: {$ref: '#/components/schemas/Thing'}\n"
    )


def round_trip(package: ModuleType, data: dict[str, Any]) -> Any:
    """Structure `data` as Thing with both converters; each must give `data` back."""
    converter, thing = package.converter, package.models.Thing
    for conv in (converter.request_converter, converter.response_converter):
        value = conv.structure(data, thing)
        assert conv.unstructure(value) == data
    return value


def test_yaml_scalars_are_read_as_yaml_1_2(importer: Any) -> None:
    """PyYAML's YAML 1.1 made `NO` (Norway) and `on` booleans, `10:30` the int 630."""
    package = importer(
        with_thing(
            "        country: {type: string, enum: [US, NO, on, off, yes]}\n"
            "        opens: {type: string, default: 10:30}\n"
            "        code: {type: integer, enum: [017, 20]}\n"
        )
    )
    assert [m.value for m in package.models.Country] == ["US", "NO", "on", "off", "yes"]
    assert [m.value for m in package.models.Code] == [17, 20]
    spec = importlib.import_module(f"{package.__name__}.spec")
    assert spec.SPEC["components"]["schemas"]["Thing"]["properties"]["opens"] == {
        "type": "string",
        "default": "10:30",
    }
    round_trip(package, {"country": "NO", "opens": "9:00"})


def test_fields_named_like_what_models_use_get_an_underscore(importer: Any) -> None:
    """`attrs` hid the module from the class body, `self` broke attrs' __init__, `cl` and
    `converter` cattrs' function makers, `additionalProperties` was refused."""
    package = importer(
        with_thing(
            "        attrs: {type: string}\n        self: {type: string}\n"
            "        cl: {type: integer}\n        converter: {type: string}\n"
            "        additionalProperties: {type: boolean}\n"
        )
    )
    data = {"attrs": "a", "self": "s", "cl": 1, "converter": "c", "additionalProperties": True}
    thing = round_trip(package, data)
    assert (thing.attrs_, thing.self_, thing.cl_, thing.converter_) == ("a", "s", 1, "c")
    assert thing.additional_properties_ is True


OPTION_NAMED = MINIMAL + (
    "paths:\n  /a:\n    get:\n      operationId: get_a\n      parameters:\n"
    "        - {name: timeout, in: query, schema: {type: integer}}\n"
    "        - {name: retry, in: query, schema: {type: boolean}}\n"
    "        - {name: Extra-Headers, in: header, schema: {type: string}}\n"
    "      responses:\n        '204': {description: ok}\n"
)


async def test_parameters_named_like_a_call_option_get_an_underscore(
    importer: Any, tmp_path: Path
) -> None:
    """`timeout`, `retry` and `extra_headers` are every method's call options: an operation's
    parameter of that name is sent as itself, its argument named with a trailing `_`."""
    package = importer(OPTION_NAMED)
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(status=204)

    async with serve(record) as url, package.ProbeClient(api_key="k", base_url=url) as client:
        await client.get_a(timeout_=5, retry_=False, extra_headers_="x", timeout=9)
    [request] = seen
    assert (request.query["timeout"], request.query["retry"]) == ("5", "false")
    assert request.headers["Extra-Headers"] == "x"
    assert static_problems(tmp_path, generate(tmp_path, OPTION_NAMED)) == ""


def test_formats_the_runtime_cannot_carry_stay_their_json_type(importer: Any) -> None:
    """An ipv4, time, decimal or binary string, a date-time number: the models typed them
    IPv4Address, time, Decimal, bytes, datetime, which the converters have no hook for."""
    formats = ("ipv4", "ipv6", "time", "duration", "decimal", "binary", "integer", "uri")
    package = importer(
        with_thing(
            "".join(
                f"        s_{i}: {{type: string, format: {f}}}\n" for i, f in enumerate(formats)
            )
            + "        n: {type: number, format: date-time}\n"
            + "        i: {type: [integer, 'null'], format: date-time}\n"
            + "        day: {type: string, format: date}\n"
        )
    )
    data: dict[str, Any] = {f"s_{i}": "1.2.3.4" for i in range(len(formats))}
    data |= {"n": 1.5, "i": None, "day": "2024-02-29"}
    thing = round_trip(package, data)
    assert thing.day.isoformat() == "2024-02-29"  # the formats it carries keep their types


@pytest.mark.slow
def test_an_optional_property_of_type_null_passes_ruff(tmp_path: Path) -> None:
    """`d: None | Unset = UNSET` failed ruff's RUF036 (None must end the union)."""
    files = generate(tmp_path, with_thing("        gone: {type: 'null'}\n"))
    assert "    gone: Unset | None = UNSET\n" in files["probe/models.py"]
    assert static_problems(tmp_path, files) == ""


def two_operations(first: str, second: str) -> str:
    """A spec with GET /a and GET /b, their operationIds `first` and `second`."""
    route = "  /{0}:\n    get:\n      operationId: '{1}'\n      responses:\n"
    route += "        '204': {{description: ok}}\n"
    return MINIMAL + "paths:\n" + route.format("a", first) + route.format("b", second)


OPERATION_NAMES = {
    "starts with a digit": (
        two_operations("get_a", "2fa.verify"),
        "#/paths/~1b/get/operationId: operationId '2fa.verify' would be the method "
        "'_2fa_verify'; start it with a letter",
    ),
    "no letters": (
        two_operations("get_a", "取得"),
        "#/paths/~1b/get/operationId: operationId '取得' would be the method '_'; "
        "start it with a letter",
    ),
    "a client method": (
        two_operations("close", "get_b"),
        "#/paths/~1a/get/operationId: operation 'close' would define 'close', "
        "which the generated client defines too; rename it",
    ),
    "the client's description": (
        two_operations("api", "get_b"),
        "#/paths/~1a/get/operationId: operation 'api' would define 'api', "
        "which the generated client defines too; rename it",
    ),
    "a module constant": (
        two_operations("get_a", "renames"),
        "#/paths/~1b/get/operationId: operation 'renames' would define 'RENAMES', "
        "which the generated client defines too; rename it",
    ),
    "another operation's method": (
        two_operations("get_thing", "getThingWithResponse"),
        "#/paths/~1b/get/operationId: operation 'get_thing_with_response' would define "
        "'get_thing_with_response', which operation 'get_thing' (GET /a) defines too; rename it",
    ),
}


@pytest.mark.parametrize("case", sorted(OPERATION_NAMES))
def test_an_operation_name_the_client_cannot_have_is_a_spec_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """They made a const named 2FA_VERIFY (a ruff failure: a traceback), replaced close() or
    the API description, or defined a method twice."""
    assert_spec_error(tmp_path, capsys, *OPERATION_NAMES[case])


def test_an_invalid_spec_is_one_line_even_when_the_validator_says_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A response without a description: the validator's message went on with the failing
    schema and the instance, over five lines."""
    text = two_operations("get_a", "get_b").replace("'204': {description: ok}", "'204': {}", 1)
    problem = 'not valid OpenAPI: "description" is a required property'
    assert_spec_error(tmp_path, capsys, text, f"#/paths/~1a/get/responses/204: {problem}")


MODEL_PROBLEMS = {
    "allOf of two $refs": (
        "    Base: {type: object, properties: {id: {type: string}}}\n"
        "    Mixin: {type: object, properties: {tag: {type: string}}}\n"
        "    Both:\n      allOf:\n"
        "        - $ref: '#/components/schemas/Base'\n"
        "        - $ref: '#/components/schemas/Mixin'\n",
        "#/components/schemas/Both: an allOf of more than one $ref makes a class with two "
        "bases, which attrs classes cannot have; keep one $ref and repeat the other's properties",
    ),
    "a schema named Any": (
        "    Any: {type: object, properties: {id: {type: string}}}\n",
        "#/components/schemas/Any: this schema's model 'Any' would hide the import of 'Any'; "
        "rename the schema",
    ),
    "a schema named Unset": (
        "    Unset: {type: object, properties: {id: {type: string}}}\n",
        "#/components/schemas/Unset: this schema's model 'Unset' would hide the import of "
        "'Unset'; rename the schema",
    ),
}


@pytest.mark.parametrize("case", sorted(MODEL_PROBLEMS))
def test_a_model_that_would_not_import_is_a_spec_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """The models module raised TypeError on import (instance lay-out conflict), or failed
    ruff and mypy (a class redefining an imported name)."""
    schemas, expected = MODEL_PROBLEMS[case]
    text = MINIMAL + "  schemas:\n" + schemas + "paths: {}\n"
    assert_spec_error(tmp_path, capsys, text, expected)


PARAMETER_SPEC = MINIMAL + (
    "  schemas:\n    Filter: {type: object, properties: {q: {type: string}}}\n"
    "paths:\n  /a/{id}:\n    get:\n      operationId: get_a\n      parameters:\n"
    "        - {name: id, in: path, required: true, schema: {type: string}}\n"
    "        - %s\n      responses:\n        '204': {description: ok}\n"
)
PARAMETERS = {
    "object in the query": (
        "{name: f, in: query, schema: {$ref: '#/components/schemas/Filter'}}",
        "query parameter of type models.Filter",
    ),
    "free-form object in the query": (
        "{name: f, in: query, schema: {type: object}}",
        "query parameter of type dict[str, Any]",
    ),
    "array in a header": (
        "{name: X-Tags, in: header, schema: {type: array, items: {type: string}}}",
        "header parameter of type list[str]",
    ),
}


@pytest.mark.parametrize("case", sorted(PARAMETERS))
def test_a_parameter_the_client_cannot_send_is_a_spec_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """The client sent str() of such a value: "Filter(q='x', ...)", "['a', 'b']"."""
    parameter, kind = PARAMETERS[case]
    expected = (
        f"#/paths/~1a~1{{id}}/get/parameters/1/schema: a {kind} is not supported (the client "
        "sends str() of the value); use a scalar, or an array in the query"
    )
    assert_spec_error(tmp_path, capsys, PARAMETER_SPEC % parameter, expected)

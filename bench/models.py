"""Models: microseconds per structure (JSON-ready dict -> model) and unstructure (back).

Ours is the generated attrs model through the generated lenient response converter, as the
client reads a response: ``response_converter.structure`` and ``.unstructure`` dispatch to
the functions the generator wrote for the model (``generated/coldsend/serde.py``). The peers
are datamodel-code-generator's pydantic v2 models (``model_validate`` and
``model_dump(mode="json", by_alias=True, exclude_unset=True)``) and openapi-python-client's
``from_dict`` / ``to_dict``, all made from the same schemas. Each is timed as its users
write the call (timeit runs the call itself, with no adapter function around it).
"""

from __future__ import annotations

import importlib
import timeit
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from leadkit.apis.coldsend import models, serde
from leadkit.apis.coldsend.converter import response_converter

from .data import LEAD_RESPONSE
from .harness import Contender, Row, Target, interleave, rows_of
from .peers import Peer, Peers

__all__ = ["run"]

PAYLOADS: dict[str, dict[str, Any]] = {
    "LeadResponse": LEAD_RESPONSE,
    "HTTPError": {
        "detail": [
            {"loc": ["body", "email"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", 0], "msg": "Input should be a valid string", "type": "string_type"},
        ]
    },
    "ForbiddenError": {
        "detail": "Missing required scopes: leads:create",
        "error": "insufficient_scopes",
        "required": ["leads:create"],
        "granted": ["leads:read"],
    },
}
"""One JSON body of each response model of the spec."""


@attrs.frozen
class Call:
    """A call as its users write it: the function, the value, then `args` and `kwargs`."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)

    def __call__(self, value: Any) -> Any:
        return self.fn(value, *self.args, **self.kwargs)

    def timer(self, value: Any) -> timeit.Timer:
        """A timer of exactly this call, written out: no adapter function adds a frame."""
        names = {f"a{i}": arg for i, arg in enumerate(self.args)}
        keywords = [f"{key}=k_{key}" for key in self.kwargs]
        statement = f"fn({', '.join(['value', *names, *keywords])})"
        bound = {"fn": self.fn, "value": value, **names}
        bound |= {f"k_{key}": arg for key, arg in self.kwargs.items()}
        return timeit.Timer(statement, globals=bound)


Codec = tuple[Call, Call]
"""(structure, unstructure) of one model."""
SAMPLE_SECONDS = 0.004
SAMPLES_PER_ROUND = 5
"""A call takes microseconds: many short samples (each shorter than a scheduler time slice,
so that another process on the shared cores lands in few of them) give a steadier median
than a few long ones, in the same time."""
OURS = "leadkit (generated serde functions, attrs)"


def _ours(name: str) -> Codec:
    cls = getattr(models, name)
    if response_converter.get_structure_hook(cls) is not serde.LENIENT[cls]:
        raise RuntimeError(f"models: the converter does not use the generated {name} functions")

    # as the client calls them (leadkit.runtime.responses)
    return Call(response_converter.structure, (cls,)), Call(response_converter.unstructure)


def _pydantic(name: str, module: Any) -> Codec:
    cls = getattr(module, name)
    dump = {"mode": "json", "by_alias": True, "exclude_unset": True}
    return Call(cls.model_validate), Call(cls.model_dump, kwargs=dump)


def _opc(name: str, module: Any) -> Codec:
    cls = getattr(importlib.import_module(f"{module.__name__}.models"), name)
    return Call(cls.from_dict), Call(cls.to_dict)


def _sampler(call: Call, arg: Any, seconds: float) -> Callable[[], float]:
    """Microseconds per call, timed over about `seconds`."""
    timer = call.timer(arg)
    number = max(1, int(seconds / (timer.timeit(20) / 20 or 1e-9)))

    def sample() -> float:
        return timer.timeit(number) / number * 1e6

    return sample


def _contenders(
    name: str, codecs: dict[str, Codec | str], unstructure: bool
) -> list[Contender[float]]:
    data = PAYLOADS[name]
    contenders: list[Contender[float]] = []
    for label, codec in codecs.items():
        if isinstance(codec, str):
            contenders.append(Contender(label, None, codec))
            continue
        structure, dump = codec
        call, arg = (dump, structure(data)) if unstructure else (structure, data)
        if not unstructure and (round_trip := dump(call(arg))) != data:
            raise RuntimeError(f"models: {label} changes {name}: {round_trip} != {data}")
        contenders.append(Contender(label, _sampler(call, arg, SAMPLE_SECONDS)))
    return contenders


def run(peers: Peers, rounds: int, with_opc: bool) -> tuple[list[Row], list[Target]]:
    """Every response model, structure and unstructure, ours first (the baseline)."""
    pydantic, opc = peers.pydantic(), peers.opc() if with_opc else None
    rows: list[Row] = []
    targets: list[Target] = []
    for name in PAYLOADS:
        codecs: dict[str, Codec | str] = {OURS: _ours(name)}
        peer_codecs: list[tuple[str, Peer | None, Callable[[str, Any], Codec]]] = [
            ("pydantic v2 (datamodel-code-generator)", pydantic, _pydantic),
            ("openapi-python-client from_dict/to_dict", opc, _opc),
        ]
        for label, peer, make in peer_codecs:
            if peer is not None:
                codecs[label] = make(name, peer.module) if peer.module else peer.why_not
        for unstructure in (False, True):
            direction = "unstructure" if unstructure else "structure"
            contenders = _contenders(name, codecs, unstructure)
            samples = interleave(contenders, rounds * SAMPLES_PER_ROUND)
            scenario_rows = rows_of(f"models: {name} {direction}", "µs", contenders, samples)
            rows += scenario_rows
            ratios = [row.ratio for row in scenario_rows[1:] if row.ratio]
            fastest_peer = 1 / min(ratios) if ratios else None
            targets.append(
                Target(f"models: {name} {direction}, ours / fastest peer", fastest_peer, 1.0, False)
            )
    return rows, targets

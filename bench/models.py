"""Models: microseconds per structure (JSON-ready dict -> model) and unstructure (back).

Ours is the generated attrs model through the generated lenient response converter; the
peers are datamodel-code-generator's pydantic v2 models (``model_validate`` and
``model_dump(mode="json", by_alias=True, exclude_unset=True)``) and openapi-python-client's
``from_dict`` / ``to_dict``, all made from the same schemas.
"""

from __future__ import annotations

import functools
import importlib
import timeit
from collections.abc import Callable
from typing import Any

from generated.coldsend import models
from generated.coldsend.converter import response_converter

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

Codec = tuple[Callable[[dict[str, Any]], Any], Callable[[Any], Any]]


def _ours(name: str) -> Codec:
    cls = getattr(models, name)
    structure = functools.partial(response_converter.structure, cl=cls)  # no extra frame
    return structure, response_converter.unstructure


def _pydantic(name: str, module: Any) -> Codec:
    cls = getattr(module, name)
    return cls.model_validate, lambda obj: obj.model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )


def _opc(name: str, module: Any) -> Codec:
    cls = getattr(importlib.import_module(f"{module.__name__}.models"), name)
    return cls.from_dict, lambda obj: obj.to_dict()


def _sampler(call: Callable[[Any], Any], arg: Any, seconds: float) -> Callable[[], float]:
    """Microseconds per call, timed over about `seconds`."""
    timer = timeit.Timer(lambda: call(arg))
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
        contenders.append(Contender(label, _sampler(call, arg, 0.02)))
    return contenders


def run(peers: Peers, rounds: int, with_opc: bool) -> tuple[list[Row], list[Target]]:
    """Every response model, structure and unstructure, ours first (the baseline)."""
    pydantic, opc = peers.pydantic(), peers.opc() if with_opc else None
    rows: list[Row] = []
    targets: list[Target] = []
    for name in PAYLOADS:
        codecs: dict[str, Codec | str] = {"leadkit (attrs + cattrs)": _ours(name)}
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
            samples = interleave(contenders, rounds)
            scenario_rows = rows_of(f"models: {name} {direction}", "µs", contenders, samples)
            rows += scenario_rows
            ratios = [row.ratio for row in scenario_rows[1:] if row.ratio]
            fastest_peer = 1 / min(ratios) if ratios else None
            targets.append(
                Target(f"models: {name} {direction}, ours / fastest peer", fastest_peer, 1.0, False)
            )
    return rows, targets

"""`leadkit sandbox --port 8080`: serve every generated API on 127.0.0.1, with optional faults."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadkit.runtime.api import Window
    from leadkit.sandbox import Sandbox, SandboxConfig

__all__ = ["config_from_args", "register"]

_FAULT_FLAGS = {
    "error_5xx": ("--fault-5xx", "answer 500/502/503 with the API's JSON error body"),
    "rate_limit_burst": ("--fault-429", "answer 429 with the real headers and body"),
    "drop_before": ("--fault-drop-before", "close the connection before processing"),
    "drop_after": ("--fault-drop-after", "store the lead, then close without answering"),
    "malformed": ("--fault-malformed", "answer 502 with an HTML page"),
}


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability in [0, 1]")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number greater than 0")
    return value


def _latency(text: str) -> tuple[int, int]:
    low, _, high = text.partition(":")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MS or LOW:HIGH milliseconds") from None


def _per_api(text: str) -> tuple[str, str]:
    """API=VALUE, split at the first "="; the API's name is checked with the whole config."""
    api, equals, value = text.partition("=")
    if not (api and equals and value):  # the text is not repeated: it may be a key
        raise argparse.ArgumentTypeError("write API=VALUE: the API's name, '=', then the value")
    return api, value


def _duplicates(text: str) -> tuple[str, str]:
    api, policy = _per_api(text)
    if policy not in ("allow", "reject"):
        raise argparse.ArgumentTypeError(f"{text!r}: the policy is allow or reject")
    return api, policy


def _window(text: str) -> Window:
    from leadkit.sandbox.config import parse_window

    try:
        return parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


async def _serve(sandbox: Sandbox) -> None:
    stopped = asyncio.Event()  # SIGTERM (a container being stopped) as Ctrl-C does
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    async with sandbox:
        print(f"leadkit sandbox on {sandbox.url}", flush=True)
        for api in sandbox.apis:
            print(f"  {api}: {sandbox.base_url(api)}", flush=True)
        inspect = f"{sandbox.url}/_sandbox/leads?api={sandbox.apis[0]}, /_sandbox/stats"
        print(f"  inspect: {inspect}", flush=True)
        print("Ctrl-C or SIGTERM stops it.", flush=True)
        await stopped.wait()
    print("stopped", file=sys.stderr)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the command line asks for; ValueError for an impossible one."""
    from leadkit.sandbox import FaultConfig, SandboxConfig

    readonly: dict[str, set[str]] = {}
    for api, key in args.readonly_key:
        readonly.setdefault(api, set()).add(key)
    faults = FaultConfig(
        seed=args.seed,
        latency_ms=args.fault_latency,
        **{name: getattr(args, name) for name in _FAULT_FLAGS},
    )
    return SandboxConfig(
        time_scale=args.time_scale,
        rate_limits=not args.no_rate_limits,
        enforce_windows=tuple(args.enforce_window),
        faults=faults,
        storage=args.storage,
        duplicates=dict(args.duplicates),
        readonly_keys=readonly,
        upload_rate=args.upload_rate,
    )


def _usage_error(exc: Exception) -> int:
    print(f"leadkit sandbox: {exc}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace, _argv: Sequence[str]) -> int:
    from leadkit.sandbox import Sandbox, StorageError

    try:
        sandbox = Sandbox(config_from_args(args), port=args.port)
    except ValueError as exc:  # impossible faults, an API not served, a key it would refuse
        return _usage_error(exc)
    try:
        asyncio.run(_serve(sandbox))
    except StorageError as exc:  # --storage names no usable SQLite file
        return _usage_error(exc)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    except OSError as exc:
        print(f"leadkit sandbox: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sandbox` subcommand."""
    parser = subparsers.add_parser(
        "sandbox", help="serve a local copy of both APIs, with fault injection", description=__doc__
    )
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="sandbox seconds per second (60: a minute per second)",
    )
    parser.add_argument("--no-rate-limits", action="store_true", help="do not enforce rate limits")
    parser.add_argument(
        "--enforce-window",
        type=_window,
        action="append",
        default=[],
        metavar="LIMIT/LENGTH",
        help="enforce and announce this window instead of the spec's, e.g. 20/8s, 60/1h "
        "(units s, m, h; sandbox time); repeatable",
    )
    parser.add_argument("--storage", type=Path, help="SQLite file that keeps leads across restarts")
    parser.add_argument(
        "--duplicates",
        type=_duplicates,
        action="append",
        default=[],
        metavar="API=allow|reject",
        help="a second record with the same dedupe key, where the spec declares no conflict "
        "status: allow it, or answer 409 (default: the spec's x-sandbox); repeatable",
    )
    parser.add_argument(
        "--readonly-key",
        type=_per_api,
        action="append",
        default=[],
        metavar="API=KEY",
        help="a key of API without the write scope (403 on writes), besides those of its "
        "spec's x-sandbox; repeatable",
    )
    parser.add_argument(
        "--upload-rate",
        type=_positive,
        default=500.0,
        metavar="ROWS",
        help="rows an upload job processes per second of sandbox time (default 500)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    for name, (flag, text) in _FAULT_FLAGS.items():
        parser.add_argument(
            flag,
            dest=name,
            type=_probability,
            default=0.0,
            metavar="P",
            help=f"probability: {text}",
        )
    parser.add_argument(
        "--fault-latency",
        type=_latency,
        default=(0, 0),
        metavar="LOW:HIGH",
        help="added latency, uniform in LOW..HIGH milliseconds",
    )
    parser.set_defaults(func=_run)

"""One loader for every reader: a loaded spec -> its IR (`Api`), read strictly or leniently.

Strictly (the generator), the first thing the generator cannot do raises SpecError.
Leniently (`leadkit diff`, which also compares specs the generator refuses), each refusal is
noted in `Api.problems` and reading goes on with what the spec says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from leadkit.runtime.api import RateLimitPolicy, rate_limit_from_spec

from .errors import Problems
from .ir import Api, Auth
from .load import LoadedSpec
from .models import read_models
from .names import snake_case
from .operations import read_operations
from .sandbox import read_sandbox

__all__ = ["build_api", "key_env_var", "pascal_case"]


def pascal_case(name: str) -> str:
    """`coldsend` -> `Coldsend`, `lead_api` -> `LeadApi`."""
    return "".join(part.capitalize() for part in snake_case(name).split("_"))


def key_env_var(scheme: Mapping[str, Any], api_name: str) -> str:
    """The environment variable the client reads its key from: x-env-var, else NAME_API_KEY."""
    return str(scheme.get("x-env-var") or f"{api_name.upper()}_API_KEY")


def _auth(document: Mapping[str, Any], api_name: str, problems: Problems) -> Auth:
    """The scheme of the first security requirement: how the client sends the key."""
    requirements = document.get("security") or []
    schemes = document.get("components", {}).get("securitySchemes", {})
    name = next(iter(requirements[0]), None) if requirements else None
    scheme = schemes.get(name) if name is not None else None
    if name is None:
        problems.refuse(("security",), "declare one API-key security requirement")
    elif not isinstance(scheme, Mapping):
        problems.refuse(("security", 0), f"security scheme {name!r} is not defined")
    scheme = scheme if isinstance(scheme, Mapping) else {}
    described = " ".join(str(scheme[k]) for k in ("type", "in", "scheme") if scheme.get(k))
    env_var = key_env_var(scheme, api_name)
    if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
        return Auth(described, str(scheme["name"]), "", env_var)
    if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        return Auth(described, "Authorization", "Bearer ", env_var)
    if name is not None and scheme:
        path = ("components", "securitySchemes", name)
        problems.refuse(path, "only apiKey-in-header and http bearer security are supported")
    return Auth(described, str(scheme.get("name", "")), "", env_var)


def _rate_limit(declared: Any, problems: Problems) -> RateLimitPolicy | None:
    try:
        return rate_limit_from_spec(declared)
    except ValueError as exc:
        problems.refuse(("x-rate-limit",), str(exc))
        return None


def build_api(spec: LoadedSpec, *, strict: bool = True, name: str | None = None) -> Api:
    """The IR of one spec; `name` (default: the spec file's stem) names its package.

    Strict: raises SpecError at the first thing the generator refuses. Lenient: notes each
    in `problems` and reads on.
    """
    problems = Problems(spec.label, strict=strict)
    package = name or spec.name
    models = read_models(spec, problems)
    if not package.isidentifier() or package != package.lower():
        problems.refuse("#", "the file name must be a lower-case Python identifier")
    document = spec.document
    operations = read_operations(document, models, problems)
    servers = document.get("servers") or [{"url": "http://localhost"}]
    api = Api(
        package=package,
        client_class=f"{pascal_case(package)}Client",
        title=document["info"]["title"],
        spec_file=spec.label,
        spec_sha256=spec.sha256,
        base_url=str(servers[0]["url"]).rstrip("/"),
        auth=_auth(document, package, problems),
        rate_limit=_rate_limit(document.get("x-rate-limit"), problems),
        rate_limit_declared=document.get("x-rate-limit"),
        operations=operations,
        models=models,
        document=document,
    )
    sandbox = read_sandbox(api, problems)  # checked against the operations read above
    return attrs.evolve(api, sandbox=sandbox, problems=tuple(problems.found))

"""The IR of one spec as a whole: `Api`, what every reader of the spec reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from leadkit.runtime.api import RateLimitPolicy
from leadkit.sandbox.declaration import SandboxDeclaration

from ..errors import SpecError
from .models import ClassModel, Field, Model
from .operations import Operation
from .type_ref import STDLIB_IMPORTS

__all__ = ["Api", "Auth"]


@attrs.frozen
class Auth:
    """How the API key is sent."""

    scheme: str
    """The security scheme's type, location and scheme, e.g. ``apiKey header``."""
    header: str
    prefix: str
    env_var: str


@attrs.frozen
class Api:
    """One spec, read: what the generated package, `leadkit diff` and the sandbox see."""

    package: str
    client_class: str
    title: str
    spec_file: str
    spec_sha256: str
    base_url: str
    auth: Auth
    rate_limit: RateLimitPolicy | None
    rate_limit_declared: Any
    """The x-rate-limit value as written (None: not declared)."""
    operations: tuple[Operation, ...]
    models: tuple[Model, ...]
    document: Mapping[str, Any] = attrs.field(repr=False)
    """The spec as loaded, embedded in the package as SPEC."""
    problems: tuple[SpecError, ...] = ()
    """What the generator refuses in this spec; always empty when it was read strictly."""
    sandbox: SandboxDeclaration = attrs.field(factory=SandboxDeclaration)
    """The x-sandbox declaration, defaults filled in: how a sandbox of the API behaves."""
    _by_name: dict[str, Model] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {m.name: m for m in self.models})

    @property
    def uploads(self) -> tuple[Operation, ...]:
        """The operations declaring x-upload."""
        return tuple(op for op in self.operations if op.upload is not None)

    @property
    def has_bulk(self) -> bool:
        return any(op.bulk for op in self.operations)

    def model(self, name: str) -> Model:
        """The generated model called `name`."""
        return self._by_name[name]

    @property
    def classes(self) -> tuple[ClassModel, ...]:
        return tuple(m for m in self.models if isinstance(m, ClassModel))

    def fields_of(self, cls: ClassModel) -> tuple[Field, ...]:
        """Every field of a class in attrs' order: its base's, then its own."""
        base = self.model(cls.base) if cls.base else None
        inherited = self.fields_of(base) if isinstance(base, ClassModel) else ()
        return (*inherited, *cls.fields)

    def has_extras(self, cls: ClassModel) -> bool:
        """Whether the class has `additional_properties`, declared or inherited."""
        base = self.model(cls.base) if cls.base else None
        return cls.declares_extras or (isinstance(base, ClassModel) and self.has_extras(base))

    @property
    def client_stdlib_imports(self) -> tuple[str, ...]:
        """What client.py imports from the standard library for its parameter and body types."""
        kinds = {
            t.kind
            for op in self.operations
            for ref in (
                *(p.type for p in op.params),
                *(part.type for part in op.parts),
                *(b.type for b in (op.body, *(r.body for r in op.responses)) if b is not None),
            )
            for t in ref.walk()
        }
        return tuple(sorted(STDLIB_IMPORTS[k] for k in kinds if k in STDLIB_IMPORTS))

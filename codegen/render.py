"""Stage 5: IR -> {relative path: text}, through one Jinja environment. Pure: no I/O."""

from __future__ import annotations

import pprint
import sys
from inspect import isclass
from pathlib import Path
from types import ModuleType

import jinja2

from leadkit.runtime import errors

from .contract import contract
from .ir import Api
from .models import model_imports
from .serde import plan_serde
from .signatures import BULK_OPTIONS, CALL_OPTIONS

__all__ = ["render_api", "render_root"]

TEMPLATES = Path(__file__).parent / "templates"
FILES = (
    "__init__.py",
    "client.py",
    "contract.py",
    "converter.py",
    "models.py",
    "serde.py",
    "spec.py",
)
MODEL_TEMPLATES = {
    "ClassModel": "class.jinja2",
    "EnumModel": "enum.jinja2",
    "AliasModel": "alias.jinja2",
}
"""The template of each kind of model (templates/models/), one macro interface: `model`."""

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader([TEMPLATES / "package", TEMPLATES / "models"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)
_ENV.filters["pyrepr"] = repr


def _is_exception(obj: object) -> bool:
    return isclass(obj) and issubclass(obj, Exception)


def _exceptions(module: ModuleType) -> tuple[str, ...]:
    """The exception classes `module` exports, by name."""
    return tuple(sorted(name for name in module.__all__ if _is_exception(getattr(module, name))))


CALLER_ERRORS = {errors.__name__: _exceptions(errors)}
"""Runtime module -> the exception classes it exports; each generated package re-exports them
all, so that a caller catches `RateLimitError` from the package of its client."""
_ENV.globals["caller_errors"] = CALLER_ERRORS
_ENV.globals["call_options"] = CALL_OPTIONS
_ENV.globals["bulk_options"] = BULK_OPTIONS


def _literal(data: object) -> str:
    """A Python literal of JSON-like data, keys sorted, each string whole (ruff wraps it)."""
    return pprint.pformat(data, sort_dicts=True, width=sys.maxsize)


def render_api(api: Api) -> dict[str, str]:
    """Render one API's package files, keyed by path relative to the output root."""
    context = {
        "api": api,
        "model_imports": model_imports(api.models),
        "model_templates": MODEL_TEMPLATES,
        "serde": plan_serde(api),
        "spec_literal": _literal(api.document),
        "contract_literal": _literal(contract(api)),
    }
    return {
        f"{api.package}/{name}": _ENV.get_template(f"{name}.jinja2").render(context)
        for name in FILES
    }


def render_root() -> dict[str, str]:
    """Files of the output root itself."""
    return {
        "__init__.py": (
            '"""Generated API packages, `leadkit.apis.<api>`. Do not edit: run'
            ' `python -m leadkit.codegen`."""\n'
        ),
        "py.typed": "",
    }

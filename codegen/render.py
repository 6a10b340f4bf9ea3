"""Stage 4: IR -> {relative path: text}, through one Jinja environment. Pure: no I/O."""

from __future__ import annotations

from pathlib import Path

import jinja2

from .ir import Api
from .models import TEMPLATE_DIR as MODEL_TEMPLATES

__all__ = ["render_api", "render_root"]

TEMPLATES = Path(__file__).parent / "templates" / "package"
FILES = ("__init__.py", "client.py", "converter.py", "models.py", "spec.py")

_ENV = jinja2.Environment(
    # the models' folder too, for the docstring macro both kinds of template share
    loader=jinja2.FileSystemLoader([TEMPLATES, MODEL_TEMPLATES]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)
_ENV.filters["pyrepr"] = repr


def render_api(api: Api) -> dict[str, str]:
    """Render one API's package files, keyed by path relative to the output root."""
    return {
        f"{api.package}/{name}": _ENV.get_template(f"{name}.jinja2").render(api=api)
        for name in FILES
    }


def render_root() -> dict[str, str]:
    """Files of the output root itself."""
    return {
        "__init__.py": '"""Generated API packages. Do not edit: run `python -m codegen`."""\n',
        "py.typed": "",
    }

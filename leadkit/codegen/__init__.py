"""The generator, `leadkit.codegen`: OpenAPI specs in, attrs models and async aiohttp clients out.

In a checkout its modules live in the repository's top-level `codegen/` folder, which this
package's path takes in; the wheel ships them here (this file is replaced by
`codegen/__init__.py`).
"""

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]
if (_CHECKOUT / "pyproject.toml").is_file():
    __path__.append(str(_CHECKOUT / "codegen"))

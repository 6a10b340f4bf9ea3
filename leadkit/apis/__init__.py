"""The generated API packages, `leadkit.apis.<api>` (one per spec in `specs/`).

In a checkout they live in the repository's top-level `generated/` folder, which this
package's path takes in; the wheel ships them here (this file is replaced by
`generated/__init__.py`). Regenerate with `python -m leadkit.codegen`.
"""

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]
if (_CHECKOUT / "pyproject.toml").is_file():
    __path__.append(str(_CHECKOUT / "generated"))

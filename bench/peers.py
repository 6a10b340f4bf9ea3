"""Peer clients generated at bench time from specs/coldsend.yaml into a temporary folder.

* openapi-python-client (httpx, attrs) as the package ``opc_coldsend``;
* datamodel-code-generator pydantic v2 models as the module ``pydantic_coldsend``;
* openapi-generator's ``python`` client with ``--library asyncio`` as ``ogen_coldsend``.

A peer whose tool is missing or fails is reported with the reason instead of a module.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import attrs

from .harness import ROOT

__all__ = ["Peer", "Peers"]

SPEC = ROOT / "specs" / "coldsend.yaml"


@attrs.frozen
class Peer:
    """A generated peer: its module, or why it could not be made here."""

    module: ModuleType | None
    why_not: str = ""


def _run(args: list[str], what: str) -> str:
    """Run a generator; '' on success, else the reason (the last line it printed)."""
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode == 0:
        return ""
    lines = (done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"]
    return f"{what} failed: {lines[-1][:160]}"


class Peers:
    """Generates each peer on first use into `folder` and imports it from there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[str, Peer] = {}
        sys.path.insert(0, str(folder))

    def _peer(self, name: str, tool: str, args: list[str], home: Path | None = None) -> Peer:
        """Run ``python ARGS`` (the module `tool`) once, then import `name` from `home`."""
        if name not in self._made:
            if importlib.util.find_spec(tool) is None:
                why = f"{tool} is not installed (install the bench extra)"
            else:
                why = _run([sys.executable, *args], tool)
            if not why and home is not None:
                sys.path.insert(0, str(home))
            module = None if why else importlib.import_module(name)
            self._made[name] = Peer(module, why)
        return self._made[name]

    def opc(self) -> Peer:
        """openapi-python-client's package (models and the add_lead endpoint module)."""
        config = self.folder / "opc.yaml"
        config.write_text("post_hooks: []\n")
        args = [
            "-m", "openapi_python_client", "generate",
            "--path", str(SPEC), "--meta", "none", "--config", str(config),
            "--output-path", str(self.folder / "opc_coldsend"),
        ]  # fmt: skip
        return self._peer("opc_coldsend", "openapi_python_client", args)

    def pydantic(self) -> Peer:
        """datamodel-code-generator's pydantic v2 models of the same schemas."""
        args = [
            "-m", "datamodel_code_generator",
            "--input", str(SPEC),
            "--input-file-type", "openapi",
            "--output-model-type", "pydantic_v2.BaseModel",
            "--output", str(self.folder / "pydantic_coldsend.py"),
        ]  # fmt: skip
        return self._peer("pydantic_coldsend", "datamodel_code_generator", args)

    def ogen(self) -> Peer:
        """openapi-generator's python client with the asyncio library (needs Java)."""
        if shutil.which("java") is None:
            return Peer(None, "no java runtime on PATH")
        home = self.folder / "ogen"
        args = [
            "-c", "from openapi_generator_cli import cli; cli()",
            "generate", "-i", str(SPEC), "-g", "python", "--library", "asyncio",
            "-o", str(home), "--package-name", "ogen_coldsend",
        ]  # fmt: skip
        return self._peer("ogen_coldsend", "openapi_generator_cli", args, home)

"""The wheel claims one import name, `leadkit`: generated/ ships as leadkit.apis, codegen/ as
leadkit.codegen, and both import from the unpacked wheel alone."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from tests.processes import run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("leadkit-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_has_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"leadkit"}
    assert "leadkit/apis/coldsend/client.py" in names
    assert "leadkit/codegen/templates/package/client.py.jinja2" in names
    shipped = zipfile.ZipFile(wheel).read("leadkit/apis/__init__.py")
    assert shipped == (ROOT / "generated" / "__init__.py").read_bytes(), "not the checkout stub"


@pytest.mark.slow
def test_the_unpacked_wheel_imports_the_clients_and_the_generator(
    wheel: Path, tmp_path: Path
) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    probe = (
        "import leadkit, leadkit.apis.coldsend, leadkit.apis.breakcold, leadkit.codegen.load;"
        "print(leadkit.__file__); print(leadkit.apis.coldsend.ColdsendClient.__module__)"
    )
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}
    done = run(sys.executable, "-c", probe, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    where, module = done.stdout.splitlines()
    assert where.startswith(str(tmp_path / "site")), where
    assert module == "leadkit.apis.coldsend.client"

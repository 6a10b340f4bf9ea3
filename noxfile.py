"""Sessions: `nox` runs tests, lint, typecheck, regen_check and docs; `nox -l` lists them all."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck", "regen_check", "docs"]
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
RUFF = "ruff==0.17.6"


def install_project(session: nox.Session, extras: str) -> None:
    """Install the project (editable) with the given extras."""
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the whole test suite (unit, golden, functional, property, contract): the quick
    selection on every core, then the slow tests one at a time (they measure time and memory,
    or kill processes on a clock). `nox -s tests -- -m "not slow"` runs the quick selection
    alone; other arguments go to pytest as they are, on one core."""
    install_project(session, "test")
    quick = ["-m", "not slow", "-n", "auto"]
    if not session.posargs:
        session.run("pytest", *quick)
        session.run("pytest", "-m", "slow")
    elif session.posargs == ["-m", "not slow"]:
        session.run("pytest", *quick)
    else:
        session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole tree, generated code included."""
    session.install(RUFF)
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the generator, the runtime and every generated package."""
    install_project(session, "typecheck")
    session.run("mypy", "--strict", "codegen", "leadkit", "generated", *session.posargs)
    session.run("mypy", "--strict", "tests/golden/expected")


@nox.session(python=PYTHON)
def regen_check(session: nox.Session) -> None:
    """Fail when generated/ is not exactly what the generator makes from specs/."""
    install_project(session, "codegen")
    session.run("python", "-m", "leadkit.codegen", "--check", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with --strict: a broken link or API reference fails."""
    install_project(session, "docs")
    site = Path(session.create_tmp()) / "site"
    # the notice MkDocs' release line prints about its successor is no finding of ours
    env = {"NO_MKDOCS_2_WARNING": "1"}
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), *session.posargs, env=env)


@nox.session(python=PYTHON)
def regen(session: nox.Session) -> None:
    """After an API change: print the semantic report, regenerate, refresh golden snapshots."""
    install_project(session, "codegen")
    session.run("python", "-m", "leadkit.codegen.regen", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against the peers and this machine's limit; `-- --quick`, `-- --write-docs`."""
    # Start-up and generator timings mean what a user sees only with bytecode compiled, as
    # pip does at install time (uv does not by default, and PYTHONDONTWRITEBYTECODE may be set).
    session.install("-e", ".[bench]", env={"UV_COMPILE_BYTECODE": "1"})
    session.run("python", "-m", "compileall", "-q", "leadkit", "generated", "codegen", "bench")
    session.run("python", "-m", "bench", *session.posargs)

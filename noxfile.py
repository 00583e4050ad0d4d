"""Developer sessions: ``nox -s tests lint types build`` (``./dev check`` runs lint and types)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "types", "build"]
nox.options.reuse_existing_virtualenvs = True

PACKAGE = "iotedge_cli"


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (the same one `./dev test` runs)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python="3.10")
def compat(session: nox.Session) -> None:
    """The test suite on the oldest Python we support (3.10)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (style, bugs, no print in the package) and import-linter (layering contracts)."""
    session.install("ruff>=0.6", "import-linter>=2", "-e", ".")
    session.run("ruff", "check", PACKAGE, "tests", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", PACKAGE, "tests", "bench", "noxfile.py")
    session.run("lint-imports")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("mypy>=1.10", "types-PyYAML", "types-jsonschema", "-e", ".")
    session.run("mypy")


@nox.session
def build(session: nox.Session) -> None:
    """Build the wheel, install it in a fresh venv, run it, including packaged data."""
    import tempfile
    from pathlib import Path

    session.install("build")
    with tempfile.TemporaryDirectory() as tmp:
        session.run("python", "-m", "build", "--wheel", "--outdir", tmp)
        wheel = str(next(Path(tmp).glob("*.whl")))
        venv = f"{tmp}/venv"
        session.run("python", "-m", "venv", venv)
        session.run(f"{venv}/bin/pip", "install", "-q", wheel, external=True)
        session.run(f"{venv}/bin/edgectl", "--version", external=True)
        # Commands that need data packaged in the wheel: the bundled JSON schemas and templates.
        session.run(
            f"{venv}/bin/edgectl", "manifest", "schema", "-o", f"{tmp}/schema.json", external=True
        )
        session.run(
            f"{venv}/bin/python",
            "-I",  # isolated: import the installed wheel, not ./iotedge_cli
            "-c",
            "import importlib.resources as r; "
            "assert (r.files('iotedge_cli') / '_templates' / 'README.md').is_file(), 'templates missing'",
            external=True,
        )
        session.run(
            f"{venv}/bin/edgectl",
            "manifest",
            "validate",
            "examples/solution/deployment.template.json",
            external=True,
        )
        # The packaged scaffolding templates (dotfiles included) make a solution that validates.
        solution = f"{tmp}/solution"
        session.run(
            f"{venv}/bin/edgectl", "new-solution", solution, "--module", "filter", external=True
        )
        for dotfile in (".env", ".gitignore", "modules/filter/.dockerignore"):
            session.run("test", "-f", f"{solution}/{dotfile}", external=True)
        session.chdir(solution)
        session.run(f"{venv}/bin/edgectl", "manifest", "generate", external=True)
        session.run(
            f"{venv}/bin/edgectl",
            "manifest",
            "validate",
            "--strict",
            "config/deployment.amd64.json",
            external=True,
        )

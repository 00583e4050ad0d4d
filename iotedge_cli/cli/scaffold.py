"""``edgectl new-solution`` and ``edgectl new-module``: scaffold from the bundled templates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iotedge_cli.cli.common import console, error_boundary, print_json

if TYPE_CHECKING:
    from iotedge_cli.scaffold.actions import ScaffoldResult

LANG_HELP = "Module language: python, node, csharp, java or c (see 'edgectl templates list')."


def new_solution(
    directory: Annotated[
        Path, typer.Argument(help="Folder to create (must not exist, or be empty).")
    ],
    module: Annotated[
        str | None, typer.Option("--module", "-m", help="Also create this first module.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", "-l", help=LANG_HELP)] = "python",
    registry: Annotated[
        str,
        typer.Option("--registry", help="Container registry HOST[:PORT] for module images."),
    ] = "localhost:5000",
    runtime_version: Annotated[
        str, typer.Option("--runtime-version", help="IoT Edge runtime images: 1.4 or 1.5.")
    ] = "1.5",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document describing the result.")
    ] = False,
) -> None:
    """Create an IoT Edge solution: deployment templates, .env, .gitignore, modules/ (offline).

    Nothing is written unless everything can be; an existing non-empty folder is never touched.
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.scaffold.actions import new_solution as run

        result = run(
            directory,
            module=module,
            language=lang,
            registry=registry,
            runtime_version=runtime_version,
        )
    if as_json:
        print_json(result.to_json())
        return
    what = f"Created solution {result.root} ({len(result.files)} files)"
    if result.module:
        what += f" with {result.language} module {result.module} (image {result.repository})"
    _report(result, what + ".", f"cd {result.root} && edgectl manifest generate")


def new_module(
    name: Annotated[str, typer.Argument(help="Module name, e.g. FilterModule.")],
    lang: Annotated[str, typer.Option("--lang", "-l", help=LANG_HELP)] = "python",
    solution: Annotated[
        Path,
        typer.Option(
            "--solution", "-s", help="Solution folder (holding deployment.template.json)."
        ),
    ] = Path(),
    repository: Annotated[
        str | None,
        typer.Option(
            "--repository",
            help="Image repository REGISTRY/NAME (default: $CONTAINER_REGISTRY_ADDRESS from .env, "
            "else localhost:5000, then the name lowercased).",
        ),
    ] = None,
    template_dir: Annotated[
        Path | None,
        typer.Option(
            "--template-dir",
            help="Your own module template folder (layout and variables: templates/README.md).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document describing the result.")
    ] = False,
) -> None:
    """Add a module: modules/NAME/ from a template, plus its entry, routes and twin in both templates.

    The deployment templates are edited as text: your indentation, key order and comments stay.
    An existing module (folder or template entry) is never overwritten; nothing is written on error.
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.scaffold.actions import new_module as run

        result = run(
            name, language=lang, solution=solution, repository=repository, template_dir=template_dir
        )
    if as_json:
        print_json(result.to_json())
        return
    edited = ", ".join(Path(p).name for p in result.edited)
    _report(
        result,
        f"Created {result.language} module {result.module} in {result.root} "
        f"({len(result.files)} files, image {result.repository}); added it to {edited}.",
        f"edgectl manifest generate {solution / 'deployment.template.json'}",
    )


def _report(result: ScaffoldResult, headline: str, next_step: str) -> None:
    out = console()
    out.print(headline, markup=False)
    for note in result.notes:
        out.print(f"note: {note}", markup=False)
    out.print(f"Next: {next_step}", markup=False)

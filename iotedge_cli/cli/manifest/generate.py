"""``edgectl manifest generate``: expand a deployment template into a manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iotedge_cli.cli.common import console, error_boundary, print_json
from iotedge_cli.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from iotedge_cli.manifest.generate import GenerateResult


def generate(
    template: Annotated[
        Path | None,
        typer.Argument(
            help="Template (JSON or YAML). Default: deployment.template.json "
            "(deployment.debug.template.json with --debug) in the current directory.",
            show_default=False,
        ),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform", "-P", help="Target platform (default: $DEFAULT_PLATFORM, else amd64)."
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Use the debug template and output names.")
    ] = False,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Variables file (default: .env next to the template)."),
    ] = None,
    modules_dir: Annotated[
        Path | None,
        typer.Option(
            "--modules-dir",
            help="Folder holding <dir>/module.json (default: modules next to the template).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file (default: config/deployment[.debug].<platform>.json next to the template).",
        ),
    ] = None,
    no_validate: Annotated[
        bool, typer.Option("--no-validate", help="Do not lint the generated manifest.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an output file that was edited by hand.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document describing the result.")
    ] = False,
) -> None:
    """Generate a deployment manifest: expand $VARs and ${MODULES.x}, chunk createOptions, lint.

    Variables come from the environment and .env (the environment wins); write $$ for a
    literal $. Route tokens such as $upstream and $edgeHub are never expanded. Exit 0 when the
    manifest was written, 1 when problems were found (nothing is written), 2 for unreadable
    input or usage errors.
    """
    with error_boundary(as_json=as_json):
        from iotedge_cli.manifest.generate import GenerateOptions
        from iotedge_cli.manifest.generate import generate as run

        options = GenerateOptions(
            template, platform, debug, env_file, modules_dir, output, not no_validate, force
        )
        result = run(options, os.environ)
    if as_json:
        print_json(result.to_json())
    else:
        _render(result, console())
    if result.errors:
        raise typer.Exit(ExitCode.FINDINGS)


def _render(result: GenerateResult, out: Console) -> None:
    from rich.text import Text

    from iotedge_cli.cli.render import human
    from iotedge_cli.diagnostics import Report

    if result.diagnostics:
        human.render(Report(files=[result.template], diagnostics=result.diagnostics), out)
    if not result.written:
        out.print(Text(f"Not written: {result.output} (fix the errors above).", style="bold red"))
        return
    out.print(
        Text(
            f"Wrote {result.output} (platform {result.platform}) from {result.template}.",
            style="bold",
        )
    )
    for placeholder, image in result.images.items():
        out.print(Text(f"  image {placeholder} -> {image}"))
    if result.create_options:
        count = len(result.create_options)
        line = f"  createOptions serialised for {count} module{'' if count == 1 else 's'}"
        split = [c for c in result.create_options if c.chunks > 1]
        if split:
            line += "; split into 512-character chunks: " + ", ".join(
                f"{c.module} ({c.characters} characters, {c.chunks} chunks)" for c in split
            )
        out.print(Text(line))

"""``edgectl manifest schema``: print the JSON schema of a deployment manifest or template."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from iotedge_cli.cli.common import console, error_boundary
from iotedge_cli.errors import InputError

_OUTPUT = typer.Option(
    None, "--output", "-o", help="Write the schema to this file instead of standard output."
)


def schema(
    template: bool = typer.Option(
        False,
        "--template",
        help="Schema for deployment templates: placeholders such as ${MODULES.x}, createOptions as "
        "an object, and $schema-template are allowed.",
    ),
    output: Path | None = _OUTPUT,
    force: bool = typer.Option(False, "--force", help="Overwrite the --output file if it exists."),
) -> None:
    """Print edgectl's JSON schema (draft-07) for a whole deployment manifest.

    One document covers every supported version ($edgeAgent 1.0, 1.1; $edgeHub 1.0 to 1.3),
    chosen by each section's schemaVersion. Layered deployments are not described.

    To get completion and hover help in VS Code, write the schema once and map it in
    .vscode/settings.json:

    \b
        edgectl manifest schema -o .vscode/deployment.schema.json
        edgectl manifest schema --template -o .vscode/deployment.template.schema.json

    \b
        "json.schemas": [
          {"fileMatch": ["/config/*.json"], "url": "./.vscode/deployment.schema.json"},
          {"fileMatch": ["/deployment*.template.json"],
           "url": "./.vscode/deployment.template.schema.json"}
        ]

    The schema helps editors; `edgectl manifest validate` checks much more (routes,
    createOptions, images, limits).
    """
    with error_boundary():
        from iotedge_cli.manifest.schema import deployment_schema

        text = json.dumps(deployment_schema(template=template), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            typer.echo(text, nl=False)
            return
        _write(output, text, force=force)
        console(stderr=True).print(f"wrote {output}", markup=False)


def _write(path: Path, text: str, *, force: bool) -> None:
    if path.exists() and not force:
        raise InputError(
            f"{path}: file exists", hint="pass --force to overwrite it, or choose another path"
        )
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write: {exc.strerror}",
            hint="check the directory exists and is writable",
        ) from None

"""``edgectl routes graph``: the message flow of a deployment as Mermaid, Graphviz dot or text."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from iotedge_cli.cli.common import console, error_boundary
from iotedge_cli.errors import InputError


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    text = "text"


def graph(
    manifest: Path = typer.Option(..., "--manifest", "-m", help="The deployment manifest."),
    fmt: GraphFormat = typer.Option(
        GraphFormat.mermaid, "--format", "-f", help="mermaid (renders on GitHub), dot or text."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
) -> None:
    """Draw the routes between modules, $upstream and leaf devices (conditions on the edges).

    Routes that do not parse are left out and reported on stderr (exit 1); exit 2 when the
    manifest cannot be read.
    """
    with error_boundary():
        from iotedge_cli.cli.routes._shared import load_routes, position
        from iotedge_cli.routes.graph import build_graph, render_dot, render_mermaid, render_text

        loaded = load_routes(manifest)
        flow = build_graph(loaded.manifest, loaded.specs)
        render = {"mermaid": render_mermaid, "dot": render_dot, "text": render_text}[fmt.value]
        text = render(flow)
        if output is None:
            console().print(text, markup=False, end="")
        else:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise InputError(
                    f"cannot write {output}: {exc.strerror or exc}", "check the --output path"
                ) from None
        err = console(stderr=True)
        for p in loaded.problems:
            line, col = position(loaded.doc, p.path, p.error.column if p.error else None)
            err.print(
                f"error: {loaded.doc.name}:{line}:{col}: {p.message}; left out of the graph",
                markup=False,
            )
    if loaded.problems:
        raise typer.Exit(1)

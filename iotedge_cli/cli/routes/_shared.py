"""What the ``edgectl routes`` commands share: loading a manifest's routes, placing errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from iotedge_cli.diagnostics import JsonPath

if TYPE_CHECKING:
    from iotedge_cli.manifest.loader import SourceDoc
    from iotedge_cli.manifest.model import Manifest
    from iotedge_cli.routes.router import RouteProblem, RouteSpec


@dataclass
class LoadedRoutes:
    doc: SourceDoc
    manifest: Manifest
    specs: list[RouteSpec]
    problems: list[RouteProblem]


def load_routes(path: Path) -> LoadedRoutes:
    """Parse every route of the manifest at ``path``; unreadable files raise ``InputError``."""
    from iotedge_cli.manifest.loader import load_file
    from iotedge_cli.manifest.model import Manifest
    from iotedge_cli.routes.router import routes_from_manifest

    doc = load_file(path)
    manifest = Manifest.from_doc(doc)
    specs, problems = routes_from_manifest(manifest)
    return LoadedRoutes(doc, manifest, specs, problems)


def position(doc: SourceDoc, path: JsonPath, column: int | None) -> tuple[int, int]:
    """``line, col`` in the file of 1-based ``column`` of the route string at ``path``."""
    from iotedge_cli.manifest.textpos import file_offset

    start = doc.offset_of(path)
    if column is None or doc.format != "json":
        return doc.line_col(start)
    return doc.line_col(file_offset(doc.text, start, column - 1))


def indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line for line in text.split("\n"))

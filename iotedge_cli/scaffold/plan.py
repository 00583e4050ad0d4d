"""Pure planning: a template plus answers become a list of files (path, content, mode).

Nothing here reads or writes the disk: the template is already in memory
(:mod:`templates`) and :mod:`write` puts the plan on disk. ``*.j2`` files are rendered (the
suffix dropped), other files are copied byte for byte; ``{{ … }}`` in path segments is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from iotedge_cli.errors import InputError
from iotedge_cli.scaffold.names import pascal, snake
from iotedge_cli.scaffold.render import render_text
from iotedge_cli.scaffold.templates import Template

FILE_MODE = 0o644
EXEC_MODE = 0o755
SECRET_MODE = 0o600  # .env holds registry credentials
SECRET_FILES = frozenset({".env"})

PLATFORMS = ("amd64", "amd64.debug", "arm32v7", "arm64v8")

# Official default base images per language and platform (each Dockerfile's ARG BASE_IMAGE).
# A template's template.json may override or extend these with "base_image".
BASE_IMAGES: dict[str, dict[str, str]] = {
    "python": {
        "amd64": "python:3.11-slim-bookworm",
        "amd64.debug": "python:3.11-slim-bookworm",
        "arm32v7": "arm32v7/python:3.11-slim-bookworm",
        "arm64v8": "arm64v8/python:3.11-slim-bookworm",
    },
    "node": {
        "amd64": "node:20-alpine",
        "amd64.debug": "node:20-alpine",
        "arm32v7": "arm32v7/node:20-alpine",
        "arm64v8": "arm64v8/node:20-alpine",
    },
    "csharp": {
        "amd64": "mcr.microsoft.com/dotnet/runtime:8.0-bookworm-slim",
        "amd64.debug": "mcr.microsoft.com/dotnet/runtime:8.0-bookworm-slim",
        "arm32v7": "mcr.microsoft.com/dotnet/runtime:8.0-bookworm-slim-arm32v7",
        "arm64v8": "mcr.microsoft.com/dotnet/runtime:8.0-bookworm-slim-arm64v8",
        "build": "mcr.microsoft.com/dotnet/sdk:8.0",
    },
    "java": {
        "amd64": "eclipse-temurin:17-jre",
        "amd64.debug": "eclipse-temurin:17-jre",
        "arm32v7": "arm32v7/eclipse-temurin:17-jre",
        "arm64v8": "arm64v8/eclipse-temurin:17-jre",
        "build": "maven:3.9-eclipse-temurin-17",
    },
    "c": {
        "amd64": "ubuntu:22.04",
        "amd64.debug": "ubuntu:22.04",
        "arm32v7": "arm32v7/ubuntu:22.04",
        "arm64v8": "arm64v8/ubuntu:22.04",
    },
}

# Versions of the device SDKs the templates depend on (keyed by language / package).
SDK_VERSIONS: dict[str, str] = {
    "python": "2.14",  # azure-iot-device
    "node": "1.18",  # azure-iot-device
    "node_mqtt": "1.16",  # azure-iot-device-mqtt
    "csharp": "1.42",  # Microsoft.Azure.Devices.Client
    "java": "2.5.0",  # com.microsoft.azure.sdk.iot:iot-device-client
    "c": "1.14.0",  # azure-iot-sdk-c
}


@dataclass(frozen=True)
class PlannedFile:
    path: PurePosixPath  # relative to the folder being created
    content: bytes
    mode: int = FILE_MODE


def module_variables(
    name: str,
    *,
    language: str,
    repository: str,
    solution_name: str,
    base_image: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The variables every module template can use (documented in templates/README.md)."""
    images = dict(BASE_IMAGES.get(language, {}))
    images.update(base_image or {})
    return {
        "module_name": name,
        "module_name_lower": name.lower(),
        "module_name_snake": snake(name),
        "module_name_pascal": pascal(name),
        "repository": repository,
        "language": language,
        "solution_name": solution_name,
        "base_image": images,
        "sdk_version": dict(SDK_VERSIONS),
        "platforms": list(PLATFORMS),
    }


def solution_variables(
    solution_name: str, *, registry: str, runtime_version: str
) -> dict[str, Any]:
    return {
        "solution_name": solution_name,
        "registry": registry,
        "runtime_version": runtime_version,
        "local_registry": is_local_registry(registry),
    }


def is_local_registry(host: str) -> bool:
    """A registry on this machine needs no credentials (and edgectl's linter expects none)."""
    name = host.lower()
    name = name.split("]", 1)[0] + "]" if name.startswith("[") else name.split(":", 1)[0]
    return name in ("localhost", "127.0.0.1", "[::1]")


def plan(template: Template, variables: Mapping[str, Any]) -> list[PlannedFile]:
    """Render ``template`` with ``variables`` into files relative to the folder it fills."""
    out: list[PlannedFile] = []
    seen: set[PurePosixPath] = set()
    for file in template.files:
        shown = f"{template.root.name}/{file.path}"
        path = _render_path(file.path, variables, shown)
        content = file.data
        if file.path.name.endswith(".j2"):
            path = path.with_name(path.name[: -len(".j2")])
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(
                    f"{shown}: a .j2 template must be UTF-8 text",
                    hint="drop the .j2 suffix to copy the file unchanged",
                ) from None
            content = render_text(text, variables, shown).encode("utf-8")
        if path in seen:
            raise InputError(
                f"{shown}: renders to {path}, which another template file also produces",
                hint="give every template file a distinct output path",
            )
        seen.add(path)
        mode = FILE_MODE
        if path.as_posix() in template.executable:
            mode = EXEC_MODE
        elif path.name in SECRET_FILES:
            mode = SECRET_MODE
        out.append(PlannedFile(path, content, mode))
    return out


def _render_path(path: PurePosixPath, variables: Mapping[str, Any], shown: str) -> PurePosixPath:
    if "{" not in str(path):
        return path
    parts = [render_text(part, variables, shown) if "{" in part else part for part in path.parts]
    if any(not p or p in (".", "..") or "/" in p or "\\" in p for p in parts):
        raise InputError(
            f"{shown}: the file name renders to {'/'.join(parts)!r}, which leaves the module folder",
            hint="path variables must render to plain names",
        )
    return PurePosixPath(*parts)

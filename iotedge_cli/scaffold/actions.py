"""``new-solution`` and ``new-module`` as functions: read, check, plan, edit, then one write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from iotedge_cli.errors import InputError, UsageError
from iotedge_cli.scaffold import names
from iotedge_cli.scaffold.edit import ModuleAddition, add_module
from iotedge_cli.scaffold.plan import (
    PlannedFile,
    is_local_registry,
    module_variables,
    plan,
    solution_variables,
)
from iotedge_cli.scaffold.templates import module_template, solution_template
from iotedge_cli.scaffold.write import Change, FileEdit, apply

TEMPLATE = "deployment.template.json"
DEBUG_TEMPLATE = "deployment.debug.template.json"
DEFAULT_REGISTRY = "localhost:5000"
RUNTIME_VERSIONS = ("1.4", "1.5")
_PUBLIC = ("docker.io", "mcr.microsoft.com", "ghcr.io", "quay.io", "public.ecr.aws")


@dataclass
class ScaffoldResult:
    root: Path  # the folder created (the solution, or modules/<name>)
    files: list[str] = field(default_factory=list)  # created, relative to ``root``
    edited: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    module: str | None = None
    repository: str | None = None
    language: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "module": self.module,
            "language": self.language,
            "repository": self.repository,
            "created": self.files,
            "edited": self.edited,
            "notes": self.notes,
        }


def new_solution(
    directory: Path,
    *,
    module: str | None = None,
    language: str = "python",
    registry: str = DEFAULT_REGISTRY,
    runtime_version: str = "1.5",
    template_dir: Path | None = None,
) -> ScaffoldResult:
    names.check_solution_dir(directory)
    registry = names.check_registry(registry)
    if runtime_version not in RUNTIME_VERSIONS:
        raise UsageError(
            f"unsupported runtime version {runtime_version!r}",
            hint=f"use one of {', '.join(RUNTIME_VERSIONS)} (IoT Edge 1.4 LTS or 1.5)",
        )
    solution_name = directory.resolve().name
    variables = solution_variables(
        solution_name, registry=registry, runtime_version=runtime_version
    )
    files = plan(solution_template(), variables)
    result = ScaffoldResult(directory)
    if module is not None:
        names.check_module_name(module)
        repository = names.repository_for(module, registry)
        module_files, addition_notes = _module_files(
            module, language, repository, solution_name, template_dir
        )
        by_path = {f.path: f for f in files}
        for name, debug in ((TEMPLATE, False), (DEBUG_TEMPLATE, True)):
            old = by_path.get(PurePosixPath(name))
            if old is None:
                continue
            addition = _addition(module, debug, repository, registry, old.content, result)
            new = add_module(old.content.decode("utf-8"), name, addition).encode("utf-8")
            by_path[old.path] = PlannedFile(old.path, new, old.mode)
        files = list(by_path.values()) + [
            PlannedFile(PurePosixPath("modules", module, *f.path.parts), f.content, f.mode)
            for f in module_files
        ]
        result.module, result.repository, result.language = module, repository, language
        result.notes.extend(addition_notes)
    apply(Change(directory, files, dirs=("modules",)))
    result.files = sorted(f.path.as_posix() for f in files)
    return result


def new_module(
    name: str,
    *,
    language: str = "python",
    solution: Path = Path(),
    repository: str | None = None,
    template_dir: Path | None = None,
) -> ScaffoldResult:
    names.check_module_name(name)
    template_path = solution / TEMPLATE
    if not template_path.is_file():
        raise UsageError(
            f"no {TEMPLATE} in {solution}",
            hint="run this in a solution folder, pass --solution DIR, or create one with "
            "'edgectl new-solution DIR'",
        )
    modules_dir = solution / "modules"
    if modules_dir.is_dir():
        for existing in modules_dir.iterdir():
            if existing.name.lower() == name.lower():
                raise UsageError(
                    f"{existing} already exists; edgectl never overwrites a module",
                    hint="choose another name, or remove that folder first",
                )
    env = _dotenv(solution)
    registry = env.get("CONTAINER_REGISTRY_ADDRESS", "").strip() or DEFAULT_REGISTRY
    result = ScaffoldResult(modules_dir / name, module=name, language=language)
    if repository is None:
        repository = names.repository_for(name, registry)
    else:
        checked = names.check_repository(repository)
        if checked != repository.strip():
            result.notes.append(
                f"repository {repository!r} lowercased to {checked!r} (Docker repositories are lowercase)"
            )
        repository = checked
    result.repository = repository
    module_files, notes = _module_files(
        name, language, repository, solution.resolve().name, template_dir
    )
    result.notes.extend(notes)
    edits: list[FileEdit] = []
    for file_name, debug in ((TEMPLATE, False), (DEBUG_TEMPLATE, True)):
        path = solution / file_name
        if not path.is_file():
            if debug:
                result.notes.append(f"no {file_name} in {solution}: only {TEMPLATE} was updated")
            continue
        old = _read(path)
        addition = _addition(name, debug, repository, registry, old, result, env)
        new = add_module(old.decode("utf-8"), str(path), addition).encode("utf-8")
        edits.append(FileEdit(path, old, new))
        result.edited.append(str(path))
    apply(Change(modules_dir / name, module_files, edits=edits))
    result.files = sorted(f.path.as_posix() for f in module_files)
    return result


def _module_files(
    name: str, language: str, repository: str, solution_name: str, template_dir: Path | None
) -> tuple[list[PlannedFile], list[str]]:
    template = module_template(language, template_dir)
    variables = module_variables(
        name,
        language=template.language or language,
        repository=repository,
        solution_name=solution_name,
        base_image=template.base_image,
    )
    return plan(template, variables), []


def _addition(
    name: str,
    debug: bool,
    repository: str,
    registry: str,
    template_text: bytes,
    result: ScaffoldResult,
    env: dict[str, str] | None = None,
) -> ModuleAddition:
    image = f"${{MODULES.{name}.debug}}" if debug else f"${{MODULES.{name}}}"
    host = _registry_host(repository)
    if host is None or is_local_registry(host) or host in _PUBLIC:
        return ModuleAddition(name, image)
    if host != registry:
        note = (
            f"image registry {host} is not CONTAINER_REGISTRY_ADDRESS ({registry}): add "
            f"registryCredentials for {host} to the templates (and its password to .env)"
        )
        if note not in result.notes:
            result.notes.append(note)
        return ModuleAddition(name, image)
    if _has_credential(template_text, host, env or {"CONTAINER_REGISTRY_ADDRESS": registry}):
        return ModuleAddition(name, image)
    key = "".join(ch for ch in host.split(".", 1)[0].split(":", 1)[0] if ch.isalnum()) or "registry"
    credential = {
        "username": "$CONTAINER_REGISTRY_USERNAME",
        "password": "$CONTAINER_REGISTRY_PASSWORD",
        "address": "$CONTAINER_REGISTRY_ADDRESS",
    }
    return ModuleAddition(name, image, (key, credential))


def _registry_host(repository: str) -> str | None:
    first, sep, _ = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def _has_credential(text: bytes, host: str, env: dict[str, str]) -> bool:
    from iotedge_cli.manifest.loader import load_text
    from iotedge_cli.manifest.model import AGENT, Manifest
    from iotedge_cli.manifest.placeholders import Expander

    try:
        doc = load_text(text.decode("utf-8"), TEMPLATE)
    except (InputError, UnicodeDecodeError):
        return False
    expander = Expander(env)
    for _name, _path, cred in Manifest.from_doc(doc).desired_items(
        AGENT, "runtime.settings.registryCredentials"
    ):
        address = cred.get("address") if isinstance(cred, dict) else None
        if isinstance(address, str) and expander.expand(address)[0].strip().lower() == host:
            return True
    return False


def _dotenv(solution: Path) -> dict[str, str]:
    from iotedge_cli.manifest.dotenv import load_dotenv

    path = solution / ".env"
    if not path.is_file():
        return {}
    return load_dotenv(path, str(path))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None

"""Find and read templates: the packaged ``templates/`` folder or a user's ``--template-dir``.

The wheel ships the repository's ``templates/`` as ``iotedge_cli/_templates``; a source or
editable checkout has no such folder and uses ``<repo>/templates`` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from iotedge_cli.errors import InputError, UsageError

TEMPLATE_JSON = "template.json"
_SKIP_NAMES = frozenset({"__pycache__", ".DS_Store", "node_modules", ".pytest_cache"})


@dataclass(frozen=True)
class TemplateFile:
    path: PurePosixPath  # relative to the template folder, as stored (may hold {{ … }})
    data: bytes


@dataclass(frozen=True)
class Template:
    """One template folder read into memory."""

    name: str
    root: Path
    language: str
    description: str
    files: tuple[TemplateFile, ...]
    executable: frozenset[str]  # output paths (relative, rendered) made executable
    base_image: dict[str, str]  # overrides of the language's default base images


def template_root() -> Path:
    """The packaged templates folder (wheel) or ``<repo>/templates`` (checkout)."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_templates"
    if packaged.is_dir():
        return packaged
    return package.parent / "templates"


def module_languages(root: Path | None = None) -> list[str]:
    base = (root or template_root()) / "module"
    try:
        return sorted(p.parent.name for p in base.glob(f"*/{TEMPLATE_JSON}"))
    except OSError:
        return []


def module_template(language: str, template_dir: Path | None = None) -> Template:
    """The module template for ``language``, or the user's folder ``template_dir``."""
    if template_dir is not None:
        if not template_dir.is_dir():
            raise UsageError(
                f"--template-dir {template_dir}: no such folder",
                hint="name a folder laid out like templates/module/<language>/ (see templates/README.md)",
            )
        return read_template(template_dir, default_language=language)
    folder = template_root() / "module" / language
    if not (folder / TEMPLATE_JSON).is_file():
        known = ", ".join(module_languages()) or "none"
        raise UsageError(
            f"no module template for language {language!r} (available: {known})",
            hint="pick one of those with --lang, or use --template-dir DIR",
        )
    return read_template(folder, default_language=language)


def solution_template() -> Template:
    folder = template_root() / "solution"
    if not folder.is_dir():
        raise InputError(
            f"the solution template is missing from {folder}",
            hint="reinstall edgectl; the templates ship with the package",
        )
    return read_template(folder, default_language="")


def read_template(folder: Path, *, default_language: str) -> Template:
    meta = _read_meta(folder)
    language = meta.get("language", default_language)
    description = meta.get("description", "")
    executable = meta.get("files_executable", [])
    base_image = meta.get("base_image", {})
    if (
        not isinstance(language, str)
        or not isinstance(description, str)
        or not isinstance(executable, list)
        or not all(isinstance(x, str) for x in executable)
        or not isinstance(base_image, dict)
        or not all(isinstance(v, str) for v in base_image.values())
    ):
        raise InputError(
            f"{folder / TEMPLATE_JSON}: expected language and description strings, "
            "files_executable a list of paths and base_image an object of strings",
            hint="see templates/README.md for the format of template.json",
        )
    files: list[TemplateFile] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in _SKIP_NAMES for part in rel.parts) or path.is_dir():
            continue
        if rel.as_posix() == TEMPLATE_JSON:
            continue
        try:
            files.append(TemplateFile(PurePosixPath(rel.as_posix()), path.read_bytes()))
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return Template(
        folder.name,
        folder,
        language,
        description,
        tuple(files),
        frozenset(executable),
        dict(base_image),
    )


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / TEMPLATE_JSON
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not readable JSON ({exc})", hint="fix template.json (see templates/README.md)"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object", hint="see templates/README.md")
    return data


def describe_languages(root: Path | None = None) -> list[dict[str, str]]:
    """Name, description and folder of every packaged module template."""
    base = (root or template_root()) / "module"
    out = []
    for language in module_languages(root):
        meta = _read_meta(base / language)
        out.append(
            {
                "language": language,
                "description": str(meta.get("description", "")),
                "path": str(base / language),
            }
        )
    return out

"""``modules/<dir>/module.json``: the image each custom module is built into.

The tag is iotedgedev's: ``<image.repository lowercased>:<image.tag.version>[-CONTAINER_TAG]-<platform>``.
``$VAR`` / ``${VAR}`` inside module.json strings are expanded after parsing, like the template.
A module.json is read only when the template refers to it, and once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotedge_cli.manifest.loader import SourceDoc, load_text, read_text
from iotedge_cli.manifest.placeholders import Expander, ImageError

UNKNOWN_MODULE = "G103"
UNKNOWN_PLATFORM = "G104"
BAD_MODULE_JSON = "G105"


@dataclass(frozen=True)
class ModuleImage:
    """The image facts of one module.json; ``platforms`` maps platform → Dockerfile."""

    directory: Path
    display: str
    repository: str
    version: str
    platforms: Mapping[str, Any]

    def tag(self, platform: str, container_tag: str = "") -> str:
        suffix = f"-{container_tag}" if container_tag else ""
        return f"{self.repository.lower()}:{self.version}{suffix}-{platform}"


class ModuleIndex:
    """Resolves ``MODULES.<dir>…`` and ``MODULEDIR<path>…`` placeholders to image tags."""

    def __init__(
        self,
        modules_dir: Path,
        base_dir: Path,
        env: Mapping[str, str],
        platform: str,
    ) -> None:
        self.modules_dir = modules_dir
        self.base_dir = base_dir
        self.env = env
        self.platform = platform
        self.container_tag = env.get("CONTAINER_TAG", "")
        self._cache: dict[Path, ModuleImage | ImageError] = {}
        self.modules: dict[str, str] = {}  # module.json display path → placeholder that used it
        # placeholder body ("MODULES.x") → the module and platform it resolved to (for builds)
        self.resolved: dict[str, tuple[ModuleImage, str]] = {}

    def dirs(self) -> list[str]:
        """Names of the folders of ``modules_dir`` that hold a module.json."""
        try:
            return sorted(p.parent.name for p in self.modules_dir.glob("*/module.json"))
        except OSError:
            return []

    def __call__(self, inner: str) -> str:
        if inner.startswith("MODULES."):
            rest = inner[len("MODULES.") :]
            name, _, suffix = rest.partition(".")
            directory = self.modules_dir / name
            if not (directory / "module.json").is_file():
                found = ", ".join(self.dirs()) or "none"
                raise ImageError(
                    UNKNOWN_MODULE,
                    f"no module folder {name!r} with a module.json in {_show(self.modules_dir)} "
                    f"(found: {found}); fix the name or pass --modules-dir",
                )
        else:  # MODULEDIR<relpath>[.platform]
            end = inner.rfind(">")
            if end < 0:
                raise ImageError(
                    "G102", f"malformed placeholder ${{{inner}}}; write ${{MODULEDIR<path>}}"
                )
            rel, suffix = inner[len("MODULEDIR<") : end], inner[end + 1 :]
            if suffix and not suffix.startswith("."):
                raise ImageError(
                    "G102",
                    f"malformed placeholder ${{{inner}}}; write ${{MODULEDIR<path>.<platform>}}",
                )
            suffix = suffix[1:]
            directory = self.base_dir / rel
            if not (directory / "module.json").is_file():
                raise ImageError(
                    UNKNOWN_MODULE,
                    f"no module.json in {_show(directory)}; fix the path (relative to the template)",
                )
        image = self._load(directory)
        platform = (
            self.platform
            if not suffix
            else f"{self.platform}.debug"
            if suffix == "debug"
            else suffix
        )
        if platform not in image.platforms:
            raise ImageError(
                UNKNOWN_PLATFORM,
                f"platform {platform!r} is not in {image.display} image.tag.platforms "
                f"(has: {', '.join(image.platforms) or 'none'}); add it there or pick another platform",
            )
        self.resolved[inner] = (image, platform)
        return image.tag(platform, self.container_tag)

    def _load(self, directory: Path) -> ModuleImage:
        cached = self._cache.get(directory)
        if cached is None:
            cached = self._cache[directory] = self._read(directory)
        if isinstance(cached, ImageError):
            raise cached
        return cached

    def _read(self, directory: Path) -> ModuleImage | ImageError:
        display = _show(directory / "module.json")
        doc = load_text(read_text(directory / "module.json", display), display)
        data = doc.data
        image = data.get("image") if isinstance(data, dict) else None
        tag = image.get("tag") if isinstance(image, dict) else None
        problems: list[str] = []
        fields: dict[str, str] = {}
        expander = Expander(self.env)
        for key, path, parent in (
            ("repository", ("image", "repository"), image),
            ("version", ("image", "tag", "version"), tag),
        ):
            value = parent.get(key) if isinstance(parent, dict) else None
            if not isinstance(value, str) or not value:
                problems.append(f"{_where(doc, path)}: {'.'.join(path)} must be a non-empty string")
                continue
            expanded, issues = expander.expand(value)
            problems.extend(f"{_where(doc, path)}: {issue.message}" for issue in issues)
            fields[key] = expanded
        platforms = tag.get("platforms") if isinstance(tag, dict) else None
        if not isinstance(platforms, dict):
            problems.append(
                f"{_where(doc, ('image', 'tag', 'platforms'))}: image.tag.platforms must be an object"
            )
        if problems:
            return ImageError(BAD_MODULE_JSON, "; ".join(problems))
        assert isinstance(platforms, dict)
        return ModuleImage(directory, display, fields["repository"], fields["version"], platforms)


def _where(doc: SourceDoc, path: tuple[str, ...]) -> str:
    return str(doc.location(path))


def _show(path: Path) -> str:
    """``path`` relative to the current directory when below it (as users typed it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)

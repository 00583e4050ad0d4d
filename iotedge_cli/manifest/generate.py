"""Generate a deployment manifest from a template: ``edgectl manifest generate``.

Theory of operation, in the order the steps run:

1. Read the template (JSON or YAML, template mode), ``.env`` (next to the template or
   ``--env-file``; the process environment wins, as with iotedgedev's python-dotenv
   ``override=False``) and, lazily, each ``modules/<dir>/module.json`` the template names.
2. Expand placeholders in string values only, after parsing (:mod:`placeholders`), so values are
   JSON-escaped for free and route tokens such as ``$upstream`` can never be rewritten.
3. Turn every module's ``settings.createOptions`` into minified JSON split into 512-character
   chunks (``createOptions``, ``createOptions01`` …); more than 8 chunks (4 KB) is refused.
4. Drop ``$schema-template``; serialise deterministically (indent 2, template key order, final
   newline): the same inputs always give byte-identical output.
5. Lint the generated text in-process; findings are mapped back to the template's line:col
   (the user edits the template, and the output is not written when there are errors).
6. Write atomically (temporary file + rename) and remember the file's sha256 in
   ``<outdir>/.edgectl-generated.json``; an existing output whose content is neither recorded
   nor identical was edited by hand and is only overwritten with ``force``.

All problems of steps 1–5 are collected as diagnostics (G1xx codes here, the linter's codes for
step 5) instead of stopping at the first one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotedge_cli.diagnostics import Diagnostic, JsonPath, Location, Rule, Severity
from iotedge_cli.errors import InputError, UsageError
from iotedge_cli.manifest.createoptions import (
    CHUNK_CHARS,
    TOOL_MAX_CHUNKS,
    split_create_options,
    stringify_create_options,
)
from iotedge_cli.manifest.dotenv import load_dotenv
from iotedge_cli.manifest.jsonparse import Placeholder
from iotedge_cli.manifest.loader import SourceDoc, load_file
from iotedge_cli.manifest.model import Manifest
from iotedge_cli.manifest.modulejson import ModuleIndex
from iotedge_cli.manifest.placeholders import Expander, Issue

CHUNK = CHUNK_CHARS
MAX_CHUNKS = TOOL_MAX_CHUNKS  # iotedgedev and VS Code refuse more: "maximum size is 4K"
RECORD = ".edgectl-generated.json"
DEFAULT_TEMPLATE = "deployment.template.json"
DEFAULT_DEBUG_TEMPLATE = "deployment.debug.template.json"

RULES = [
    Rule(
        "G101",
        "undefined-variable",
        Severity.ERROR,
        "A ${VAR} or $VAR in the template is not defined in the environment or .env.",
        "Define it in .env or the environment; write $$ for a literal $.",
    ),
    Rule(
        "G102",
        "bad-placeholder",
        Severity.ERROR,
        "A placeholder is malformed or not supported (e.g. an unclosed '${').",
        "Use ${NAME}, ${MODULES.<dir>[.<platform>]} or ${MODULEDIR<path>[.<platform>]}.",
    ),
    Rule(
        "G103",
        "unknown-module",
        Severity.ERROR,
        "${MODULES.<dir>} or ${MODULEDIR<path>} names a folder without a module.json.",
        "Fix the folder name, or pass --modules-dir.",
    ),
    Rule(
        "G104",
        "unknown-platform",
        Severity.ERROR,
        "The platform is not listed in the module's image.tag.platforms.",
        "Add the platform (and its Dockerfile) to module.json, or choose another --platform.",
    ),
    Rule(
        "G105",
        "bad-module-json",
        Severity.ERROR,
        "module.json lacks image.repository, image.tag.version or image.tag.platforms.",
        "Complete the image section of module.json.",
    ),
    Rule(
        "G106",
        "create-options-too-large",
        Severity.ERROR,
        "createOptions is longer than 4096 characters (8 chunks of 512) after minifying.",
        "Move large settings to the module twin, environment variables or a mounted file.",
    ),
]
_RULES = {r.code: r for r in RULES}
_PLATFORM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_CHUNK_KEY = re.compile(r"createOptions[0-9]+\Z")
_TEMPLATE_SUFFIXES = (".template.json", ".template.yaml", ".template.yml", ".json", ".yaml", ".yml")


@dataclass(frozen=True)
class GenerateOptions:
    template: Path | None = None
    platform: str | None = None
    debug: bool = False
    env_file: Path | None = None
    modules_dir: Path | None = None
    output: Path | None = None
    validate: bool = True
    force: bool = False


@dataclass(frozen=True)
class ChunkedOptions:
    module: str
    characters: int
    chunks: int


@dataclass
class GenerateResult:
    template: str
    output: str
    platform: str
    text: str | None = None
    images: dict[str, str] = field(default_factory=dict)  # placeholder → image tag
    variables: list[str] = field(default_factory=list)  # names only: values may be secrets
    create_options: list[ChunkedOptions] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    written: bool = False

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.WARNING)

    def to_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "output": self.output,
            "platform": self.platform,
            "written": self.written,
            "images": [{"placeholder": k, "image": v} for k, v in self.images.items()],
            "variables": self.variables,
            "createOptions": [
                {"module": c.module, "characters": c.characters, "chunks": c.chunks}
                for c in self.create_options
            ],
            "diagnostics": [
                {
                    "code": d.code,
                    "severity": d.severity.value,
                    "message": d.message,
                    "file": d.location.file,
                    "line": d.location.line,
                    "col": d.location.col,
                    "pointer": d.location.pointer,
                }
                for d in self.diagnostics
            ],
            "summary": {"errors": self.errors, "warnings": self.warnings},
        }


def all_rules() -> dict[str, Rule]:
    return dict(_RULES)


def generate(options: GenerateOptions, environ: Mapping[str, str]) -> GenerateResult:
    """Expand, chunk, validate and (when clean) write; see the module docstring.

    Raises :class:`InputError` for an unreadable template, .env or module.json and
    :class:`UsageError` for a bad platform or a hand-edited output without ``force``.
    """
    template = options.template or Path(
        DEFAULT_DEBUG_TEMPLATE if options.debug else DEFAULT_TEMPLATE
    )
    if options.template is None and not template.is_file():
        raise InputError(
            f"{template}: no such file in the current directory",
            hint="run this in the solution folder, or name the template: "
            "edgectl manifest generate path/to/deployment.template.json",
        )
    base = template.parent
    env = _environment(options, base, environ)
    platform = options.platform or env.get("DEFAULT_PLATFORM") or "amd64"
    if not _PLATFORM.match(platform):
        raise UsageError(
            f"invalid platform {platform!r}",
            hint="use a platform name from module.json, e.g. amd64, arm32v7, arm64v8",
        )
    output = options.output or base / "config" / _output_name(template, platform, options.debug)
    doc = load_file(template)
    result = GenerateResult(str(template), str(output), platform)

    index = ModuleIndex(options.modules_dir or base / "modules", base, env, platform)
    expander = Expander(env, index)
    data = _Expansion(doc, expander, result.diagnostics).run()
    if isinstance(data, dict):
        data.pop("$schema-template", None)
        _chunk_create_options(doc, data, result)
    result.images = dict(expander.images_used)
    result.variables = list(expander.used)
    if result.errors:
        return result

    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    result.text = text
    if options.validate:
        found = _validate(text, str(output), doc)
        result.diagnostics.extend(found)
        if any(d.severity is Severity.ERROR for d in found):
            return result
    write_output(output, text, force=options.force)
    result.written = True
    return result


# --- inputs ---------------------------------------------------------------------------------


def _environment(
    options: GenerateOptions, base: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    """``.env`` values overlaid by the process environment (which wins)."""
    env_file = options.env_file
    if env_file is None and (base / ".env").is_file():
        env_file = base / ".env"
    values = load_dotenv(env_file, str(env_file), environ) if env_file is not None else {}
    values.update(environ)
    return values


def _output_name(template: Path, platform: str, debug: bool) -> str:
    name = template.name
    prefix = next((name[: -len(s)] for s in _TEMPLATE_SUFFIXES if name.lower().endswith(s)), name)
    if debug and ".debug" not in prefix:
        prefix += ".debug"
    return f"{prefix}.{platform}.json"


# --- expansion ------------------------------------------------------------------------------


class _Expansion:
    """Copy the template data with every placeholder expanded, recording located issues."""

    def __init__(self, doc: SourceDoc, expander: Expander, out: list[Diagnostic]) -> None:
        self.doc = doc
        self.expander = expander
        self.out = out
        manifest = Manifest.from_doc(doc)
        self.routes: set[JsonPath] = set()
        for _name, path, value in manifest.routes():
            self.routes.add((*path, "route") if isinstance(value, dict) else path)

    def run(self) -> Any:
        return self._node(self.doc.data, ())

    def _node(self, node: Any, path: JsonPath) -> Any:
        if isinstance(node, str):
            value, issues = self.expander.expand(node, route=path in self.routes)
            self._report(issues, path)
            return value
        if isinstance(node, dict):
            return {k: self._node(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self._node(v, (*path, i)) for i, v in enumerate(node)]
        if isinstance(node, Placeholder):
            value, issues = self.expander.value(node)
            self._report(issues, path)
            return value
        return node

    def _report(self, issues: list[Issue], path: JsonPath) -> None:
        if not issues:
            return
        doc = self.doc
        start = doc.offset_of(path)
        seen: dict[str, int] = {}
        for issue in issues:
            # Placeholder text needs no JSON escaping, so it appears verbatim in the source:
            # point at the placeholder itself, not just at the string holding it.
            at = doc.text.find(issue.token, seen.get(issue.token, start))
            if at < 0:
                at = start
            seen[issue.token] = at + 1
            line, col = doc.line_col(at)
            location = Location(doc.name, line, col, path)
            self.out.append(
                Diagnostic(issue.code, _RULES[issue.code].severity, issue.message, location)
            )


# --- createOptions --------------------------------------------------------------------------


def _chunk_create_options(doc: SourceDoc, data: dict[str, Any], result: GenerateResult) -> None:
    for module in Manifest.from_doc(doc).modules():
        spec = _get(data, module.path)
        settings = spec.get("settings") if isinstance(spec, dict) else None
        if not isinstance(settings, dict) or "createOptions" not in settings:
            continue
        if any(_CHUNK_KEY.match(k) for k in settings):
            continue  # already chunked by hand: leave it to the linter
        value = settings["createOptions"]
        text = value if isinstance(value, str) else stringify_create_options(value)
        if len(text) > CHUNK * MAX_CHUNKS:
            path = (*module.path, "settings", "createOptions")
            result.diagnostics.append(
                Diagnostic(
                    "G106",
                    Severity.ERROR,
                    f"createOptions of module {module.name!r} is {len(text)} characters after "
                    f"minifying ({-(-len(text) // CHUNK)} chunks of {CHUNK}); the limit is "
                    f"{CHUNK * MAX_CHUNKS} ({MAX_CHUNKS} chunks): move large settings to the "
                    "module twin, environment variables or a mounted file",
                    doc.location(path),
                )
            )
            continue
        chunks = split_create_options(text)
        rebuilt: dict[str, Any] = {}
        for key, v in settings.items():
            if key == "createOptions":
                rebuilt.update(chunks)
            else:
                rebuilt[key] = v
        settings.clear()
        settings.update(rebuilt)
        result.create_options.append(ChunkedOptions(module.name, len(text), len(chunks)))


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


# --- validation -----------------------------------------------------------------------------


def _validate(text: str, name: str, template: SourceDoc) -> list[Diagnostic]:
    """Lint the generated text; findings with a JSON path are moved to the template's line:col."""
    from iotedge_cli.manifest.lint import LintOptions, lint_doc
    from iotedge_cli.manifest.loader import load_text

    found = lint_doc(load_text(text, name, template=False), LintOptions(template=False))
    mapped: list[Diagnostic] = []
    for d in found:
        path = d.location.path
        if path:
            if isinstance(path[-1], str) and _CHUNK_KEY.match(path[-1]):
                path = (*path[:-1], "createOptions")
            d = Diagnostic(d.code, d.severity, d.message, template.location(path))
        mapped.append(d)
    return mapped


# --- writing --------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_record(path: Path) -> dict[str, str]:
    try:
        files = json.loads(path.read_text("utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return (
        {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(files, dict)
        else {}
    )


def write_output(out: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``out`` atomically, refusing to replace a hand-edited file unless ``force``."""
    data = text.encode("utf-8")
    record_path = out.parent / RECORD
    record = _read_record(record_path)
    mode: int | None = None
    if out.exists():
        try:
            current = out.read_bytes()
            mode = out.stat().st_mode & 0o777
        except OSError as exc:
            raise InputError(f"{out}: cannot read the existing output: {exc.strerror}") from None
        if not force and current != data and _sha256(current) != record.get(out.name):
            why = (
                "was edited since edgectl wrote it"
                if out.name in record
                else "was not written by edgectl"
            )
            raise UsageError(
                f"{out} exists and {why}; use --force to overwrite it",
                hint="move your edits into the template (or keep a copy), then run again with --force",
            )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(out, data, mode)
        record[out.name] = _sha256(data)
        body = {
            "about": "sha256 of files written by edgectl manifest generate",
            "files": dict(sorted(record.items())),
        }
        _atomic_write(record_path, (json.dumps(body, indent=2) + "\n").encode("utf-8"), None)
    except OSError as exc:
        raise InputError(
            f"{out}: cannot write: {exc.strerror or exc}", hint="check the folder's permissions"
        ) from None


def _atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

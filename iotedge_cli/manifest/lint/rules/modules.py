"""E4xx: module images, registry credentials, template placeholders, system module versions.

Whether a file is a template decides what a ``${…}`` means: in a template it is work for
``edgectl manifest generate``; in a generated manifest it is a value nobody expanded (iotedgedev
writes unknown ``${MODULES.x}`` and ``${VAR}`` verbatim and exits 0; Docker later says "invalid
reference format"). ``ctx.template`` decides (by file name, ``$schema-template``, bare
placeholders, or ``validate --template/--generated``). ``$upstream`` and other ``$word`` system
tokens are never placeholders here; values holding tokens of other tools (Azure Pipelines
``<Token>``, ``{{mustache}}``, Azure ML ``__AML_X``) are left to those tools, unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from iotedge_cli.diagnostics import JsonPath, Rule, Severity
from iotedge_cli.manifest.images import ImageRef, ImageRefError, normalize_host, parse_image
from iotedge_cli.manifest.lint.context import Context
from iotedge_cli.manifest.model import AGENT

RULES = [
    Rule(
        "E401",
        "empty-image",
        Severity.ERROR,
        "A module's settings.image is empty or whitespace.",
        "edgeAgent refuses a deployment with an empty image; set the image reference "
        "(e.g. mcr.microsoft.com/azureiotedge-agent:1.5, or ${MODULES.<folder>} in a template).",
    ),
    Rule(
        "E402",
        "malformed-image",
        Severity.ERROR,
        "A module's image reference is rejected by edgeAgent or Docker.",
        "Write [registry[:port]/]repository[:tag][@sha256:digest] with a lowercase repository, "
        "no spaces and no URL scheme; nested edge may use $upstream:<port>/….",
    ),
    Rule(
        "E403",
        "unresolved-placeholder",
        Severity.ERROR,
        "A generated manifest still contains a ${…} placeholder or $VARIABLE.",
        "Run `edgectl manifest generate` on the template, and define every variable it uses in "
        ".env or the environment; a module folder must exist for each ${MODULES.<folder>}.",
    ),
    Rule(
        "E404",
        "malformed-placeholder",
        Severity.ERROR,
        "A template placeholder is malformed (unbalanced `${`, empty or bad name).",
        "Use ${NAME}, ${MODULES.<folder>}, ${MODULES.<folder>.<platform>} or "
        "${MODULEDIR<path>}; close every `${` with `}`.",
    ),
    Rule(
        "E405",
        "incomplete-registry-credential",
        Severity.ERROR,
        "A registryCredentials entry has an empty username/password/address, or an address that is not a host.",
        "edgeAgent needs all three non-blank; the address is a registry host[:port] such as "
        "myacr.azurecr.io, without https:// or a path.",
    ),
    Rule(
        "W406",
        "missing-registry-credential",
        Severity.WARNING,
        "An image comes from a private registry that has no registryCredentials entry.",
        "Add runtime.settings.registryCredentials.<name> with that registry's address, or the pull "
        "fails with 'unauthorized' unless the device is already logged in.",
    ),
    Rule(
        "W407",
        "unused-registry-credential",
        Severity.WARNING,
        "A registryCredentials entry's address matches no module image.",
        "Remove the entry or fix its address to the registry host of an image "
        "(layered deployments that rely on it can ignore this).",
    ),
    Rule(
        "W408",
        "eol-runtime-image",
        Severity.WARNING,
        "edgeAgent/edgeHub image version is older than 1.4 (end of life).",
        "Use mcr.microsoft.com/azureiotedge-agent:1.5 and azureiotedge-hub:1.5.",
    ),
    Rule(
        "W409",
        "twin-without-module",
        Severity.WARNING,
        "A module twin is given for a module that $edgeAgent does not define.",
        "Add the module under $edgeAgent modules, or fix the twin's name (case-sensitive).",
    ),
    Rule(
        "I410",
        "pipeline-token",
        Severity.INFO,
        "Images or credentials contain Azure Pipelines <Token> values.",
        "A release pipeline replaces them; edgectl skips image and credential checks on those values.",
    ),
]

_MODULES_TOKEN = re.compile(r"MODULES(?:\.[A-Za-z0-9_-]+){1,3}")
_MODULEDIR_TOKEN = re.compile(r"MODULEDIR<[^<>{}]+>(?:\.[A-Za-z0-9_-]+){0,2}")
_VAR_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"\$\$|\$\{([^{}$]*)\}|\$\{")
_DOLLAR_VAR = re.compile(r"\$[A-Za-z_]\w*")
# "$parent:443/…" is a nested-edge typo (only $upstream is rewritten), not a variable
_NESTED_LIKE = re.compile(r"\s*\$(?!upstream:)[A-Za-z_]\w*:[0-9]+/")
_ANGLE_TOKEN = re.compile(r"<[A-Za-z_][\w.-]*>")
# {{mustache}}, #{Octopus}, Azure ML __AML_NAME, or a whole "<your key here>" value
_FOREIGN_TOKEN = re.compile(r"\{\{[^{}]*\}\}|#\{[^{}]*\}|__[A-Z][A-Z0-9_]*|^\s*<[^<>]*>\s*$")
_SYSTEM_TOKENS = frozenset({"$upstream", "$edgeAgent", "$edgeHub"})
_PUBLIC_HOSTS = frozenset(
    {"docker.io", "mcr.microsoft.com", "ghcr.io", "quay.io", "public.ecr.aws", "registry.k8s.io"}
)
_LOCAL_HOST = re.compile(r"^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$")
_RUNTIME_REPOS = {"edgeAgent": "azureiotedge-agent", "edgeHub": "azureiotedge-hub"}
_CRED_FIELDS = ("username", "password", "address")


def is_placeholder(value: str) -> bool:
    """A value some tool fills in: ``${…}``, ``$VAR`` (not ``$upstream``), ``<Token>``, ``{{x}}``…"""
    if "${" in value or _ANGLE_TOKEN.search(value) or _FOREIGN_TOKEN.search(value):
        return True
    return any(m.group() not in _SYSTEM_TOKENS for m in _DOLLAR_VAR.finditer(value))


@dataclass(frozen=True)
class _Image:
    module: str
    path: JsonPath
    ref: ImageRef | None  # None: a placeholder, pipeline token or malformed reference


def check(ctx: Context) -> None:
    generated = not ctx.template
    _check_placeholders(ctx, generated)
    images, angle = _check_images(ctx, generated)
    _check_credentials(ctx, images, generated, angle)
    _check_twins(ctx)


# --- placeholders ---------------------------------------------------------------------------


def _strings(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    """Every string value holding ``${`` (strings are tested inline: most nodes are strings)."""
    items: Iterable[tuple[str | int, Any]] = (
        node.items() if isinstance(node, dict) else enumerate(node)
    )
    for key, value in items:
        if type(value) is str:
            if "${" in value:
                yield (*path, key), value
        elif isinstance(value, (dict, list)):
            yield from _strings(value, (*path, key))


def _tokens(text: str) -> Iterator[tuple[str | None, bool]]:
    """Each ``${…}`` in ``text`` as ``(token, well_formed)``; token ``None`` for an unclosed ``${``.

    ``$$`` is a literal ``$`` (as in ``edgectl manifest generate``), so ``$${X}`` is no placeholder.
    """
    for m in _BRACED.finditer(text):
        inner = m.group(1)
        if inner is None:
            if m.group() == "${":
                yield None, False
            continue
        if inner.startswith("MODULEDIR"):
            ok = _MODULEDIR_TOKEN.fullmatch(inner) is not None
        elif inner == "MODULES" or inner.startswith("MODULES."):
            ok = _MODULES_TOKEN.fullmatch(inner) is not None
        else:
            ok = _VAR_TOKEN.fullmatch(inner) is not None
        yield m.group(), ok


def _check_placeholders(ctx: Context, generated: bool) -> None:
    doc = ctx.manifest.doc
    if generated:
        for path, ph in doc.placeholders.items():
            ctx.report("E403", _unresolved(ph.text), path)
    if "${" not in doc.text:
        return
    top: Any = doc.data
    found = (
        _strings(top, ())
        if isinstance(top, (dict, list))
        else [((), top)]
        if isinstance(top, str)
        else []
    )
    for path, text in found:
        for token, ok in _tokens(text):
            if generated:
                if token is not None:
                    message = (
                        _unresolved(token)
                        if ok
                        else _malformed(token) + ", then run `edgectl manifest generate`"
                    )
                    ctx.report("E403", message, path)
            elif token is None:
                ctx.report(
                    "E404",
                    f"unclosed '${{' in {_short(text)!r}: close the placeholder with '}}' "
                    "(or write a literal '$' without '{')",
                    path,
                )
            elif not ok:
                ctx.report("E404", _malformed(token), path)


def _unresolved(token: str) -> str:
    inner = token[2:-1] if token.startswith("${") else token[1:]
    if inner.startswith("MODULES"):
        folder = inner.split(".")[1] if "." in inner else ""
        return (
            f"unresolved image placeholder {token}: no module folder {folder!r} (or platform) was found "
            "when this manifest was generated; run `edgectl manifest generate` with modules/"
            f"{folder or '<folder>'}/module.json present"
        )
    if inner.startswith("MODULEDIR"):
        return (
            f"unresolved image placeholder {token}: the module directory was not found; "
            "run `edgectl manifest generate` from the solution folder"
        )
    return (
        f"unresolved placeholder {token} in a generated manifest: define {inner} in .env or the "
        "environment and run `edgectl manifest generate`"
    )


def _malformed(token: str) -> str:
    inner = token[2:-1]
    if inner.startswith("MODULEDIR"):
        return f"malformed placeholder {token}: write ${{MODULEDIR<relative/path>}} or ${{MODULEDIR<path>.<platform>}}"
    if inner.startswith("MODULES"):
        return (
            f"malformed placeholder {token}: write ${{MODULES.<folder>}} or ${{MODULES.<folder>.<platform>}} "
            "(e.g. ${MODULES.filtermodule.arm64v8})"
        )
    if not inner:
        return f"empty placeholder {token}: put a variable name inside, e.g. ${{CONTAINER_REGISTRY_ADDRESS}}"
    return f"malformed placeholder {token}: a variable name is letters, digits and '_' (e.g. ${{MY_VAR}})"


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


# --- images ---------------------------------------------------------------------------------


def _check_images(ctx: Context, generated: bool) -> tuple[list[_Image], bool]:
    images: list[_Image] = []
    angle_reported = False
    for mod in ctx.manifest.modules():
        settings = mod.spec.get("settings") if isinstance(mod.spec, dict) else None
        if not isinstance(settings, dict) or not isinstance(settings.get("image"), str):
            continue  # a missing or non-string image is the schema's E1xx
        image: str = settings["image"]
        path = (*mod.path, "settings", "image")
        if not image.strip():
            example = (
                f"mcr.microsoft.com/{_RUNTIME_REPOS[mod.name]}:1.5"
                if mod.system and mod.name in _RUNTIME_REPOS
                else "${MODULES.<folder>} in a template, or registry/repository:tag"
            )
            ctx.report(
                "E401",
                f"module {mod.name!r} has an empty image; edgeAgent rejects the deployment: set it, e.g. {example}",
                path,
            )
            images.append(_Image(mod.name, path, None))
            continue
        nested_typo = _NESTED_LIKE.match(image) is not None and not (
            "${" in image or _ANGLE_TOKEN.search(image) or _FOREIGN_TOKEN.search(image)
        )
        if is_placeholder(image) and not nested_typo:
            if _ANGLE_TOKEN.search(image) and not angle_reported:
                angle_reported = True
                _report_angle(ctx, image, path)
            var = next(
                (v.group() for v in _DOLLAR_VAR.finditer(image) if v.group() not in _SYSTEM_TOKENS),
                None,
            )
            if generated and var is not None and "${" not in image:  # ${…}: the placeholder scan
                ctx.report(
                    "E403",
                    f"unresolved variable {var} in image {image!r} of module {mod.name!r}: define "
                    f"{var[1:]} in .env and run `edgectl manifest generate`",
                    path,
                )
            images.append(_Image(mod.name, path, None))
            continue
        try:
            ref = parse_image(image)
        except ImageRefError as exc:
            ctx.report(
                "E402",
                f"image {image!r} of module {mod.name!r} is invalid: {exc}; "
                "write [registry/]repository[:tag], e.g. myacr.azurecr.io/filtermodule:0.0.1-amd64",
                path,
            )
            images.append(_Image(mod.name, path, None))
            continue
        images.append(_Image(mod.name, path, ref))
        if mod.system and mod.name in _RUNTIME_REPOS:
            _check_runtime_version(ctx, mod.name, ref, path)
    return images, angle_reported


def _check_runtime_version(ctx: Context, name: str, ref: ImageRef, path: JsonPath) -> None:
    repo = _RUNTIME_REPOS[name]
    version = ref.version
    if ref.repository.rsplit("/", 1)[-1] != repo or version is None or version[0] != 1:
        return
    if version[:2] < (1, 4):
        better = f"{ref.name}:1.5" if ref.is_upstream else f"mcr.microsoft.com/{repo}:1.5"
        ctx.report(
            "W408",
            f"{name} image {ref} is version {ref.tag}, which is end of life (1.0–1.3 no longer get "
            f"fixes); use {better}",
            path,
        )


def _report_angle(ctx: Context, value: str, path: JsonPath) -> None:
    token = _ANGLE_TOKEN.search(value)
    assert token is not None
    ctx.report(
        "I410",
        f"pipeline token {token.group()} (and any others in this file) must be replaced by a release "
        "pipeline before deployment; edgectl does not check images and credentials that contain them",
        path,
    )


# --- registry credentials -------------------------------------------------------------------


def _address_host(address: str) -> str:
    """Host of a credential address for matching (a scheme or path is ignored here, E405 reports it)."""
    host = address.strip()
    if "://" in host:
        host = host.split("://", 1)[1]
    return normalize_host(host.split("/", 1)[0])


def _check_credentials(ctx: Context, images: list[_Image], generated: bool, angle: bool) -> None:
    m = ctx.manifest
    creds: list[
        tuple[str, JsonPath, str | None]
    ] = []  # name, path of address, host (None: unknown)
    for name, path, cred in m.desired_items(AGENT, "runtime.settings.registryCredentials"):
        if not isinstance(cred, dict):
            continue
        host: str | None = None
        for fld in _CRED_FIELDS:
            value = cred.get(fld)
            if not isinstance(value, str):
                continue
            fpath = (*path, fld)
            if not value.strip():
                ctx.report(
                    "E405",
                    f"registryCredentials.{name}.{fld} is empty; edgeAgent needs a non-blank value: "
                    f"set it (in a template, ${_env_name(fld, name)})",
                    fpath,
                )
                continue
            if value.strip() in _SYSTEM_TOKENS or value.startswith("$upstream:"):
                if fld == "address":
                    host = value.strip().lower()
                continue
            if is_placeholder(value):
                if not angle and _ANGLE_TOKEN.search(value):
                    angle = True
                    _report_angle(ctx, value, fpath)
                elif generated and _DOLLAR_VAR.fullmatch(value.strip()):
                    ctx.report(
                        "E403",
                        f"unresolved variable {value.strip()} in registryCredentials.{name}.{fld}: define "
                        f"{value.strip()[1:]} in .env and run `edgectl manifest generate`",
                        fpath,
                    )
                continue
            if fld == "address":
                host = _address_host(value)
                _check_address(ctx, name, value, fpath)
        address = cred.get("address")
        if isinstance(address, str) and address.strip():
            creds.append((name, (*path, "address"), host))
    _check_credential_use(ctx, images, creds)


def _env_name(fld: str, name: str) -> str:
    return f"CONTAINER_REGISTRY_{fld.upper()}_{name}"


def _check_address(ctx: Context, name: str, address: str, path: JsonPath) -> None:
    value = address.strip()
    problem = None
    if "://" in value:
        problem = "is a URL"
    elif "/" in value:
        problem = "has a path"
    elif any(ch.isspace() for ch in value):
        problem = "contains whitespace"
    if problem:
        ctx.report(
            "E405",
            f"registryCredentials.{name}.address {address!r} {problem}; it must be the registry host[:port] "
            f"only: use {_address_host(value)!r}",
            path,
        )


def _check_credential_use(
    ctx: Context, images: list[_Image], creds: list[tuple[str, JsonPath, str | None]]
) -> None:
    m = ctx.manifest
    known = [img for img in images if img.ref is not None]
    cred_hosts = {host for _, _, host in creds if host is not None}
    all_creds_known = all(host is not None for _, _, host in creds)
    if all_creds_known and m.desired(AGENT) is not None and not m.layered:
        for img in known:
            assert img.ref is not None
            host = img.ref.host
            if (
                img.ref.is_upstream
                or host in _PUBLIC_HOSTS
                or _LOCAL_HOST.match(host)
                or host in cred_hosts
            ):
                continue
            ctx.report(
                "W406",
                f"image {img.ref} of module {img.module!r} comes from private registry {host} but "
                "runtime.settings.registryCredentials has no entry with that address; the pull fails with "
                f'\'unauthorized\' unless the device is logged in: add one with "address": "{host}"',
                img.path,
            )
    if len(known) != len(images):
        return  # an unresolved image may use any registry
    used = {img.ref.host for img in known if img.ref is not None}
    for name, path, cred_host in creds:
        if cred_host is None or cred_host in used or cred_host.startswith("$upstream"):
            continue
        ctx.report(
            "W407",
            f"registryCredentials.{name} (address {cred_host!r}) is used by no module image; remove it or fix "
            "the address to an image's registry host",
            path,
        )


# --- module twins ---------------------------------------------------------------------------


def _check_twins(ctx: Context) -> None:
    m = ctx.manifest
    if m.desired(AGENT) is None:
        return
    names = m.user_module_names()
    lower = {n.lower(): n for n in names}
    for name, path, _section in m.module_twins():
        if name in names:
            continue
        near = lower.get(name.lower())
        hint = (
            f"did you mean {near!r}? (names are case-sensitive)"
            if near
            else "add the module under $edgeAgent modules or fix the twin's name"
        )
        ctx.report(
            "W409",
            f"module twin {name!r} has no module {name!r} in $edgeAgent, so no module receives it: {hint}",
            path,
            key=True,
        )

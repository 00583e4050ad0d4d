"""Container image references: parse them the way edgeAgent and Docker both accept them.

An IoT Edge image must pass two checks. edgeAgent (``DockerConfig.cs``) trims the string and
matches ``^(?<repo>([^/]*/)*)(?<image>[^/:]+)(?<tag>:[^/:]+)?$`` (no tag means ``:latest``);
an image starting with ``$`` must be ``$upstream:<port>/…`` (nested edge: the agent swaps in
the parent's host name). Docker then parses it with the distribution reference grammar:

    reference := [registry "/"] path [":" tag] ["@" digest]
    registry  := host [":" port]     (the first component, if it has "." or ":" or is "localhost")
    path      := component ("/" component)*,  component := [a-z0-9]+ ((\\.|_|__|-+)[a-z0-9]+)*
    tag       := [\\w][\\w.-]{0,127}
    digest    := algorithm ":" hex{32,}

:func:`parse_image` enforces both and raises :class:`ImageRefError` saying what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
MCR = "mcr.microsoft.com"

_AGENT_RULE = re.compile(r"^(?P<repo>(?:[^/]*/)*)(?P<image>[^/:]+)(?P<tag>:[^/:]+)?$")
_UPSTREAM = re.compile(r"^\$upstream:[1-9][0-9]{0,4}$")
_HOST = re.compile(
    r"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_NAME_MAX = 255
_SPACE = re.compile(r"\s")


class ImageRefError(ValueError):
    """An image reference that edgeAgent or Docker rejects; ``str(exc)`` says why."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed reference. ``registry`` is ``None`` for an implicit Docker Hub image."""

    registry: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def host(self) -> str:
        """Lower-case registry host (with port), ``docker.io`` for every Docker Hub spelling."""
        if self.registry is None:
            return DOCKER_HUB
        host = self.registry.lower()
        return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host

    @property
    def is_upstream(self) -> bool:
        return self.registry is not None and self.registry.startswith("$")

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def version(self) -> tuple[int, int, int] | None:
        """``(major, minor, patch)`` read from a tag such as ``1.4``, ``1.1.3`` or ``1.2-linux-amd64``."""
        m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?(?![\d.])", self.tag or "")
        if m is None:
            return None
        return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def normalize_host(address: str) -> str:
    """A registry address as an :attr:`ImageRef.host` (lower case, Docker Hub aliases folded)."""
    host = address.strip().lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def parse_image(ref: str) -> ImageRef:
    """Parse an image reference; raise :class:`ImageRefError` when edgeAgent or Docker rejects it."""
    text = ref.strip()  # edgeAgent trims before matching
    if not text:
        raise ImageRefError("the image reference is empty")
    if _SPACE.search(text):
        raise ImageRefError("the image reference contains whitespace")
    scheme = text.partition("://")[0]
    if scheme != text and scheme.isalpha():
        raise ImageRefError(f"an image reference has no URL scheme; drop '{scheme}://'")
    name_tag, digest = text, None
    if "@" in text:
        name_tag, _, digest = text.partition("@")
        if "@" in digest:
            raise ImageRefError("the image reference has more than one '@'")
        if not _DIGEST.match(digest):
            raise ImageRefError(
                f"digest {digest!r} is not '<algorithm>:<hex>' (e.g. sha256: and 64 hex digits)"
            )
        if digest.startswith("sha256:") and len(digest) != 7 + 64:
            raise ImageRefError(f"sha256 digest {digest!r} must have exactly 64 hex digits")
    if _AGENT_RULE.match(text) is None:
        raise ImageRefError(_agent_reason(name_tag, digest))
    last_slash = name_tag.rfind("/")
    colon = name_tag.rfind(":")
    tag = None
    name = name_tag
    if colon > last_slash:
        name, tag = name_tag[:colon], name_tag[colon + 1 :]
        if not _TAG.match(tag):
            raise ImageRefError(
                f"tag {tag!r} is invalid: use letters, digits, '_', '.', '-' "
                "(not starting with '.' or '-'), at most 128 characters"
            )
    parts = name.split("/")
    registry = None
    if len(parts) > 1 and (
        "." in parts[0] or ":" in parts[0] or parts[0] == "localhost" or parts[0].startswith("$")
    ):
        registry = parts.pop(0)
        _check_registry(registry)
    elif name.startswith("$"):
        raise ImageRefError("only '$upstream:<port>/…' may start with '$' (nested edge)")
    for part in parts:
        _check_component(part, name)
    repository = "/".join(parts)
    if len(name) > _NAME_MAX:
        raise ImageRefError(
            f"the image name is {len(name)} characters long; Docker allows {_NAME_MAX}"
        )
    return ImageRef(registry, repository, tag, digest)


def _agent_reason(name_tag: str, digest: str | None) -> str:
    after_slash = name_tag.rsplit("/", 1)[-1]
    if digest is not None and ":" in after_slash:
        return "edgeAgent rejects a tag and a digest together ('name:tag@sha256:…'); keep only the digest"
    if name_tag.endswith("/"):
        return "the image reference ends with '/'; add the image name"
    if after_slash.endswith(":"):
        return "the tag after ':' is empty; add a tag or drop the ':'"
    if after_slash.count(":") > 1:
        return "the image reference has more than one ':' after the last '/'"
    if after_slash.startswith(":") or not after_slash:
        return "the image name before the tag is empty"
    return "edgeAgent's image rule ([registry/]name[:tag]) does not match it"


def _check_registry(registry: str) -> None:
    if registry.startswith("$"):
        if not _UPSTREAM.match(registry):
            raise ImageRefError(
                f"{registry!r}: only '$upstream:<port>/…' may start with '$' (nested edge, e.g. $upstream:443)"
            )
        return
    if not _HOST.match(registry):
        raise ImageRefError(f"registry host {registry!r} is not a valid host[:port]")


def _check_component(part: str, name: str) -> None:
    if not part:
        raise ImageRefError(f"{name!r} has an empty path component ('//' or a leading '/')")
    if _COMPONENT.match(part):
        return
    if _COMPONENT.match(part.lower()):
        raise ImageRefError(f"repository names must be lowercase: {part!r} → {part.lower()!r}")
    bad = sorted({ch for ch in part if not (ch.isascii() and (ch.isalnum() or ch in "._-"))})
    if bad:
        raise ImageRefError(f"{part!r} contains {''.join(bad)!r}; use a-z, 0-9, '.', '_' and '-'")
    raise ImageRefError(
        f"{part!r} is not a valid repository component: separators '.', '_', '__', '-' "
        "must sit between letters or digits"
    )

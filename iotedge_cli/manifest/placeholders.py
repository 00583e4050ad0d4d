"""Variable and image placeholders in deployment templates, expanded safely.

Theory of operation: iotedgedev runs ``os.path.expandvars`` over the raw template text, so a
value with a quote breaks the JSON and a shell variable named ``upstream`` rewrites the route
sink ``$upstream``. edgectl expands *after* parsing, inside string values only (keys are never
touched), so whatever a variable holds the result is still valid JSON. The grammar, per string:

* ``${NAME}`` – a variable from the process environment or ``.env``; undefined is an error.
* ``${MODULES.<dir>[.<platform>|.debug]}``, ``${MODULEDIR<path>[.<platform>]}`` – image tags,
  resolved by the caller's ``images`` function.
* ``$NAME`` – a variable too, except in route strings (edgeHub's language uses ``$name`` for
  system properties) and except for the reserved IoT Edge tokens below (``$upstream``,
  ``$edgeHub``, ``$body…``, ``$connectionDeviceId`` …), which are never expanded, whatever the
  environment holds. An undefined ``$NAME`` is an error.
* ``$$`` – a literal ``$`` (so ``Pa$$word`` becomes ``Pa$word``).

A whole value written as a bare placeholder (``"ttl": ${TTL}``) becomes the variable's value
parsed as JSON (``3600`` → number, ``true`` → bool), or the plain string when it is not JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iotedge_cli.manifest.jsonparse import Placeholder

# §1.7 system properties and the other `$` words of manifests and routes (compared lowercased;
# the bare-word regex stops at '-' and '.', so `$absolute-expiry-time` is checked as `absolute`).
RESERVED = frozenset(
    name.lower()
    for name in (
        "edgeAgent",
        "edgeHub",
        "upstream",
        "body",
        "schema",
        "metadata",
        "etag",
        "lastUpdated",
        "lastUpdatedVersion",
        "iothub",
        "messageId",
        "enqueuedTime",
        "to",
        "cid",
        "correlationId",
        "userId",
        "ack",
        "connectionDeviceId",
        "connectionModuleId",
        "inputName",
        "outputName",
        "connectionDeviceGenerationId",
        "connectionAuthMethod",
        "contentType",
        "contentEncoding",
        "messageSchema",
        "lockToken",
        "deliveryCount",
        "statusCode",
        "outBoundURI",
        "version",
        "absolute",
        "messageType",
        "edgeMessageId",
        "edgeHubOriginInterface",
        "creationTime",
        "operation",
        "sequenceNumber",
        "modelId",
        "dt",
    )
)

UNDEFINED = "G101"
BAD_PLACEHOLDER = "G102"

_TOKEN = re.compile(r"\$\$|\$\{([^{}$]*)\}|(\$\{)|\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_IMAGE = re.compile(r"MODULES\.|MODULEDIR<")


@dataclass(frozen=True)
class Issue:
    """A problem with one placeholder; ``token`` is its text, to locate it inside the string."""

    code: str
    message: str
    token: str


class ImageError(Exception):
    """Raised by an ``images`` function for a placeholder it cannot resolve."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


ImageResolver = Callable[[str], str]


@dataclass
class Expander:
    env: Mapping[str, str]
    images: ImageResolver | None = None
    used: dict[str, None] = field(default_factory=dict)  # variable names, in first-use order
    images_used: dict[str, str] = field(default_factory=dict)  # placeholder → image

    def expand(self, text: str, *, route: bool = False) -> tuple[str, list[Issue]]:
        """``text`` with every placeholder replaced, and the problems found."""
        if "$" not in text:
            return text, []
        issues: list[Issue] = []

        def repl(m: re.Match[str]) -> str:
            token = m.group()
            if token == "$$":
                return "$"
            if m.group(2):
                issues.append(
                    Issue(
                        BAD_PLACEHOLDER,
                        "'${' is never closed; write ${NAME}, or $$ for a literal $",
                        token,
                    )
                )
                return token
            bare = m.group(3)
            if bare is not None:
                if route or bare.lower() in RESERVED:
                    return token
                return self._variable(bare, token, issues)
            return self._braced(m.group(1), token, issues)

        return _TOKEN.sub(repl, text), issues

    def value(self, placeholder: Placeholder) -> tuple[Any, list[Issue]]:
        """The JSON value for a bare (unquoted) placeholder such as ``${TTL}``."""
        token = placeholder.text
        issues: list[Issue] = []
        if token.startswith("${"):
            text = self._braced(placeholder.name, token, issues)
        elif placeholder.name.lower() in RESERVED:
            issues.append(
                Issue(
                    BAD_PLACEHOLDER,
                    f"unquoted {token} is an IoT Edge token, not a variable; put it in double quotes",
                    token,
                )
            )
            return token, issues
        else:
            text = self._variable(placeholder.name, token, issues)
        if issues:
            return token, issues
        if _IMAGE.match(placeholder.name):
            return text, issues
        try:
            return json.loads(text), issues
        except ValueError:
            return text, issues

    def _braced(self, inner: str, token: str, issues: list[Issue]) -> str:
        if _NAME.match(inner):
            return self._variable(inner, token, issues)
        if self.images is not None and _IMAGE.match(inner):
            try:
                image = self.images(inner)
            except ImageError as exc:
                issues.append(Issue(exc.code, exc.message, token))
                return token
            self.images_used.setdefault(token, image)
            return image
        issues.append(
            Issue(
                BAD_PLACEHOLDER,
                f"unsupported placeholder {token}; use ${{NAME}}, ${{MODULES.<dir>[.<platform>]}} "
                "or ${MODULEDIR<path>[.<platform>]}",
                token,
            )
        )
        return token

    def _variable(self, name: str, token: str, issues: list[Issue]) -> str:
        found = self.env.get(name)
        if found is None:
            issues.append(
                Issue(
                    UNDEFINED,
                    f"variable {token} is not defined; set {name} in .env or the environment"
                    + ("" if token.startswith("${") else f", or write ${token} for a literal $"),
                    token,
                )
            )
            return token
        self.used.setdefault(name, None)
        return found

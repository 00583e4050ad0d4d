"""Module and solution names: every rule that would bite later, checked up front.

A module name becomes a module id (edgeAgent), a folder under ``modules/`` (and so part of
``${MODULES.<name>}`` placeholders, split on dots), a Docker repository (lowercase), a word in
routes (``/messages/modules/<name>/outputs/*``, ``BrokeredEndpoint("/modules/<name>/…")``) and
class/package names in the generated code. The intersection of all of those is small and is
what we accept; each refusal names the rule that would have failed.
"""

from __future__ import annotations

import re
from pathlib import Path

from iotedge_cli.errors import UsageError

MAX_LENGTH = 64
RESERVED = frozenset({"edgeagent", "edgehub", "$edgeagent", "$edgehub", "$upstream"})
# Docker repository path component: alphanumerics joined by ".", "_", "__" or runs of "-".
_DOCKER_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
# edgeAgent / IoT Hub module id characters.
_MODULE_ID_CHARS = re.compile(r"[A-Za-z0-9\-:.+%_#*?!(),=@;$']+\Z")
_ALLOWED = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+")
_HINT = "use letters, digits, '-' and '_', starting with a letter (e.g. FilterModule)"


def check_module_name(name: str) -> str:
    """Return ``name`` if it is usable as a module name, else raise :class:`UsageError`."""

    def bad(why: str, hint: str = _HINT) -> UsageError:
        return UsageError(f"invalid module name {name!r}: {why}", hint=hint)

    if not name:
        raise bad("the name is empty")
    if len(name) > MAX_LENGTH:
        raise bad(f"it is {len(name)} characters long; the limit is {MAX_LENGTH}")
    if "/" in name or "\\" in name:
        raise bad("a module name cannot contain a path separator ('/' or '\\')")
    if ".." in name:
        raise bad("a module name cannot contain '..'")
    if name.startswith("$"):
        raise bad("names starting with '$' are reserved for system modules and route tokens")
    if name.lower() in RESERVED:
        raise bad(f"{name!r} is a system module of IoT Edge", hint="choose another name")
    if not _MODULE_ID_CHARS.match(name):
        bad_char = next(ch for ch in name if not _MODULE_ID_CHARS.match(ch))
        raise bad(f"{bad_char!r} is not allowed in an IoT Edge module id")
    if "." in name:
        raise bad(
            "a '.' would break ${MODULES.<name>.<platform>} placeholders in deployment templates"
        )
    if not name[0].isalpha() or not name.isascii():
        raise bad("it must start with a letter: it names classes and packages in the code")
    if not _ALLOWED.match(name):
        bad_char = next(ch for ch in name if not _ALLOWED.match("a" + ch))
        raise bad(f"{bad_char!r} is not allowed in routes and code identifiers")
    if not _DOCKER_COMPONENT.match(name.lower()):
        raise bad(
            f"the image repository {name.lower()!r} would be rejected by Docker "
            "(separators '_', '__' or '-' must sit between letters or digits)"
        )
    _check_routes(name)
    return name


def _check_routes(name: str) -> None:
    from iotedge_cli.routes import RouteSyntaxError, parse_route

    for route in route_texts(name, sensor="SimulatedTemperatureSensor"):
        try:
            parse_route(route)
        except RouteSyntaxError as exc:
            raise UsageError(
                f"invalid module name {name!r}: routes using it do not parse: {exc.reason}",
                hint=_HINT,
            ) from None


def route_texts(name: str, *, sensor: str | None) -> list[str]:
    """The routes a new module gets: sensor → its input1 (when a sensor exists), outputs → upstream."""
    routes = [f"FROM /messages/modules/{name}/outputs/* INTO $upstream"]
    if sensor is not None:
        routes.insert(
            0,
            f"FROM /messages/modules/{sensor}/outputs/temperatureOutput "
            f'INTO BrokeredEndpoint("/modules/{name}/inputs/input1")',
        )
    return routes


def repository_for(name: str, registry: str) -> str:
    """The default image repository of a module: ``<registry>/<name lowercased>``."""
    return f"{registry.rstrip('/')}/{name.lower()}" if registry else name.lower()


def check_repository(repository: str) -> str:
    """A Docker image repository ``[host[:port]/]path``; uppercase is lowercased (callers say so)."""
    from iotedge_cli.manifest.images import ImageRefError, parse_image

    value = repository.strip().lower()
    if not value or ":" in value.rsplit("/", 1)[-1] or "@" in value:
        raise UsageError(
            f"invalid repository {repository!r}: give REGISTRY/NAME without a tag or digest",
            hint="e.g. --repository localhost:5000/filtermodule",
        )
    try:
        parse_image(value)
    except ImageRefError as exc:
        raise UsageError(
            f"invalid repository {repository!r}: {exc}",
            hint="e.g. --repository myregistry.azurecr.io/filtermodule",
        ) from None
    return value


def check_registry(registry: str) -> str:
    """A registry ``HOST[:PORT]`` (no scheme, no path)."""
    value = registry.strip().lower()
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?", value):
        raise UsageError(
            f"invalid registry {registry!r}: expected HOST[:PORT] without a scheme or path",
            hint="e.g. --registry localhost:5000 or --registry myregistry.azurecr.io",
        )
    return value


def snake(name: str) -> str:
    """``FilterModule`` → ``filter_module``; ``my-module`` → ``my_module``."""
    words = [w for part in re.split(r"[-_]+", name) for w in _WORDS.findall(part)]
    return "_".join(w.lower() for w in words)


def pascal(name: str) -> str:
    """``filter_module`` → ``FilterModule``; ``FilterModule`` stays."""
    words = [w for part in re.split(r"[-_]+", name) for w in _WORDS.findall(part)]
    return "".join(w[:1].upper() + w[1:] for w in words)


def check_solution_dir(path: Path) -> None:
    """A new solution goes into a folder that does not exist or is empty."""
    if path.exists():
        if not path.is_dir():
            raise UsageError(
                f"{path} exists and is not a folder", hint="choose a new folder for the solution"
            )
        if any(path.iterdir()):
            raise UsageError(
                f"{path} exists and is not empty; edgectl never overwrites files",
                hint="choose a new (or empty) folder, or add modules with 'edgectl new-module'",
            )

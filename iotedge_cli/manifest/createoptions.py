"""createOptions: chunk naming, joining and splitting, a Newtonsoft-tolerant parser, and
what Docker's ContainerCreate body accepts.

Theory of operation. A module's Docker create options travel as one JSON *string* in
``settings.createOptions``; when longer than 512 characters it is cut into chunks named
``createOptions``, ``createOptions01`` … ``createOptions99``. The edgeAgent reader collects
every settings key that *contains* ``createoptions`` (any case, unanchored match), sorts them
ordinal-ignore-case, demands that the first has no number and the n-th parses to n, joins
them and parses the result with Newtonsoft.Json, which tolerates unquoted property names,
single quotes, comments and trailing commas. :func:`parse_create_options` accepts the same
superset and records where each tolerated construct is, so the linter can warn and show
the strict form. Positions are offsets into the *joined* string; the lint rule maps them
back to the chunk (and column) in the file.

The Docker model is a table of known keys and their JSON types (Engine API v1.41+). It is
checked by :func:`check_container_config`, which returns problems with paths inside the
createOptions object; the rule decides how to report them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from iotedge_cli.diagnostics import JsonPath
from iotedge_cli.errors import InputError
from iotedge_cli.manifest.jsonparse import JsonSyntaxError, Placeholder

CHUNK_CHARS = 512  # what the agent's writer, iotedgedev and VS Code use
CHUNK_MAX_BYTES = 4096  # twin string-value limit (UTF-8 bytes)
MAX_CHUNKS = 100  # the agent reads at most this many chunks and drops the rest silently
TOOL_MAX_CHUNKS = 8  # iotedgedev / VS Code refuse to generate more ("maximum size is 4K")
FIRST_CHUNK = "createOptions"

_CHUNK_KEY = re.compile(r"(?i:createoptions)([0-9]*)")
_PLACEHOLDER_TEXT = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


class CreateOptionsTooLargeError(InputError):
    """createOptions needs more chunks than the agent reads."""


# --- chunks -----------------------------------------------------------------------------------


def chunk_name(index: int) -> str:
    """Key of the ``index``-th chunk (0-based): ``createOptions``, ``createOptions01`` …"""
    return FIRST_CHUNK if index == 0 else f"{FIRST_CHUNK}{index:02d}"


def stringify_create_options(value: Any) -> str:
    """Compact JSON text for a createOptions object (as iotedgedev and VS Code write it).

    ``value`` must be plain JSON data (expand template placeholders first).
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def split_create_options(text: str) -> dict[str, str]:
    """Cut createOptions JSON ``text`` into chunks of at most 512 characters.

    Returns ``{"createOptions": …, "createOptions01": …, …}`` in order; joining the values
    gives ``text`` back. ``""`` gives ``{"createOptions": ""}``. Characters are never split
    (a chunk may be up to 2048 UTF-8 bytes, well under the 4 KB twin limit). Raises
    :class:`CreateOptionsTooLargeError` when more than 100 chunks would be needed; more than
    :data:`TOOL_MAX_CHUNKS` chunks is legal for the runtime (callers may warn).
    """
    pieces = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
    if len(pieces) > MAX_CHUNKS:
        raise CreateOptionsTooLargeError(
            f"createOptions is {len(text)} characters: that needs {len(pieces)} chunks of "
            f"{CHUNK_CHARS}, but the agent reads only {MAX_CHUNKS}",
            hint="move large data (e.g. long Env lists) into the module's env or a mounted file",
        )
    return {chunk_name(i): piece for i, piece in enumerate(pieces)}


def _runtime_order(key: str) -> str:
    return key.upper()  # .NET StringComparer.OrdinalIgnoreCase compares upper-cased text


def find_chunks(settings: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(key, value)`` of every key the agent reads as a createOptions chunk, in its order."""
    found = [(k, v) for k, v in settings.items() if _CHUNK_KEY.search(k)]
    found.sort(key=lambda kv: _runtime_order(kv[0]))
    return found


def join_create_options(settings: Mapping[str, Any]) -> str | None:
    """The createOptions text the agent sees: chunk values joined in the agent's order.

    ``None`` when ``settings`` has no createOptions key. Raises ``TypeError`` when a chunk is
    not a string (a template may hold an object: use :func:`stringify_create_options`).
    """
    chunks = find_chunks(settings)
    if not chunks:
        return None
    for key, value in chunks:
        if not isinstance(value, str):
            raise TypeError(f"settings.{key} is not a string")
    return "".join(v for _, v in chunks)


@dataclass(frozen=True)
class NamingProblem:
    key: str
    message: str
    fatal: bool  # the agent rejects the module (JsonSerializationException)


def naming_problems(keys: Sequence[str]) -> list[NamingProblem]:
    """Check chunk keys (in the agent's order, see :func:`find_chunks`) the way the agent does.

    The first runtime-breaking key is reported as fatal (later indices shift, so only one).
    Keys the runtime accepts but tools do not write (``createoptions``, ``createOptions1``)
    are reported as non-fatal.
    """
    if len(keys) == 1 and keys[0] == FIRST_CHUNK:
        return []  # the common case
    problems: list[NamingProblem] = []
    if keys and not any(_CHUNK_KEY.search(k).group(1) == "" for k in keys):  # type: ignore[union-attr]
        return [
            NamingProblem(
                keys[0],
                f"'{keys[0]}' without a first chunk: the agent requires '{FIRST_CHUNK}' (no number) "
                f"before '{chunk_name(1)}'; name the chunks {_expected_names(len(keys))}",
                True,
            )
        ]
    for i, key in enumerate(keys):
        match = _CHUNK_KEY.search(key)
        assert match is not None
        digits = match.group(1)
        want = chunk_name(i)
        runtime_ok = digits == "" if i == 0 else digits != "" and int(digits) == i
        exact = match.group(0) == key
        if not runtime_ok:
            if not exact:
                why = (
                    f"'{key}' contains 'createOptions', so the agent reads it as chunk {i + 1} "
                    f"and expects '{want}' there; rename the key"
                )
            else:
                why = (
                    f"chunk '{key}' is out of sequence: sorted by name it is chunk {i + 1}, which "
                    f"must be '{want}'; number the chunks {_expected_names(len(keys))} with no gaps"
                )
            problems.append(NamingProblem(key, why, True))
            return problems
        if key != want:
            problems.append(
                NamingProblem(
                    key,
                    f"chunk '{key}' is accepted by the agent but is not the canonical name; "
                    f"rename it '{want}'"
                    + (
                        " (two-digit numbers keep the name order right past 9 chunks)"
                        if key.lower() != want.lower()
                        else ""
                    ),
                    False,
                )
            )
    return problems


def _expected_names(n: int) -> str:
    if n == 1:
        return f"'{FIRST_CHUNK}'"
    names = [chunk_name(i) for i in range(min(n, 3))]
    return ", ".join(names) + (" …" if n > 3 else "")


def is_empty_text(text: str) -> bool:
    """Empty, white space or ``null``: the agent uses empty create options."""
    stripped = text.strip()
    return stripped == "" or stripped == "null"


# --- a Newtonsoft-tolerant parser with positions -------------------------------------------------


@dataclass
class ParsedOptions:
    value: Any
    offsets: dict[JsonPath, int] = field(default_factory=dict)
    key_offsets: dict[JsonPath, int] = field(default_factory=dict)
    lenient: list[tuple[int, str]] = field(default_factory=list)  # (offset, what) not strict JSON


_TOKEN = re.compile(
    r"""[ \t\n\r]*(?:
      ("(?:[^"\\]|\\.)*")                                              # 1 double-quoted string
    | ('(?:[^'\\]|\\.)*')                                              # 2 single-quoted string
    | (-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![0-9A-Za-z_.$])  # 3 number
    | ([{}\[\],:])                                                     # 4 punctuation
    | (\$\{[^}\s"']*\}|\$[A-Za-z_][A-Za-z0-9_]*)                       # 5 placeholder
    | ([A-Za-z_][A-Za-z0-9_$]*)                                        # 6 identifier
    | (//[^\n]*|/\*.*?\*/)                                             # 7 comment
    )""",
    re.VERBOSE | re.DOTALL,
)
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_SINGLE_QUOTED_ESCAPE = re.compile(r"\\(.)|\"", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f]")


def load_create_options(text: str, *, template: bool) -> tuple[Any, ParsedOptions | None]:
    """Parse joined createOptions text; fast (C ``json``) when it is strict JSON.

    Returns ``(value, parsed)``: ``parsed`` is ``None`` on the fast path (strict, no positions;
    call :func:`parse_create_options` when positions are needed). Raises
    :class:`JsonSyntaxError` with an offset into ``text``.
    """
    try:
        return json.loads(text), None
    except ValueError:
        pass
    parsed = parse_create_options(text, template=template)
    return parsed.value, parsed


def parse_create_options(text: str, *, template: bool) -> ParsedOptions:
    """Parse ``text`` as Newtonsoft would, recording node offsets and non-strict constructs.

    With ``template=True`` a bare ``${NAME}``/``$NAME`` stands for a value (a
    :class:`Placeholder`), as in an unexpanded deployment template.
    """
    parser = _Parser(text, template)
    res = parser.result
    res.value = parser.value(())
    tail = parser.skip()
    if tail < len(text):
        raise JsonSyntaxError(
            f"unexpected {_shown(text, tail)} after the end of the JSON value", tail
        )
    return res


def _shown(text: str, pos: int) -> str:
    if pos >= len(text):
        return "end of text"
    return repr(text[pos])


class _Parser:
    def __init__(self, text: str, template: bool) -> None:
        self.text = text
        self.template = template
        self.pos = 0
        self.depth = 0
        self.result = ParsedOptions(None)

    def next(self) -> tuple[int, int, str]:
        """(group, offset, token text) of the next token; comments are skipped and noted."""
        while True:
            m = _TOKEN.match(self.text, self.pos)
            if m is None or m.lastindex is None:
                pos = self.skip()
                if pos >= len(self.text):
                    what = ": an object or array is not closed" if self.depth else ""
                    raise JsonSyntaxError(f"unexpected end of text{what}", pos)
                ch = self.text[pos]
                if ch in "\"'":
                    raise JsonSyntaxError("unterminated string", pos)
                raise JsonSyntaxError(f"unexpected {ch!r}", pos)
            self.pos = m.end()
            g = m.lastindex
            start = m.start(g)
            if g == 7:
                self.result.lenient.append((start, "a comment"))
                continue
            return g, start, m.group(g)

    def skip(self) -> int:
        text, pos = self.text, self.pos
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            m = _TOKEN.match(text, pos)
            if m is not None and m.lastindex == 7:
                pos = m.end()
                continue
            return pos

    def string(self, g: int, start: int, raw: str) -> str:
        if g == 2:
            self.result.lenient.append((start, "a single-quoted string"))
            body = _SINGLE_QUOTED_ESCAPE.sub(
                lambda m: (
                    ("'" if m.group(1) == "'" else m.group(0)) if m.group(1) is not None else '\\"'
                ),
                raw[1:-1],
            )
            raw = f'"{body}"'
        elif _CONTROL.search(raw):
            self.result.lenient.append((start, "a raw control character in a string"))
        try:
            value: str = json.loads(raw, strict=False)
        except ValueError as exc:
            msg = getattr(exc, "msg", "invalid string")
            raise JsonSyntaxError(f"invalid string: {msg.lower()}", start) from None
        return value

    def value(self, path: JsonPath) -> Any:
        g, start, tok = self.next()
        self.result.offsets[path] = start
        if g in (1, 2):
            return self.string(g, start, tok)
        if g == 3:
            return json.loads(tok)
        if g == 6 and tok in _LITERALS:
            return _LITERALS[tok]
        if g == 5:
            if self.template:
                return Placeholder(tok)
            raise JsonSyntaxError(
                f"unexpanded placeholder {tok!r}",
                start,
            )
        if g == 4 and tok in "{[":
            self.depth += 1
            if self.depth > 200:
                raise JsonSyntaxError("nested too deeply", start)
            out = self.obj(path) if tok == "{" else self.arr(path)
            self.depth -= 1
            return out
        if g == 6:
            raise JsonSyntaxError(f'expected a value, found {tok!r} (quote strings with ")', start)
        raise JsonSyntaxError(f"expected a value, found {tok!r}", start)

    def obj(self, path: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        comma = -1
        while True:
            g, start, tok = self.next()
            if g == 4 and tok == "}":
                if comma >= 0:
                    self.result.lenient.append((comma, "a trailing comma"))
                return out
            if g in (1, 2):
                key = self.string(g, start, tok)
            elif g in (5, 6):
                key = tok
                self.result.lenient.append((start, f"an unquoted property name ({tok})"))
            else:
                raise JsonSyntaxError(f"expected a property name or '}}', found {tok!r}", start)
            child = (*path, key)
            self.result.key_offsets[child] = start
            g, start, tok = self.next()
            if not (g == 4 and tok == ":"):
                raise JsonSyntaxError(
                    f"expected ':' after property name {key!r}, found {tok!r}", start
                )
            out[key] = self.value(child)
            g, start, tok = self.next()
            if g == 4 and tok == "}":
                return out
            if not (g == 4 and tok == ","):
                raise JsonSyntaxError(
                    f"expected ',' or '}}' after the value of {key!r}, found {tok!r}", start
                )
            comma = start

    def arr(self, path: JsonPath) -> list[Any]:
        out: list[Any] = []
        comma = -1
        while True:
            peek = self.skip()
            if self.text.startswith("]", peek):
                self.next()
                if comma >= 0:
                    self.result.lenient.append((comma, "a trailing comma"))
                return out
            out.append(self.value((*path, len(out))))
            g, start, tok = self.next()
            if g == 4 and tok == "]":
                return out
            if not (g == 4 and tok == ","):
                raise JsonSyntaxError(f"expected ',' or ']' in an array, found {tok!r}", start)
            comma = start


def strict_form(value: Any) -> str:
    """``value`` as compact strict JSON; placeholders are shown bare, as in the template."""
    text = json.dumps(
        value,
        separators=(",", ":"),
        ensure_ascii=False,
        default=lambda o: f"\x00{o}\x00" if isinstance(o, Placeholder) else str(o),
    )
    return re.sub(r'"\\u0000(.*?)\\u0000"', r"\1", text)


@dataclass(frozen=True)
class TextFinding:
    code: str
    message: str  # continues "createOptions of module 'x'"
    offset: int  # in the joined text
    warning: bool = False


@lru_cache(maxsize=4096)
def analyse_create_options(text: str, *, template: bool) -> tuple[TextFinding, ...]:
    """All findings about joined createOptions ``text`` (E301, W303, E302, E308, E309).

    Cached: most manifests repeat the same few strings (edgeHub's port bindings), so each
    distinct text is parsed and checked once per process.
    """
    if is_empty_text(text):
        return ()
    try:
        value, parsed = load_create_options(text, template=template)
    except JsonSyntaxError as exc:
        fix = (
            "expand the template first (`edgectl manifest generate`) or quote the value"
            if exc.message.startswith("unexpanded placeholder")
            else "fix the JSON there"
        )
        return (
            TextFinding(
                "E301",
                f" is not valid JSON at character {exc.offset + 1} of the joined string: "
                f"{exc.message}; {fix}",
                exc.offset,
            ),
        )
    out: list[TextFinding] = []
    if parsed is not None and parsed.lenient:
        offset, what = parsed.lenient[0]
        shown = strict_form(value)
        if len(shown) > 160:
            shown = shown[:157] + "..."
        out.append(
            TextFinding(
                "W303",
                f" is not strict JSON ({what} at character {offset + 1}); the agent accepts it, "
                f"strict tools do not; write {shown}",
                offset,
            )
        )
    if not isinstance(value, dict):
        kind = {list: "a JSON array", str: "a JSON string", bool: "a boolean"}.get(
            type(value), "a number"
        )
        out.append(
            TextFinding(
                "E302",
                f" is {kind}, not a JSON object; write the Docker create options as an object, "
                'e.g. {"HostConfig": {...}}',
                len(text) - len(text.lstrip()),
            )
        )
        return tuple(out)
    problems = check_container_config(value, template=template)
    if problems and parsed is None:
        parsed = parse_create_options(text, template=template)
    for p in problems:
        assert parsed is not None
        table = parsed.key_offsets if p.key else parsed.offsets
        offset = table.get(p.path, parsed.offsets.get(p.path, 0))
        out.append(TextFinding(p.code, f": {p.message}", offset, p.warning))
    return tuple(out)


# --- Docker's ContainerCreate body ---------------------------------------------------------------

# Kinds: str, bool, int, bytes (int of bytes), nanos (int of nanoseconds), cpus (NanoCpus),
# strs (array of strings), cmd (string or array of strings), objs (array of objects),
# ints (array of integers), obj (any object), strmap (object of strings), objmap (object of
# objects), and special ones handled by a function (env, exposed, ports, health, log, host, net).
TOP_LEVEL: dict[str, str] = {
    "Hostname": "str",
    "Domainname": "str",
    "User": "str",
    "AttachStdin": "bool",
    "AttachStdout": "bool",
    "AttachStderr": "bool",
    "ExposedPorts": "exposed",
    "Tty": "bool",
    "OpenStdin": "bool",
    "StdinOnce": "bool",
    "Env": "env",
    "Cmd": "cmd",
    "Healthcheck": "health",
    "ArgsEscaped": "bool",
    "Image": "str",
    "Volumes": "objmap",
    "WorkingDir": "str",
    "Entrypoint": "cmd",
    "NetworkDisabled": "bool",
    "MacAddress": "str",
    "OnBuild": "strs",
    "Labels": "strmap",
    "StopSignal": "str",
    "StopTimeout": "int",
    "Shell": "strs",
    "HostConfig": "host",
    "NetworkingConfig": "net",
}

HOST_CONFIG: dict[str, str] = {
    # Resources
    "CpuShares": "int",
    "Memory": "bytes",
    "CgroupParent": "str",
    "BlkioWeight": "int",
    "BlkioWeightDevice": "objs",
    "BlkioDeviceReadBps": "objs",
    "BlkioDeviceWriteBps": "objs",
    "BlkioDeviceReadIOps": "objs",
    "BlkioDeviceWriteIOps": "objs",
    "CpuPeriod": "int",
    "CpuQuota": "int",
    "CpuRealtimePeriod": "int",
    "CpuRealtimeRuntime": "int",
    "CpusetCpus": "str",
    "CpusetMems": "str",
    "Devices": "objs",
    "DeviceCgroupRules": "strs",
    "DeviceRequests": "objs",
    "KernelMemory": "bytes",
    "KernelMemoryTCP": "bytes",
    "MemoryReservation": "bytes",
    "MemorySwap": "bytes",
    "MemorySwappiness": "int",
    "NanoCpus": "cpus",
    "OomKillDisable": "bool",
    "Init": "bool",
    "PidsLimit": "int",
    "Ulimits": "objs",
    "CpuCount": "int",
    "CpuPercent": "int",
    "IOMaximumIOps": "int",
    "IOMaximumBandwidth": "bytes",
    # Host
    "Binds": "strs",
    "ContainerIDFile": "str",
    "LogConfig": "log",
    "NetworkMode": "str",
    "PortBindings": "ports",
    "RestartPolicy": "obj",
    "AutoRemove": "bool",
    "VolumeDriver": "str",
    "VolumesFrom": "strs",
    "Mounts": "objs",
    "ConsoleSize": "ints",
    "Annotations": "strmap",
    "CapAdd": "strs",
    "CapDrop": "strs",
    "CgroupnsMode": "str",
    "Dns": "strs",
    "DnsOptions": "strs",
    "DnsSearch": "strs",
    "ExtraHosts": "strs",
    "GroupAdd": "strs",
    "IpcMode": "str",
    "Cgroup": "str",
    "Links": "strs",
    "OomScoreAdj": "int",
    "PidMode": "str",
    "Privileged": "bool",
    "PublishAllPorts": "bool",
    "ReadonlyRootfs": "bool",
    "SecurityOpt": "strs",
    "StorageOpt": "strmap",
    "Tmpfs": "strmap",
    "UTSMode": "str",
    "UsernsMode": "str",
    "ShmSize": "bytes",
    "Sysctls": "strmap",
    "Runtime": "str",
    "Isolation": "str",
    "MaskedPaths": "strs",
    "ReadonlyPaths": "strs",
}

# HostConfig fields Docker still reads from the top level (moby's ContainerConfigWrapper keeps
# them for old clients); every other top-level HostConfig field is ignored, because the agent
# always sends a HostConfig (it appends the workload socket to HostConfig.Binds).
LEGACY_TOP_LEVEL = frozenset({"Memory", "MemorySwap", "CpuShares", "CpusetCpus", "VolumeDriver"})

NETWORKING_CONFIG: dict[str, str] = {"EndpointsConfig": "objmap"}
PORT_BINDING: dict[str, str] = {"HostIp": "str", "HostPort": "str"}
HEALTHCHECK: dict[str, str] = {
    "Test": "cmd",
    "Interval": "nanos",
    "Timeout": "nanos",
    "Retries": "int",
    "StartPeriod": "nanos",
    "StartInterval": "nanos",
}
LOG_CONFIG: dict[str, str] = {"Type": "str", "Config": "strmap"}

_PORT_KEY = re.compile(r"(?i)([0-9]{1,5})(?:/(tcp|udp|sctp))?")
_SIZE = re.compile(r"(?i)\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)i?b?\s*")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_DURATION_UNITS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


@dataclass(frozen=True)
class DockerProblem:
    code: str  # "E308" unknown key, "E309" wrong type
    message: str
    path: JsonPath  # inside the createOptions object
    key: bool = False  # point at the member's key rather than its value
    # Warning only: the runtime copes (key case, a misplaced key Docker ignores, or a value
    # Newtonsoft converts, e.g. "Privileged": "true"), but it is not what Docker documents.
    warning: bool = False


def format_path(path: JsonPath) -> str:
    """``HostConfig.PortBindings["8080/tcp"][0].HostPort`` for a path inside createOptions."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out or "(root)"


class _LazyPath:
    """A path formatted only when a message is built (most values are fine)."""

    __slots__ = ("path",)

    def __init__(self, path: JsonPath) -> None:
        self.path = path

    def __format__(self, spec: str) -> str:
        return format_path(self.path)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


class _Checker:
    def __init__(self, skip: Callable[[Any], bool]) -> None:
        self.skip = skip
        self.problems: list[DockerProblem] = []

    def bad(self, path: JsonPath, message: str, *, convertible: bool = False) -> None:
        if convertible:
            message += " (the agent converts it, but write the type Docker documents)"
        self.problems.append(DockerProblem("E309", message, path, warning=convertible))

    def members(self, obj: dict[str, Any], path: JsonPath, known: Mapping[str, str]) -> None:
        for key, value in obj.items():
            kind = known.get(key)
            if kind is None:
                if not self.skip(key):
                    self.unknown(key, (*path, key), known)
                continue
            self.check(kind, value, (*path, key))

    def unknown(self, key: str, path: JsonPath, known: Mapping[str, str]) -> None:
        where = f"in {format_path(path[:-1])}" if len(path) > 1 else "at the top level"
        folded = {k.lower(): k for k in known}
        if key.lower() in folded:
            right = folded[key.lower()]
            self.problems.append(
                DockerProblem(
                    "E308",
                    f"'{format_path(path)}' should be spelled '{right}': it works only because "
                    "Docker and the agent match names case-insensitively; write it as Docker documents it",
                    path,
                    key=True,
                    warning=True,
                )
            )
            return
        if known is TOP_LEVEL and key in LEGACY_TOP_LEVEL:
            self.problems.append(
                DockerProblem(
                    "E308",
                    f"'{key}' at the top level is a legacy placement: Docker copies only "
                    f"{', '.join(sorted(LEGACY_TOP_LEVEL))} from there into HostConfig; "
                    f'move it: {{"HostConfig": {{"{key}": ...}}}}',
                    path,
                    key=True,
                    warning=True,
                )
            )
            return
        misplaced = (known is TOP_LEVEL and key in HOST_CONFIG) or (
            known is HOST_CONFIG and key in TOP_LEVEL
        )
        if known is TOP_LEVEL and key in HOST_CONFIG:
            message = (
                f"'{key}' is a HostConfig option, not a top-level one: Docker ignores it here; "
                f'move it: {{"HostConfig": {{"{key}": ...}}}}'
            )
        elif known is HOST_CONFIG and key in TOP_LEVEL:
            message = (
                f"'{key}' is a top-level option, not a HostConfig one: Docker ignores it here; "
                "move it out of HostConfig"
            )
        else:
            import difflib  # lazy: only needed for a finding

            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            fix = f"did you mean '{close[0]}'?" if close else "remove it or fix its name"
            message = f"unknown Docker key '{key}' {where}: Docker silently ignores it; {fix}"
        self.problems.append(DockerProblem("E308", message, path, key=True, warning=misplaced))

    def check(self, kind: str, value: Any, path: JsonPath) -> None:
        if value is None or self.skip(value):
            return
        name = _LazyPath(path)
        if kind == "str":
            if not isinstance(value, str):
                shown = json.dumps(str(value).lower() if isinstance(value, bool) else str(value))
                self.bad(
                    path,
                    f"{name} must be a string ({shown}), not {_describe(value)}",
                    convertible=isinstance(value, (int, float, bool)),
                )
        elif kind == "bool":
            if not isinstance(value, bool):
                fix = (
                    f"write {value.lower()} without quotes"
                    if isinstance(value, str) and value.lower() in ("true", "false")
                    else "write true or false"
                )
                self.bad(
                    path,
                    f"{name} must be true or false, not {_describe(value)}; {fix}",
                    convertible=isinstance(value, str) and value.lower() in ("true", "false"),
                )
        elif kind in ("int", "bytes", "nanos", "cpus"):
            self.integer(kind, value, path, name)
        elif kind in ("strs", "cmd"):
            if kind == "cmd" and isinstance(value, str):
                return
            if not isinstance(value, list):
                self.bad(
                    path,
                    f"{name} must be an array of strings, not {_describe(value)}; write [{json.dumps(value) if isinstance(value, str) else '...'}]",
                )
                return
            for i, item in enumerate(value):
                if not isinstance(item, str) and not self.skip(item):
                    self.bad(
                        (*path, i),
                        f"{format_path((*path, i))} must be a string, not {_describe(item)}",
                    )
        elif kind == "ints":
            if not isinstance(value, list) or not all(_is_int(v) or self.skip(v) for v in value):
                self.bad(path, f"{name} must be an array of integers, not {_describe(value)}")
        elif kind == "objs":
            if not isinstance(value, list):
                self.bad(
                    path,
                    f"{name} must be an array of objects, not {_describe(value)}; write [{{...}}]",
                )
                return
            for i, item in enumerate(value):
                if not isinstance(item, dict) and not self.skip(item):
                    self.bad(
                        (*path, i),
                        f"{format_path((*path, i))} must be an object, not {_describe(item)}",
                    )
        elif kind in ("obj", "strmap", "objmap"):
            if not isinstance(value, dict):
                self.bad(path, f"{name} must be an object, not {_describe(value)}")
                return
            if kind == "strmap":
                for k, v in value.items():
                    if not isinstance(v, str) and v is not None and not self.skip(v):
                        fix = (
                            json.dumps(str(v).lower() if isinstance(v, bool) else str(v))
                            if isinstance(v, (int, float))
                            else '"..."'
                        )
                        self.bad(
                            (*path, k),
                            f"{format_path((*path, k))} must be a string, not {_describe(v)}; write {fix}",
                            convertible=isinstance(v, (int, float, bool)),
                        )
            elif kind == "objmap":
                for k, v in value.items():
                    if not isinstance(v, dict) and v is not None and not self.skip(v):
                        self.bad(
                            (*path, k),
                            f"{format_path((*path, k))} must be an object ({{}}), not {_describe(v)}",
                        )
        else:
            self.special(kind, value, path, name)

    def integer(self, kind: str, value: Any, path: JsonPath, name: _LazyPath) -> None:
        if _is_int(value):
            return
        what = {
            "bytes": "an integer number of bytes",
            "nanos": "an integer number of nanoseconds",
            "cpus": "an integer (CPUs × 10⁹)",
        }.get(kind, "an integer")
        fix = ""
        if isinstance(value, str):
            suggestion = _suggest_int(kind, value)
            if suggestion is not None:
                fix = f"; write {suggestion}"
        elif isinstance(value, float) and kind == "cpus":
            fix = f"; write {round(value * 10**9)}"
        note = (
            " (the agent cannot deserialize it)"
            if isinstance(value, str) and not value.strip().lstrip("-").isdigit()
            else ""
        )
        convertible = isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value) is not None
        self.bad(
            path,
            f"{name} must be {what}, not {_describe(value)}{note}{fix}",
            convertible=convertible,
        )

    def special(self, kind: str, value: Any, path: JsonPath, name: _LazyPath) -> None:
        if kind == "host" or kind == "net":
            if not isinstance(value, dict):
                self.bad(path, f"{name} must be an object, not {_describe(value)}")
                return
            table = HOST_CONFIG if kind == "host" else NETWORKING_CONFIG
            self.members(value, path, table)
        elif kind == "health" or kind == "log":
            if not isinstance(value, dict):
                self.bad(path, f"{name} must be an object, not {_describe(value)}")
                return
            table = HEALTHCHECK if kind == "health" else LOG_CONFIG
            for key, item in value.items():
                if key in table:
                    self.check(table[key], item, (*path, key))
        elif kind == "env":
            self.env(value, path, name)
        elif kind == "exposed":
            if not isinstance(value, dict):
                self.bad(
                    path,
                    f'{name} must be an object such as {{"8080/tcp": {{}}}}, not {_describe(value)}',
                )
                return
            for port, item in value.items():
                if (
                    self.port_key(port, (*path, port))
                    and not isinstance(item, dict)
                    and item is not None
                    and not self.skip(item)
                ):
                    self.bad(
                        (*path, port),
                        f"{format_path((*path, port))} must be an empty object {{}}, not {_describe(item)}",
                    )
        elif kind == "ports":
            self.port_bindings(value, path, name)

    def env(self, value: Any, path: JsonPath, name: _LazyPath) -> None:
        if not isinstance(value, list):
            example = ""
            if isinstance(value, dict) and value:
                k, v = next(iter(value.items()))
                example = f' such as ["{k}={v}"]'
            self.bad(
                path,
                f'{name} must be an array of "NAME=value" strings{example}, not {_describe(value)}',
            )
            return
        for i, item in enumerate(value):
            if self.skip(item):
                continue
            p = (*path, i)
            if not isinstance(item, str):
                self.bad(
                    p, f'{format_path(p)} must be a "NAME=value" string, not {_describe(item)}'
                )
            elif "=" not in item or item.startswith("="):
                self.bad(
                    p,
                    f'{format_path(p)} is {_describe(item)}, not "NAME=value"; write "{item.strip("=") or "NAME"}=value"',
                )

    def port_key(self, port: str, path: JsonPath) -> bool:
        if self.skip(port):
            return False
        m = _PORT_KEY.fullmatch(port)
        if m is None or not 0 < int(m.group(1)) <= 65535:
            self.problems.append(
                DockerProblem(
                    "E309",
                    f"port '{port}' in {format_path(path[:-1])} is not <port>[/tcp|/udp|/sctp] "
                    '(a single port 1-65535, e.g. "8080/tcp")',
                    path,
                    key=True,
                )
            )
            return False
        return True

    def port_bindings(self, value: Any, path: JsonPath, name: _LazyPath) -> None:
        if not isinstance(value, dict):
            self.bad(
                path,
                f'{name} must be an object such as {{"8080/tcp": [{{"HostPort": "8080"}}]}}, not {_describe(value)}',
            )
            return
        for port, bindings in value.items():
            p = (*path, port)
            if not self.port_key(port, p) or bindings is None or self.skip(bindings):
                continue
            if isinstance(bindings, dict):
                self.bad(
                    p, f"{format_path(p)} must be an array of bindings: wrap the object in [ ]"
                )
                bindings = [bindings]
                items = [(p, bindings[0])]
            elif isinstance(bindings, list):
                items = [((*p, i), b) for i, b in enumerate(bindings)]
            else:
                self.bad(
                    p,
                    f'{format_path(p)} must be an array such as [{{"HostPort": "8080"}}], not {_describe(bindings)}',
                )
                continue
            for bp, binding in items:
                if self.skip(binding):
                    continue
                if not isinstance(binding, dict):
                    self.bad(
                        bp,
                        f'{format_path(bp)} must be an object such as {{"HostPort": "8080"}}, not {_describe(binding)}',
                    )
                    continue
                self.members(binding, bp, PORT_BINDING)


def _suggest_int(kind: str, text: str) -> int | None:
    stripped = text.strip()
    if re.fullmatch(r"-?[0-9]+", stripped):
        return int(stripped)
    if kind == "bytes":
        m = _SIZE.fullmatch(text)
        if m:
            return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    elif kind == "nanos":
        m = _DURATION.fullmatch(stripped)
        if m:
            return int(float(m.group(1)) * _DURATION_UNITS[m.group(2)])
    elif kind == "cpus" and re.fullmatch(r"[0-9]+(\.[0-9]+)?", stripped):
        return round(float(stripped) * 10**9)
    return None


def has_placeholder(value: Any) -> bool:
    """A bare placeholder, or a string holding ``${…}``/``$NAME`` (unexpanded template text)."""
    if isinstance(value, Placeholder):
        return True
    return isinstance(value, str) and "$" in value and _PLACEHOLDER_TEXT.search(value) is not None


def _never(value: Any) -> bool:
    return isinstance(value, Placeholder)


def check_container_config(obj: Mapping[str, Any], *, template: bool) -> list[DockerProblem]:
    """Unknown keys (top level, ``HostConfig``, ``NetworkingConfig``) and wrong JSON types.

    With ``template=True`` values and keys holding placeholders are not checked (their type
    is only known after expansion).
    """
    checker = _Checker(has_placeholder if template else _never)
    checker.members(dict(obj), (), TOP_LEVEL)
    return checker.problems


@lru_cache(maxsize=4096)
def check_container_config_text(text: str, *, template: bool) -> tuple[DockerProblem, ...]:
    """:func:`check_container_config` of the object stringified as ``text`` (cached)."""
    return tuple(check_container_config(json.loads(text), template=template))

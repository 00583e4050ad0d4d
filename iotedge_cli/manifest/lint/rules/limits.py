"""W5xx/E5xx: IoT Hub twin limits and rules, and plaintext secrets.

Every twin section of a deployment (``$edgeAgent``, ``$edgeHub``, each module twin) becomes the
desired properties of a module twin, so IoT Hub's twin rules apply (module-twins doc, spec §2.6
and §2.7): 32 KB of desired properties per twin, counted as the sum over properties of key
length plus value length (strings as UTF-8 without control characters, numbers 8, booleans 4);
strings ≤ 4 KB; integers within ±2^52. User module twins must also have no arrays, nest at most
10 objects deep, and use keys of ≤ 1 KB without ``.``, ``$``, spaces or control characters.
``$edgeHub`` (``mqttBroker`` lists) and ``$edgeAgent`` are the runtime's own and are exempt from
those three. One pass over each twin computes its size and checks every node.

Secrets: a deployment is readable by anyone with hub read access and is often committed, so
literal passwords, keys and SAS connection strings belong in ``.env`` behind ``$VARIABLES``.
Only templates are checked: that is where the fix (a ``$VARIABLE``) belongs. A generated
manifest holds the expanded values by design (keep ``config/`` out of version control).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from iotedge_cli.diagnostics import JsonPath, Rule, Severity
from iotedge_cli.manifest.jsonparse import Placeholder
from iotedge_cli.manifest.lint.context import Context
from iotedge_cli.manifest.lint.rules.modules import is_placeholder
from iotedge_cli.manifest.model import AGENT, DESIRED, HUB

RULES = [
    Rule(
        "W501",
        "plaintext-secret",
        Severity.WARNING,
        "A template holds a password, key, token or SAS connection string in plain text.",
        "Write $CONTAINER_REGISTRY_PASSWORD_<name> (or another $VARIABLE) in the template, keep the "
        "value in a git-ignored .env, and run `edgectl manifest generate`.",
    ),
    Rule(
        "E502",
        "twin-too-large",
        Severity.ERROR,
        "A twin's desired properties exceed IoT Hub's 32 KB limit.",
        "IoT Hub rejects the deployment; shorten createOptions (drop defaults), move modules to a "
        "layered deployment, or move large settings out of the twin.",
    ),
    Rule(
        "E503",
        "twin-string-too-long",
        Severity.ERROR,
        "A string value in a twin is longer than 4 KB (4096 UTF-8 bytes).",
        "Shorten it or split it over several properties; IoT Hub rejects longer twin strings.",
    ),
    Rule(
        "E504",
        "twin-array",
        Severity.ERROR,
        "A module twin's desired properties contain an array.",
        'Twins allow no arrays: use an object keyed by index or name ({"0": …, "1": …}) or a '
        "JSON string.",
    ),
    Rule(
        "E505",
        "twin-too-deep",
        Severity.ERROR,
        "A module twin's desired properties nest objects more than 10 levels deep.",
        "Flatten the structure; IoT Hub allows a depth of 10.",
    ),
    Rule(
        "E506",
        "twin-bad-key",
        Severity.ERROR,
        "A module twin key contains '.', '$', a space or a control character, or is over 1 KB.",
        "Rename the key (e.g. replace '.' and spaces with '_'); IoT Hub rejects such twin keys.",
    ),
    Rule(
        "E507",
        "twin-integer-range",
        Severity.ERROR,
        "An integer in a twin is outside [-4503599627370496, 4503599627370495].",
        "Store it as a string, or as a float if precision loss is acceptable.",
    ),
    Rule(
        "W508",
        "twin-size-near-limit",
        Severity.WARNING,
        "A twin's desired properties use over 90% of IoT Hub's 32 KB limit.",
        "The next module or createOptions change may exceed it; plan a layered deployment.",
    ),
]

TWIN_MAX = 32 * 1024
TWIN_WARN = TWIN_MAX * 9 // 10
STRING_MAX = 4096
KEY_MAX = 1024
DEPTH_MAX = 10
INT_MIN, INT_MAX = -4503599627370496, 4503599627370495

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CREATE_OPTIONS = re.compile(r"(?i)createoptions[0-9]*")
_BAD_KEY_CHAR = re.compile(r"[.$ \x00-\x1f\x7f-\x9f]")
_SAS_KEY = re.compile(r"SharedAccessKey=([^;\"'\s]*)", re.IGNORECASE)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# The last word of an env name that marks a secret (API_KEY, DbPassword, SAS_TOKEN, ClientSecret).
_SECRET_LAST = frozenset(
    {
        "PASSWORD",
        "PASSWD",
        "PWD",
        "PASS",
        "SECRET",
        "TOKEN",
        "KEY",
        "SAS",
        "APIKEY",
        "ACCESSKEY",
        "PASSPHRASE",
    }
)

_NOT_SECRETS = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null"})


def check(ctx: Context) -> None:
    m = ctx.manifest
    for name, section in m.content.items():
        if isinstance(section, dict):
            _TwinWalk(ctx, name, name not in (AGENT, HUB)).run((*m.base, name), section)
    if ctx.template:
        _check_secrets(ctx)


# --- twins ----------------------------------------------------------------------------------


def _text_size(text: str) -> int:
    if text.isascii() and text.isprintable():
        return len(text)
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    return len(text) if text.isascii() else len(text.encode("utf-8"))


class _NeedsDetail(Exception):
    """A node :func:`_quick_size` cannot pass silently; walk again with paths to report it."""


def _quick_size(node: Any, key: Any) -> int:
    """The twin size of ``node`` without building paths (the common, finding-free case)."""
    if type(node) is dict:
        return _quick_object(node, key)
    if isinstance(node, str):
        size = _text_size(node)
        if size > STRING_MAX and not (isinstance(key, str) and _CREATE_OPTIONS.fullmatch(key)):
            raise _NeedsDetail
        return size
    if isinstance(node, bool):
        return 4
    if isinstance(node, int):
        if not INT_MIN <= node <= INT_MAX:
            raise _NeedsDetail
        return 8
    if isinstance(node, float):
        return 8
    if isinstance(node, list):
        return sum(_quick_size(v, None) for v in node)
    if isinstance(node, Placeholder):
        return len(node.text)
    return 4  # null


def _quick_object(node: dict[str, Any], key: Any) -> int:
    if isinstance(key, str) and _CREATE_OPTIONS.fullmatch(key):
        # a template's object createOptions: the generator stringifies it compactly
        return _text_size(json.dumps(node, separators=(",", ":"), default=str))
    total = 0
    for k, v in node.items():  # strings inline: they are most of a manifest
        total += len(k) if k.isascii() and k.isprintable() else _text_size(k)
        if type(v) is str:
            n = len(v) if v.isascii() and v.isprintable() else _text_size(v)
            if n > STRING_MAX and not _CREATE_OPTIONS.fullmatch(k):
                raise _NeedsDetail
            total += n
        elif type(v) is dict:
            total += _quick_object(v, k)
        else:
            total += _quick_size(v, k)
    return total


class _TwinWalk:
    """One pass over a twin section: its size, and every value and key checked on the way."""

    def __init__(self, ctx: Context, twin: str, user: bool) -> None:
        self.ctx = ctx
        self.twin = twin
        self.user = user
        self.deep_reported = False
        self.label = twin if twin.startswith("$") else f"module twin {twin!r}"

    def run(self, path: JsonPath, section: dict[str, Any]) -> None:
        size = 0
        where: JsonPath | None = None
        for key, value in section.items():
            if key == DESIRED and isinstance(value, dict):
                where = (*path, key)
                if not self.user:  # $edgeAgent/$edgeHub: only strings and integers can be wrong
                    try:
                        size += _quick_size(value, key)
                        continue
                    except _NeedsDetail:
                        pass
                size += self.obj(value, where, 0)
            elif key.startswith(DESIRED + "."):
                parts = key[len(DESIRED) + 1 :].split(".")
                if self.user:
                    for part in parts:
                        self.key_rule(part, (*path, key), layered=True)
                size += sum(_text_size(p) for p in parts)
                size += self.value(value, (*path, key), parts[-1], len(parts))
                where = where or path
        if where is None:
            return
        label = f"{self.label} desired properties"
        if size > TWIN_MAX:
            self.ctx.report(
                "E502",
                f"{label} are {size:,} bytes, over IoT Hub's 32 KB ({TWIN_MAX:,}) twin limit; IoT Hub "
                "rejects the deployment: shorten createOptions or split modules into a layered deployment",
                where,
                key=True,
            )
        elif size > TWIN_WARN:
            self.ctx.report(
                "W508",
                f"{label} are {size:,} bytes, {size * 100 // TWIN_MAX}% of IoT Hub's 32 KB ({TWIN_MAX:,}) "
                "twin limit; the next change may exceed it: plan a layered deployment",
                where,
                key=True,
            )

    def obj(self, node: dict[str, Any], path: JsonPath, depth: int) -> int:
        size = 0
        for key, value in node.items():
            child = (*path, key)
            if self.user:
                self.key_rule(key, child, layered=False)
            size += _text_size(key) + self.value(value, child, key, depth + 1)
        return size

    def value(self, value: Any, path: JsonPath, key: str | int, depth: int) -> int:
        """Size of ``value`` (the member ``key`` at ``depth``; 1 = a top-level desired property)."""
        if isinstance(value, str):
            size = _text_size(value)
            if size > STRING_MAX and not (isinstance(key, str) and _CREATE_OPTIONS.fullmatch(key)):
                self.ctx.report(
                    "E503",
                    f"string {key!r} in {self.label} is {size:,} bytes; IoT Hub allows {STRING_MAX:,} per twin "
                    "string: shorten it or split it over several properties",
                    path,
                )
            return size
        if isinstance(value, bool):
            return 4
        if isinstance(value, int):
            if not INT_MIN <= value <= INT_MAX:
                self.ctx.report(
                    "E507",
                    f"integer {value} in {self.label} is outside IoT Hub's twin range "
                    f"[{INT_MIN}, {INT_MAX}]: store it as a string",
                    path,
                )
            return 8
        if isinstance(value, float):
            return 8
        if isinstance(value, dict):
            if isinstance(key, str) and _CREATE_OPTIONS.fullmatch(key):
                # a template's object createOptions: the generator stringifies it compactly
                return _text_size(json.dumps(value, separators=(",", ":"), default=str))
            if self.user and depth > DEPTH_MAX and not self.deep_reported:
                self.deep_reported = True
                self.ctx.report(
                    "E505",
                    f"{key!r} in module twin {self.twin!r} is an object at depth {depth}; IoT Hub allows "
                    f"objects nested {DEPTH_MAX} deep: flatten the structure",
                    path,
                )
            return self.obj(value, path, depth)
        if isinstance(value, list):
            if self.user:
                self.ctx.report(
                    "E504",
                    f"{key!r} in module twin {self.twin!r} is an array; twins allow no arrays: use an "
                    'object such as {"0": …, "1": …} or a JSON string',
                    path,
                )
            return sum(self.value(v, (*path, i), i, depth + 1) for i, v in enumerate(value))
        if isinstance(value, Placeholder):
            return len(value.text)
        return 4  # null

    def key_rule(self, key: str, path: JsonPath, *, layered: bool) -> None:
        problem = None
        if len(key.encode("utf-8")) > KEY_MAX:
            problem = f"is {len(key.encode('utf-8')):,} bytes long (limit {KEY_MAX:,})"
        else:
            bad = _BAD_KEY_CHAR.search(key)
            if bad is not None:
                ch = bad.group()
                shown = {".": "'.'", "$": "'$'", " ": "a space"}.get(
                    ch, f"control character {ch!r}"
                )
                problem = f"contains {shown}"
        if problem is None:
            return
        fixed = _BAD_KEY_CHAR.sub("_", key)[:64]
        shown_key = key if len(key) <= 64 else key[:61] + "..."
        where = "layered twin path segment" if layered else "twin key"
        self.ctx.report(
            "E506",
            f"{where} {shown_key!r} in module twin {self.twin!r} {problem}; IoT Hub rejects it: rename it, "
            f"e.g. {fixed!r}",
            path,
            key=True,
        )


# --- secrets --------------------------------------------------------------------------------


def secret_name(name: str) -> bool:
    """Does an environment variable name look like it holds a secret (``DB_PASSWORD``, ``ApiKey``)?"""
    words = [w.upper() for w in _WORD.findall(name)]
    if not words:
        return False
    upper = "".join(words)
    if "CONNECTIONSTRING" in upper or upper.endswith(("CONNSTR", "CONNSTRING")):
        return True
    last = words[-1]
    if last in _SECRET_LAST:
        return not (
            last == "KEY" and len(words) > 1 and words[-2] in {"PUBLIC", "PARTITION", "ROUTING"}
        )
    return len(words) > 1 and words[-2] in {"PASSWORD", "SECRET"} and last in {"VALUE", "TEXT"}


def _literal(value: Any) -> bool:
    """A non-empty string that is no placeholder and no flag or number (``true``, ``0``)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text or text.lower() in _NOT_SECRETS or text.lstrip("-").isdigit():
        return False
    return not is_placeholder(text)


def _check_secrets(ctx: Context) -> None:
    m = ctx.manifest
    flagged: set[JsonPath] = set()
    for name, path, cred in m.desired_items(AGENT, "runtime.settings.registryCredentials"):
        if isinstance(cred, dict) and _literal(cred.get("password")):
            flagged.add((*path, "password"))
            ctx.report(
                "W501",
                f"registryCredentials.{name}.password is a plaintext password: write "
                f'"$CONTAINER_REGISTRY_PASSWORD_{name}" in the template, put the value in a git-ignored .env '
                "and run `edgectl manifest generate`",
                (*path, "password"),
            )
    for mod in m.modules():
        spec = mod.spec if isinstance(mod.spec, dict) else {}
        env = spec.get("env")
        if isinstance(env, dict):
            for var, entry in env.items():
                if isinstance(entry, dict) and secret_name(var) and _literal(entry.get("value")):
                    vpath = (*mod.path, "env", var, "value")
                    flagged.add(vpath)
                    ctx.report("W501", _env_message(mod.name, var), vpath)
        settings = spec.get("settings")
        if isinstance(settings, dict):
            _check_create_options_env(ctx, mod.name, mod.path, settings, flagged)
    if "haredaccesskey=" in m.doc.text.lower():
        for path, text in _strings(m.doc.data, ()):
            if path in flagged:
                continue
            found = _SAS_KEY.search(text)
            if found and found.group(1) and _literal(found.group(1)):
                ctx.report(
                    "W501",
                    "a connection string with a literal SharedAccessKey is written in plain text: put it in a "
                    "git-ignored .env as a $VARIABLE and run `edgectl manifest generate`",
                    path,
                )


def _env_message(module: str, var: str) -> str:
    return (
        f'env {var} of module {module!r} holds a plaintext secret: write "${{{var}}}" in the template, '
        "put the value in a git-ignored .env and run `edgectl manifest generate`"
    )


def _check_create_options_env(
    ctx: Context, module: str, path: JsonPath, settings: dict[str, Any], flagged: set[JsonPath]
) -> None:
    raw = settings.get("createOptions")
    if isinstance(raw, str):
        chunks = sorted(
            (k for k in settings if isinstance(settings[k], str) and _CREATE_OPTIONS.fullmatch(k)),
            key=str.lower,
        )
        try:
            options = json.loads("".join(settings[k] for k in chunks))
        except ValueError:
            return  # invalid createOptions JSON is E3xx's finding
    else:
        options = raw
    env = options.get("Env") if isinstance(options, dict) else None
    if not isinstance(env, list):
        return
    where = (*path, "settings", "createOptions")
    for i, item in enumerate(env):
        if not isinstance(item, str) or "=" not in item:
            continue
        var, _, value = item.partition("=")
        if secret_name(var) and _literal(value):
            target = (*where, "Env", i) if isinstance(raw, dict) else where
            flagged.add(target)
            ctx.report("W501", _env_message(module, var) + " (createOptions Env)", target)


def _strings(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, (*path, i))

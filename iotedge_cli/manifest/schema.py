"""edgectl's JSON schemas: loading, version selection like the runtime, cached validators.

One draft-07 schema file per twin section and schemaVersion lives in ``schemas/`` (package
data). Each validates the ``properties.desired`` object of its section; ``moduletwin.json``
validates a user module's twin section. Versions are chosen the way the runtime does it:
edgeAgent parses ``schemaVersion`` as ``System.Version`` and accepts major 1 up to 1.1;
edgeHub accepts major 1 with minor 0-3 and ignores the build number. The az CLI instead looks
a file up by the exact string and silently skips unknown versions; we report them.

:func:`deployment_schema` combines the per-version files into one document for editors
(VS Code ``json.schemas``): each section dispatches on ``schemaVersion`` with ``if``/``then``.
jsonschema is imported lazily so that ``edgectl --help`` stays fast.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

AGENT = "$edgeAgent"
HUB = "$edgeHub"
TWIN = "moduletwin"
SUPPORTED: dict[str, tuple[str, ...]] = {
    AGENT: ("1.0", "1.1"),
    HUB: ("1.0", "1.1", "1.2", "1.3"),
}
_FILE_PREFIX = {AGENT: "edgeagent", HUB: "edgehub"}
_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?$")
PLACEHOLDER_PATTERN = r"\$\{[^}]+\}|\$[A-Za-z_][A-Za-z0-9_]*"
_PLACEHOLDER = re.compile(PLACEHOLDER_PATTERN)


def newest(section: str) -> str:
    return SUPPORTED[section][-1]


def has_placeholder(value: object) -> bool:
    """True for a string holding a template placeholder (``${NAME}`` or ``$NAME``)."""
    return isinstance(value, str) and "$" in value and _PLACEHOLDER.search(value) is not None


def select_version(section: str, value: object) -> str | None:
    """The schema version the runtime would apply for ``schemaVersion`` = ``value``, or ``None``.

    ``"1.0.5"`` selects ``"1.0"``; ``"1"``, ``"1.2"`` (edgeAgent), ``"2.0"`` and non-strings are
    unknown. Build and revision numbers are ignored, as ``System.Version`` comparison does for
    the supported range.
    """
    if not isinstance(value, str):
        return None
    m = _VERSION.match(value)
    if m is None:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    if major != 1:
        return None
    build, revision = m.group(3), m.group(4)
    if section == AGENT and minor == 1 and ((build and int(build)) or revision is not None):
        return None  # the agent accepts up to Version("1.1.0"); 1.1.1 and 1.1.0.0 compare greater
    candidate = f"1.{minor}"
    return candidate if candidate in SUPPORTED[section] else None


def supported_text(section: str) -> str:
    return ", ".join(SUPPORTED[section])


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A bundled schema by file stem (``edgeagent-1.1``, ``edgehub-1.2``, ``moduletwin``)."""
    text = (
        resources.files("iotedge_cli.manifest").joinpath(f"schemas/{name}.json").read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_name(section: str, version: str) -> str:
    return f"{_FILE_PREFIX[section]}-{version}"


@cache
def validator(name: str, definition: str | None = None) -> Validator:
    """A cached draft-07 validator for a bundled schema, or for one of its ``definitions``."""
    from jsonschema import Draft7Validator

    schema = load_schema(name)
    if definition is not None:
        schema = {
            "$schema": schema["$schema"],
            "$ref": f"#/definitions/{definition}",
            "definitions": schema["definitions"],
        }
    return Draft7Validator(schema)


# --- a fast validity check ------------------------------------------------------------------
#
# jsonschema walks a schema interpretively (≈0.5 ms per section here). Valid sections are the
# common case, so ``checker`` compiles the small keyword set our bundled schemas use into
# nested closures that answer only "valid?"; jsonschema runs only to explain a failure. The
# tests compare both on every corpus section and fixture.

Check = Callable[[Any], bool]
_IGNORED = frozenset({"$schema", "$id", "title", "description", "examples", "definitions"})


def _is_type(value: Any, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float))
    raise ValueError(f"unsupported type {name!r}")


_OBJECT_KEYWORDS = frozenset(
    {"required", "properties", "patternProperties", "additionalProperties", "propertyNames"}
)
_KNOWN = (
    _OBJECT_KEYWORDS
    | {"$ref", "type", "enum", "items", "anyOf", "pattern", "minLength"}
    | {
        "minimum",
        "maximum",
    }
)


def _compile(schema: Any, root: dict[str, Any], refs: dict[str, Check]) -> Check:
    """One closure per schema node; object keywords are checked in a single pass over the keys."""
    if schema is True:
        return lambda _v: True
    if schema is False:
        return lambda _v: False
    unknown = set(schema) - _KNOWN - _IGNORED
    if unknown:
        raise ValueError(f"unsupported schema keywords {sorted(unknown)}")
    checks: list[Check] = []
    if "$ref" in schema:
        checks.append(_ref(schema["$ref"], root, refs))
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
        if names == ["object"]:
            checks.append(lambda v: isinstance(v, dict))
        elif names == ["string"]:
            checks.append(lambda v: isinstance(v, str))
        else:
            checks.append(lambda v: any(_is_type(v, n) for n in names))
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda v: any(type(v) is type(a) and v == a for a in allowed))
    if _OBJECT_KEYWORDS & set(schema):
        checks.append(_object(schema, root, refs))
    if "items" in schema:
        item = _compile(schema["items"], root, refs)
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    if "anyOf" in schema:
        options = [_compile(s, root, refs) for s in schema["anyOf"]]
        checks.append(lambda v: any(o(v) for o in options))
    if "pattern" in schema:
        pattern = re.compile(schema["pattern"])
        checks.append(lambda v: not isinstance(v, str) or pattern.search(v) is not None)
    if "minLength" in schema:
        min_length = schema["minLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) >= min_length)
    if "minimum" in schema or "maximum" in schema:
        checks.append(_bounds(schema.get("minimum"), schema.get("maximum")))
    if not checks:
        return lambda _v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(c(v) for c in checks)


def _ref(ref: str, root: dict[str, Any], refs: dict[str, Check]) -> Check:
    if not ref.startswith("#/definitions/"):
        raise ValueError(f"unsupported $ref {ref!r}")
    name = ref[len("#/definitions/") :]
    if name not in refs:
        refs[name] = lambda v: True  # stands in while a recursive definition compiles
        refs[name] = _compile(root["definitions"][name], root, refs)
    return lambda v: refs[name](v)


def _object(schema: dict[str, Any], root: dict[str, Any], refs: dict[str, Check]) -> Check:
    required = tuple(schema.get("required", ()))
    props = {k: _compile(s, root, refs) for k, s in schema.get("properties", {}).items()}
    pats = [
        (re.compile(p), _compile(s, root, refs))
        for p, s in schema.get("patternProperties", {}).items()
    ]
    extra = (
        _compile(schema["additionalProperties"], root, refs)
        if "additionalProperties" in schema
        else None
    )
    names = _compile(schema["propertyNames"], root, refs) if "propertyNames" in schema else None

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for r in required:
            if r not in v:
                return False
        for k, x in v.items():
            if names is not None and not names(k):
                return False
            c = props.get(k)
            if c is not None and not c(x):
                return False
            matched = False
            for p, pc in pats:
                if p.search(k):
                    matched = True
                    if not pc(x):
                        return False
            if c is None and not matched and extra is not None and not extra(x):
                return False
        return True

    return check


def _bounds(low: Any, high: Any) -> Check:
    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return True
        return (low is None or v >= low) and (high is None or v <= high)

    return check


@cache
def checker(name: str, definition: str | None = None) -> Check:
    """A fast "is it valid?" function equivalent to :func:`validator` for our schemas."""
    root = load_schema(name)
    refs: dict[str, Check] = {}
    if definition is not None:
        return _compile({"$ref": f"#/definitions/{definition}"}, root, refs)
    return _compile(root, root, refs)


# --- the combined schema for editors -----------------------------------------------------

_PLACEHOLDER_DEF = "placeholder"
_LEAF_KEYWORDS = ("type", "enum", "const", "pattern", "minimum", "maximum", "minLength")


def _prefixed(schema: Any, prefix: str) -> Any:
    """A deep copy of ``schema`` with ``#/definitions/x`` refs renamed to ``#/definitions/<prefix>x``."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/definitions/"):
                out[key] = "#/definitions/" + prefix + value[len("#/definitions/") :]
            else:
                out[key] = _prefixed(value, prefix)
        return out
    if isinstance(schema, list):
        return [_prefixed(v, prefix) for v in schema]
    return schema


_MAP_KEYWORDS = ("properties", "patternProperties", "definitions")
_SCHEMA_KEYWORDS = ("items", "additionalProperties", "propertyNames", "not", "if", "then", "else")
_LIST_KEYWORDS = ("anyOf", "allOf", "oneOf")


def _allow_placeholders(schema: Any) -> Any:
    """Let a placeholder string stand wherever a typed, enumerated or patterned value is expected."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {k: _allow_placeholders(v) for k, v in value.items()}
        elif key in _SCHEMA_KEYWORDS:
            out[key] = _allow_placeholders(value)
        elif key in _LIST_KEYWORDS and isinstance(value, list):
            out[key] = [_allow_placeholders(v) for v in value]
        else:
            out[key] = value
    types = schema.get("type")
    constrained = any(k in schema for k in _LEAF_KEYWORDS[1:])
    if types in ("object", "array") or not (constrained or (types and types != "string")):
        return out
    leaf = {k: v for k, v in out.items() if k not in ("description", "examples")}
    wrapped: dict[str, Any] = {"anyOf": [leaf, {"$ref": f"#/definitions/{_PLACEHOLDER_DEF}"}]}
    for k in ("description", "examples"):
        if k in schema:
            wrapped[k] = schema[k]
    return wrapped


def _section(section: str, template: bool, definitions: dict[str, Any]) -> dict[str, Any]:
    """``{"properties.desired": …}`` of one system twin, dispatching on schemaVersion."""
    branches: list[dict[str, Any]] = []
    for version in SUPPORTED[section]:
        name = schema_name(section, version)
        schema = copy.deepcopy(load_schema(name))
        prefix = f"{name}."
        for def_name, body in schema.pop("definitions", {}).items():
            definitions[prefix + def_name] = _prefixed(body, prefix)
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        definitions[name] = _prefixed(schema, prefix)
        version_pattern = load_schema(name)["properties"]["schemaVersion"]["pattern"]
        branches.append(
            {
                "if": {
                    "properties": {"schemaVersion": {"type": "string", "pattern": version_pattern}},
                    "required": ["schemaVersion"],
                },
                "then": {"$ref": f"#/definitions/{name}"},
            }
        )
    # A placeholder schemaVersion: check with the newest version but require only what every
    # version requires (the linter does the same), since which version applies is unknown.
    newest_name = schema_name(section, newest(section))
    relaxed_name = f"{newest_name}.anyVersion"
    oldest = load_schema(schema_name(section, SUPPORTED[section][0]))
    definitions[relaxed_name] = {**definitions[newest_name], "required": oldest["required"]}
    known = "|".join(
        load_schema(schema_name(section, v))["properties"]["schemaVersion"]["pattern"]
        for v in SUPPORTED[section]
    )
    version_rule: dict[str, Any] = {
        "description": f"Supported schema versions: {supported_text(section)}.",
        "type": "string",
        "pattern": known,
        "examples": list(SUPPORTED[section]),
    }
    if template:
        version_rule = {
            "description": version_rule["description"] + " A placeholder is allowed in templates.",
            "anyOf": [
                {k: v for k, v in version_rule.items() if k != "description"},
                {"$ref": f"#/definitions/{_PLACEHOLDER_DEF}"},
            ],
        }
        branches.append(
            {
                "if": {
                    "properties": {"schemaVersion": {"$ref": f"#/definitions/{_PLACEHOLDER_DEF}"}},
                    "required": ["schemaVersion"],
                },
                "then": {"$ref": f"#/definitions/{relaxed_name}"},
            }
        )
    desired = {
        "description": f"Desired properties of {section}.",
        "type": "object",
        "required": ["schemaVersion"],
        "properties": {"schemaVersion": version_rule},
        "allOf": branches,
    }
    return {
        "description": f"The {section} twin.",
        "type": "object",
        "required": ["properties.desired"],
        "properties": {"properties.desired": desired},
        "additionalProperties": False,
    }


@cache
def _deployment_schema(template: bool) -> str:
    definitions: dict[str, Any] = {
        _PLACEHOLDER_DEF: {
            "description": "A template placeholder such as ${MODULES.filter} or $CONTAINER_REGISTRY_USERNAME.",
            "type": "string",
            "pattern": PLACEHOLDER_PATTERN,
        }
    }
    twin = copy.deepcopy(load_schema(TWIN))
    for key in ("$schema", "$id"):
        twin.pop(key, None)
    definitions["moduleTwin"] = twin
    modules_content: dict[str, Any] = {
        "description": "The content of the deployment: one entry per module twin.",
        "type": "object",
        "required": [AGENT, HUB],
        "properties": {
            AGENT: _section(AGENT, template, definitions),
            HUB: _section(HUB, template, definitions),
        },
        "propertyNames": {
            "description": "$edgeAgent, $edgeHub, or a user module name.",
            "pattern": "^(\\$edgeAgent|\\$edgeHub|[a-zA-Z0-9_-]+)$",
        },
        "additionalProperties": {"$ref": "#/definitions/moduleTwin"},
    }
    if template:
        definitions = {
            k: (v if k == _PLACEHOLDER_DEF else _allow_placeholders(v))
            for k, v in definitions.items()
        }
        modules_content["propertyNames"] = {
            "description": modules_content["propertyNames"]["description"],
            "anyOf": [
                {"pattern": modules_content["propertyNames"]["pattern"]},
                {"$ref": f"#/definitions/{_PLACEHOLDER_DEF}"},
            ],
        }
    definitions["modulesContent"] = modules_content
    root_properties: dict[str, Any] = {
        "$schema": {"description": "URI of the JSON schema of this file.", "type": "string"},
        "modulesContent": {"$ref": "#/definitions/modulesContent"},
    }
    kind = "template" if template else "manifest"
    if template:
        root_properties["$schema-template"] = {
            "description": "Template format version (iotedgedev / VS Code); removed on generation.",
            "type": "string",
            "examples": ["4.0.0"],
        }
    root_properties["content"] = {
        "description": 'The az iot edge deployment create form: {"content": {"modulesContent": ...}}.',
        "type": "object",
        "required": ["modulesContent"],
        "properties": {"modulesContent": {"$ref": "#/definitions/modulesContent"}},
    }
    document: dict[str, Any] = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"urn:edgectl:schema:deployment-{kind}",
        "title": f"Azure IoT Edge deployment {kind} (edgectl)",
        "description": (
            f"An IoT Edge deployment {kind}: $edgeAgent schemaVersion {supported_text(AGENT)}, "
            f"$edgeHub schemaVersion {supported_text(HUB)}."
            + (" Placeholders such as ${MODULES.x} are allowed." if template else "")
        ),
        "type": "object",
        "properties": root_properties,
        "oneOf": [{"required": ["modulesContent"]}, {"required": ["content"]}],
        "definitions": definitions,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def deployment_schema(*, template: bool = False) -> dict[str, Any]:
    """One JSON schema document for a whole deployment manifest (or, with ``template``, a template)."""
    document: dict[str, Any] = json.loads(_deployment_schema(template))
    return document

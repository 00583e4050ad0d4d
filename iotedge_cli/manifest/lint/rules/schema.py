"""E1xx: the manifest against edgectl's JSON schemas, per section and schemaVersion.

Theory of operation: each system twin's ``properties.desired`` is validated against the schema
of the version the runtime would apply (:func:`iotedge_cli.manifest.schema.select_version`);
user module twins against ``moduletwin.json``. Valid documents cost one cached ``is_valid``
call per section. Only invalid ones walk the errors, which are then mapped to stable codes:
``required`` → E101, ``type`` → E102, ``enum`` → E103, ``propertyNames`` → E104 (at the key),
``additionalProperties`` → E105 (at each unknown key), ``minimum``/``maximum`` → E106. For
``anyOf`` (route string or object) only the branch matching the value's type is reported, so
one problem gives one finding. In templates, errors whose value is a placeholder are dropped:
the value is checked again after ``edgectl manifest generate`` expands it.

Layered deployments are validated piecewise: each module and each route against the
matching definition of the newest (or the stated) schema version; nothing is required.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iotedge_cli.diagnostics import JsonPath, Rule, Severity
from iotedge_cli.manifest.jsonparse import Placeholder
from iotedge_cli.manifest.lint.context import Context
from iotedge_cli.manifest.schema import (
    AGENT,
    HUB,
    TWIN,
    checker,
    has_placeholder,
    load_schema,
    newest,
    schema_name,
    select_version,
    supported_text,
    validator,
)

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

RULES = [
    Rule(
        "E101",
        "required-property",
        Severity.ERROR,
        "A required property is missing.",
        "Add the property; edgeAgent/edgeHub reject the section or az iot edge fails schema validation.",
    ),
    Rule(
        "E102",
        "wrong-type",
        Severity.ERROR,
        "A value has the wrong JSON type.",
        "Use the type the schema expects, e.g. an integer for startupOrder or a string for schemaVersion.",
    ),
    Rule(
        "E103",
        "value-not-allowed",
        Severity.ERROR,
        "A value is not one of the allowed values.",
        "Use one of the listed values; the runtime's enums are lower-case and case-sensitive.",
    ),
    Rule(
        "E104",
        "bad-name",
        Severity.ERROR,
        "A module, route, environment variable or registry name has characters that are not allowed.",
        "Module names use letters, digits, '_' and '-'; route and registry names may not contain "
        "'.', '$', '#' or spaces; environment variable names may not contain +, #, $, '.' or whitespace.",
    ),
    Rule(
        "E105",
        "unknown-property",
        Severity.ERROR,
        "A property is not defined for this schemaVersion.",
        "Fix the spelling, remove the property, or raise schemaVersion if it belongs to a newer one.",
    ),
    Rule(
        "E106",
        "out-of-range",
        Severity.ERROR,
        "A number is out of range.",
        "Route priority is 0-9; startupOrder and route timeToLiveSecs are 0-4294967295.",
    ),
    Rule(
        "E107",
        "unknown-schema-version",
        Severity.ERROR,
        "The schemaVersion is not supported by the IoT Edge runtime.",
        f"$edgeAgent supports {supported_text(AGENT)}; $edgeHub supports {supported_text(HUB)}. "
        "az iot edge skips validation for unknown versions, but the runtime rejects the deployment.",
    ),
    Rule(
        "E108",
        "store-and-forward-missing",
        Severity.ERROR,
        "$edgeHub schemaVersion 1.1+ needs storeAndForwardConfiguration.",
        'edgeHub fails on a 1.1+ twin without it; add "storeAndForwardConfiguration": {"timeToLiveSecs": 7200}.',
    ),
    Rule(
        "E109",
        "object-route-needs-1.1",
        Severity.ERROR,
        "Object routes (priority, timeToLiveSecs) need $edgeHub schemaVersion 1.1 or later.",
        'Set the $edgeHub schemaVersion to "1.1" (or later) or write the route as a plain string.',
    ),
    Rule(
        "E110",
        "schema-violation",
        Severity.ERROR,
        "Another schema violation.",
        "Follow the message; `edgectl manifest schema` prints the whole schema for your editor.",
    ),
]

DESIRED = "properties.desired"
# properties a later schemaVersion introduces: an unknown-property finding names the version
_INTRODUCED = {HUB: {"mqttBroker": "1.2", "integrity": "1.3"}, AGENT: {"integrity": "1.1"}}
_VERSIONED_REQUIRED = {HUB: ("routes", "storeAndForwardConfiguration")}
_MODULE_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_ROUTE_NAME = re.compile(r"^[^.$# ]+$")
_SENTENCE_END = re.compile(r"[.;:] (?=[A-Z(])")
_NAME_RULES = {
    "modules": "module name {name!r} is not allowed: use only letters, digits, '_' and '-'",
    "routes": "route name {name!r} is not allowed: remove '.', '$', '#' and spaces",
    "env": "environment variable name {name!r} is not allowed: remove +, #, $, '.' and whitespace",
    "registryCredentials": "registry credential name {name!r} is not allowed: "
    "remove '.', '$', '#' and spaces",
}
_JSON_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


@dataclass(frozen=True)
class _Scope:
    """What is being validated: which schema, where, and how to name paths in messages."""

    section: str  # AGENT, HUB or a module twin name
    schema: str  # bundled schema name
    base: JsonPath  # path of the validated node
    twin_path: JsonPath  # path of the twin section (messages are relative to it)
    version: str | None = None
    version_known: bool = True  # False for a placeholder or unsupported schemaVersion


def check(ctx: Context) -> None:
    m = ctx.manifest
    if m.form == "unknown":
        return
    if m.layered:
        _check_layered(ctx)
        return
    for section in (AGENT, HUB):
        twin_path = m.twin_path(section)
        twin = m.content.get(section)
        if twin is None:
            if m.form != "fragment":
                where = "modulesContent" if m.base else "the document"
                ctx.report(
                    "E101",
                    f"missing required property {section!r} in {where}: every deployment needs "
                    "$edgeAgent and $edgeHub (use a layered deployment to change only a part)",
                    m.base,
                )
            continue
        _check_system_twin(ctx, section, twin, twin_path)
    if m.form != "fragment":
        for name, path, section_value in m.module_twins():
            _check_module_twin(ctx, name, path, section_value)


# --- full deployments ----------------------------------------------------------------------


def _check_system_twin(ctx: Context, section: str, twin: Any, twin_path: JsonPath) -> None:
    if not isinstance(twin, dict):
        if not _skip_value(ctx, twin):
            ctx.report(
                "E102",
                f'{section}: expected an object with "properties.desired", got {_describe(twin)}',
                twin_path,
            )
        return
    for key in twin:
        if key != DESIRED and not _skip_value(ctx, key):
            ctx.report(
                "E105",
                f'unknown property {key!r} in {section}: a deployment sets only "properties.desired"',
                (*twin_path, key),
                key=True,
            )
    if DESIRED not in twin:
        ctx.report(
            "E101",
            f"missing required property 'properties.desired' in {section}: add the desired properties",
            twin_path,
        )
        return
    desired = twin[DESIRED]
    base = (*twin_path, DESIRED)
    if not isinstance(desired, dict):
        if not _skip_value(ctx, desired):
            ctx.report(
                "E102",
                f"{section} properties.desired: expected an object, got {_describe(desired)}",
                base,
            )
        return
    version, known = _version(
        ctx,
        section,
        desired.get("schemaVersion", None),
        (*base, "schemaVersion"),
        "schemaVersion" in desired,
    )
    scope = _Scope(section, schema_name(section, version), base, twin_path, version, known)
    stated = desired.get("schemaVersion")
    if not known and isinstance(stated, (str, Placeholder)):
        # a placeholder or unsupported version (reported above): check the rest as `version`
        desired = {**desired, "schemaVersion": version}
    _validate(ctx, scope, desired)


def _version(
    ctx: Context, section: str, value: Any, path: JsonPath, present: bool
) -> tuple[str, bool]:
    """The schema version to validate with, and whether it is the one the file states."""
    if not present:
        return newest(section), False  # the missing schemaVersion is reported as E101
    if _skip_value(ctx, value):
        return newest(section), False  # unresolved placeholders are the E4xx rules' business
    selected = select_version(section, value)
    if selected is not None:
        return selected, True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # a number: the schema reports the type (E102); validate the rest as if it were text
        selected = select_version(section, repr(value))
        return (selected, True) if selected else (newest(section), False)
    if isinstance(value, str):
        runtime = (
            "edgeAgent rejects it (412 InvalidSchemaVersion)"
            if section == AGENT
            else ("edgeHub rejects it (InvalidSchemaVersionException)")
        )
        ctx.report(
            "E107",
            f"{section} schemaVersion {value!r} is not supported: use one of "
            f"{supported_text(section)}; {runtime}, although az iot edge skips the check",
            path,
        )
    return newest(section), False


def _check_module_twin(ctx: Context, name: str, path: JsonPath, section: Any) -> None:
    if not _MODULE_NAME.match(name) and not _skip_value(ctx, name):
        ctx.report(
            "E104",
            f"module twin name {name!r} is not allowed: use only letters, digits, '_' and '-' "
            "(the names of $edgeAgent modules)",
            path,
            key=True,
        )
    _validate(ctx, _Scope(name, TWIN, path, path), section)


# --- layered deployments ---------------------------------------------------------------------


def _check_layered(ctx: Context) -> None:
    m = ctx.manifest
    versions: dict[str, tuple[str, bool]] = {}
    for section in (AGENT, HUB):
        found = m.schema_version(section)
        if found is None:
            versions[section] = (newest(section), False)
        else:
            versions[section] = _version(ctx, section, found[1], found[0], True)
    agent_version, agent_known = versions[AGENT]
    agent_twin = m.twin_path(AGENT)
    for module in m.modules():
        definition = "module"
        if module.system:
            definition = {"edgeAgent": "edgeAgentModule", "edgeHub": "edgeHubModule"}.get(
                module.name, ""
            )
            if not definition:
                _report_unknown_system_module(ctx, module.name, module.path)
                continue
        elif not _MODULE_NAME.match(module.name) and not _skip_value(ctx, module.name):
            ctx.report(
                "E104", _NAME_RULES["modules"].format(name=module.name), module.path, key=True
            )
        scope = _Scope(
            AGENT,
            schema_name(AGENT, agent_version),
            module.path,
            agent_twin,
            agent_version,
            agent_known,
        )
        _validate(ctx, scope, module.spec, definition)
    hub_version, hub_known = versions[HUB]
    route_def = "routeString" if hub_version == "1.0" else "route"
    hub_twin = m.twin_path(HUB)
    for name, path, value in m.routes():
        if hub_version != "1.0" and not _ROUTE_NAME.match(name) and not _skip_value(ctx, name):
            ctx.report("E104", _NAME_RULES["routes"].format(name=name), path, key=True)
        scope = _Scope(HUB, schema_name(HUB, hub_version), path, hub_twin, hub_version, hub_known)
        _validate(ctx, scope, value, route_def)


def _report_unknown_system_module(ctx: Context, name: str, path: JsonPath) -> None:
    close = difflib.get_close_matches(name, ["edgeAgent", "edgeHub"], n=1)
    hint = f"did you mean {close[0]!r}?" if close else "user modules go under modules"
    ctx.report(
        "E105",
        f"unknown system module {name!r}: only edgeAgent and edgeHub exist; {hint}",
        path,
        key=True,
    )


# --- validation and error mapping -----------------------------------------------------------


def _validate(ctx: Context, scope: _Scope, instance: Any, definition: str | None = None) -> None:
    if checker(scope.schema, definition)(instance):
        return
    v = validator(scope.schema, definition)
    seen: set[tuple[str, JsonPath]] = set()
    for error in v.iter_errors(instance):
        _map_error(ctx, scope, error, seen)


def _map_error(
    ctx: Context, scope: _Scope, error: ValidationError, seen: set[tuple[str, JsonPath]]
) -> None:
    rel: JsonPath = tuple(error.absolute_path)
    path = (*scope.base, *rel)
    instance = error.instance
    kind = error.validator
    if kind not in ("required", "additionalProperties", "anyOf", "oneOf"):
        # a value can fail the same way twice (createOptions matches a property and a pattern)
        if (str(kind), path) in seen:
            return
        seen.add((str(kind), path))
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.schema_path:
        _report_name(ctx, scope, path, instance)
        return
    if _skip_value(ctx, instance):
        return
    if kind in ("anyOf", "oneOf"):
        _map_branches(ctx, scope, error, seen)
        return
    if _is_schema_version(scope, rel) and kind != "type":
        return  # E107 (or the selection itself) covers the value of schemaVersion
    where = _display(scope, path)
    expected: Any = error.validator_value
    if kind == "required":
        for prop in expected:
            if (
                isinstance(instance, dict)
                and prop not in instance
                and ("req", (*path, prop)) not in seen
            ):
                seen.add(("req", (*path, prop)))
                _report_missing(ctx, scope, path, where, prop, schema)
    elif kind == "type":
        if _is_object_route_under_1_0(scope, rel, instance):
            ctx.report(
                "E109",
                f"{where}: object routes with priority/timeToLiveSecs need $edgeHub schemaVersion "
                "1.1 or later; raise schemaVersion or write the route as a string",
                path,
            )
            return
        ctx.report(
            "E102",
            f"{where}: expected {_expected(expected)}, got {_describe(instance)}",
            path,
        )
    elif kind in ("enum", "const"):
        allowed = expected if kind == "enum" else [expected]
        choice = (
            f"must be {allowed[0]}"
            if len(allowed) == 1
            else "is not one of " + ", ".join(map(str, allowed))
        )
        ctx.report("E103", f"{where}: {_show(instance)} {choice}", path)
    elif kind == "additionalProperties" and isinstance(instance, dict):
        for key in _extra_keys(instance, schema):
            if not _skip_value(ctx, key):
                ctx.report(
                    "E105", _unknown_message(scope, where, key, schema), (*path, key), key=True
                )
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        bounds = (
            f"{low}..{high}"
            if low is not None and high is not None
            else (f">= {low}" if low is not None else f"<= {high}")
        )
        ctx.report(
            "E106", f"{where}: {_show(instance)} is out of range: use a value in {bounds}", path
        )
    else:
        ctx.report("E110", f"{where}: {error.message}", path)


def _map_branches(
    ctx: Context, scope: _Scope, error: ValidationError, seen: set[tuple[str, JsonPath]]
) -> None:
    """Report the errors of the one branch whose type fits, or a type error listing the types."""
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        index = sub.relative_schema_path[0]
        if isinstance(index, int):
            by_branch.setdefault(index, []).append(sub)
    base_path = tuple(error.absolute_path)
    fitting = [
        errors
        for _, errors in sorted(by_branch.items())
        if not any(e.validator == "type" and tuple(e.absolute_path) == base_path for e in errors)
    ]
    if fitting:
        for sub in fitting[0]:
            _map_error(ctx, scope, sub, seen)
        return
    expected: list[str] = []
    for errors in by_branch.values():
        for e in errors:
            if e.validator == "type" and tuple(e.absolute_path) == base_path:
                expected.extend(_types(e.validator_value))
    path = (*scope.base, *base_path)
    ctx.report(
        "E102",
        f"{_display(scope, path)}: expected {_expected(expected)}, got {_describe(error.instance)}",
        path,
    )


def _report_missing(
    ctx: Context, scope: _Scope, path: JsonPath, where: str, prop: str, schema: dict[str, Any]
) -> None:
    if scope.section in _VERSIONED_REQUIRED and prop in _VERSIONED_REQUIRED[scope.section]:
        if not scope.version_known:
            return  # which version applies is unknown: do not guess what it requires
        if prop == "storeAndForwardConfiguration":
            ctx.report(
                "E108",
                f"missing 'storeAndForwardConfiguration' in {where}: edgeHub schemaVersion "
                f'{scope.version} requires it; add "storeAndForwardConfiguration": '
                '{"timeToLiveSecs": 7200}',
                path,
            )
            return
    if _misspelt(prop, ctx, path):
        return  # the unknown-property finding says "did you mean {prop!r}?"
    about = _description(scope, schema.get("properties", {}).get(prop))
    ctx.report(
        "E101",
        f"missing required property {prop!r} in {where}: add it" + (f" ({about})" if about else ""),
        path,
    )


def _misspelt(prop: str, ctx: Context, path: JsonPath) -> bool:
    """Does the object at ``path`` hold a near-miss spelling of the missing ``prop``?"""
    node: Any = ctx.manifest.doc.data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(node, dict):
        return False
    others = [k for k in node if isinstance(k, str) and k != prop]
    return any(k.lower() == prop.lower() for k in others) or bool(
        difflib.get_close_matches(prop, others, n=1, cutoff=0.8)
    )


def _report_name(ctx: Context, scope: _Scope, path: JsonPath, name: Any) -> None:
    if not isinstance(name, str) or _skip_value(ctx, name):
        return
    key_path = (*path, name)
    kind = next((p for p in reversed(path) if isinstance(p, str)), "")
    kind = kind.rsplit(".", 1)[-1]  # "properties.desired.routes" in layered form
    template = _NAME_RULES.get(kind, "name {name!r} is not allowed")
    if name == "":
        template = "an empty name is not allowed here: give it a name"
    ctx.report(
        "E104", f"{_display(scope, path)}: " + template.format(name=name), key_path, key=True
    )


def _unknown_message(scope: _Scope, where: str, key: str, schema: dict[str, Any]) -> str:
    message = f"unknown property {key!r} in {where}"
    introduced = _INTRODUCED.get(scope.section, {}).get(key)
    if (
        introduced
        and where.startswith(scope.section)
        and scope.version
        and introduced > scope.version
    ):
        return f"{message}: it needs {scope.section} schemaVersion {introduced} or later"
    known = list(schema.get("properties", {}))
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"{message}: did you mean {close[0]!r}?"
    if known:
        return f"{message}: remove it (allowed: {', '.join(known)})"
    return f"{message}: remove it"


# --- helpers -----------------------------------------------------------------------------------


def _is_braced(value: Any) -> bool:
    return isinstance(value, Placeholder) or (isinstance(value, str) and "${" in value)


def _skip_value(ctx: Context, value: Any) -> bool:
    """Placeholders stand for values that are checked after expansion.

    ``${…}`` values are skipped in every file: in a generated manifest the placeholder rules
    (E4xx) report them as unresolved, and a second finding here would only repeat it.
    """
    return _is_braced(value) or (ctx.template and has_placeholder(value))


def _is_schema_version(scope: _Scope, rel: JsonPath) -> bool:
    return scope.section in (AGENT, HUB) and rel == ("schemaVersion",) and scope.schema != TWIN


def _is_object_route_under_1_0(scope: _Scope, rel: JsonPath, instance: Any) -> bool:
    return (
        scope.section == HUB
        and scope.version == "1.0"
        and isinstance(instance, dict)
        and ((len(rel) == 2 and rel[0] == "routes") or rel == ())
    )


def _extra_keys(instance: dict[str, Any], schema: dict[str, Any]) -> Iterable[str]:
    props = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    for key in instance:
        if key not in props and not any(p.search(key) for p in patterns):
            yield key


def _display(scope: _Scope, path: JsonPath) -> str:
    """A path as users read it: ``modules.filter.settings`` relative to properties.desired."""
    rel = path[len(scope.twin_path) :]
    parts: list[str] = []
    for part in rel:
        if isinstance(part, int):
            if parts:
                parts[-1] += f"[{part}]"
            else:
                parts.append(f"[{part}]")
        else:
            parts.append(part)
    text = ".".join(parts)
    section = scope.section
    if text == DESIRED or not text:
        return f"{section} {DESIRED}" if text else section
    if text.startswith(DESIRED + "."):
        text = text[len(DESIRED) + 1 :]
        return text if section in (AGENT, HUB) else f"{section}.{DESIRED}.{text}"
    return f"{section}.{text}"


def _description(scope: _Scope, schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        schema = load_schema(scope.schema).get("definitions", {}).get(ref.rsplit("/", 1)[-1], {})
    text = schema.get("description", "") if isinstance(schema, dict) else ""
    text = _SENTENCE_END.split(text, maxsplit=1)[0].rstrip(".")
    return text[:1].lower() + text[1:] if text else ""


def _types(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _expected(value: Any) -> str:
    names = [_JSON_TYPES.get(t, t) for t in dict.fromkeys(_types(value))]
    if len(names) > 1:
        return ", ".join(names[:-1]) + " or " + names[-1]
    return names[0] if names else "another type"


def _describe(value: Any) -> str:
    if isinstance(value, Placeholder):
        return f"placeholder {value.text}"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {_show(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, (int, float)) else _describe(value)

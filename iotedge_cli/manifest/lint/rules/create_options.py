"""E3xx: createOptions — chunk names and sizes, the JSON inside, Docker keys and types.

createOptions is JSON inside a JSON string, possibly cut into chunks. Findings about the
inner JSON point at the exact character in the file: an offset into the joined text is
mapped to its chunk, then through that chunk's string escapes to a file column
(:func:`iotedge_cli.manifest.textpos.file_offset`). Template objects are checked as nodes of the file directly.
"""

from __future__ import annotations

from typing import Any

from iotedge_cli.diagnostics import Diagnostic, JsonPath, Location, Rule, Severity
from iotedge_cli.manifest import createoptions as co
from iotedge_cli.manifest.jsonparse import Placeholder
from iotedge_cli.manifest.lint.context import Context
from iotedge_cli.manifest.textpos import file_offset

RULES = [
    Rule(
        "E301",
        "create-options-invalid-json",
        Severity.ERROR,
        "createOptions is not valid JSON.",
        "The agent joins the chunks and parses them with Newtonsoft.Json; a syntax error stops "
        "the module from being created. Fix the JSON at the reported character.",
    ),
    Rule(
        "E302",
        "create-options-not-object",
        Severity.ERROR,
        "createOptions JSON is not an object.",
        'Docker create options are an object such as {"HostConfig": {...}}; an array, number '
        "or string is rejected or ignored.",
    ),
    Rule(
        "W303",
        "create-options-lenient-json",
        Severity.WARNING,
        "createOptions parses only leniently (unquoted names, single quotes, comments, trailing commas).",
        "The agent's Newtonsoft parser accepts it, but strict JSON tools (and edgectl --strict) do "
        "not; write the strict form shown in the message.",
    ),
    Rule(
        "E304",
        "create-options-chunk-names",
        Severity.ERROR,
        "createOptions chunks are not named createOptions, createOptions01, createOptions02, … contiguously.",
        "The agent reads every settings key containing 'createoptions' (any case), sorts them by "
        "name and requires the n-th to be numbered n; a gap, a stray key or a missing first "
        "chunk fails the deployment (JsonSerializationException).",
    ),
    Rule(
        "W305",
        "create-options-chunk-long",
        Severity.WARNING,
        "A createOptions chunk is longer than 512 characters.",
        "The agent, iotedgedev and VS Code write 512-character chunks; `edgectl manifest generate` "
        "splits createOptions for you.",
    ),
    Rule(
        "E306",
        "create-options-too-large",
        Severity.ERROR,
        "A createOptions chunk exceeds 4096 UTF-8 bytes, or there are more than 100 chunks.",
        "IoT Hub rejects twin strings over 4 KB, and the agent silently drops chunks after the "
        "100th. Move large data (long Env lists) to the module's env or a mounted file.",
    ),
    Rule(
        "W307",
        "create-options-many-chunks",
        Severity.WARNING,
        "createOptions needs more than 8 chunks (over 4 KB).",
        "The runtime accepts it, but iotedgedev and VS Code refuse to generate it; keep createOptions small.",
    ),
    Rule(
        "E308",
        "docker-unknown-key",
        Severity.ERROR,
        "Unknown Docker key in createOptions (top level, HostConfig or NetworkingConfig).",
        "Docker silently ignores keys it does not know, so a typo (`HostConfg`) or a key at the "
        "wrong level (`PortBindings` outside HostConfig) quietly does nothing.",
    ),
    Rule(
        "E309",
        "docker-wrong-type",
        Severity.ERROR,
        "A Docker create option has the wrong JSON type or shape.",
        'HostPort is a string ("8080"), Privileged a boolean, Memory an integer number of bytes, '
        'Binds/Env/CapAdd arrays, Env items "NAME=value", PortBindings '
        '{"8080/tcp": [{"HostPort": "8080"}]}.',
    ),
    Rule(
        "E310",
        "create-options-object",
        Severity.ERROR,
        "createOptions is an object in a deployment manifest.",
        "Only templates may hold an object; deployment manifests need a JSON string. Run "
        "`edgectl manifest generate` to stringify and chunk it.",
    ),
]


def check(ctx: Context) -> None:
    for mod in ctx.manifest.modules():
        settings = mod.spec.get("settings") if isinstance(mod.spec, dict) else None
        if isinstance(settings, dict):
            chunks = co.find_chunks(settings)
            if chunks:
                _check_module(ctx, mod.name, (*mod.path, "settings"), chunks)


def _check_module(ctx: Context, module: str, base: JsonPath, chunks: list[tuple[str, Any]]) -> None:
    fatal = False
    for problem in co.naming_problems([key for key, _ in chunks]):
        fatal = fatal or problem.fatal
        ctx.report(
            "E304",
            f"module '{module}': {problem.message}",
            (*base, problem.key),
            key=True,
            severity=None if problem.fatal else Severity.WARNING,
        )
    first_key, first = chunks[0]
    if len(chunks) == 1 and isinstance(first, dict):
        _check_object(ctx, module, (*base, first_key), first)
        return
    if len(chunks) == 1 and isinstance(first, (list, bool, int, float)):
        ctx.report(
            "E302",
            f"createOptions of module '{module}' is {_kind(first)}, not a JSON object; "
            'write the Docker create options as an object, e.g. {"HostConfig": {...}}',
            (*base, first_key),
        )
        return
    texts: list[str] = []
    for key, value in chunks:
        if isinstance(value, Placeholder):
            return  # the whole value comes from a template variable
        if value is None:
            value = ""
        if not isinstance(value, str):
            ctx.report(
                "E301",
                f"'{key}' of module '{module}' is {_kind(value)}, not a string: each chunk is a "
                "piece of one JSON string",
                (*base, key),
            )
            return
        texts.append(value)
    _check_sizes(ctx, module, base, chunks, texts)
    if not fatal:  # the agent stops at the names; the joined text would mislead
        _check_text(ctx, module, base, chunks, texts)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, str):
        return "a JSON string"
    return "null"


def _check_sizes(
    ctx: Context, module: str, base: JsonPath, chunks: list[tuple[str, Any]], texts: list[str]
) -> None:
    for (key, _), text in zip(chunks, texts, strict=True):
        size = len(text.encode("utf-8"))
        if ctx.template and len(text) > co.CHUNK_CHARS:
            ctx.report(
                "W305",
                f"'{key}' of module '{module}' is a {len(text)}-character string, more than "
                f"{co.CHUNK_CHARS}; in a template write createOptions as a JSON object: "
                "`edgectl manifest generate` stringifies and chunks it",
                (*base, key),
            )
        elif size > co.CHUNK_MAX_BYTES:
            ctx.report(
                "E306",
                f"'{key}' of module '{module}' is {size} bytes: twin strings are limited to "
                f"{co.CHUNK_MAX_BYTES}; split it into {co.CHUNK_CHARS}-character chunks "
                "(`edgectl manifest generate` does this)",
                (*base, key),
            )
        elif len(text) > co.CHUNK_CHARS:
            ctx.report(
                "W305",
                f"'{key}' of module '{module}' is {len(text)} characters, more than "
                f"{co.CHUNK_CHARS}; split it into {co.CHUNK_CHARS}-character chunks "
                "(`edgectl manifest generate` does this)",
                (*base, key),
            )
    if ctx.template:
        # `edgectl manifest generate` re-chunks the text; only the total size matters here.
        total = sum(len(t) for t in texts)
        _check_total(ctx, module, (*base, chunks[0][0]), total, -(-total // co.CHUNK_CHARS))
        return
    if len(chunks) > co.MAX_CHUNKS:
        key = chunks[co.MAX_CHUNKS][0]
        ctx.report(
            "E306",
            f"module '{module}' has {len(chunks)} createOptions chunks: the agent reads only "
            f"{co.MAX_CHUNKS} (up to '{co.chunk_name(co.MAX_CHUNKS - 1)}') and silently drops the "
            "rest; shrink createOptions",
            (*base, key),
            key=True,
        )
    elif len(chunks) > co.TOOL_MAX_CHUNKS:
        key = chunks[co.TOOL_MAX_CHUNKS][0]
        ctx.report(
            "W307",
            f"module '{module}' has {len(chunks)} createOptions chunks (more than "
            f"{co.TOOL_MAX_CHUNKS}, over 4 KB): the runtime accepts it but iotedgedev and VS Code "
            "refuse to generate it; move large data to the module's env or a mounted file",
            (*base, key),
            key=True,
        )


def _check_total(ctx: Context, module: str, path: JsonPath, total: int, needed: int) -> None:
    if needed > co.MAX_CHUNKS:
        ctx.report(
            "E306",
            f"createOptions of module '{module}' is {total} characters: that needs {needed} "
            f"chunks but the agent reads only {co.MAX_CHUNKS}; shrink createOptions",
            path,
        )
    elif needed > co.TOOL_MAX_CHUNKS:
        ctx.report(
            "W307",
            f"createOptions of module '{module}' is {total} characters ({needed} chunks, over "
            "4 KB): the runtime accepts it but iotedgedev and VS Code refuse to generate it; "
            "move large data to the module's env or a mounted file",
            path,
        )


def _check_text(
    ctx: Context, module: str, base: JsonPath, chunks: list[tuple[str, Any]], texts: list[str]
) -> None:
    findings = co.analyse_create_options("".join(texts), template=ctx.template)
    if findings:
        where = _Where(ctx, base, [key for key, _ in chunks], texts)
        for f in findings:
            where.report(
                f.code,
                f"createOptions of module '{module}'{f.message}",
                f.offset,
                severity=Severity.WARNING if f.warning else None,
            )


def _check_object(ctx: Context, module: str, path: JsonPath, value: dict[str, Any]) -> None:
    try:
        text: str | None = co.stringify_create_options(value)
    except (TypeError, ValueError):
        text = None  # bare placeholders inside: size unknown until expansion
    if not ctx.template:
        ctx.report(
            "E310",
            f"createOptions of module '{module}' is an object: createOptions must be a JSON "
            "string in a deployment manifest; run `edgectl manifest generate` to stringify and "
            "chunk it",
            path,
        )
    elif text is not None:
        _check_total(ctx, module, path, len(text), -(-len(text) // co.CHUNK_CHARS))
    problems = (
        co.check_container_config_text(text, template=ctx.template)
        if text is not None
        else co.check_container_config(value, template=ctx.template)
    )
    for p in problems:
        ctx.report(
            p.code,
            f"createOptions of module '{module}': {p.message}",
            (*path, *p.path),
            key=p.key,
            severity=Severity.WARNING if p.warning else None,
        )


class _Where:
    """Maps offsets in the joined createOptions text to chunks and file positions."""

    def __init__(self, ctx: Context, base: JsonPath, keys: list[str], texts: list[str]) -> None:
        self.ctx = ctx
        self.base = base
        self.keys = keys
        self.texts = texts

    def report(
        self, code: str, message: str, offset: int, *, severity: Severity | None = None
    ) -> None:
        index, local = len(self.texts) - 1, offset
        for i, text in enumerate(self.texts):
            if local < len(text) or i == len(self.texts) - 1:
                index = i
                break
            local -= len(text)
        path = (*self.base, self.keys[index])
        doc = self.ctx.manifest.doc
        start = doc.offset_of(path)
        line, col = doc.line_col(
            file_offset(doc.text, start, local) if doc.format == "json" else start
        )
        rule = self.ctx.rules[code]
        self.ctx.diagnostics.append(
            Diagnostic(
                code, severity or rule.severity, message, Location(doc.name, line, col, path)
            )
        )

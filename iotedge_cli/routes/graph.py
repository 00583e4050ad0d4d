"""The message flow of a deployment as a graph, and its renderings (Mermaid, Graphviz dot, text).

Nodes are the deployed modules (``$edgeAgent`` ``modules``), ``$upstream``, "leaf devices"
(telemetry of devices, selected by ``/messages``, ``/messages/*`` and ``/*``) and "twin change
notifications" (``/twinChangeNotifications``, ``/*``). Every route is one edge per source node:
``/messages/modules/*`` fans in from every module. Source modules are matched ignoring case
(as edgeHub matches sources); sink modules exactly (as edgeHub builds endpoint ids). A module
named by a route but not deployed gets a node of its own marked "not deployed". Routes whose
source can never match, or that are template placeholders, are listed as skipped.

Everything is deterministic: nodes and edges come in manifest order. Renderers are pure
functions returning text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from iotedge_cli.manifest.model import Manifest
from iotedge_cli.routes.ast import BrokeredEndpointSink, SourceKind, UpstreamSink
from iotedge_cli.routes.router import DEFAULT_PRIORITY, RouteSpec

__all__ = [
    "Edge",
    "FlowGraph",
    "Node",
    "build_graph",
    "render_dot",
    "render_mermaid",
    "render_text",
]

CONDITION_WIDTH = 48


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str  # "leaf" | "twin" | "module" | "missing" | "modules" | "upstream" | "sink"


@dataclass(frozen=True)
class Edge:
    source: str  # node id
    target: str  # node id
    route: str
    output: str | None = None  # output name ("*": any named output) when the source names one
    input: str | None = None  # the sink's input name
    condition: str | None = None  # shortened condition text
    priority: int | None = None  # None: default priority

    @property
    def label(self) -> str:
        """``name [output -> input] WHERE condition (priority n)``, parts only when known."""
        output = "any output" if self.output == "*" else self.output
        if output and self.input:
            ports = f" [{output} -> {self.input}]"
        elif output or self.input:
            ports = f" [{output}]" if output else f" [-> {self.input}]"
        else:
            ports = ""
        where = f" WHERE {self.condition}" if self.condition else ""
        priority = f" (priority {self.priority})" if self.priority is not None else ""
        return f"{self.route}{ports}{where}{priority}"


@dataclass
class FlowGraph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (route name, reason)


def shorten(text: str, width: int = CONDITION_WIDTH) -> str:
    """Whitespace collapsed; at most ``width`` characters, ending in ``...`` when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3].rstrip() + "..."


class _Builder:
    def __init__(self, modules: list[str]) -> None:
        self.graph = FlowGraph()
        self.by_id: dict[str, Node] = {}
        self.leaf: Node | None = None
        self.twin: Node | None = None
        self.upstream: Node | None = None
        self.any_module: Node | None = None
        self.modules = [self._module(name, "module") for name in modules]
        self.missing: dict[str, Node] = {}
        self.placeholders: dict[str, Node] = {}

    def _add(self, base: str, label: str, kind: str) -> Node:
        node_id, n = base, 2
        while node_id in self.by_id:
            node_id, n = f"{base}_{n}", n + 1
        node = Node(node_id, label, kind)
        self.by_id[node_id] = node
        return node

    def _module(self, name: str, kind: str) -> Node:
        label = name if kind == "module" else f"{name} (not deployed)"
        return self._add("m_" + re.sub(r"[^A-Za-z0-9_]", "_", name), label, kind)

    def leaf_node(self) -> Node:
        if self.leaf is None:
            self.leaf = self._add("leaf", "leaf devices", "leaf")
        return self.leaf

    def twin_node(self) -> Node:
        if self.twin is None:
            self.twin = self._add("twin", "twin change notifications", "twin")
        return self.twin

    def upstream_node(self) -> Node:
        if self.upstream is None:
            self.upstream = self._add("upstream", "$upstream", "upstream")
        return self.upstream

    def all_modules(self) -> list[Node]:
        if self.modules:
            return self.modules
        if self.any_module is None:
            self.any_module = self._add("modules", "any module", "modules")
        return [self.any_module]

    def named_module(self, name: str, *, exact: bool) -> Node:
        for node in self.modules:
            if node.label == name or (not exact and node.label.lower() == name.lower()):
                return node
        if name not in self.missing:
            self.missing[name] = self._module(name, "missing")
        return self.missing[name]

    def sink_node(self, spec: RouteSpec) -> Node:
        sink = spec.route.sink
        if isinstance(sink, UpstreamSink):
            return self.upstream_node()
        if isinstance(sink, BrokeredEndpointSink):
            return self.named_module(sink.module, exact=True)
        if sink.raw not in self.placeholders:
            self.placeholders[sink.raw] = self._add("sink", sink.raw, "sink")
        return self.placeholders[sink.raw]

    def sources(self, spec: RouteSpec) -> tuple[list[Node], str | None] | str:
        src = spec.route.source
        kind = src.kind
        if kind is SourceKind.ALL:
            return [self.leaf_node(), self.twin_node(), *self.all_modules()], None
        if kind is SourceKind.TELEMETRY:
            return [self.leaf_node(), *self.all_modules()], None
        if kind is SourceKind.MODULES:
            return self.all_modules(), None
        if kind is SourceKind.TWIN_CHANGES:
            return [self.twin_node()], None
        if kind in (SourceKind.MODULE, SourceKind.OUTPUTS, SourceKind.OUTPUT) and src.module:
            output = src.output if kind is SourceKind.OUTPUT else "*"
            node = self.named_module(src.module, exact=False)
            return [node], (None if kind is SourceKind.MODULE else output)
        if kind is SourceKind.TEMPLATE:
            return f"source {src.path} is a template placeholder"
        return f"source {src.path} can never match"


def build_graph(manifest: Manifest, specs: Sequence[RouteSpec]) -> FlowGraph:
    """The flow graph of ``specs`` (from :func:`routes_from_manifest`) over ``manifest``'s modules."""
    modules = [m.name for m in manifest.modules() if not m.system]
    b = _Builder(modules)
    edges: list[Edge] = []
    for spec in specs:
        found = b.sources(spec)
        if isinstance(found, str):
            b.graph.skipped.append((spec.name, found))
            continue
        nodes, output = found
        target = b.sink_node(spec)
        sink = spec.route.sink
        condition = spec.route.condition
        for node in nodes:
            edges.append(
                Edge(
                    node.id,
                    target.id,
                    spec.name,
                    output,
                    sink.input if isinstance(sink, BrokeredEndpointSink) else None,
                    shorten(condition) if condition is not None else None,
                    None if spec.priority == DEFAULT_PRIORITY else spec.priority,
                )
            )
    order = {
        "leaf": 0,
        "twin": 1,
        "modules": 2,
        "module": 2,
        "missing": 3,
        "sink": 4,
        "upstream": 5,
    }
    used = {e.source for e in edges} | {e.target for e in edges}
    b.graph.nodes = sorted(
        (n for n in b.by_id.values() if n.kind == "module" or n.id in used),
        key=lambda n: order[n.kind],
    )
    b.graph.edges = edges
    return b.graph


# --- renderers ------------------------------------------------------------------------------

_MERMAID_ESCAPES = str.maketrans(
    {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;"}
)
_MERMAID_SHAPES = {
    "leaf": '(["{}"])',
    "twin": '(["{}"])',
    "upstream": '[("{}")]',
}


def _mermaid(text: str) -> str:
    return " ".join(text.split()).translate(_MERMAID_ESCAPES)


def render_mermaid(graph: FlowGraph) -> str:
    """A Mermaid ``flowchart`` (renders on GitHub in a ```` ```mermaid ```` block)."""
    lines = ["flowchart LR"]
    for n in graph.nodes:
        shape = _MERMAID_SHAPES.get(n.kind, '["{}"]')
        lines.append(f"    {n.id}{shape.format(_mermaid(n.label))}")
    for e in graph.edges:
        lines.append(f'    {e.source} -->|"{_mermaid(e.label)}"| {e.target}')
    missing = [n.id for n in graph.nodes if n.kind == "missing"]
    if missing:
        lines.append("    classDef missing stroke-dasharray: 5 5")
        lines.append(f"    class {','.join(missing)} missing")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


_DOT_ATTRS = {
    "leaf": ", shape=oval",
    "twin": ", shape=oval",
    "upstream": ", shape=cylinder",
    "missing": ", style=dashed",
}


def render_dot(graph: FlowGraph) -> str:
    """A Graphviz ``digraph`` (``dot -Tsvg``)."""
    lines = ["digraph routes {", "    rankdir=LR;", "    node [shape=box];"]
    for n in graph.nodes:
        lines.append(f"    {_dot(n.id)} [label={_dot(n.label)}{_DOT_ATTRS.get(n.kind, '')}];")
    for e in graph.edges:
        lines.append(f"    {_dot(e.source)} -> {_dot(e.target)} [label={_dot(e.label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_text(graph: FlowGraph) -> str:
    """One line per node and per edge, for terminals and diffs."""
    labels = {n.id: n.label for n in graph.nodes}
    lines = ["nodes:"]
    lines += [f"  {n.label}" for n in graph.nodes] or ["  (none)"]
    lines.append("routes:")
    edges = [f"  {labels[e.source]} -> {labels[e.target]}: {e.label}" for e in graph.edges]
    lines += edges or ["  (none)"]
    if graph.skipped:
        lines.append("skipped:")
        lines += [f"  {name}: {reason}" for name, reason in graph.skipped]
    return "\n".join(lines) + "\n"

"""The manifest model sees the same modules and routes whatever the envelope."""

from __future__ import annotations

import json

from iotedge_cli.manifest.loader import load_text
from iotedge_cli.manifest.model import Manifest

AGENT = {
    "properties.desired": {
        "schemaVersion": "1.1",
        "systemModules": {"edgeAgent": {"type": "docker"}, "edgeHub": {"type": "docker"}},
        "modules": {"filter": {"type": "docker"}},
    }
}
HUB = {
    "properties.desired": {
        "schemaVersion": "1.2",
        "routes": {"r1": "FROM /messages/* INTO $upstream"},
    }
}


def manifest(data: object, name: str = "m.json") -> Manifest:
    return Manifest.from_doc(load_text(json.dumps(data, indent=1), name))


def test_envelopes() -> None:
    content = {"$edgeAgent": AGENT, "$edgeHub": HUB}
    for data, form, base in [
        ({"modulesContent": content}, "modulesContent", ("modulesContent",)),
        (
            {"content": {"modulesContent": content}},
            "content.modulesContent",
            ("content", "modulesContent"),
        ),
        ({"moduleContent": content}, "moduleContent", ("moduleContent",)),
        (content, "fragment", ()),
        ({"hello": 1}, "unknown", ()),
    ]:
        m = manifest(data)
        assert (m.form, m.base) == (form, base)
        if form != "unknown":
            assert [(d.name, d.system) for d in m.modules()] == [
                ("edgeAgent", True),
                ("edgeHub", True),
                ("filter", False),
            ]
            assert [r[0] for r in m.routes()] == ["r1"]
            assert m.schema_version("$edgeHub") == (
                (*base, "$edgeHub", "properties.desired", "schemaVersion"),
                "1.2",
            )


def test_layered_form_yields_flattened_items_with_exact_paths() -> None:
    m = manifest(
        {
            "content": {
                "modulesContent": {
                    "$edgeAgent": {"properties.desired.modules.sensor": {"type": "docker"}},
                    "$edgeHub": {"properties.desired.routes.up": "from /messages/* into $upstream"},
                    "sensor": {"properties.desired.rate": 5},
                }
            }
        }
    )
    assert m.layered
    assert [(d.name, d.path) for d in m.modules()] == [
        ("sensor", ("content", "modulesContent", "$edgeAgent", "properties.desired.modules.sensor"))
    ]
    [(name, path, value)] = m.routes()
    assert name == "up" and value.startswith("from")
    assert path == ("content", "modulesContent", "$edgeHub", "properties.desired.routes.up")
    assert [t[0] for t in m.module_twins()] == ["sensor"]


def test_template_detection() -> None:
    assert manifest({"$schema-template": "4.0.0", "modulesContent": {}}).template
    leftover = {"modulesContent": {"$edgeAgent": {"image": "${MODULES.x}"}}}
    assert manifest(leftover, "deployment.template.json").template
    assert manifest(leftover, "config/deployment.debug.Template.yaml").template
    assert not manifest(leftover, "config/deployment.amd64.json").template  # leftovers are findings
    assert not manifest({"modulesContent": {"$edgeHub": HUB}}).template
    doc = load_text('{"modulesContent": {"x": {"properties.desired": {"ttl": ${TTL}}}}}', "t.json")
    assert Manifest.from_doc(doc).template

"""The Newtonsoft-tolerant createOptions parser and the Docker ContainerCreate model."""

from __future__ import annotations

from typing import Any

import pytest

from iotedge_cli.manifest import createoptions as co
from iotedge_cli.manifest.jsonparse import JsonSyntaxError, Placeholder


def test_strict_text_has_no_lenient_marks() -> None:
    parsed = co.parse_create_options('{"HostConfig": {"Binds": ["/a:/b"]}}', template=False)
    assert parsed.value == {"HostConfig": {"Binds": ["/a:/b"]}}
    assert parsed.lenient == []
    assert parsed.offsets[("HostConfig", "Binds", 0)] == 26
    assert parsed.key_offsets[("HostConfig", "Binds")] == 16


@pytest.mark.parametrize(
    ("text", "what", "value"),
    [
        (
            "{HostConfig: {Privileged: true}}",
            "unquoted property name",
            {"HostConfig": {"Privileged": True}},
        ),
        ("{'Env': ['A=1', 'B=\"q\" \\'s\\'']}", "single-quoted", {"Env": ["A=1", "B=\"q\" 's'"]}),
        ('{"Env": ["A=1",]}', "trailing comma", {"Env": ["A=1"]}),
        ('{"Tty": true,}', "trailing comma", {"Tty": True}),
        ('{"Tty": true /* on */}', "comment", {"Tty": True}),
    ],
)
def test_lenient_forms(text: str, what: str, value: Any) -> None:
    parsed = co.parse_create_options(text, template=False)
    assert parsed.value == value
    assert what in parsed.lenient[0][1]


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ('{"HostConfig": {"PortBindings": ', 32, "not closed"),
        ('{"a" 1}', 5, "expected ':'"),
        ('{"a": 1} x', 9, "after the end"),
        ('{"a": "x}', 6, "unterminated string"),
        ('{"a": bogus}', 6, "expected a value"),
        ('{"a": "\\q"}', 6, "invalid string"),
        ('{"Memory": ${MEM}}', 11, "unexpanded placeholder"),
    ],
)
def test_errors_carry_offsets(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(JsonSyntaxError) as info:
        co.parse_create_options(text, template=False)
    assert info.value.offset == offset
    assert fragment in info.value.message


def test_placeholders_in_templates() -> None:
    parsed = co.parse_create_options(
        '{"HostConfig": {"Memory": ${MEM}, "ShmSize": $SHM}}', template=True
    )
    assert parsed.value == {
        "HostConfig": {"Memory": Placeholder("${MEM}"), "ShmSize": Placeholder("$SHM")}
    }
    assert parsed.lenient == []
    assert co.strict_form(parsed.value) == '{"HostConfig":{"Memory":${MEM},"ShmSize":$SHM}}'


def test_load_uses_the_fast_path_for_strict_json() -> None:
    value, parsed = co.load_create_options('{"Tty": true}', template=False)
    assert value == {"Tty": True} and parsed is None
    value, parsed = co.load_create_options("{Tty: true}", template=False)
    assert value == {"Tty": True} and parsed is not None and parsed.lenient


@pytest.mark.parametrize("text", ["", "   ", "null", " null\n"])
def test_empty_text(text: str) -> None:
    assert co.is_empty_text(text)


def _problems(obj: dict[str, Any], template: bool = False) -> list[tuple[str, str]]:
    return [
        (p.code, co.format_path(p.path)) for p in co.check_container_config(obj, template=template)
    ]


def test_canonical_edgehub_options_are_clean() -> None:
    obj = {
        "HostConfig": {
            "PortBindings": {
                "5671/tcp": [{"HostPort": "5671"}],
                "443/tcp": [{"HostPort": "443", "HostIp": "0.0.0.0"}],
            },
            "Privileged": True,
            "Memory": 536870912,
            "RestartPolicy": {"Name": "always"},
            "Mounts": [{"Type": "volume", "Source": "v", "Target": "/v"}],
        },
        "NetworkingConfig": {"EndpointsConfig": {"host": {}}},
        "Env": ["A=1"],
        "ExposedPorts": {"80/tcp": {}, "53/udp": {}, "1234": {}},
        "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000, "Retries": 3},
        "StopTimeout": 10,
    }
    assert _problems(obj) == []


def test_unknown_and_misplaced_keys() -> None:
    found = co.check_container_config(
        {"HostConfg": {}, "Binds": [], "HostConfig": {"Cmd": "x", "PortBinding": {}}, "Memory": 1},
        template=False,
    )
    by_path = {co.format_path(p.path): p for p in found}
    assert "did you mean 'HostConfig'?" in by_path["HostConfg"].message
    assert "is a HostConfig option" in by_path["Binds"].message
    assert "is a top-level option" in by_path["HostConfig.Cmd"].message
    assert "did you mean 'PortBindings'?" in by_path["HostConfig.PortBinding"].message
    assert by_path["Memory"].warning and "legacy placement" in by_path["Memory"].message
    assert all(p.code == "E308" and p.key for p in found)


def test_wrong_types() -> None:
    obj = {
        "HostConfig": {
            "PortBindings": {"8080/tcp": [{"HostPort": 8080}]},
            "Privileged": "true",
            "Memory": "512m",
            "ShmSize": "64MB",
            "CapAdd": "NET_ADMIN",
            "ExtraHosts": ["a:1.2.3.4", 5],
            "Devices": ["/dev/x"],
            "Sysctls": {"net.ipv4.ip_forward": 1},
        },
        "Env": {"A": "1"},
        "Cmd": 5,
        "Entrypoint": "run.sh",
        "ExposedPorts": {"http": {}},
        "Healthcheck": {"Interval": "30s"},
        "Labels": ["a=b"],
    }
    found = {
        co.format_path(p.path): p.message for p in co.check_container_config(obj, template=False)
    }
    assert set(found) == {
        'HostConfig.PortBindings["8080/tcp"][0].HostPort',
        "HostConfig.Privileged",
        "HostConfig.Memory",
        "HostConfig.ShmSize",
        "HostConfig.CapAdd",
        "HostConfig.ExtraHosts[1]",
        "HostConfig.Devices[0]",
        'HostConfig.Sysctls["net.ipv4.ip_forward"]',
        "Env",
        "Cmd",
        "ExposedPorts.http",
        "Healthcheck.Interval",
        "Labels",
    }
    assert "write 67108864" in found["HostConfig.ShmSize"]
    assert 'such as ["A=1"]' in found["Env"]
    assert "write 30000000000" in found["Healthcheck.Interval"]


def test_template_values_with_placeholders_are_not_type_checked() -> None:
    obj = {
        "HostConfig": {"Memory": "${MEM}", "Privileged": Placeholder("$PRIV"), "Binds": "$BINDS"},
        "${KEY}": 1,
    }
    assert _problems(obj, template=True) == []
    assert {path for _, path in _problems(obj)} == {
        "HostConfig.Memory",
        "HostConfig.Binds",
        '["${KEY}"]',
    }


def test_format_path() -> None:
    assert co.format_path(("HostConfig", "PortBindings", "8080/tcp", 0, "HostPort")) == (
        'HostConfig.PortBindings["8080/tcp"][0].HostPort'
    )
    assert co.format_path(()) == "(root)"

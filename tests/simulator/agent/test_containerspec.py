from __future__ import annotations

from typing import Any

from iotedge_cli.simulator.agent.containerspec import container_create_args
from iotedge_cli.simulator.agent.spec import ModuleSpec

from .helpers import spec


def body(s: ModuleSpec, ca_path: str | None = "/home/dev/.edgectl/ca.pem") -> dict[str, Any]:
    return container_create_args(
        s,
        device_id="dev1",
        iothub_hostname="sim.azure-devices.net",
        gateway_hostname="edgectl-gw",
        network="edgectl-sim1",
        hub_alias="edgectl-gw",
        generation_id="gen-7",
        workload_uri="http://edgectl-gw:15581/",
        ca_path=ca_path,
        labels={"edgectl.extra": "1", "net.azure-devices.edge.owner": "someone"},
        simulation_id="sim1",
    )


def test_plain_module() -> None:
    s = spec(env={"RuntimeLogLevel": {"value": "debug"}, "ZONE": {"value": "a"}})
    b = body(s)
    assert b["Image"] == "sensor:1.0"
    assert b["Env"] == [
        "EdgeModuleCACertificateFile=/run/edgectl/ca.pem",
        "IOTEDGE_APIVERSION=2022-08-03",
        "IOTEDGE_AUTHSCHEME=sasToken",
        "IOTEDGE_DEVICEID=dev1",
        "IOTEDGE_GATEWAYHOSTNAME=edgectl-gw",
        "IOTEDGE_IOTHUBHOSTNAME=sim.azure-devices.net",
        "IOTEDGE_MODULEGENERATIONID=gen-7",
        "IOTEDGE_MODULEID=sensor",
        "IOTEDGE_WORKLOADURI=http://edgectl-gw:15581/",
        "RuntimeLogLevel=debug",  # the manifest's value is kept
        "ZONE=a",
    ]
    assert b["Labels"] == {
        "edgectl.extra": "1",
        "net.azure-devices.edge.owner": "edgectl",
        "edgectl.simulation": "sim1",
        "edgectl.module": "sensor",
        "edgectl.fingerprint": s.fingerprint,
        "net.azure-devices.edge.original-image": "sensor:1.0",
    }
    assert b["HostConfig"] == {
        "Binds": ["/home/dev/.edgectl/ca.pem:/run/edgectl/ca.pem:ro"],
        "NetworkMode": "edgectl-sim1",
    }
    assert b["NetworkingConfig"] == {"EndpointsConfig": {"edgectl-sim1": {}}}


def test_runtime_log_level_injected_and_no_ca() -> None:
    b = body(spec(), ca_path=None)
    assert "RuntimeLogLevel=Information" in b["Env"]
    assert not any(e.startswith("EdgeModuleCACertificateFile") for e in b["Env"])
    assert "Binds" not in b["HostConfig"]


def test_create_options_env_wins_and_every_key_is_kept() -> None:
    options = (
        '{"Env":["ZONE=b","IOTEDGE_GATEWAYHOSTNAME=other","BARE"],'
        '"Labels":{"team":"x","edgectl.module":"spoof"},"Image":"ignored","Hostname":"h",'
        '"FutureDockerKey":{"a":1},"HostConfig":{"Binds":["/data:/data"],"Privileged":true,'
        '"PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"UnknownHostKey":3}}'
    )
    s = spec(env={"ZONE": {"value": "a"}}, createOptions=options)
    b = body(s)
    assert "ZONE=b" in b["Env"] and "ZONE=a" not in b["Env"]
    assert "IOTEDGE_GATEWAYHOSTNAME=other" in b["Env"]
    assert "BARE" in b["Env"]
    assert b["Env"] == sorted(b["Env"], key=lambda e: e.split("=", 1)[0])
    assert b["Image"] == "sensor:1.0"
    assert b["Hostname"] == "h" and b["FutureDockerKey"] == {"a": 1}
    assert b["Labels"]["team"] == "x" and b["Labels"]["edgectl.module"] == "sensor"
    host = b["HostConfig"]
    assert host["Binds"] == ["/data:/data", "/home/dev/.edgectl/ca.pem:/run/edgectl/ca.pem:ro"]
    assert host["Privileged"] is True and host["UnknownHostKey"] == 3
    assert host["PortBindings"] == {"80/tcp": [{"HostPort": "8080"}]}
    assert s.create_options["HostConfig"]["Binds"] == ["/data:/data"]  # spec not mutated


def test_user_networking_config_is_respected() -> None:
    options = (
        '{"NetworkingConfig":{"EndpointsConfig":{"host":{}}},"HostConfig":{"NetworkMode":"host"}}'
    )
    b = body(spec(createOptions=options))
    assert b["NetworkingConfig"] == {"EndpointsConfig": {"host": {}}}
    assert b["HostConfig"]["NetworkMode"] == "host"


def test_only_edge_hub_gets_the_gateway_alias() -> None:
    assert body(spec("edgeHub"))["NetworkingConfig"] == {
        "EndpointsConfig": {"edgectl-sim1": {"Aliases": ["edgectl-gw"]}}
    }
    hub_own = spec("edgeHub", createOptions='{"NetworkingConfig":{"EndpointsConfig":{"n2":{}}}}')
    assert body(hub_own)["NetworkingConfig"] == {"EndpointsConfig": {"n2": {}}}

"""Issue 8 against a whole simulation: `edgectl deploy/device/deployment --to-simulator` go
through the real azure-iot-hub SDK, over HTTPS, to the service API of the hub running in its
container (published on 127.0.0.1), and the agent converges on what IoT Hub would apply:
a device deployment, then an automatic deployment targeting a tag, then a higher-priority
layered deployment adding a module and a route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docker.test_agent import (
    Sim,
    docker_json,
    edgectl,
    env_of,
    manifest,
    module,
    wait_for,
)
from tests.support_images import ensure_python_base_image

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    image = ensure_python_base_image()
    root = tmp_path_factory.mktemp("fleet")
    s = Sim(root, image)
    first = root / "first.json"
    first.write_text(json.dumps(manifest({"alpha": module(image)})))
    edgectl(
        "simulate", "start", "--manifest", str(first), "--detach", "--hub-image", image, *s.args()
    )
    try:
        yield s
    finally:
        edgectl("simulate", "stop", *s.args(), expect=None)


def cloud(sim: Sim, *args: str, expect: int | None = 0) -> Any:
    return edgectl(*args, "--to-simulator", *sim.args(), expect=expect)


def running(sim: Sim) -> set[str]:
    modules = sim.modules()
    return {n for n, m in modules.items() if m.get("runtimeStatus") == "running"}


def test_device_deployment_converges(sim: Sim) -> None:
    devices = json.loads(cloud(sim, "device", "list", "--json").stdout)
    ids = {
        d.get("deviceId") for d in (devices if isinstance(devices, list) else devices["devices"])
    }
    assert "edgectl-device" in ids
    wait_for(lambda: running(sim) == {"alpha"}, 30, "alpha")
    alpha = docker_json("inspect", "alpha")[0]["Id"]
    path = sim.root / "device.json"
    path.write_text(json.dumps(manifest({"alpha": module(sim.image), "beta": module(sim.image)})))
    cloud(sim, "deploy", str(path), "--device", "edgectl-device")
    wait_for(lambda: running(sim) == {"alpha", "beta"}, 30, "beta started by the agent")
    assert docker_json("inspect", "alpha")[0]["Id"] == alpha  # unchanged: not recreated


def test_created_edge_device_gets_the_content_stored(sim: Sim) -> None:
    """Devices created through the API are registry entries (only the simulator's own device
    runs modules): IoT Hub's view of them - module twins - holds what was applied."""
    cloud(sim, "device", "create", "factory-02", "--edge")
    path = sim.root / "factory.json"
    path.write_text(json.dumps(manifest({"omega": module(sim.image)})))
    cloud(sim, "deploy", str(path), "--device", "factory-02")
    twin = json.loads(
        cloud(sim, "device", "twin", "factory-02", "--module", "$edgeAgent", "--json").stdout
    )
    assert "omega" in json.dumps(twin)
    assert "omega" not in running(sim)
    cloud(sim, "device", "delete", "factory-02")


def test_automatic_then_layered_deployment(sim: Sim) -> None:
    cloud(sim, "device", "twin", "edgectl-device", "--set-tags", '{"env": "prod"}')
    base = sim.root / "base.json"
    base.write_text(json.dumps(manifest({"gamma": module(sim.image)})))
    cloud(
        sim,
        "deploy",
        str(base),
        "--name",
        "base-prod",
        "--target-condition",
        "tags.env='prod'",
        "--priority",
        "10",
    )
    wait_for(lambda: running(sim) == {"gamma"}, 30, "the base deployment applied")
    layer = sim.root / "layer.json"
    delta = module(sim.image)
    layer.write_text(
        json.dumps(
            {
                "modulesContent": {
                    "$edgeAgent": {"properties.desired.modules.delta": delta},
                    "$edgeHub": {
                        "properties.desired.routes.deltaUp": (
                            "FROM /messages/modules/delta/outputs/* INTO $upstream"
                        )
                    },
                }
            }
        )
    )
    cloud(
        sim,
        "deploy",
        str(layer),
        "--name",
        "monitoring",
        "--target-condition",
        "tags.env='prod'",
        "--priority",
        "20",
        "--layered",
    )
    wait_for(lambda: running(sim) == {"gamma", "delta"}, 30, "the layer's module added")
    hub = json.loads(edgectl("simulate", "twin", "$edgeHub", "--json", *sim.args()).stdout)
    routes = hub["desired"]["routes"]
    assert "deltaUp" in routes and "up" in routes
    for name in ("base-prod", "monitoring"):
        show = json.loads(cloud(sim, "deployment", "show", name, "--json").stdout)
        assert show["counts"]["targeted"] == 1 and show["counts"]["applied"] == 1, show
    human = cloud(sim, "deployment", "show", "base-prod").stdout
    assert "targeted: 1" in human and "applied: 1" in human


def test_errors_are_one_line(sim: Sim, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest({"x": module(sim.image)})))
    done = cloud(sim, "deploy", str(path), "--device", "no-such-device", expect=2)
    assert done.stderr.startswith("error:") and "no-such-device" in done.stderr
    assert "Traceback" not in done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(manifest({"x": {"type": "docker"}})))
    done = cloud(sim, "deploy", str(bad), "--device", "edgectl-device", expect=1)
    assert "Traceback" not in done.stderr


def test_create_an_edge_device_run_it_and_deploy_to_it(sim: Sim) -> None:
    """The fleet flow in small: create an edge device in the (simulated) hub, start the
    simulator as that device (as a real device runs once provisioned with its identity),
    apply a manifest to it, and the agent converges on it."""
    cloud(sim, "device", "create", "edge-01", "--edge")
    edgectl("simulate", "stop", *sim.args())
    first = sim.root / "first.json"
    edgectl(
        "simulate",
        "start",
        "--manifest",
        str(first),
        "--detach",
        "--hub-image",
        sim.image,
        "--device-id",
        "edge-01",
        *sim.args(),
    )
    wait_for(lambda: running(sim) == {"alpha"}, 30, "alpha on edge-01")
    path = sim.root / "edge-01.json"
    path.write_text(json.dumps(manifest({"alpha": module(sim.image), "zeta": module(sim.image)})))
    cloud(sim, "deploy", str(path), "--device", "edge-01")
    wait_for(lambda: running(sim) == {"alpha", "zeta"}, 30, "zeta started on edge-01")
    env = env_of(docker_json("inspect", "zeta")[0])
    assert env["IOTEDGE_DEVICEID"] == "edge-01"
    devices = json.loads(cloud(sim, "device", "list", "--json").stdout)
    ids = {
        d.get("deviceId") for d in (devices if isinstance(devices, list) else devices["devices"])
    }
    assert {"edge-01", "edgectl-device"} <= ids  # the earlier device is still registered

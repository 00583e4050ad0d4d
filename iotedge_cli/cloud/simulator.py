"""The running simulator as an IoT Hub: its service connection string and the CA to trust.

The simulator's hub serves the IoT Hub service REST API on its HTTPS listener, with the
certificate chain of its state directory, and authenticates a service SAS made with the
``iothubowner`` key kept in ``<state>/service.key``. The host name is the gateway host name
(the server certificate's SAN); a port other than 443 (a hub run without root) goes into
``HostName`` as ``host:port``, which the SDK puts into its URLs. When the hub runs in its
container (a whole simulation), Docker publishes its 443 on 127.0.0.1 at a port it picks, and
the host name is ``localhost:PORT`` (``simulation.json``'s ``serviceEndpoint``).
"""

from __future__ import annotations

from pathlib import Path

from iotedge_cli.cloud.connection import HubConnection, parse_connection_string
from iotedge_cli.errors import ServiceUnavailableError

__all__ = ["SERVICE_KEY_FILE", "simulator_connection"]

SERVICE_KEY_FILE = "service.key"
HTTPS_PORT = 443


def simulator_connection(state_dir: Path | None) -> HubConnection:
    """The service connection of the simulation in ``state_dir`` (or the nearest one); exit 3
    with a hint when none runs or it serves no HTTPS."""
    from iotedge_cli.simulator.state import find_state_dir, read_config, read_running

    directory = find_state_dir(state_dir)
    config = read_config(directory)
    running = read_running(directory)
    start = (
        f"start one: `edgectl simulate start --manifest M --state-dir {directory}` (the service "
        "API listens on port 443: run as root or allow unprivileged ports)"
    )
    if config is None or running is None:
        raise ServiceUnavailableError(f"no simulation is running in {directory}", hint=start)
    published: str | None = None
    if config.owner_pid is not None:  # the hub runs in a container; 443 is published on loopback
        from iotedge_cli.simulator.agent.supervisor import read_simulation

        published = (read_simulation(directory) or {}).get("serviceEndpoint")
        if not isinstance(published, str) or not published:
            raise ServiceUnavailableError(
                f"the simulation in {directory} publishes no IoT Hub service endpoint",
                hint="restart it (`edgectl simulate stop`, then `simulate start`)",
            )
    https = next((e for e in running.listeners if e.get("name") == "https"), None)
    if https is None or not https.get("available", False):
        why = https.get("error") if https else "the hub has no HTTPS listener"
        raise ServiceUnavailableError(
            f"the simulator in {directory} does not serve the IoT Hub service API: {why}",
            hint=start,
        )
    key_file = directory / SERVICE_KEY_FILE
    try:
        key = key_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ServiceUnavailableError(
            f"{key_file}: cannot read the simulator's service key ({exc.strerror or exc})",
            hint="restart the simulator: it creates the key at start",
        ) from None
    port = https.get("port")
    host = config.gateway_hostname
    if published is not None:
        host = published  # localhost:PORT, a SAN of the hub's certificate in agent mode
    elif isinstance(port, int) and port not in (0, HTTPS_PORT):
        host = f"{host}:{port}"
    from iotedge_cli.simulator.hub.service import service_connection_string

    return parse_connection_string(
        service_connection_string(host, key),
        source=f"the simulator in {directory}",
        ca_bundle=config.ca_cert,
    )

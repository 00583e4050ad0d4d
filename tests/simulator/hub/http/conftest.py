"""Fixtures of the HTTP-layer tests: a certificate chain (for the TLS listener) and a config."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotedge_cli.certs import layout
from iotedge_cli.certs.authority import Validity
from iotedge_cli.certs.chain import build_edge_chain
from iotedge_cli.simulator.hub.config import HubConfig
from tests.certs.helpers import ChainOnDisk, now, write_chain
from tests.simulator.hub.http.fakehub import DEVICE, IOTHUB

GATEWAY = "hub.edgectl.test"


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> ChainOnDisk:
    built = build_edge_chain(
        device_id=DEVICE, hostname=GATEWAY, validity=Validity.days_from(now(), 2)
    )
    return write_chain(built, tmp_path_factory.mktemp("http-chain") / "certs")


@pytest.fixture
def config(tmp_path: Path, chain: ChainOnDisk) -> HubConfig:
    prefix = layout.server(GATEWAY)
    return HubConfig(
        state_dir=tmp_path,
        device_id=DEVICE,
        iothub_hostname=IOTHUB,
        gateway_hostname=GATEWAY,
        server_cert=chain.full_chain(prefix),
        server_key=chain.key(prefix),
        ca_cert=chain.root,
        bind="127.0.0.1",
        https_port=0,
        admin_port=0,
    )

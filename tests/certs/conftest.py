"""Chains built once per session: EC (fast) and RSA (4096-bit CA keys take a second or two)."""

from __future__ import annotations

import pytest

from iotedge_cli.certs.authority import Validity
from iotedge_cli.certs.chain import build_edge_chain
from iotedge_cli.certs.profiles import KeyType
from tests.certs.helpers import ChainOnDisk, now, write_chain

HOST = "edge-gw.contoso.local"


def _chain(key_type: KeyType, tmp_path_factory: pytest.TempPathFactory) -> ChainOnDisk:
    at = now()
    validity = Validity.days_from(at, 90)
    chain = build_edge_chain(
        device_id="edge-1", hostname=HOST, validity=validity, key_type=key_type
    )
    disk = write_chain(chain, tmp_path_factory.mktemp(f"chain-{key_type.value}") / "certs")
    disk.add("device", chain.intermediate.issue_client("sensor-1", validity, key_type=key_type))
    disk.add("identity", chain.intermediate.issue_client("edge-1", validity, key_type=key_type))
    disk.add("server2", chain.edge_ca.issue_server("10.1.2.3", validity, key_type=key_type))
    disk.add("verify-root", chain.root.issue_client("0A1B2C3D4E5F", validity, key_type=key_type))
    disk.add(
        "verify-intermediate",
        chain.intermediate.issue_client("A1B2C3D4E5F6", validity, key_type=key_type),
    )
    return disk


@pytest.fixture(scope="session")
def ec_chain(tmp_path_factory: pytest.TempPathFactory) -> ChainOnDisk:
    return _chain(KeyType.ec, tmp_path_factory)


@pytest.fixture(scope="session")
def rsa_chain(tmp_path_factory: pytest.TempPathFactory) -> ChainOnDisk:
    return _chain(KeyType.rsa, tmp_path_factory)


@pytest.fixture(params=["ec", "rsa"])
def any_chain(request: pytest.FixtureRequest) -> ChainOnDisk:
    """Each test that takes it runs for both key types."""
    chain: ChainOnDisk = request.getfixturevalue(f"{request.param}_chain")
    return chain

"""Real TLS handshakes on 127.0.0.1 with Python's ssl module (OpenSSL underneath).

The hub server certificate with its chain is accepted by a client that trusts only the root and
checks the hostname; a leaf device certificate is accepted as a client certificate by a server
that trusts the root. Wrong CA, wrong hostname and expired certificates fail.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest

from iotedge_cli.certs import layout
from iotedge_cli.certs.authority import Validity
from tests.certs.conftest import HOST
from tests.certs.helpers import ChainOnDisk, handshake, now

SERVER = layout.server(HOST)


def _verify_error(exc: BaseException | None) -> str:
    assert isinstance(exc, ssl.SSLCertVerificationError), repr(exc)
    return str(exc.verify_message)


def test_server_certificate_handshake(any_chain: ChainOnDisk) -> None:
    result = handshake(
        server_chain=any_chain.full_chain(SERVER),
        server_key=any_chain.key(SERVER),
        client_cafile=any_chain.root,
        server_hostname=HOST,
    )
    assert result.ok, result


def test_edgehub_name_is_in_the_server_certificate(any_chain: ChainOnDisk) -> None:
    result = handshake(
        server_chain=any_chain.full_chain(SERVER),
        server_key=any_chain.key(SERVER),
        client_cafile=any_chain.root,
        server_hostname="edgeHub",
    )
    assert result.ok, result


def test_ip_server_certificate_handshake(any_chain: ChainOnDisk) -> None:
    result = handshake(
        server_chain=any_chain.full_chain("server2"),
        server_key=any_chain.key("server2"),
        client_cafile=any_chain.root,
        server_hostname="10.1.2.3",
    )
    assert result.ok, result


def test_wrong_hostname_fails(any_chain: ChainOnDisk) -> None:
    result = handshake(
        server_chain=any_chain.full_chain(SERVER),
        server_key=any_chain.key(SERVER),
        client_cafile=any_chain.root,
        server_hostname="other.contoso.local",
    )
    assert "Hostname mismatch" in _verify_error(result.client_error)


def test_edge_ca_name_is_not_a_valid_hostname(any_chain: ChainOnDisk) -> None:
    result = handshake(
        server_chain=any_chain.full_chain(SERVER),
        server_key=any_chain.key(SERVER),
        client_cafile=any_chain.root,
        server_hostname="edge-1.ca",
    )
    assert "Hostname mismatch" in _verify_error(result.client_error)


def test_wrong_ca_fails(ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk) -> None:
    result = handshake(
        server_chain=ec_chain.full_chain(SERVER),
        server_key=ec_chain.key(SERVER),
        client_cafile=rsa_chain.root,
        server_hostname=HOST,
    )
    # The full chain ends with the (untrusted) root, so OpenSSL names that.
    assert _verify_error(result.client_error) == "self-signed certificate in certificate chain"


def test_expired_server_certificate_fails(any_chain: ChainOnDisk, tmp_path: Path) -> None:
    at = now()
    past = Validity(at - dt.timedelta(days=30), at - dt.timedelta(days=1))
    expired = any_chain.chain.edge_ca.issue_server(HOST, past, key_type=_key_type(any_chain))
    disk = ChainOnDisk(any_chain.chain, tmp_path)
    disk.add("expired", expired)
    result = handshake(
        server_chain=disk.full_chain("expired"),
        server_key=disk.key("expired"),
        client_cafile=any_chain.root,
        server_hostname=HOST,
    )
    assert "certificate has expired" in _verify_error(result.client_error)


def test_not_yet_valid_server_certificate_fails(any_chain: ChainOnDisk, tmp_path: Path) -> None:
    at = now()
    future = Validity(at + dt.timedelta(days=1), at + dt.timedelta(days=2))
    issued = any_chain.chain.edge_ca.issue_server(HOST, future, key_type=_key_type(any_chain))
    disk = ChainOnDisk(any_chain.chain, tmp_path)
    disk.add("future", issued)
    result = handshake(
        server_chain=disk.full_chain("future"),
        server_key=disk.key("future"),
        client_cafile=any_chain.root,
        server_hostname=HOST,
    )
    assert "certificate is not yet valid" in _verify_error(result.client_error)


@pytest.mark.parametrize("leaf", ["device", "identity"])
def test_leaf_certificate_as_tls_client(any_chain: ChainOnDisk, leaf: str) -> None:
    result = handshake(
        server_chain=any_chain.full_chain(SERVER),
        server_key=any_chain.key(SERVER),
        client_cafile=any_chain.root,
        server_hostname=HOST,
        client_chain=any_chain.full_chain(leaf),
        client_key=any_chain.key(leaf),
        server_cafile=any_chain.root,
    )
    assert result.ok, result
    assert result.peer_cn == any_chain.leaves[leaf].common_name


def test_client_certificate_from_another_ca_is_rejected(
    ec_chain: ChainOnDisk, rsa_chain: ChainOnDisk
) -> None:
    result = handshake(
        server_chain=ec_chain.full_chain(SERVER),
        server_key=ec_chain.key(SERVER),
        client_cafile=ec_chain.root,
        server_hostname=HOST,
        client_chain=rsa_chain.full_chain("device"),
        client_key=rsa_chain.key("device"),
        server_cafile=ec_chain.root,
    )
    assert isinstance(result.server_error, ssl.SSLError)
    assert "certificate verify failed" in str(result.server_error)
    assert result.client_error is not None


def test_expired_client_certificate_is_rejected(ec_chain: ChainOnDisk, tmp_path: Path) -> None:
    at = now()
    past = Validity(at - dt.timedelta(days=30), at - dt.timedelta(days=1))
    expired = ec_chain.chain.intermediate.issue_client("sensor-1", past)
    disk = ChainOnDisk(ec_chain.chain, tmp_path)
    disk.add("expired-device", expired)
    result = handshake(
        server_chain=ec_chain.full_chain(SERVER),
        server_key=ec_chain.key(SERVER),
        client_cafile=ec_chain.root,
        server_hostname=HOST,
        client_chain=disk.full_chain("expired-device"),
        client_key=disk.key("expired-device"),
        server_cafile=ec_chain.root,
    )
    assert "certificate has expired" in str(result.server_error)


def _key_type(chain: ChainOnDisk):  # type: ignore[no-untyped-def]
    from iotedge_cli.certs.profiles import key_type_of

    return key_type_of(chain.chain.edge_ca.key)

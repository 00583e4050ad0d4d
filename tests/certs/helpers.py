"""Shared pieces of the certificate tests: the openssl binary, chains on disk, TLS handshakes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from iotedge_cli.certs import layout
from iotedge_cli.certs.authority import Issued
from iotedge_cli.certs.chain import EdgeChain, edge_chain_files
from iotedge_cli.certs.pem import certs_pem
from iotedge_cli.certs.store import write_files


def openssl_binary() -> str:
    """The real openssl; tests fail without it when CI is set, and skip otherwise."""
    path = shutil.which("openssl")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("the openssl binary is required in CI (apt-get install openssl)")
        pytest.skip("the openssl binary is not installed")
    return path


def openssl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [openssl_binary(), *args], capture_output=True, text=True, check=check, timeout=60
    )


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class ChainOnDisk:
    """A chain from ``certs generate`` plus leaves, written with the real writer."""

    chain: EdgeChain
    out: Path
    leaves: dict[str, Issued] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.out / layout.TRUST_BUNDLE

    @property
    def intermediates(self) -> Path:
        """Every CA below the root, for ``openssl verify -untrusted``."""
        path = self.out / "untrusted.pem"
        if not path.exists():
            path.write_bytes(certs_pem([self.chain.intermediate.cert, self.chain.edge_ca.cert]))
        return path

    def add(self, name: str, issued: Issued) -> Issued:
        write_files(self.out, layout.issued_files(issued, name, pfx=True, pfx_password="s3cret"))
        self.leaves[name] = issued
        return issued

    def cert(self, name: str) -> Path:
        return self.out / layout.cert_file(name)

    def full_chain(self, name: str) -> Path:
        return self.out / layout.chain_file(name)

    def key(self, name: str) -> Path:
        return self.out / layout.key_file(name)


def write_chain(chain: EdgeChain, out: Path) -> ChainOnDisk:
    files, _ = edge_chain_files(chain, out, pfx=True, pfx_password="s3cret")
    write_files(out, files)
    return ChainOnDisk(chain, out)


# --- TLS --------------------------------------------------------------------------------------


@dataclass
class Handshake:
    client_error: BaseException | None
    server_error: BaseException | None
    peer_cn: str | None = None

    @property
    def ok(self) -> bool:
        return self.client_error is None and self.server_error is None


def handshake(
    *,
    server_chain: Path,
    server_key: Path,
    client_cafile: Path,
    server_hostname: str,
    client_chain: Path | None = None,
    client_key: Path | None = None,
    server_cafile: Path | None = None,
) -> Handshake:
    """One TLS connection on 127.0.0.1: Python ``ssl`` on both sides, hostname checked.

    With ``server_cafile`` the server requires a client certificate chaining to it (mutual TLS).
    The server sends one byte after the handshake, so a client certificate rejected after a
    TLS 1.3 handshake still fails the client's read.
    """
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_chain, server_key)
    if server_cafile is not None:
        server_ctx.verify_mode = ssl.CERT_REQUIRED
        server_ctx.load_verify_locations(server_cafile)
    client_ctx = ssl.create_default_context(cafile=str(client_cafile))
    assert client_ctx.check_hostname
    if client_chain is not None:
        client_ctx.load_cert_chain(client_chain, client_key)

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    result = Handshake(None, None)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                peer = tls.getpeercert()
                if peer:
                    subject = dict(x[0] for x in peer["subject"])  # type: ignore[misc]
                    result.peer_cn = str(subject.get("commonName"))
                tls.sendall(b"!")
        except (OSError, ssl.SSLError) as exc:
            result.server_error = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
        ):
            if tls.recv(1) != b"!":
                raise ConnectionError("the server closed the connection")
    except (OSError, ssl.SSLError) as exc:
        result.client_error = exc
    thread.join(10)
    listener.close()
    return result

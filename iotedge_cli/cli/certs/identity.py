"""``edgectl certs identity NAME``: an edge device identity certificate (X.509 attestation)."""

from __future__ import annotations

from iotedge_cli.cli.certs._leaf import leaf_command

identity = leaf_command(
    "identity",
    "The edge device id in IoT Hub (becomes the CN).",
    """Make a TEST-ONLY edge device identity certificate and print its thumbprints.

    CN = device id, EKU clientAuth, signed by the intermediate CA in --out. For self-signed
    ("thumbprint") registration IoT Hub takes the SHA-1 or SHA-256 thumbprint printed here
    (upper-case hex without colons). In config.toml: [provisioning.authentication]
    method = "x509", identity_cert = the -full-chain file, identity_pk = the key.
    """,
    thumbprints=True,
)

"""``edgectl certs device NAME``: a leaf device certificate for CA-signed authentication."""

from __future__ import annotations

from iotedge_cli.cli.certs._leaf import leaf_command

device = leaf_command(
    "device",
    "The device id in IoT Hub (becomes the CN).",
    """Make a TEST-ONLY device certificate (CN = device id, EKU clientAuth).

    Signed by the intermediate CA in --out; register the device in IoT Hub with
    "X.509 CA signed" authentication. Writes iot-device-NAME.cert.pem, its full chain and key.
    """,
)

"""edgectl: a toolkit for Azure IoT Edge solutions (package ``iotedge_cli``)."""

from __future__ import annotations

__version__ = "0.1.0"

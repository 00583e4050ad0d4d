"""``python -m iotedge_cli`` runs the edgectl CLI."""

from __future__ import annotations

from iotedge_cli.cli.app import main

if __name__ == "__main__":
    main()

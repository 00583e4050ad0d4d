"""The service API's tables in the hub's SQLite database (``state_dir/hub.sqlite``).

They live on the :class:`HubStore`'s own connection and join its transactions (``begin``
then :meth:`HubStore.commit`), so a service write and the hub's writes never interleave
half-done. Rows hold JSON documents; the service layer (``service.py``) gives them meaning:

* ``service_devices``: one row per device the service API knows beyond the hub's own
  identities: devices created through the API (registry record + twin), and the tags /
  twin overlay of the simulator's edge device and of the hub's leaf devices.
* ``service_module_twins``: module twins of edge devices other than the simulator's (the
  content applied to them is stored, not run) and the tags of the simulator's modules.
* ``service_configurations``: configurations (deployments), ``seq`` = creation order.
* ``service_edge_state``: per edge device, the content last applied and by which
  configurations.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iotedge_cli.simulator.hub.store import HubStore

__all__ = ["ServiceStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS service_devices (
    device_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS service_module_twins (
    device_id TEXT NOT NULL,
    module_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (device_id, module_id)
);
CREATE TABLE IF NOT EXISTS service_configurations (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS service_edge_state (
    device_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
"""


class ServiceStore:
    """Typed access to the service tables; event-loop thread only, like the hub's store."""

    def __init__(self, store: HubStore) -> None:
        self._store = store
        self._db = store.connection  # one database, one writer
        self._db.executescript(_SCHEMA)

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        self._store.begin()
        self._db.execute(sql, params)

    def commit(self) -> None:
        self._store.commit()

    # ------------------------------------------------------------------ devices

    def devices(self) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT device_id, data FROM service_devices ORDER BY rowid")
        return {device_id: json.loads(data) for device_id, data in rows}

    def device(self, device_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT data FROM service_devices WHERE device_id = ?", (device_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put_device(self, device_id: str, data: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO service_devices VALUES (?, ?) "
            "ON CONFLICT(device_id) DO UPDATE SET data = excluded.data",
            (device_id, json.dumps(data)),
        )

    def delete_device(self, device_id: str) -> None:
        """The device row, its module twins and its edge state."""
        self._write("DELETE FROM service_devices WHERE device_id = ?", (device_id,))
        self._write("DELETE FROM service_module_twins WHERE device_id = ?", (device_id,))
        self._write("DELETE FROM service_edge_state WHERE device_id = ?", (device_id,))

    # ------------------------------------------------------------------ module twins

    def module_twins(self, device_id: str) -> dict[str, dict[str, Any]]:
        rows = self._db.execute(
            "SELECT module_id, data FROM service_module_twins WHERE device_id = ? ORDER BY rowid",
            (device_id,),
        )
        return {module_id: json.loads(data) for module_id, data in rows}

    def module_twin(self, device_id: str, module_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT data FROM service_module_twins WHERE device_id = ? AND module_id = ?",
            (device_id, module_id),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put_module_twin(self, device_id: str, module_id: str, data: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO service_module_twins VALUES (?, ?, ?) "
            "ON CONFLICT(device_id, module_id) DO UPDATE SET data = excluded.data",
            (device_id, module_id, json.dumps(data)),
        )

    def delete_module_twin(self, device_id: str, module_id: str) -> None:
        self._write(
            "DELETE FROM service_module_twins WHERE device_id = ? AND module_id = ?",
            (device_id, module_id),
        )

    # ------------------------------------------------------------------ configurations

    def configurations(self) -> list[tuple[int, dict[str, Any]]]:
        """``(seq, configuration)`` in creation order."""
        rows = self._db.execute("SELECT seq, data FROM service_configurations ORDER BY seq")
        return [(int(seq), json.loads(data)) for seq, data in rows]

    def configuration(self, config_id: str) -> tuple[int, dict[str, Any]] | None:
        row = self._db.execute(
            "SELECT seq, data FROM service_configurations WHERE id = ?", (config_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), dict(json.loads(row[1])))

    def put_configuration(self, config_id: str, data: dict[str, Any]) -> int:
        """Insert (next ``seq``) or update (same ``seq``); returns the ``seq``."""
        existing = self.configuration(config_id)
        if existing is not None:
            seq = existing[0]
        else:
            row = self._db.execute("SELECT MAX(seq) FROM service_configurations").fetchone()
            seq = int(row[0] or 0) + 1
        self._write(
            "INSERT INTO service_configurations VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (config_id, seq, json.dumps(data)),
        )
        return seq

    def delete_configuration(self, config_id: str) -> None:
        self._write("DELETE FROM service_configurations WHERE id = ?", (config_id,))

    # ------------------------------------------------------------------ edge state

    def edge_state(self, device_id: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT data FROM service_edge_state WHERE device_id = ?", (device_id,)
        ).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    def put_edge_state(self, device_id: str, data: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO service_edge_state VALUES (?, ?) "
            "ON CONFLICT(device_id) DO UPDATE SET data = excluded.data",
            (device_id, json.dumps(data)),
        )

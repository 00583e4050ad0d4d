"""The hub's SQLite store: sessions, delivery queues, ``$upstream``, twins, identities.

One database file (``state_dir/hub.sqlite``) in WAL mode with ``synchronous=NORMAL``: a
committed transaction survives a killed process (only an OS crash or power loss can lose the
last transactions). Writes are grouped: the hub calls the ``add_*``/``delete_*`` methods while
it handles a batch of packets and :meth:`commit` once before it sends the PUBACKs of that
batch, so an acknowledged message is always on disk.

Tables: ``identities`` (keys, x509 flag), ``sessions`` (client id -> subscriptions; the
messages in flight are not stored here but in ``queue`` until the client acknowledges them),
``queue`` (rowid order = delivery order; the MQTT topic, payload and an absolute expiry in
epoch seconds), ``upstream`` (seq = rowid, the monitor JSON object), ``twins`` (identity ->
``Twin.to_dict``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HubStore", "QueuedMessage", "StoredIdentity"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS identities (
    client_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    module_id TEXT,
    primary_key TEXT NOT NULL,
    secondary_key TEXT NOT NULL,
    x509 INTEGER NOT NULL DEFAULT 0,
    leaf INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    client_id TEXT PRIMARY KEY,
    subscriptions TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    expiry REAL
);
CREATE INDEX IF NOT EXISTS queue_client ON queue (client_id, id);
CREATE TABLE IF NOT EXISTS upstream (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS twins (
    identity TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    id: int
    client_id: str
    topic: str
    payload: bytes
    expiry: float | None


@dataclass(frozen=True, slots=True)
class StoredIdentity:
    client_id: str
    device_id: str
    module_id: str | None
    primary_key: str
    secondary_key: str
    x509: bool
    leaf: bool


class HubStore:
    """The hub's database; one instance per process, used from the event-loop thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with contextlib.suppress(OSError):  # exotic file systems
            path.chmod(0o600)
        self._in_tx = False

    # ------------------------------------------------------------------ transactions

    @property
    def connection(self) -> sqlite3.Connection:
        """The one connection to the database, for tables kept by other hub parts (the service
        API's); write through it only after :meth:`begin`, and finish with :meth:`commit`."""
        return self._db

    def begin(self) -> None:
        """Open the write transaction :meth:`commit` ends (no-op when one is open)."""
        self._begin()

    def _begin(self) -> None:
        if not self._in_tx:
            self._db.execute("BEGIN")
            self._in_tx = True

    def commit(self) -> None:
        """Make every change since the last commit durable (no-op when nothing changed)."""
        if self._in_tx:
            self._db.execute("COMMIT")
            self._in_tx = False

    def close(self) -> None:
        self.commit()
        self._db.close()

    # ------------------------------------------------------------------ identities

    def identities(self) -> list[StoredIdentity]:
        rows = self._db.execute(
            "SELECT client_id, device_id, module_id, primary_key, secondary_key, x509, leaf "
            "FROM identities ORDER BY rowid"
        )
        return [StoredIdentity(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6])) for r in rows]

    def put_identity(self, identity: StoredIdentity) -> None:
        self._begin()
        self._db.execute(
            "INSERT OR REPLACE INTO identities VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                identity.client_id,
                identity.device_id,
                identity.module_id,
                identity.primary_key,
                identity.secondary_key,
                int(identity.x509),
                int(identity.leaf),
            ),
        )

    def delete_identity(self, client_id: str) -> None:
        """Forget ``client_id`` and all that is kept for it: keys, twin, session, queue."""
        self._begin()
        self._db.execute("DELETE FROM identities WHERE client_id = ?", (client_id,))
        self._db.execute("DELETE FROM twins WHERE identity = ?", (client_id,))
        self._db.execute("DELETE FROM sessions WHERE client_id = ?", (client_id,))
        self._db.execute("DELETE FROM queue WHERE client_id = ?", (client_id,))

    # ------------------------------------------------------------------ sessions

    def sessions(self) -> dict[str, dict[str, int]]:
        return {
            cid: {str(k): int(v) for k, v in json.loads(subs).items()}
            for cid, subs in self._db.execute("SELECT client_id, subscriptions FROM sessions")
        }

    def put_session(self, client_id: str, subscriptions: dict[str, int]) -> None:
        self._begin()
        self._db.execute(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?)",
            (client_id, json.dumps(subscriptions, sort_keys=True)),
        )

    def delete_session(self, client_id: str) -> None:
        self._begin()
        self._db.execute("DELETE FROM sessions WHERE client_id = ?", (client_id,))
        self._db.execute("DELETE FROM queue WHERE client_id = ?", (client_id,))

    # ------------------------------------------------------------------ queues

    def add_queued(self, client_id: str, topic: str, payload: bytes, expiry: float | None) -> int:
        self._begin()
        cur = self._db.execute(
            "INSERT INTO queue (client_id, topic, payload, expiry) VALUES (?, ?, ?, ?)",
            (client_id, topic, payload, expiry),
        )
        return int(cur.lastrowid or 0)

    def delete_queued(self, row_id: int) -> None:
        self._begin()
        self._db.execute("DELETE FROM queue WHERE id = ?", (row_id,))

    def queued(self, now: float | None = None) -> Iterator[QueuedMessage]:
        """Every waiting message in delivery order; expired ones (at ``now``) are deleted."""
        if now is not None:
            self._begin()
            self._db.execute("DELETE FROM queue WHERE expiry IS NOT NULL AND expiry <= ?", (now,))
            self.commit()
        for row in self._db.execute(
            "SELECT id, client_id, topic, payload, expiry FROM queue ORDER BY id"
        ).fetchall():
            yield QueuedMessage(row[0], row[1], row[2], bytes(row[3]), row[4])

    def expire(self, now: float) -> int:
        self._begin()
        cur = self._db.execute("DELETE FROM queue WHERE expiry IS NOT NULL AND expiry <= ?", (now,))
        return cur.rowcount

    def queue_depths(self) -> dict[str, int]:
        return dict(
            self._db.execute("SELECT client_id, COUNT(*) FROM queue GROUP BY client_id").fetchall()
        )

    # ------------------------------------------------------------------ upstream

    def add_upstream(self, data: dict[str, Any]) -> int:
        """Store one ``$upstream`` message; returns its sequence number (1, 2, ...)."""
        self._begin()
        cur = self._db.execute("INSERT INTO upstream (data) VALUES (?)", (json.dumps(data),))
        return int(cur.lastrowid or 0)

    def upstream(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self._db.execute(
            "SELECT seq, data FROM upstream WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        return [(int(seq), json.loads(data)) for seq, data in rows]

    def last_upstream(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM upstream").fetchone()
        return int(row[0] or 0)

    def upstream_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM upstream").fetchone()[0])

    # ------------------------------------------------------------------ twins

    def twins(self) -> dict[str, dict[str, Any]]:
        return {
            ident: json.loads(data)
            for ident, data in self._db.execute("SELECT identity, data FROM twins")
        }

    def put_twin(self, identity: str, data: dict[str, Any]) -> None:
        self._begin()
        self._db.execute("INSERT OR REPLACE INTO twins VALUES (?, ?)", (identity, json.dumps(data)))

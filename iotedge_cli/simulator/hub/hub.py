"""The hub core: MQTT connections over any byte stream, IoT Hub semantics, routing, storage.

Theory of operation
-------------------
Everything runs on one asyncio event loop. :meth:`Hub.handle_stream` owns one connection: it
feeds received bytes to a sans-io :class:`ServerConnection` and handles its events
synchronously (no ``await`` between reading and writing, so no other task can interleave
bytes on that connection), then commits the store and only then sends the PUBACKs of the
batch: an acknowledged message and its routed copies are on disk (hub-protocol §10). The
routed copies are handed to their receivers after that commit too, once per receiver.

Output is coalesced: every write goes through :meth:`Hub._write`, which gathers the bytes per
connection. A connection's own replies (PUBACKs, SUBACK, ...) leave in one write when its chunk
has been handled; bytes for other connections (routed deliveries) leave in one write per
connection per event-loop iteration (a ``call_soon`` flush). So a batch costs one TLS record
and one ``send`` per connection instead of one per packet; order per connection is kept, and
a writer is always flushed before it is closed.

Sessions (``clean_session=0``) live in ``_sessions`` by client id and their subscriptions in
the store; the SDK never re-subscribes. Routed messages for a module input are rows of the
store's queue (deleted on the module's PUBACK) and, in memory, either ``_pending`` (not yet
handed to a connection: offline, or not subscribed yet) or in the session's in-flight window /
queue. After a restart every stored row is pending again (at-least-once). ``$iothub/...``
replies go only to the owning connection and are not stored.

A direct method call (:meth:`Hub.invoke_method`) whose target is not connected or not
subscribed to ``$iothub/methods/POST/#`` waits up to its connect timeout, as IoT Hub does:
on an ``asyncio.Event`` per client id in ``_method_waiters``, set when that client's session
gains the methods subscription (a SUBSCRIBE, or a CONNECT resuming a session that has it), so
no polling; the waiter checks again when woken (it may have disconnected since).

A deployment applied while the hub runs (:meth:`Hub.apply_deployment`) is checked in full
first (:mod:`.deployment`), then written to the deployment file, then applied in one step with
no ``await`` in between: identities of removed modules go (with their twins, sessions and
queues; their connections are closed), new modules get identities, routes are replaced, and
every desired-properties change is pushed to connected clients as IoT Hub would.

Time is wall-clock (``time.time()``) so message expiry survives restarts.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import itertools
import json
import logging
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iotedge_cli.routes.message import Message as RouteMessage
from iotedge_cli.routes.router import DEFAULT_TTL, RouteSpec, route
from iotedge_cli.simulator.hub.config import HubConfig
from iotedge_cli.simulator.hub.iothub import authz, methods
from iotedge_cli.simulator.hub.iothub import topics as hubtopics
from iotedge_cli.simulator.hub.iothub.identity import (
    Identity,
    IdentityRegistry,
    check_connect,
    generate_key,
)
from iotedge_cli.simulator.hub.iothub.twin import DesiredPatch, Twin, TwinPatchError
from iotedge_cli.simulator.hub.protocol import (
    MAX_MESSAGE_SIZE,
    SUBACK_FAILURE,
    ConnackCode,
    ConnectionClosed,
    ConnectRequested,
    Event,
    Message,
    MessageAcknowledged,
    MessageReceived,
    ServerConnection,
    SessionState,
    SubscribeRequested,
    Unsubscribed,
)
from iotedge_cli.simulator.hub.store import HubStore, StoredIdentity

__all__ = ["Hub", "UnknownIdentityError"]

log = logging.getLogger("iotedge_cli.simulator.hub")

AGENT = "$edgeAgent"
EDGE_HUB = "$edgeHub"
_READ_SIZE = 65536
_TICK = 1.0


class UnknownIdentityError(LookupError):
    """No module or device of that name; the message names it and what exists."""


@dataclass
class _Client:
    identity: Identity
    conn: ServerConnection
    writer: asyncio.StreamWriter
    transport: str
    connected_since: str


def _utc_now() -> str:
    return (
        dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _certificate_cn(der: bytes) -> str | None:
    from cryptography import x509  # lazy: heavy import
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else None
    return value if isinstance(value, str) else None


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by the owner only (a manifest can
    hold registry passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@functools.lru_cache(maxsize=256)
def _module_input(sink: str) -> tuple[str, str] | None:
    """``/modules/<m>/inputs/<i>`` -> ``(m, i)``; None for any other sink."""
    parts = sink.split("/")
    if len(parts) != 5 or parts[1] != "modules" or parts[3] != "inputs":
        return None
    return parts[2], parts[4]


class Hub:
    """One simulated edgeHub (see the module docstring)."""

    def __init__(self, config: HubConfig, store: HubStore) -> None:
        self.config = config
        self.store = store
        self.listeners: list[dict[str, Any]] = []
        # the deployment in force: config.manifest, or where apply_deployment wrote one
        self.manifest_path: Path | None = config.manifest
        self.registry = IdentityRegistry()
        self.routes: list[RouteSpec] = []
        self.default_ttl = DEFAULT_TTL
        self.max_inflight = 32
        self.shutdown_requested = asyncio.Event()
        self._clients: dict[str, _Client] = {}
        self._conns: dict[ServerConnection, asyncio.StreamWriter] = {}
        self._sessions: dict[str, SessionState] = {}
        self._pending: dict[str, deque[Message]] = {}
        self._undelivered: dict[str, None] = {}  # client ids with newly routed messages
        self._rowids: dict[int, tuple[int, Message]] = {}
        self._twins: dict[str, Twin] = {}
        self._methods: dict[str, tuple[str, asyncio.Future[tuple[int, Any]]]] = {}
        self._method_waiters: dict[str, asyncio.Event] = {}  # client id -> "subscribed"
        self._next_rid = 1
        self._upstream_event = asyncio.Event()
        self._last_upstream = 0
        self._unsent: dict[asyncio.StreamWriter, list[bytes]] = {}
        self._flush_handle: asyncio.Handle | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._started = False

    # ================================================================== lifecycle

    async def start(self) -> None:
        """Load identities, routes, twins, sessions and queued messages; start the timers."""
        if self._started:
            return
        self._load()
        self._started = True
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    def _load(self) -> None:
        config, store = self.config, self.store
        stored = {s.client_id: s for s in store.identities()}
        existing = {cid: (s.primary_key, s.secondary_key) for cid, s in stored.items()}
        leaves = [(s.device_id, s.x509) for s in stored.values() if s.leaf]
        desired: dict[str, dict[str, Any]] = {}
        if self.manifest_path is not None:
            from iotedge_cli.manifest.loader import load_file
            from iotedge_cli.manifest.model import Manifest
            from iotedge_cli.routes.router import routes_from_manifest, store_and_forward_ttl
            from iotedge_cli.simulator.hub.iothub.identity import identities_from_manifest
            from iotedge_cli.simulator.hub.iothub.twin import desired_from_manifest

            manifest = Manifest.from_doc(load_file(self.manifest_path))
            self.registry = identities_from_manifest(
                manifest, config.device_id, leaf_devices=leaves, existing=existing
            )
            specs, problems = routes_from_manifest(manifest)
            for problem in problems:
                log.warning("route %s is not used: %s", problem.name, problem.message)
            self.routes = specs
            self.default_ttl = store_and_forward_ttl(manifest)
            for ident in self.registry:
                if ident.module_id is not None:
                    desired[ident.id] = desired_from_manifest(manifest, ident.module_id)
        else:
            registry = IdentityRegistry()
            names = [AGENT, EDGE_HUB]
            if config.single_module is not None:
                names.append(config.single_module[0])
            for name in names:
                cid = f"{config.device_id}/{name}"
                primary, secondary = existing.get(cid) or (generate_key(), generate_key())
                registry.add(Identity(config.device_id, name, primary, secondary))
            for leaf, x509 in leaves:
                primary, secondary = existing[leaf]
                registry.add(Identity(leaf, None, primary, secondary, x509))
            self.registry = registry
            if config.single_module is not None:
                from iotedge_cli.routes.parser import parse_route

                text = f"FROM /messages/modules/{config.single_module[0]}/* INTO $upstream"
                self.routes = [RouteSpec("upstream", text, parse_route(text))]
        for ident in self.registry:
            if ident.id not in stored:
                store.put_identity(self._stored(ident, leaf=False))
        twins = store.twins()
        for ident in self.registry:
            data = twins.get(ident.id)
            if data is not None:
                twin = Twin.from_dict(data)
                wanted = desired.get(ident.id)
                if wanted is not None and wanted != twin.desired:
                    twin.replace_desired(wanted)  # the manifest changed since last run
                    store.put_twin(ident.id, twin.to_dict())
            else:
                twin = Twin.from_desired(desired.get(ident.id, {}))
                store.put_twin(ident.id, twin.to_dict())
            self._twins[ident.id] = twin
        for cid, subs in store.sessions().items():
            self._sessions[cid] = SessionState(cid, dict(subs))
        for row in store.queued(time.time()):
            message = Message(row.topic, row.payload, 1, False, row.expiry)
            self._rowids[id(message)] = (row.id, message)
            self._pending.setdefault(row.client_id, deque()).append(message)
        self._last_upstream = store.last_upstream()
        store.commit()

    @staticmethod
    def _stored(ident: Identity, *, leaf: bool) -> StoredIdentity:
        return StoredIdentity(
            ident.id,
            ident.device_id,
            ident.module_id,
            ident.primary_key,
            ident.secondary_key,
            ident.x509,
            leaf,
        )

    async def stop(self) -> None:
        """Close every connection (sessions are kept), fail pending method calls, commit."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for conn, writer in list(self._conns.items()):
            conn.close("the hub is shutting down")
            self._close_writer(writer)
        self._flush_all()
        for _cid, future in self._methods.values():
            if not future.done():
                future.set_result((503, {"message": "the hub stopped before the module answered"}))
        self._started = False
        self._wake_method_waiters()  # they see the hub stopped
        self.store.commit()

    def request_shutdown(self) -> None:
        """Ask ``run.serve`` to stop the hub gracefully (admin API ``POST /shutdown``)."""
        self.shutdown_requested.set()

    async def _tick_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(_TICK)
            now = time.time()
            for conn, writer in list(self._conns.items()):
                if conn.tick(now):
                    log.info("closing %s: %s", conn.client_id or "a client", conn.close_reason)
                    self._write(writer, conn.data_to_send())
                    self._close_writer(writer)
            ticks += 1
            if ticks % 30 == 0:
                self.store.expire(now)
                self.store.commit()

    # ================================================================== connections

    async def handle_stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        transport: str = "tcp",
        peer_cert: bytes | None = None,
    ) -> None:
        """Serve one MQTT connection on ``reader``/``writer`` until it closes."""
        conn = ServerConnection(time.time(), max_inflight=self.max_inflight)
        self._conns[conn] = writer
        state: list[_Client | None] = [None]
        try:
            while True:
                try:
                    data = await reader.read(_READ_SIZE)
                except (ConnectionError, OSError):
                    break
                if not data:
                    break
                now = time.time()
                events = conn.receive_data(data, now)
                self._write(writer, conn.data_to_send())
                closed = self._handle_events(conn, writer, state, events, transport, peer_cert)
                self._flush_writer(writer)  # this chunk's replies: one write
                if closed:
                    break
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._conns.pop(conn, None)
            client = state[0]
            if client is not None:
                cid = client.identity.id
                if self._clients.get(cid) is client:
                    del self._clients[cid]
                if conn.clean_session:
                    self._sessions.pop(cid, None)
                log.info("%s disconnected: %s", cid, conn.close_reason or "connection lost")
            conn.close("connection lost")
            self._close_writer(writer)
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    def _handle_events(
        self,
        conn: ServerConnection,
        writer: asyncio.StreamWriter,
        state: list[_Client | None],
        events: list[Event],
        transport: str,
        peer_cert: bytes | None,
    ) -> bool:
        """Handle a batch of events; returns True when the connection is over."""
        acks: list[int] = []
        closed = False
        queue = deque(events)
        while queue:
            event = queue.popleft()
            now = time.time()
            if isinstance(event, MessageReceived):
                client = state[0]
                assert client is not None
                publish = event.publish
                if self._on_publish(client, publish.topic, publish.payload, now):
                    if publish.qos and publish.packet_id is not None:
                        acks.append(publish.packet_id)
                else:
                    closed = True
            elif isinstance(event, MessageAcknowledged):
                entry = self._rowids.get(id(event.message))
                if entry is not None and entry[1] is event.message:
                    del self._rowids[id(event.message)]
                    self.store.delete_queued(entry[0])
            elif isinstance(event, ConnectRequested):
                client = self._on_connect(conn, writer, event, transport, peer_cert, now)
                if client is None:
                    closed = True
                else:
                    state[0] = client
                    queue.extend(conn.receive_data(b"", now))
                    self._write(writer, conn.data_to_send())
            elif isinstance(event, SubscribeRequested):
                client = state[0]
                assert client is not None
                ident = client.identity
                granted = [
                    min(sub.qos, 1)
                    if authz.may_subscribe(ident.device_id, ident.module_id, sub.topic_filter)
                    else SUBACK_FAILURE
                    for sub in event.subscriptions
                ]
                for sub, code in zip(event.subscriptions, granted, strict=True):
                    if code == SUBACK_FAILURE:
                        log.warning(
                            "%s: subscription refused: %s",
                            ident.id,
                            authz.may_subscribe(
                                ident.device_id, ident.module_id, sub.topic_filter
                            ).reason,
                        )
                self._write(writer, conn.suback(event.packet_id, granted))
                self._save_session(conn)
                self._flush_pending(client, now)
                self._methods_ready(client)
            elif isinstance(event, Unsubscribed):
                self._save_session(conn)
            elif isinstance(event, ConnectionClosed):
                closed = True
        self.store.commit()
        self._deliver_routed(time.time())
        for packet_id in acks:  # only now: the messages are on disk
            self._write(writer, conn.ack(packet_id))
        if closed:
            self._write(writer, conn.data_to_send())
        return closed

    # ================================================================== output

    def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Queue ``data`` for ``writer``; it leaves with the writer's next flush (the end of
        its connection's chunk, or the ``call_soon`` flush of this loop iteration)."""
        if not data:
            return
        chunks = self._unsent.get(writer)
        if chunks is None:
            self._unsent[writer] = [data]
        else:
            chunks.append(data)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_soon)

    def _flush_writer(self, writer: asyncio.StreamWriter) -> None:
        """Write what is queued for ``writer`` now, in one write."""
        chunks = self._unsent.pop(writer, None)
        if chunks:
            writer.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def _flush_soon(self) -> None:
        self._flush_handle = None
        self._flush_all()

    def _flush_all(self) -> None:
        """Write what is queued for every writer (one write each)."""
        while self._unsent:
            self._flush_writer(next(iter(self._unsent)))

    def _close_writer(self, writer: asyncio.StreamWriter) -> None:
        self._flush_writer(writer)
        writer.close()

    def _save_session(self, conn: ServerConnection) -> None:
        session = conn.session
        if session is not None and not conn.clean_session:
            self.store.put_session(session.client_id, dict(session.subscriptions))

    def _on_connect(
        self,
        conn: ServerConnection,
        writer: asyncio.StreamWriter,
        event: ConnectRequested,
        transport: str,
        peer_cert: bytes | None,
        now: float,
    ) -> _Client | None:
        connect = event.connect
        result = check_connect(
            client_id=connect.client_id,
            username=connect.username,
            password=connect.password,
            registry=self.registry,
            iothub_hostname=self.config.iothub_hostname,
            gateway_hostname=self.config.gateway_hostname,
            now=now,
            certificate_cn=None if peer_cert is None else _certificate_cn(peer_cert),
        )
        if not result.accepted or result.identity is None:
            log.warning(
                "CONNECT %r refused (CONNACK %d): %s",
                connect.client_id,
                int(result.code),
                result.reason,
            )
            self._write(writer, conn.refuse(ConnackCode(int(result.code))))
            return None
        identity = result.identity
        cid = identity.id
        old = self._clients.pop(cid, None)
        if old is not None:
            log.info("%s: a new connection takes over the session", cid)
            old.conn.close("another connection with the same client id took over")
            self._close_writer(old.writer)
        if connect.clean_session:
            self._sessions.pop(cid, None)
            self.store.delete_session(cid)
        self._write(writer, conn.accept(self._sessions.get(cid), now))
        session = conn.session
        assert session is not None
        if not connect.clean_session:
            self._sessions[cid] = session
            self._save_session(conn)
        client = _Client(identity, conn, writer, transport, _utc_now())
        self._clients[cid] = client
        log.info("%s connected over %s", cid, transport)
        self._flush_pending(client, now)
        self._methods_ready(client)  # a resumed session may hold the methods subscription
        return client

    # ================================================================== publishes from clients

    def _on_publish(self, client: _Client, topic: str, payload: bytes, now: float) -> bool:
        """Handle a client's PUBLISH; False when the connection must close."""
        ident = client.identity
        parsed = hubtopics.parse_publish(topic)
        if isinstance(parsed, hubtopics.Telemetry):
            decision = authz.may_publish(ident.device_id, ident.module_id, topic)
            if not decision:
                log.warning("%s: closing: %s", ident.id, decision.reason)
                client.conn.close(decision.reason)
                return False
            bag = parsed.properties
            size = len(payload) + sum(
                len(k) + len(v) for d in (bag.system, bag.application) for k, v in d.items()
            )
            if size > MAX_MESSAGE_SIZE:
                reason = f"message of {size} bytes exceeds the 256 KiB limit; send less"
                log.warning("%s: closing: %s", ident.id, reason)
                client.conn.close(reason)
                return False
            self._route(ident, dict(bag.system), dict(bag.application), payload, now)
        elif isinstance(parsed, hubtopics.TwinGet):
            twin = self._twins.setdefault(ident.id, Twin())
            self._send(client, hubtopics.twin_response_topic(200, parsed.rid), twin.get_response())
        elif isinstance(parsed, hubtopics.TwinReportedPatch):
            twin = self._twins.setdefault(ident.id, Twin())
            try:
                version = twin.patch_reported(payload)
            except TwinPatchError as exc:
                log.warning("%s: reported patch refused: %s", ident.id, exc)
                self._send(client, hubtopics.twin_response_topic(400, parsed.rid), b"")
            else:
                self.store.put_twin(ident.id, twin.to_dict())
                self._send(client, hubtopics.twin_response_topic(204, parsed.rid, version), b"")
                self._twin_change(ident, payload, version, now)
        elif isinstance(parsed, hubtopics.MethodResponse):
            entry = self._methods.get(parsed.rid)
            if entry is not None and entry[0] == ident.id and not entry[1].done():
                entry[1].set_result((parsed.status, methods.decode_response_payload(payload)))
            else:
                log.warning("%s: method response for unknown $rid %r", ident.id, parsed.rid)
        elif isinstance(parsed, hubtopics.UnknownTwinRequest):
            log.warning("%s: unknown twin operation %r", ident.id, parsed.operation)
            self._send(client, hubtopics.twin_response_topic(400, parsed.rid), b"")
        else:
            log.warning("%s: dropped a message on %r: %s", ident.id, topic, parsed.reason)
        return True

    def _send(self, client: _Client, topic: str, payload: bytes) -> None:
        """Publish on the client's own connection if it subscribed (``$iothub`` replies)."""
        conn = client.conn
        session = conn.session
        qos = None if session is None else session.match(topic)
        if qos is None:
            log.warning("%s has no subscription for %r; not sent", client.identity.id, topic)
            return
        self._write(client.writer, conn.publish(Message(topic, payload, min(qos, 1)), time.time()))

    # ================================================================== routing

    def _route(
        self,
        sender: Identity,
        system: dict[str, str],
        application: dict[str, str],
        body: bytes,
        now: float,
    ) -> None:
        system["connectionDeviceId"] = sender.device_id
        if sender.module_id is not None:
            system["connectionModuleId"] = sender.module_id
        message = RouteMessage(body, system, application)
        decision = route(self.routes, message, default_ttl=self.default_ttl)
        if not decision.deliveries:
            log.info("%s: no route matched %s", sender.id, decision.source)
        for delivery in decision.deliveries:
            expiry = None if delivery.ttl < 0 else now + delivery.ttl
            if delivery.sink == "$upstream":
                self._add_upstream(message, decision.source)
            else:
                target = _module_input(delivery.sink)
                if target is None:
                    log.warning("route %s: cannot deliver to %s", delivery.route, delivery.sink)
                    continue
                self._enqueue(target[0], target[1], system, application, body, expiry)

    def _twin_change(self, ident: Identity, patch: bytes, version: int, now: float) -> None:
        if not self.routes:
            return
        system = {
            "messageType": "twinChangeNotification",
            "contentType": "application/json",
            "contentEncoding": "utf-8",
            "version": str(version),
        }
        self._route(ident, system, {}, patch, now)

    def _enqueue(
        self,
        module_id: str,
        input_name: str,
        system: dict[str, str],
        application: dict[str, str],
        body: bytes,
        expiry: float | None,
    ) -> None:
        device_id = self.config.device_id
        cid = f"{device_id}/{module_id}"
        topic = hubtopics.input_topic(device_id, module_id, input_name, system, application)
        row_id = self.store.add_queued(cid, topic, body, expiry)
        message = Message(topic, body, 1, False, expiry)
        self._rowids[id(message)] = (row_id, message)
        self._pending.setdefault(cid, deque()).append(message)
        self._undelivered[cid] = None

    def _deliver_routed(self, now: float) -> None:
        """Hand what :meth:`_enqueue` queued to the connected clients, once per client (after
        the batch's commit: a module never sees a message the hub could still lose)."""
        while self._undelivered:
            cid = next(iter(self._undelivered))
            del self._undelivered[cid]
            client = self._clients.get(cid)
            if client is not None:
                self._flush_pending(client, now)

    def _flush_pending(self, client: _Client, now: float) -> None:
        pending = self._pending.get(client.identity.id)
        session = client.conn.session
        if not pending or session is None:
            return
        keep: deque[Message] = deque()
        out: list[bytes] = []
        conn = client.conn
        while pending:
            message = pending.popleft()
            if message.expired(now):
                entry = self._rowids.pop(id(message), None)
                if entry is not None:
                    self.store.delete_queued(entry[0])
                continue
            if session.match(message.topic) is None:
                keep.append(message)
            else:
                out.append(conn.publish(message, now))
        pending.extend(keep)
        if out:
            self._write(client.writer, b"".join(out))

    def _add_upstream(self, message: RouteMessage, source: str) -> None:
        system = message.system_properties
        body = message.body
        record: dict[str, Any] = {
            "source": source,
            "connectionDeviceId": system.get("connectionDeviceId"),
            "connectionModuleId": system.get("connectionModuleId"),
            "outputName": system.get("outputName"),
            "properties": dict(message.properties),
            "systemProperties": {
                k: v
                for k, v in system.items()
                if k not in ("connectionDeviceId", "connectionModuleId", "outputName")
            },
            "enqueuedTime": _utc_now(),
        }
        try:
            record["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            record["body"] = base64.b64encode(body).decode("ascii")
            record["bodyEncoding"] = "base64"
        self._last_upstream = self.store.add_upstream(record)
        event, self._upstream_event = self._upstream_event, asyncio.Event()
        event.set()

    # ================================================================== API for HTTP / CLI

    def _client_id(self, identity: str) -> str:
        """``moduleId`` (of the edge device), ``deviceId`` (leaf) or a client id ``d/m``."""
        if "/" in identity:
            if identity in self.registry.by_id:
                return identity
        else:
            module = f"{self.config.device_id}/{identity}"
            if module in self.registry.by_id:
                return module
            if identity in self.registry.by_id:
                return identity
        known = ", ".join(i.module_id or i.device_id for i in self.registry)
        raise UnknownIdentityError(f"no module or device named {identity!r}; known: {known}")

    async def invoke_method(
        self,
        *,
        device_id: str,
        module_id: str | None,
        method: str,
        payload: Any,
        timeout: float,
        connect_timeout: float = 0.0,
        caller: str | None = None,
    ) -> tuple[int, Any]:
        """Call ``method`` on a client: ``(its status, its payload)``, or ``(404, {"message"})``
        when it is not connected and subscribed to methods within ``connect_timeout`` seconds
        (0: now; an unknown identity is not waited for), or ``(504, {"message"})`` when it does
        not answer within ``timeout`` seconds of the request being sent."""
        cid = device_id if module_id is None else f"{device_id}/{module_id}"
        rid = str(self._next_rid)
        self._next_rid += 1
        topic = hubtopics.method_request_topic(method, rid)
        target = self._method_target(cid, topic)
        waited = 0.0
        if target is None and connect_timeout > 0 and cid in self.registry.by_id:
            waited = connect_timeout
            target = await self._wait_method_target(cid, topic, connect_timeout)
            if not self._started:
                return 503, {"message": "the hub stopped before the module connected"}
        if target is None:
            result = methods.not_found(cid, waited)
            return result.status, result.body
        client, qos = target
        future: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        self._methods[rid] = (cid, future)
        log.info("method %s on %s (rid %s) from %s", method, cid, rid, caller or "the hub API")
        try:
            message = Message(topic, methods.encode_request_payload(payload), min(qos, 1))
            self._write(client.writer, client.conn.publish(message, time.time()))
            try:
                return await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError:
                result = methods.timed_out(cid, method, timeout)
                return result.status, result.body
        finally:
            self._methods.pop(rid, None)

    def _method_target(self, cid: str, topic: str) -> tuple[_Client, int] | None:
        """The connection of ``cid`` and the QoS of its subscription to ``topic``, if both."""
        client = self._clients.get(cid)
        session = None if client is None else client.conn.session
        qos = None if session is None else session.match(topic)
        return None if client is None or qos is None else (client, qos)

    async def _wait_method_target(
        self, cid: str, topic: str, seconds: float
    ) -> tuple[_Client, int] | None:
        """Wait up to ``seconds`` for ``cid`` to connect and subscribe to methods."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        log.info("method call: waiting up to %gs for %s to connect", seconds, cid)
        while (target := self._method_target(cid, topic)) is None:
            remaining = deadline - loop.time()
            if remaining <= 0 or not self._started or cid not in self.registry.by_id:
                return None
            waiter = self._method_waiters.setdefault(cid, asyncio.Event())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter.wait(), remaining)
        return target

    def _methods_ready(self, client: _Client) -> None:
        """Wake the method calls waiting for ``client`` if it is now subscribed to methods."""
        cid = client.identity.id
        waiter = self._method_waiters.get(cid)
        probe = hubtopics.method_request_topic("any", "0")
        if waiter is not None and self._method_target(cid, probe) is not None:
            del self._method_waiters[cid]
            waiter.set()

    def _wake_method_waiters(self, cid: str | None = None) -> None:
        """Wake the calls waiting for ``cid`` (None: all); they check again why they wait."""
        for key in [cid] if cid is not None else list(self._method_waiters):
            waiter = self._method_waiters.pop(key, None)
            if waiter is not None:
                waiter.set()

    async def inject(
        self,
        *,
        module_id: str,
        input_name: str,
        body: bytes,
        properties: dict[str, str] | None = None,
        system_properties: dict[str, str] | None = None,
    ) -> None:
        """Queue a message for ``module_id``'s input ``input_name`` (stored before returning).

        ``system_properties`` use edgeHub names (``contentType``, ``contentEncoding``,
        ``messageId`` ...).
        """
        cid = self._client_id(module_id)
        ident = self.registry.by_id[cid]
        if ident.module_id is None:
            raise UnknownIdentityError(f"{module_id!r} is a device, not a module; inputs are")
        now = time.time()
        self._enqueue(
            ident.module_id,
            input_name,
            dict(system_properties or {}),
            dict(properties or {}),
            body,
            now + self.default_ttl if self.default_ttl >= 0 else None,
        )
        self.store.commit()
        self._deliver_routed(now)

    def twin(self, identity: str) -> dict[str, Any]:
        cid = self._client_id(identity)
        return self._twins.setdefault(cid, Twin()).document()

    async def patch_desired(self, identity: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` into the desired properties and push it to the connected client.

        Raises ``ValueError`` (a ``TwinPatchError``) for a patch IoT Hub refuses.
        """
        cid = self._client_id(identity)
        twin = self._twins.setdefault(cid, Twin())
        desired = twin.patch_desired(patch)
        self.store.put_twin(cid, twin.to_dict())
        self.store.commit()
        self._push_desired(cid, desired)
        return twin.document()

    def _push_desired(self, cid: str, desired: DesiredPatch) -> None:
        """Send a desired-properties patch to ``cid`` if it is connected and subscribed."""
        client = self._clients.get(cid)
        if client is not None:
            topic = hubtopics.desired_patch_topic(desired.version)
            session = client.conn.session
            if session is not None and session.match(topic) is not None:
                self._send(client, topic, desired.encode())

    async def patch_reported(self, identity: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` into the reported properties as if the identity had sent it (how
        the host agent reports ``$edgeAgent``); the twin document. Raises ``ValueError`` (a
        ``TwinPatchError``) for a patch IoT Hub refuses, with the twin unchanged."""
        cid = self._client_id(identity)
        ident = self.registry.by_id[cid]
        twin = self._twins.setdefault(cid, Twin())
        version = twin.patch_reported(patch)
        self.store.put_twin(cid, twin.to_dict())
        now = time.time()
        # edgeAgent and edgeHub talk to IoT Hub directly: no twin change notification routed
        if ident.module_id not in (AGENT, EDGE_HUB):
            self._twin_change(ident, json.dumps(patch).encode("utf-8"), version, now)
        self.store.commit()
        self._deliver_routed(now)
        return twin.document()

    async def apply_deployment(self, data: dict[str, Any]) -> dict[str, Any]:
        """Apply a generated deployment manifest in place (see the module docstring).

        Raises ``ValueError`` (a ``DeploymentError``) for a body that cannot be deployed; then
        nothing changed. Returns ``{"added", "removed", "desiredChanged", "routes"}``: module
        names, module twins whose desired properties changed (``$edgeAgent``, ``$edgeHub``
        included), and the number of routes now in force.
        """
        from iotedge_cli.simulator.hub.deployment import parse_deployment

        deployment = parse_deployment(data)
        path = self._deployment_path()
        _write_private(path, deployment.text)
        self.manifest_path = path
        device = self.config.device_id
        wanted = set(deployment.modules)
        modules = [i.module_id for i in self.registry if i.device_id == device and i.module_id]
        removed = [m for m in modules if m not in (AGENT, EDGE_HUB) and m not in wanted]
        added = [m for m in deployment.modules if self.registry.get(device, m) is None]
        for module in removed:
            self._remove_identity(f"{device}/{module}", "removed from the deployment")
        for module in added:
            cid = f"{device}/{module}"
            self._remove_identity(cid, "replaced")  # remnants of an earlier run, if any
            ident = Identity(device, module, generate_key(), generate_key())
            self.registry.add(ident)
            self.store.put_identity(self._stored(ident, leaf=False))
            twin = Twin.from_desired(deployment.desired.get(module, {}))
            self._twins[cid] = twin
            self.store.put_twin(cid, twin.to_dict())
        changed: list[str] = []
        pushes: list[tuple[str, DesiredPatch]] = []
        for ident in self.registry:
            name = ident.module_id
            if ident.device_id != device or name is None or name in added:
                continue
            twin = self._twins.setdefault(ident.id, Twin())
            patch = twin.replace_desired(deployment.desired.get(name, {}))
            if patch is not None:
                self.store.put_twin(ident.id, twin.to_dict())
                changed.append(name)
                pushes.append((ident.id, patch))
        self.routes = list(deployment.routes)
        self.default_ttl = deployment.default_ttl
        self.store.commit()
        for cid, patch in pushes:
            self._push_desired(cid, patch)
        log.info(
            "deployment applied: added %s, removed %s, desired changed %s, %d routes",
            added or "none",
            removed or "none",
            changed or "none",
            len(self.routes),
        )
        routes = len(self.routes)
        return {"added": added, "removed": removed, "desiredChanged": changed, "routes": routes}

    def _deployment_path(self) -> Path:
        """Where a deployment is stored: the hub's manifest when it lives in the state dir
        (the agent mode's ``deployment.json``), else ``state_dir/deployment.json`` (a
        ``--hub-only`` hub never overwrites the user's own manifest)."""
        state = self.config.state_dir.resolve()
        current = self.manifest_path
        if current is not None and current.resolve().parent == state:
            return current
        return state / "deployment.json"

    def _remove_identity(self, cid: str, reason: str) -> None:
        """Forget a module identity: close its connection, drop its twin, session and queued
        messages (in memory and in the store), fail its pending method calls."""
        client = self._clients.pop(cid, None)
        sessions = [self._sessions.pop(cid, None)]
        if client is not None:
            log.info("%s: disconnecting: %s", cid, reason)
            sessions.append(client.conn.session)
            client.conn.close(f"the module was {reason}")
            self._close_writer(client.writer)
        dropped = itertools.chain(
            self._pending.pop(cid, ()),
            *((*s.inflight.values(), *s.queue) for s in sessions if s is not None),
        )
        for message in dropped:
            self._rowids.pop(id(message), None)
        self._undelivered.pop(cid, None)
        for rid, (owner, future) in list(self._methods.items()):
            if owner == cid and not future.done():
                result = methods.not_found(cid)
                future.set_result((result.status, result.body))
                self._methods.pop(rid, None)
        self.registry.by_id.pop(cid, None)
        self._wake_method_waiters(cid)  # an identity that is gone is not waited for
        self._twins.pop(cid, None)
        self.store.delete_identity(cid)

    def upstream(self, after: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        """``$upstream`` messages with ``seq > after`` (oldest first) and the last ``seq``
        returned (``after`` when there is none)."""
        rows = self.store.upstream(after, limit)
        messages = [{"seq": seq, **data} for seq, data in rows]
        return messages, (rows[-1][0] if rows else after)

    async def wait_upstream(self, after: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._last_upstream <= after:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._upstream_event.wait(), remaining)
            except asyncio.TimeoutError:
                return

    def add_device(self, device_id: str, *, x509: bool = False) -> dict[str, Any]:
        """A leaf device identity (kept if it exists); its keys and connection string."""
        existing = self.registry.get(device_id)
        if existing is None:
            if device_id == self.config.device_id or "/" in device_id or not device_id:
                raise ValueError(
                    f"device id {device_id!r} is the edge device's own id or not a device id; "
                    "choose another name"
                )
            existing = Identity(device_id, None, generate_key(), generate_key(), x509)
            self.registry.add(existing)
            self.store.put_identity(self._stored(existing, leaf=True))
            twin = Twin()
            self._twins[device_id] = twin
            self.store.put_twin(device_id, twin.to_dict())
            self.store.commit()
        return {
            "deviceId": existing.device_id,
            "x509": existing.x509,
            "primaryKey": existing.primary_key,
            "secondaryKey": existing.secondary_key,
            "connectionString": existing.connection_string(
                self.config.iothub_hostname, self.config.gateway_hostname
            ),
        }

    def connection_info(self, module_id: str) -> dict[str, str]:
        ident = self.registry.by_id.get(self._client_id(module_id))
        assert ident is not None
        return {
            "EdgeHubConnectionString": ident.connection_string(
                self.config.iothub_hostname, self.config.gateway_hostname
            ),
            "EdgeModuleCACertificateFile": str(self.config.ca_cert),
        }

    def sign(self, module_id: str, generation_id: str, data: bytes) -> bytes:
        """The workload API's sign: HMAC-SHA256 of ``data`` with the module's primary key
        (the generation id is not checked)."""
        ident = self.registry.by_id.get(self._client_id(module_id))
        assert ident is not None
        try:
            key = base64.b64decode(ident.primary_key, validate=True)
        except binascii.Error as exc:  # pragma: no cover - keys are validated on creation
            raise ValueError(f"the key of {ident.id} is not base64") from exc
        return hmac.new(key, data, hashlib.sha256).digest()

    def status(self) -> dict[str, Any]:
        return {
            "listeners": list(self.listeners),
            "identities": [
                {
                    "id": ident.id,
                    "deviceId": ident.device_id,
                    "moduleId": ident.module_id,
                    "type": "module" if ident.module_id is not None else "device",
                    "x509": ident.x509,
                    "connected": ident.id in self._clients,
                }
                for ident in self.registry
            ],
            "clients": [
                {
                    "clientId": cid,
                    "transport": client.transport,
                    "connectedSince": client.connected_since,
                }
                for cid, client in self._clients.items()
            ],
            "queues": self.store.queue_depths(),
            "upstream": self.store.upstream_count(),
        }

"""The policy service on asyncio: TCP and UNIX listeners, persistent connections.

Each smtpd process keeps one connection and sends one request at a time; this server answers
them in order per connection and serves all connections concurrently. It never hangs its
caller: a backend call is bounded by ``backend_timeout`` and answered by the configured
fallback when it fails (a hung policy service costs Postfix 2 x its timeout + 1 s per request,
shared/notes/postfix-policy-protocol.md §1.5). A connection that breaks the protocol is closed
without a reply (the protocol's rule); an idle one is closed after ``idle_timeout``; past
``max_connections`` a new one is closed at once. None of this touches the other connections.

With the memory backend a decision runs synchronously inside ``data_received`` (no task per
request); with Redis each connection's requests are served by one task in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from saslscope.policy.backend import BackendError, MemoryBackend, StateBackend
from saslscope.detect.state import Answer, Op
from saslscope.policy.decide import ConnectionState, Decider
from saslscope.policy.protocol import PolicyParser, PolicyProtocolError, PolicyRequest, encode_action

log = logging.getLogger("saslscope.policy")
conn_log = logging.getLogger("saslscope.policy.conn")


@dataclass(frozen=True)
class Endpoint:
    """``127.0.0.1:10040``, ``[::1]:10040`` or ``unix:/run/saslscope/policy.sock``."""

    host: str | None
    port: int | None
    path: str | None = None

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        if text.startswith("unix:"):
            path = text[5:]
            if not path.startswith("/"):
                raise ValueError(f"{text!r}: a UNIX socket needs an absolute path (unix:/run/x.sock)")
            return cls(None, None, path)
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{text!r}: write HOST:PORT (127.0.0.1:10040, [::1]:10040) or unix:/path")
        return cls(host.strip("[]") or "127.0.0.1", int(port))

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix:{self.path}"
        return f"[{self.host}]:{self.port}" if self.host and ":" in self.host else f"{self.host}:{self.port}"


class PolicyServer:
    """Listeners, connections and the bounded call to the backend around one :class:`Decider`."""

    def __init__(self, decider: Decider, backend: StateBackend) -> None:
        self.decider = decider
        self.backend = backend
        self.metrics = decider.metrics
        settings = decider.settings
        self.timeout = settings.backend_timeout
        self.idle_timeout = settings.idle_timeout
        self.max_connections = settings.max_connections
        self.connections: set[PolicyConnection] = set()
        self.servers: list[asyncio.Server] = []
        self._last_backend_log = 0.0
        self._suppressed = 0
        self.sync = backend.apply_now if isinstance(backend, MemoryBackend) else None
        self.loop_time = time.monotonic  # asyncio's and uvloop's loop.time() read this clock

    async def listen(self, endpoints: Sequence[Endpoint]) -> list[str]:
        """Start listening; the addresses actually bound (port 0 gets one)."""
        loop = asyncio.get_running_loop()
        bound = []
        for endpoint in endpoints:
            if endpoint.path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(endpoint.path)
                server = await loop.create_unix_server(lambda: PolicyConnection(self), endpoint.path, backlog=1024)
                bound.append(f"unix:{endpoint.path}")
            else:
                assert endpoint.port is not None
                server = await loop.create_server(lambda: PolicyConnection(self), endpoint.host, endpoint.port,
                                                  backlog=1024, reuse_address=True)
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    bound.append(str(Endpoint(host, port)))
            self.servers.append(server)
        return bound

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for conn in list(self.connections):
            conn.close()
        for server in self.servers:
            await server.wait_closed()
        await self.backend.close()

    def decide_now(self, request: PolicyRequest, conn: ConnectionState) -> str:
        """The memory backend's path: one synchronous decision."""
        assert self.sync is not None
        started = time.perf_counter()
        decider = self.decider
        pending = decider.begin(request, conn, time.time())
        outcome = decider.finish(pending, self.sync(pending.ops, pending.now))
        follow = self.sync(outcome.follow_ops, pending.now) if outcome.follow_ops else []
        reply = decider.settle(outcome, follow)
        self._done(request, started)
        return reply

    async def decide(self, request: PolicyRequest, conn: ConnectionState) -> str:
        """A decision against an asynchronous backend, each call bounded by ``backend_timeout``."""
        started = time.perf_counter()
        decider = self.decider
        pending = decider.begin(request, conn, time.time())
        try:
            answers = await self._call(pending.ops, pending.now)
        except BackendError as exc:
            self._backend_failed(str(exc))
            reply = decider.fallback()
        else:
            outcome = decider.finish(pending, answers)
            follow = None
            if outcome.follow_ops:
                try:
                    follow = await self._call(outcome.follow_ops, pending.now)
                except BackendError as exc:
                    self._backend_failed(str(exc))
            reply = decider.settle(outcome, follow)
        self._done(request, started)
        return reply

    async def _call(self, ops: Sequence[Op], now: float) -> list[Answer]:
        try:
            async with asyncio.timeout(self.timeout):
                return await self.backend.apply(ops, now)
        except TimeoutError:
            raise BackendError(f"no answer within {self.timeout * 1000:g} ms") from None

    def _done(self, request: PolicyRequest, started: float) -> None:
        self.metrics.request(request.protocol_state)
        self.metrics.latency.observe(time.perf_counter() - started)

    def _backend_failed(self, error: str) -> None:
        self.metrics.backend_error(self.backend.name, "timeout" if error.startswith("no answer") else "error")
        # one line per second at most: a dead backend under load must not flood the log
        now = time.monotonic()
        if now - self._last_backend_log >= 1.0:
            more = f" ({self._suppressed} more since the last report)" if self._suppressed else ""
            log.error("%s backend failed: %s; answering %s%s", self.backend.name, error,
                      self.decider.settings.on_backend_error.upper(), more)
            self._last_backend_log, self._suppressed = now, 0
        else:
            self._suppressed += 1


class PolicyConnection(asyncio.Protocol):
    """One client connection (one smtpd process): requests in, answers out, in order."""

    def __init__(self, server: PolicyServer) -> None:
        self.server = server
        self.parser = PolicyParser()
        self.state = ConnectionState()
        self.transport: asyncio.Transport | None = None
        self.queue: deque[PolicyRequest] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.idle: asyncio.TimerHandle | None = None
        self.active = 0.0   # loop time of the last complete request
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's is not an asyncio.Transport subclass)
        self.transport = stream = transport  # type: ignore[assignment]
        server = self.server
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "unix"
        if len(server.connections) >= server.max_connections:
            server.metrics.refused.inc()
            log.warning("connection from %s closed: %d connections open (max_connections)", self.peer, len(server.connections))
            stream.abort()  # type: ignore[attr-defined]
            return
        server.connections.add(self)
        server.metrics.connections.inc()
        self.active = asyncio.get_running_loop().time()
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.server.connections:
            self.server.connections.discard(self)
            self.server.metrics.connections.dec()
        if self.idle is not None:
            self.idle.cancel()
        if self.worker is not None:
            self.worker.cancel()
        self.transport = None

    def _arm_idle(self) -> None:
        self.idle = asyncio.get_running_loop().call_later(self.server.idle_timeout, self._idle_check)

    def _idle_check(self) -> None:
        """The idle timer fires ``idle_timeout`` after it was armed; a request since then (which
        only notes its time: no timer is re-armed per request) puts the deadline later."""
        idle_for = asyncio.get_running_loop().time() - self.active
        if idle_for < self.server.idle_timeout:
            self.idle = asyncio.get_running_loop().call_later(self.server.idle_timeout - idle_for, self._idle_check)
            return
        self._idle_close()

    def _idle_close(self) -> None:
        conn_log.info("connection from %s idle for %g s: closed", self.peer, self.server.idle_timeout)
        self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        try:
            requests = self.parser.receive_data(data)
        except PolicyProtocolError as exc:
            self.server.metrics.protocol_errors.inc()
            log.warning("connection from %s closed without reply: %s", self.peer, exc)
            if self.transport is not None:
                self.transport.abort()
            return
        if not requests:
            return
        self.active = self.server.loop_time()
        server = self.server
        if server.sync is not None and not self.queue:
            transport = self.transport
            for request in requests:
                reply = self._safe_sync(request)
                if transport is None or transport.is_closing():
                    return
                transport.write(reply)
            return
        self.queue.extend(requests)
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._work())

    # A client that sends requests without reading the answers: once the answers it leaves
    # unread pass the transport's high-water mark (64 KiB), stop reading its requests.
    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def eof_received(self) -> bool | None:
        self.parser.receive_data(b"")
        if self.parser.partial:
            conn_log.info("connection from %s ended in the middle of a request", self.peer)
        return None  # close our side too

    def _safe_sync(self, request: PolicyRequest) -> bytes:
        try:
            return encode_action(self.server.decide_now(request, self.state))
        except Exception:  # a bug must cost one default answer, not the service
            log.exception("decision failed; answering the default")
            return encode_action(self.server.decider.fallback())

    async def _work(self) -> None:
        while self.queue:
            request = self.queue.popleft()
            try:
                reply = encode_action(await self.server.decide(request, self.state))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("decision failed; answering the default")
                reply = encode_action(self.server.decider.fallback())
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            transport.write(reply)

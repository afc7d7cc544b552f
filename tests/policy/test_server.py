"""The asyncio service over real sockets: persistent connections, every stage answered, and bad
peers (malformed requests, a 1 MiB attribute, binary junk, vanishing clients, 1,000 idle
connections) closed or answered while every other connection is still served."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from saslscope.detect.config import DetectConfig
from saslscope.detect.detectors import default_detectors
from saslscope.policy.backend import MemoryBackend, StateBackend
from saslscope.policy.decide import Decider
from saslscope.policy.metrics import Metrics
from saslscope.policy.server import Endpoint, PolicyServer

#: bound on every read in these tests: a hang fails the test instead of stalling the suite
READ = 5.0


def request(state: str = "RCPT", user: str = "alice@example.test", instance: str = "i1", **extra: str) -> bytes:
    attrs = {"request": "smtpd_access_policy", "protocol_state": state, "client_address": "192.0.2.7",
             "sasl_username": user, "instance": instance, **extra}
    return "".join(f"{k}={v}\n" for k, v in attrs.items()).encode() + b"\n"


@contextlib.asynccontextmanager
async def running(table: dict[str, Any] | None = None, backend: StateBackend | None = None,
                  endpoints: tuple[str, ...] = ("127.0.0.1:0",)) -> AsyncIterator[tuple[PolicyServer, list[str]]]:
    config = DetectConfig.from_table(table or {})
    decider = Decider(config, default_detectors(config), metrics=Metrics())
    server = PolicyServer(decider, backend or MemoryBackend())
    bound = await server.listen([Endpoint.parse(e) for e in endpoints])
    try:
        yield server, bound
    finally:
        await server.close()


async def connect(where: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if where.startswith("unix:"):
        return await asyncio.open_unix_connection(where[5:])
    host, _, port = where.rpartition(":")
    return await asyncio.open_connection(host.strip("[]"), int(port))


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.readuntil(b"\n\n"), READ)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def test_one_persistent_connection_answers_every_stage_and_pipelined_requests() -> None:
    async def scenario() -> None:
        async with running({"quota": {"user_messages": "1/1h"}}) as (_, (where,)):
            reader, writer = await connect(where)
            for state in ("CONNECT", "EHLO", "MAIL", "RCPT", "RCPT", "DATA", "END-OF-MESSAGE", "VRFY", "ETRN"):
                assert await ask(reader, writer, request(state)) == b"action=DUNNO\n\n", state
            # the next message (new instance), three stages written at once
            writer.write(request("RCPT", instance="i2") + request("DATA", instance="i2", recipient_count="1")
                         + request("END-OF-MESSAGE", instance="i2", recipient_count="1"))
            answers = [await asyncio.wait_for(reader.readuntil(b"\n\n"), READ) for _ in range(3)]
            assert all(a.startswith(b"action=HOLD ") for a in answers), answers
            writer.close()
    run(scenario)


def test_bad_peers_are_closed_and_everyone_else_is_served() -> None:
    async def scenario() -> None:
        async with running() as (server, (where,)):
            good_reader, good_writer = await connect(where)
            assert await ask(good_reader, good_writer, request()) == b"action=DUNNO\n\n"
            bad: list[bytes] = [
                b"this is not a policy request\n\n",
                b"request=smtpd_access_policy\nccert_subject=" + b"A" * (1024 * 1024) + b"\n\n",
                bytes(range(256)) * 64,
                b"request=smtpd_access_policy\nhelo_name=\0\n\n",
            ]
            for junk in bad:
                reader, writer = await connect(where)
                writer.write(junk)
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
                with contextlib.suppress(ConnectionError):
                    assert await asyncio.wait_for(reader.read(), READ) == b""   # closed without a reply
                writer.close()
                assert await ask(good_reader, good_writer, request(instance=f"after-{len(junk)}")) == b"action=DUNNO\n\n"
            assert server.metrics.protocol_errors._value.get() == len(bad)
            # a client that vanishes mid-request, and one that vanishes before reading its answer
            for data in (request()[:30], request()):
                reader, writer = await connect(where)
                writer.write(data)
                await writer.drain()
                writer.transport.abort()
            assert await ask(good_reader, good_writer, request(instance="last")) == b"action=DUNNO\n\n"
            good_writer.close()
    run(scenario)


def test_a_request_without_its_empty_line_waits_and_is_answered_when_it_ends() -> None:
    async def scenario() -> None:
        async with running() as (_, (where,)):
            reader, writer = await connect(where)
            writer.write(request()[:-1])
            await writer.drain()
            other_reader, other_writer = await connect(where)
            assert await ask(other_reader, other_writer, request()) == b"action=DUNNO\n\n"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(1), 0.2)
                raise AssertionError("answered an incomplete request")
            assert await ask(reader, writer, b"\n") == b"action=DUNNO\n\n"
            writer.close()
            other_writer.close()
    run(scenario)


def test_a_thousand_idle_connections_and_the_limit_on_connections() -> None:
    async def scenario() -> None:
        async with running({"policy": {"max_connections": 1001}}) as (server, (where,)):
            idle = [await connect(where) for _ in range(1000)]
            reader, writer = await connect(where)           # the 1001st: served
            assert await ask(reader, writer, request()) == b"action=DUNNO\n\n"
            refused_reader, refused_writer = await connect(where)   # the 1002nd: closed at once
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(refused_reader.read(), READ) == b""
            assert server.metrics.refused._value.get() == 1
            assert len(server.connections) == 1001
            for _, w in idle:
                w.close()
            writer.close()
            refused_writer.close()
    run(scenario)


def test_an_idle_connection_is_closed_after_idle_timeout() -> None:
    async def scenario() -> None:
        async with running({"policy": {"idle_timeout": 0.2}}) as (server, (where,)):
            reader, writer = await connect(where)
            assert await ask(reader, writer, request()) == b"action=DUNNO\n\n"
            assert await asyncio.wait_for(reader.read(), READ) == b""
            assert not server.connections
    run(scenario)


def test_a_client_that_leaves_its_answers_unread_is_not_read_from() -> None:
    """asyncio calls pause_writing() once unread answers pass the high-water mark (64 KiB; the
    kernel's buffers of several MB come first, too many to fill in a unit test): from then on
    that client's requests are not read, so answers cannot pile up without bound."""
    async def scenario() -> None:
        async with running() as (server, (where,)):
            reader, writer = await connect(where)
            assert await ask(reader, writer, request()) == b"action=DUNNO\n\n"
            (conn,) = server.connections
            conn.pause_writing()
            writer.write(request(instance="while-paused"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.readuntil(b"\n\n"), 0.3)
                raise AssertionError("read and answered while the client's answers were piling up")
            conn.resume_writing()
            assert await asyncio.wait_for(reader.readuntil(b"\n\n"), READ) == b"action=DUNNO\n\n"
            writer.close()
    run(scenario)


def test_a_busy_connection_outlives_idle_timeout() -> None:
    async def scenario() -> None:
        async with running({"policy": {"idle_timeout": 0.5}}) as (_, (where,)):
            reader, writer = await connect(where)
            for n in range(20):                      # 1 s of requests, 0.05 s apart
                assert await ask(reader, writer, request(instance=f"b{n}")) == b"action=DUNNO\n\n"
                await asyncio.sleep(0.05)
            writer.close()
    run(scenario)


def test_unix_socket(tmp_path: Path) -> None:
    async def scenario() -> None:
        path = tmp_path / "policy.sock"
        async with running(endpoints=(f"unix:{path}",)) as (_, (where,)):
            reader, writer = await connect(where)
            assert await ask(reader, writer, request()) == b"action=DUNNO\n\n"
            writer.close()
    run(scenario)


class StuckBackend:
    """A backend that never answers (a hung Redis)."""

    name = "stuck"

    def __init__(self) -> None:
        self.calls = 0

    async def apply(self, ops: Any, now: float) -> list[Any]:
        self.calls += 1
        await asyncio.Event().wait()
        return []

    async def close(self) -> None:
        return None


def test_a_hung_backend_gets_the_configured_fallback_not_a_hang() -> None:
    async def scenario() -> None:
        for fallback, expected in (("dunno", b"action=DUNNO\n\n"), ("defer", b"action=DEFER 4.7.1")):
            backend = StuckBackend()
            table = {"policy": {"on_backend_error": fallback, "backend_timeout": 0.05}}
            async with running(table, backend=backend) as (server, (where,)):
                reader, writer = await connect(where)
                for n in range(3):
                    assert (await ask(reader, writer, request(instance=f"x{n}"))).startswith(expected)
                assert backend.calls == 3
                assert server.metrics._backend_errors.labels("stuck", "timeout")._value.get() == 3
                writer.close()
    run(scenario)

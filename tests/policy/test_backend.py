"""The Redis backend answers the engine's state operations exactly as MemoryState does.

One script of operations (windows with members, weights, reads and kept evidence; Seen, Once,
Swap; time moving past windows and lifetimes) is run against MemoryState and against a real
redis-server through RedisBackend; every answer must be equal. Keys and members carry what an
attacker could put in a user name (NUL, the script's own separator, the evidence separator,
non-ASCII).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from saslscope.detect.findings import Evidence
from saslscope.detect.state import KEEP_EVIDENCE, Answer, MemoryState, Once, Op, Seen, Swap, Window
from saslscope.policy.backend import BackendError, RedisBackend, decode_evidence, encode_evidence
from tests.redis_server import RedisServer, free_port

T0 = 1_765_000_000.0
NASTY = "a|b\0c\x1fd é"


def _ev(n: int) -> Evidence:
    return Evidence("postfix-policy", None, f"sasl_username={NASTY} n={n}", datetime.fromtimestamp(T0 + n, UTC))


# (time offset, operations)
SCRIPT: list[tuple[float, list[Op]]] = [
    (0, [Window("k", 60, member="a"), Window("k", 60, member="a"), Window("k", 60, member="b")]),
    (1, [Window("k", 60, weight=0)]),
    (61, [Window("k", 60, member="c")]),
    (62, [Window("k", 60, weight=0), Window(NASTY, 30, member=NASTY, weight=3, keep=_ev(1))]),
    *[(63 + n, [Window("kept", 600, keep=_ev(n))]) for n in range(KEEP_EVIDENCE + 5)],
    (100, [Window(NASTY, 30, weight=0), Window("kept", 600, weight=0)]),
    (200, [Window("kept", 600, member="m", weight=2)]),
    (700, [Window("kept", 600, weight=0)]),
    (0, [Seen("net:alice", "192.0.2.0/24", ttl=100)]),
    (50, [Seen("net:alice", "192.0.2.0/24", ttl=100), Seen("net:alice", NASTY, ttl=100)]),
    (60, [Seen("net:alice", "198.51.100.0/24", ttl=100, record=False), Seen("net:alice", NASTY, ttl=100, record=False)]),
    (70, [Seen("net:alice", "198.51.100.0/24", ttl=100, record=False)]),
    (151, [Seen("net:alice", "192.0.2.0/24", ttl=100)]),
    (0, [Once("o", 10), Once("o", 10), Once(NASTY, 10)]),
    (10.5, [Once("o", 10)]),
    (0, [Swap("x", "a", 10), Swap("x", NASTY, 10)]),
    (0.5, [Swap("x", "c", 10)]),
]


def _memory_answers() -> list[list[Answer]]:
    state = MemoryState()
    return [state.apply(ops, T0 + offset) for offset, ops in SCRIPT]


async def _redis_answers(url: str) -> list[list[Answer]]:
    backend = RedisBackend(url, timeout=2.0, prefix="conformance:")
    try:
        return [await backend.apply(ops, T0 + offset) for offset, ops in SCRIPT]
    finally:
        await backend.close()


def test_redis_backend_answers_like_memory(redis_server: RedisServer) -> None:
    # Once and Swap expire on Redis's own clock: the script's times only move forward for
    # them where the memory answers do not depend on it (10.5 s later: a new Once episode
    # because the first one's key is kept for 10 s of *Redis* time -> not asserted below).
    memory = _memory_answers()
    redis = asyncio.run(_redis_answers(redis_server.url))
    once_late = next(i for i, (offset, ops) in enumerate(SCRIPT) if offset == 10.5)
    swap_late = next(i for i, (offset, ops) in enumerate(SCRIPT) if offset == 0.5)
    for index, (mine, theirs) in enumerate(zip(memory, redis, strict=True)):
        if index in (once_late, swap_late):
            continue
        assert theirs == mine, f"step {index} {SCRIPT[index]}"
    assert redis[swap_late] == [NASTY]   # within the Swap's lifetime on any clock


def test_redis_keeps_state_between_connections_and_expires_keys(redis_server: RedisServer) -> None:
    async def run() -> tuple[list[Answer], list[Answer], int]:
        first = RedisBackend(redis_server.url, timeout=2.0)
        second = RedisBackend(redis_server.url, timeout=2.0)
        try:
            a = await first.apply([Window("shared", 0.3, member="x")], T0)
            b = await second.apply([Window("shared", 0.3, member="y")], T0 + 0.1)
            await asyncio.sleep(0.5)  # past the keys' lifetime (PEXPIRE = window length)
            keys = len(await first.client.keys("saslscope:*"))
            return a, b, keys
        finally:
            await first.close()
            await second.close()

    a, b, keys = asyncio.run(run())
    assert (a[0].total, b[0].total, b[0].distinct) == (1, 2, 2)  # type: ignore[union-attr]
    assert keys == 0


def test_unreachable_redis_is_a_backend_error() -> None:
    async def run() -> None:
        backend = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
        try:
            await backend.apply([Once("o", 1)], T0)
        finally:
            await backend.close()

    try:
        asyncio.run(run())
    except BackendError as exc:
        assert "redis" in str(exc)
    else:
        raise AssertionError("no BackendError")


def test_evidence_survives_the_wire_with_separators_in_its_text() -> None:
    evidence = Evidence("postfix-policy", None, f"helo_name={NASTY}\x1f\x1f", datetime.fromtimestamp(T0, UTC))
    assert decode_evidence(encode_evidence(evidence)) == evidence
    assert decode_evidence(encode_evidence(Evidence("mail.log", 7, "x"))) == Evidence("mail.log", 7, "x")


def test_redis_leaves_kept_evidence_out_below_kept_at_and_batches_concurrent_decisions(redis_server: RedisServer) -> None:
    async def run() -> list[list[Answer]]:
        backend = RedisBackend(redis_server.url, timeout=2.0)
        calls = 0
        script = backend.script

        async def counting(**kwargs: object) -> object:
            nonlocal calls
            calls += 1
            return await script(**kwargs)  # type: ignore[arg-type]

        backend.script = counting  # type: ignore[assignment]
        try:
            decisions = [backend.apply([Window("q", 60, keep=_ev(n), kept_at=3)], T0 + n) for n in range(5)]
            answers = await asyncio.gather(*decisions)
            assert calls < 5      # the first call went alone, the others waited and went together
            return answers
        finally:
            await backend.close()

    answers = asyncio.run(run())
    assert [a[0].total for a in answers] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    assert [len(a[0].kept) for a in answers] == [0, 0, 3, 4, 5]  # type: ignore[union-attr]
    assert [a[0].kept_total for a in answers] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]

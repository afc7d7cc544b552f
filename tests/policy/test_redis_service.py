"""Two real service processes sharing one real redis-server; Redis killed and paused mid-run.

The bound: a decision whose backend call fails or hangs is answered with the configured
fallback; the test checks the answer and that no read waits for long (the client's socket
timeout, 5 s, against a backend bound of 0.1 s), never a measured latency.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.policy.service_process import policy_process
from tests.redis_server import RedisServer


def _message(client: object, n: int, user: str = "alice@example.test") -> str:
    return client.ask(protocol_state="DATA", sasl_username=user, client_address="192.0.2.7",  # type: ignore[attr-defined]
                      instance=f"{user}/{n}", recipient_count="1")


def test_two_services_share_one_counter(redis_server: RedisServer, tmp_path: Path) -> None:
    args = ("--redis", redis_server.url, "--user-messages", "10/1h", "--action", "defer")
    with policy_process(*args, log=tmp_path / "a.log") as a, policy_process(*args, log=tmp_path / "b.log") as b:
        ca, cb = a.client(), b.client()
        answers = [_message(ca if n % 2 else cb, n) for n in range(12)]
        assert answers[:10] == ["DUNNO"] * 10
        assert all(x.startswith("DEFER 4.7.1") for x in answers[10:]), answers
        # the 11th and 12th were answered by different processes, each seeing the other's count
        assert "DEFER" in a.log_text() and "DEFER" in b.log_text()
        assert _message(ca, 99, user="bob@example.test") == "DUNNO"


def test_concurrent_messages_through_two_services_allow_exactly_the_quota(redis_server: RedisServer, tmp_path: Path) -> None:
    args = ("--redis", redis_server.url, "--user-messages", "20/1h", "--action", "defer")
    with policy_process(*args, log=tmp_path / "a.log") as a, policy_process(*args, log=tmp_path / "b.log") as b:
        clients = [(a if n % 2 else b).client() for n in range(8)]   # 8 smtpd processes, two hosts

        def send(index: int) -> list[str]:
            return [_message(clients[index], 100 * index + k)[:5] for k in range(5)]

        with ThreadPoolExecutor(len(clients)) as pool:
            answers = [x for batch in pool.map(send, range(len(clients))) for x in batch]
        for client in clients:
            client.close()
    assert answers.count("DUNNO") == 20 and answers.count("DEFER") == 20, answers


def test_redis_killed_gives_the_fallback_and_the_service_recovers(redis_server: RedisServer, tmp_path: Path) -> None:
    args = ("--redis", redis_server.url, "--user-messages", "2/1h", "--on-backend-error", "defer")
    with policy_process(*args, log=tmp_path / "svc.log") as service:
        client = service.client()
        assert _message(client, 1) == "DUNNO"
        redis_server.kill()
        assert _message(client, 2).startswith("DEFER 4.7.1")      # fallback, not a hang
        assert "redis backend failed" in service.log_text()
        redis_server.start()                                      # an empty Redis on the same port
        deadline = time.monotonic() + 5
        answer = _message(client, 3)
        while answer != "DUNNO" and time.monotonic() < deadline:
            time.sleep(0.1)
            answer = _message(client, 4)
        assert answer == "DUNNO"                                  # reconnected by itself
        client.close()


def test_a_hung_redis_gives_dunno_within_the_bound(redis_server: RedisServer, tmp_path: Path) -> None:
    args = ("--redis", redis_server.url, "--on-backend-error", "dunno", "--backend-timeout", "0.1",
            "--user-messages", "3/1h", "--action", "defer")
    with policy_process(*args, log=tmp_path / "svc.log") as service:
        client = service.client()
        assert _message(client, 1) == "DUNNO"                     # counted: 1
        redis_server.pause()                                      # port open, nobody answers
        try:
            for n in range(3):
                assert _message(client, 10 + n) == "DUNNO"       # within the client's 5 s timeout
        finally:
            redis_server.resume()
        assert "no answer within 100 ms" in service.log_text()
        # Counting goes on where it was. The calls that timed out had reached Redis's socket:
        # Redis runs them when it wakes (they count, at least once), so the 4th message of
        # the hour comes at the latest with the 3rd message after the pause.
        answers = [_message(client, 20 + n)[:5] for n in range(3)]
        assert answers[-1] == "DEFER" and answers == sorted(answers, key=("DUNNO", "DEFER").index), answers
        failures = service.log_text().count("backend failed")
        assert [_message(client, 30 + n)[:5] for n in range(2)] == ["DEFER", "DEFER"]
        assert service.log_text().count("backend failed") == failures   # replies are not mixed up
        client.close()

"""Two `policy serve --dovecot-auth-policy --redis` processes on one real redis-server: each sees
the other's counts and blocks, and a password guessed through one process's Dovecot endpoint
holds the account's mail on the other process's Postfix side."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.policy.service_process import policy_process
from tests.redis_server import RedisServer, free_port

USER = "alice@example.test"
ATTACKER = "198.51.100.9"
CONFIG = """
[bruteforce]
failures = 4
[guessed_password]
failures = 3
[dovecot]
tarpit_after = 2
refuse_guessed_after = 3
"""


def _post(port: int, command: str, remote: str, pwhash: str, **extra: object) -> int:
    body = {"login": USER, "remote": remote, "pwhash": pwhash, "protocol": "smtp", "mech": "PLAIN", **extra}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/?command={command}", data=json.dumps(body).encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(json.loads(response.read())["status"])


def _fail(port: int, remote: str, pwhash: str) -> int:
    status = _post(port, "allow", remote, pwhash)
    _post(port, "report", remote, pwhash, success=False, policy_reject=status < 0)
    return status


def test_two_dovecot_fronts_share_counts_and_blocks_through_redis(redis_server: RedisServer, tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(CONFIG)
    http_a, http_b = free_port(), free_port()
    common = ("--redis", redis_server.url, "--config", str(tmp_path / "policy.toml"))
    with policy_process(*common, "--dovecot-auth-policy", f"127.0.0.1:{http_a}", log=tmp_path / "a.log"), \
            policy_process(*common, "--dovecot-auth-policy", f"127.0.0.1:{http_b}", log=tmp_path / "b.log") as b:
        # two distinct wrong passwords through A: B already tarpits the address
        assert [_fail(http_a, ATTACKER, h) for h in ("0001", "0002")] == [0, 0]
        assert _post(http_b, "allow", ATTACKER, "0003") == 1
        _post(http_b, "report", ATTACKER, "0003", success=False, policy_reject=False)
        # the fourth distinct one (through A) raises bruteforce: B refuses the address
        assert _fail(http_a, ATTACKER, "0004") > 0
        assert _post(http_b, "allow", ATTACKER, "0005") == -1
        # a stranger who guessed (3 distinct wrong passwords, then the right one) on another account
        guesser = "203.0.113.7"
        for h in ("0a01", "0a02", "0a03"):
            _fail(http_b, guesser, h)
        assert _post(http_a, "allow", guesser, "0b0b") >= 0           # before-auth: tarpit at most
        assert _post(http_a, "allow", guesser, "0b0b") == -1          # after-auth: the guessed password refused
        # ... and B's Postfix side holds that account's mail
        answer = b.client().ask(protocol_state="DATA", sasl_username=USER, client_address="192.0.2.1",
                                instance="m1", recipient_count="1")
        assert answer.startswith("HOLD "), answer

"""The HTTP endpoint as Dovecot's HTTP client meets it: basic auth from the URL's user-info,
malformed bodies, and a backend that does not answer in time (the answer is 0, at once)."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Sequence

import pytest

from saslscope.detect import DetectConfig
from saslscope.detect.state import Answer, Op
from saslscope.policy.backend import MemoryBackend
from saslscope.policy.dovecot import DovecotPolicy
from saslscope.policy.dovecot_http import DovecotEndpoint, start

BODY = b'{"login":"alice@example.test","pwhash":"09fd","remote":"192.0.2.7","protocol":"smtp","tls":"","tls":false}'


def _post(port: int, command: str, body: bytes, auth: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/?command={command}", data=body, method="POST")
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _serve(endpoint: DovecotEndpoint, calls: list[tuple[str, str, bytes, str | None]]) -> list[tuple[int, dict[str, object]]]:
    async def run() -> list[tuple[int, dict[str, object]]]:
        runner = await start(endpoint, "127.0.0.1", 0)
        port = runner.addresses[0][1]
        try:
            loop = asyncio.get_running_loop()
            return [await loop.run_in_executor(None, _post, port, c, b, a) for _, c, b, a in calls]
        finally:
            await runner.cleanup()

    return asyncio.run(run())


def test_basic_auth_is_required_when_configured() -> None:
    endpoint = DovecotEndpoint(DovecotPolicy(DetectConfig()), MemoryBackend(), credentials=("dovecot", "s3cret"))
    (missing, wrong, right) = _serve(endpoint, [
        ("", "allow", BODY, None), ("", "allow", BODY, "dovecot:nope"), ("", "allow", BODY, "dovecot:s3cret"),
    ])
    assert missing[0] == 401 and wrong[0] == 401
    assert right == (200, {"status": 0, "msg": ""})


def test_a_malformed_body_gets_400_and_the_next_request_is_served() -> None:
    endpoint = DovecotEndpoint(DovecotPolicy(DetectConfig()), MemoryBackend())
    (bad, good) = _serve(endpoint, [("", "allow", b"\xff\x00junk", None), ("", "allow", BODY, None)])
    assert bad[0] == 400 and bad[1]["status"] == 0
    assert good == (200, {"status": 0, "msg": ""})
    assert endpoint.stats.bad_requests == 1


class _StuckBackend:
    """A state backend that never answers (a Redis that stopped responding)."""

    name = "stuck"

    async def apply(self, ops: Sequence[Op], now: float) -> list[Answer]:
        await asyncio.sleep(3600)
        return []

    async def close(self) -> None:
        pass


def test_a_stuck_backend_is_cut_off_at_the_bound_and_the_answer_is_zero() -> None:
    endpoint = DovecotEndpoint(DovecotPolicy(DetectConfig()), _StuckBackend(), backend_timeout=0.05)
    ((status, body),) = _serve(endpoint, [("", "allow", BODY, None)])
    assert (status, body["status"]) == (200, 0)
    assert endpoint.stats.backend_errors == 1
    assert endpoint.stats.decisions == {}


@pytest.mark.parametrize("dry_run", [False, True])
def test_dry_run_answers_zero_but_counts_the_decision(dry_run: bool) -> None:
    config = DetectConfig.from_table({"dovecot": {"tarpit_after": 1}})
    endpoint = DovecotEndpoint(DovecotPolicy(config), MemoryBackend(), dry_run=dry_run)
    report = BODY[:-1] + b',"success":false,"policy_reject":false}'
    answers = _serve(endpoint, [("", "report", report, None), ("", "allow", BODY, None)])
    assert answers[1][1]["status"] == (0 if dry_run else 1)
    assert endpoint.stats.decisions["tarpit"] == 1

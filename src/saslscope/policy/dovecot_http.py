"""The HTTP side of Dovecot's auth policy: aiohttp around :mod:`saslscope.policy.dovecot`.

aiohttp is the well-kept asyncio HTTP server we already can import; it keeps Dovecot's
connections alive (Dovecot's client keeps up to 100 open, 10 s idle) and parses HTTP in C.

Every backend call is bounded (``backend_timeout``, default 100 ms): Dovecot waits for this
answer while the user's login hangs, and its own timeout is 2 s. When the bound is hit or the
backend fails, the answer is ``{"status": 0}`` — the attempt goes on, exactly what Dovecot
itself does when the policy server is down (fail open, unless ``auth_policy_reject_on_fail``).
A malformed request gets HTTP 400, which Dovecot also treats as a policy failure.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from aiohttp import web

from saslscope.detect.findings import Finding
from saslscope.detect.state import Op
from saslscope.policy.backend import StateBackend
from saslscope.policy.dovecot import MAX_BODY, Decision, DovecotPolicy, Plan, RequestError, parse_request
from saslscope.policy.metrics import Metrics
from saslscope.untrusted import printable

log = logging.getLogger("saslscope.policy.dovecot")

#: the bound on one backend round trip, and what Dovecot's own timeout leaves us
BACKEND_TIMEOUT = 0.1


@dataclass
class EndpointStats:
    requests: int = 0
    bad_requests: int = 0
    backend_errors: int = 0
    decisions: dict[str, int] = field(default_factory=dict)


@dataclass
class DovecotEndpoint:
    """The request handler; one per service, shared by every connection."""

    policy: DovecotPolicy
    backend: StateBackend
    credentials: tuple[str, str] | None = None   # HTTP basic auth Dovecot must send (URL user-info)
    dry_run: bool = False
    backend_timeout: float = BACKEND_TIMEOUT
    on_finding: Callable[[Finding], None] | None = None
    metrics: Metrics | None = None
    stats: EndpointStats = field(default_factory=EndpointStats)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        if self.credentials is not None and not self._authorised(request.headers.get("Authorization", "")):
            return web.json_response({"status": 0, "msg": "authentication required"}, status=401,
                                     headers={"WWW-Authenticate": 'Basic realm="saslscope"'})
        try:
            body = await request.read()
            parsed = parse_request(request.query.get("command", ""), body)
        except RequestError as exc:
            self.stats.bad_requests += 1
            return web.json_response({"status": 0, "msg": f"bad request: {exc}"}, status=400)
        decision = await self.decide(self.policy.plan(parsed, datetime.now(UTC)))
        return web.Response(body=orjson.dumps(decision.body()), content_type="application/json")

    async def decide(self, plan: Plan) -> Decision:
        """Apply the plan within the bound and decide; any backend failure answers 0."""
        try:
            answers = await asyncio.wait_for(self.backend.apply(plan.ops, plan.time.timestamp()), self.backend_timeout)
        except Exception as exc:  # noqa: BLE001 - any backend failure means: answer 0, never hang Dovecot
            self.stats.backend_errors += 1
            if self.metrics is not None:
                self.metrics.backend_error(self.backend.name, type(exc).__name__)
            log.warning("state backend failed (%s): answering 0", type(exc).__name__ if not str(exc) else exc)
            return Decision(0, "backend-error", "")
        decision = self.policy.decide(plan, answers)
        self.stats.decisions[decision.rule] = self.stats.decisions.get(decision.rule, 0) + 1
        if self.metrics is not None:
            self.metrics.answer(_answer_name(decision.status), f"dovecot/{decision.rule}")
        if decision.writes:
            self._spawn(self._write(decision.writes, plan.time.timestamp()))
        for finding in decision.findings:
            log.info("finding %s (%s) user=%s ip=%s: %s", finding.kind, finding.severity,
                     printable(finding.username or "-"), printable(finding.ip or "-"), printable(finding.reason))
            if self.on_finding is not None:
                self.on_finding(finding)
        if decision.status:
            log.info("%s%s login=%s remote=%s status=%d: %s", "dry run, would answer: " if self.dry_run else "",
                     decision.rule, printable(plan.request.login), printable(plan.request.remote), decision.status,
                     printable(decision.message))
            if self.dry_run:
                return Decision(0, decision.rule, f"dry run: would answer {decision.status}")
        return decision

    def _authorised(self, header: str) -> bool:
        assert self.credentials is not None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.credentials[0]}:{self.credentials[1]}".encode()
        return hmac.compare_digest(given, expected)

    async def _write(self, ops: Sequence[Op], now: float) -> None:
        try:
            await asyncio.wait_for(self.backend.apply(ops, now), self.backend_timeout * 10)
        except Exception as exc:  # noqa: BLE001 - a lost mark is logged; the answer was already given
            self.stats.backend_errors += 1
            log.warning("state backend failed storing a mark (%s)", type(exc).__name__)

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _answer_name(status: int) -> str:
    return "refuse" if status < 0 else "tarpit" if status > 0 else "continue"


def application(endpoint: DovecotEndpoint) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_route("*", "/{tail:.*}", endpoint.handle)
    return app


async def start(endpoint: DovecotEndpoint, host: str, port: int) -> web.AppRunner:
    """Listen on ``host:port``; the caller keeps the runner and calls ``cleanup()`` to stop."""
    runner = web.AppRunner(application(endpoint), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=512, reuse_address=True)
    await site.start()
    return runner

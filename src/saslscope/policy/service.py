"""Assemble and run ``policy serve``: configuration, detectors, backend, hook, metrics, listeners.

The Dovecot auth-policy endpoint sits beside the Postfix listener in the same process and takes
the same :class:`ServiceParts` (detectors, backend, metrics, hook): both fronts share one state,
so an account guessed at on the Dovecot side is held on the Postfix side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from saslscope.detect.config import DetectConfig
from saslscope.detect.detectors import default_detectors
from saslscope.detect.engine import Detector
from saslscope.detect.hook import Hook
from saslscope.policy.backend import MemoryBackend, RedisBackend, StateBackend
from saslscope.policy.decide import Decider
from saslscope.policy.metrics import Metrics
from saslscope.policy.server import Endpoint, PolicyServer

log = logging.getLogger("saslscope.policy")


@dataclass
class ServiceParts:
    """What every front of the service shares."""

    config: DetectConfig
    detectors: Sequence[Detector]
    backend: StateBackend
    metrics: Metrics
    hook: Hook | None


def build_parts(config: DetectConfig, *, redis_url: str | None = None, redis_password: str | None = None,
                exec_command: str | None = None, history_db: str | None = None) -> ServiceParts:
    """``history_db``: the store ``logs alerts --db`` and ``logs watch --db`` keep, read-only, so
    the accounts' networks and volumes learnt from weeks of logs are the services' baselines
    too (each store query bounded by ``[history] read_budget``; past it, memory alone answers)."""
    backend: StateBackend
    if redis_url:
        backend = RedisBackend(redis_url, password=redis_password, timeout=config.policy.backend_timeout)
    elif history_db is not None:
        from saslscope.history import BaselineReader, HistoryState

        backend = MemoryBackend(HistoryState(BaselineReader(history_db, budget=config.history.read_budget)))
    else:
        backend = MemoryBackend()
    hook = Hook(exec_command) if exec_command else None
    return ServiceParts(config, default_detectors(config), backend, Metrics(), hook)


@dataclass(frozen=True)
class DovecotFront:
    """Where and how the Dovecot auth-policy endpoint listens."""

    host: str
    port: int
    credentials: tuple[str, str] | None = None   # HTTP basic auth (auth_policy_server_url's user-info)


async def serve(parts: ServiceParts, endpoints: Sequence[Endpoint], *, metrics_at: Endpoint | None = None,
                dovecot: DovecotFront | None = None, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or cancellation); ``ready`` is set once listening."""
    decider = Decider(parts.config, parts.detectors, metrics=parts.metrics, hook=parts.hook)
    server = PolicyServer(decider, parts.backend)
    bound = await server.listen(endpoints) if endpoints else []
    http = None
    if dovecot is not None:
        from saslscope.policy.dovecot import DovecotPolicy
        from saslscope.policy.dovecot_http import DovecotEndpoint, start

        front = DovecotEndpoint(
            DovecotPolicy(parts.config, parts.detectors), parts.backend, credentials=dovecot.credentials,
            dry_run=parts.config.policy.dry_run, backend_timeout=parts.config.policy.backend_timeout,
            on_finding=parts.hook.submit if parts.hook is not None else None, metrics=parts.metrics,
        )
        http = await start(front, dovecot.host, dovecot.port)
        for address in http.addresses:
            host, port = address[0], address[1]
            bound.append(f"http://{f'[{host}]' if ':' in host else host}:{port}/ (Dovecot auth policy)")
    if metrics_at is not None:
        assert metrics_at.host is not None and metrics_at.port is not None
        parts.metrics.serve(metrics_at.host, metrics_at.port)
        log.info("metrics on http://%s/metrics", metrics_at)
    mode = " (dry run: answering DUNNO)" if parts.config.policy.dry_run else ""
    log.info("policy service listening on %s, state in %s%s", ", ".join(bound), parts.backend.name, mode)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        if http is not None:
            await http.cleanup()
        await server.close()
        if parts.hook is not None:
            parts.hook.close(wait=2.0)
        log.info("policy service stopped")

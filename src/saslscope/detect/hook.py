"""``--exec CMD``: run an admin's command for each finding, never holding up the caller.

The finding arrives on the command's stdin as one JSON object (:meth:`Finding.to_dict`), with
``SASLSCOPE_KIND``, ``SASLSCOPE_SEVERITY``, ``SASLSCOPE_USERNAME`` and ``SASLSCOPE_IP`` in its
environment for shell one-liners. The command runs without a shell (``shlex.split``), so no
attacker-chosen user name is ever interpreted by one. Hooks run on a few worker threads with a
timeout each; when they fall behind, findings wait in a bounded queue and the excess is dropped
and counted, because a slow or failing hook must never block reading a log or answering Postfix.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shlex
import subprocess
import threading
from dataclasses import dataclass

from saslscope.detect.findings import Finding, Severity

log = logging.getLogger("saslscope.hook")

#: findings waiting for a free worker before new ones are dropped
QUEUE_LIMIT = 1000


@dataclass
class HookStats:
    started: int = 0
    failed: int = 0      # non-zero exit, timeout, or could not start
    dropped: int = 0     # queue full


class Hook:
    """Run ``command`` for each submitted finding at or above ``min_severity``."""

    def __init__(self, command: str, *, min_severity: Severity = Severity.MEDIUM, timeout: float = 30.0,
                 workers: int = 2) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("--exec needs a command")
        self.min_severity = min_severity
        self.timeout = timeout
        self.stats = HookStats()
        self._queue: queue.Queue[Finding | None] = queue.Queue(QUEUE_LIMIT)
        self._threads = [threading.Thread(target=self._work, name=f"saslscope-hook-{n}", daemon=True) for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, finding: Finding) -> None:
        """Queue ``finding`` for the command; returns at once."""
        if finding.severity < self.min_severity:
            return
        try:
            self._queue.put_nowait(finding)
        except queue.Full:
            self.stats.dropped += 1
            log.warning("hook queue full (%d waiting): finding %s dropped", QUEUE_LIMIT, finding.kind)

    def close(self, wait: float = 10.0) -> None:
        """Let queued findings run (up to ``wait`` seconds per worker), then stop the workers."""
        for _ in self._threads:
            try:
                self._queue.put(None, timeout=wait)
            except queue.Full:
                break
        for thread in self._threads:
            thread.join(wait)

    def _work(self) -> None:
        while True:
            finding = self._queue.get()
            if finding is None:
                return
            self._run(finding)

    def _run(self, finding: Finding) -> None:
        env = dict(os.environ)
        env.update({
            "SASLSCOPE_KIND": str(finding.kind),
            "SASLSCOPE_SEVERITY": str(finding.severity),
            "SASLSCOPE_USERNAME": finding.username or "",
            "SASLSCOPE_IP": finding.ip or "",
        })
        self.stats.started += 1
        try:
            result = subprocess.run(
                self.argv, input=json.dumps(finding.to_dict()).encode() + b"\n", env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=self.timeout, close_fds=True, check=False,
            )
        except subprocess.TimeoutExpired:
            self.stats.failed += 1
            log.warning("hook %s timed out after %g s", self.argv[0], self.timeout)
            return
        except OSError as exc:
            self.stats.failed += 1
            log.warning("hook %s could not start: %s", self.argv[0], exc.strerror)
            return
        if result.returncode != 0:
            self.stats.failed += 1
            log.warning("hook %s exited %d: %s", self.argv[0], result.returncode,
                        result.stderr.decode(errors="replace").strip()[:200])

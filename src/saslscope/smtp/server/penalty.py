"""A per-client-address delay after failed AUTH attempts, growing and capped.

The same idea as Dovecot's auth penalty (``auth_failure_delay``, doubling per failure up to
a cap) and Postfix's ``smtpd_error_sleep_time``: a password-guessing client is slowed down
from its second failure on, across all its connections, while every other client is served
at full speed (the delay is an ``asyncio.sleep`` in that client's own session).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FailurePenalty:
    """Counts AUTH failures per IP address and says how long to hold the next reply.

    The first failure costs ``base`` seconds, each further one doubles it, up to ``cap``.
    An address that has not failed for ``forget_after`` seconds starts from zero again.
    ``base=0`` turns the delay off.
    """

    base: float = 1.0
    cap: float = 15.0
    forget_after: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)

    def record_failure(self, address: str) -> float:
        """Note one more failure from ``address``; return the delay to apply now, in seconds."""
        now = self.clock()
        self._expire(now)
        count, _ = self._failures.get(address, (0, now))
        count += 1
        self._failures[address] = (count, now)
        return self.delay_for(count)

    def delay_for(self, failures: int) -> float:
        if self.base <= 0 or failures <= 0:
            return 0.0
        return min(self.base * 2 ** min(failures - 1, 32), self.cap)

    def failures(self, address: str) -> int:
        self._expire(self.clock())
        return self._failures.get(address, (0, 0.0))[0]

    def _expire(self, now: float) -> None:
        # A bounded table: an address is dropped once it has been quiet long enough, so a
        # flood from many addresses cannot grow memory beyond one entry per recent offender.
        stale = [addr for addr, (_, last) in self._failures.items() if now - last > self.forget_after]
        for addr in stale:
            del self._failures[addr]

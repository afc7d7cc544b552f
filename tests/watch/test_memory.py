"""Memory over days: what watch keeps follows the live windows, not the days it has run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saslscope.detect.config import DetectConfig
from saslscope.detect.engine import Engine
from saslscope.detect.from_maillog import MaillogSignals


def failure_line(when: datetime, n: int) -> bytes:
    ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"     # every address seen once
    return (f"{when:%b %e %H:%M:%S} mx postfix/smtpd[1]: warning: unknown[{ip}]: SASL LOGIN authentication "
            f"failed: UGFzc3dvcmQ6, sasl_username=user{n % 5000}@example.org").encode()


def test_state_for_addresses_seen_once_is_evicted_over_days() -> None:
    engine = Engine(DetectConfig())
    adapter = MaillogSignals(year=2026)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    sizes = []
    for n in range(3 * 86400 // 20):          # a failure every 20 s for three days
        when = start + timedelta(seconds=20 * n)
        for signal in adapter.feed("mail.log", n + 1, failure_line(when, n)):
            engine.feed(signal)
        if n % 180 == 0:                      # hourly
            sizes.append(len(engine.state))
    sizes.append(len(engine.state))
    # the failure windows are one hour: 180 failures live at any time, each touching a few keys
    # (per address, per account, per address and account...), whatever the run's length
    window_failures = 3600 // 20
    assert max(sizes) <= 8 * window_failures
    assert max(sizes[48:]) <= max(sizes[:25]) * 1.05     # day 3 keeps no more than day 1

"""A small log with planted incidents for the report tests: 1,000 ordinary accounts, a
brute-forced account whose password is then used from a new network, and hostile user names."""

from __future__ import annotations

from pathlib import Path

VICTIM = "alice@example.org"
HOSTILE = "<script>window.pwned=1</script>@evil.example"
HOSTILE_IMG = '"><img src=x onerror="window.pwned=2">'
ACCOUNTS = 1000


def _stamp(seconds: int) -> str:
    day, rest = divmod(seconds, 86400)
    return f"Mar {1 + day:2d} {rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


def _submission(t: int, pid: int, qid: str, user: str, ip: str, rcpt: int = 1) -> list[str]:
    prog = f"postfix/submission/smtpd[{pid}]"
    return [f"{_stamp(t)} mx {prog}: connect from client[{ip}]",
            f"{_stamp(t)} mx {prog}: {qid}: client=client[{ip}], sasl_method=PLAIN, sasl_username={user}",
            f"{_stamp(t)} mx postfix/qmgr[900]: {qid}: from=<{user}>, size=1000, nrcpt={rcpt} (queue active)",
            f"{_stamp(t + 1)} mx postfix/smtp[901]: {qid}: to=<x@example.net>, relay=mx.example.net[192.0.2.1]:25, "
            "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)",
            f"{_stamp(t + 1)} mx postfix/qmgr[900]: {qid}: removed",
            f"{_stamp(t + 1)} mx {prog}: disconnect from client[{ip}] ehlo=1 auth=1 mail=1 rcpt={rcpt} data=1 "
            f"quit=1 commands={5 + rcpt}"]


def _failure(t: int, user: str, ip: str) -> str:
    return (f"{_stamp(t)} mx postfix/submission/smtpd[77]: warning: unknown[{ip}]: SASL LOGIN authentication "
            f"failed: UGFzc3dvcmQ6, sasl_username={user}")


def write(path: Path) -> Path:
    lines: list[str] = []
    q = 0xA00000
    t = 0
    for n in range(ACCOUNTS):                      # everyone sends a message from the office now and then
        for k in range(3):
            q += 1
            lines += _submission(t + (n * 37 + k * 3600 * 7) % (3 * 86400), 2000 + n % 500, f"{q:X}",
                                 f"user{n}@example.org", f"192.0.2.{n % 200 + 1}")
    for day in range(3):                           # the victim's own working days, from the office
        for hour in (9, 11, 14, 16):
            q += 1
            lines += _submission(day * 86400 + hour * 3600 + 300, 2600 + hour, f"{q:X}", VICTIM, "192.0.2.10",
                                 rcpt=2)
    lines.sort(key=lambda line: line[:15])
    t = 3 * 86400 + 3600
    for k in range(12):                            # the password guessed from abroad...
        lines.append(_failure(t + k * 5, VICTIM, "203.0.113.5"))
    for k in range(40):                            # ...and then used to spam
        q += 1
        lines += _submission(t + 120 + k * 20, 3000 + k, f"{q:X}", VICTIM, "203.0.113.5", rcpt=50)
    for name in (HOSTILE, HOSTILE_IMG):
        for k in range(11):
            lines.append(_failure(t + 2000 + k, name, "198.51.100.66"))
        q += 1
        lines += _submission(t + 2100, 4000, f"{q:X}", name, "198.51.100.66")
    path.write_text("\n".join(lines) + "\n")
    return path

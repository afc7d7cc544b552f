"""Generate a realistic, deterministic Postfix mail log for benchmarks.

The log interleaves many concurrent smtpd sessions the way a busy server does:
authenticated submissions (STARTTLS, AUTH, a message with several recipients, some
deferred or bounced with a non-delivery notification), password-guessing bots
(``SASL LOGIN authentication failed`` then ``auth=0/1``), inbound mail without AUTH,
postscreen traffic, NOQUEUE rejects, logins that send nothing (``auth=1`` only) and
lines of unrelated daemons. Usage::

    python benchmarks/genlog.py --lines 1000000 --seed 1 > /tmp/maillog
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator

HOST = "mail"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
USERS = [f"user{n}@example.com" for n in range(400)] + ["centos7@phoenixknight.jp"]
GUESSES = ["admin", "info", "test", "webmaster", "sales", "postmaster", "user", "office"]
METHODS = ["PLAIN", "LOGIN", "PLAIN", "CRAM-MD5", "cram-md5"]
RELAYS = ["mx1.example.net[192.0.2.10]:25", "mx.example.org[198.51.100.7]:25",
          "aspmx.l.google.com[142.250.1.26]:25", "mail.example.jp[203.0.113.40]:25"]
HEX = "0123456789ABCDEF"


class Clock:
    """A monotonic clock, advanced a little per emitted line, rendered as BSD syslog time."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def stamp(self) -> str:
        s = int(self.seconds)
        day, s = divmod(s, 86400)
        h, s = divmod(s, 3600)
        m, s = divmod(s, 60)
        return f"Sep {1 + day % 28:2d} {h:02d}:{m:02d}:{s:02d}"


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pid = 1000
        self.qseq = 0

    def next_pid(self) -> int:
        self.pid = 1000 + (self.pid - 999) % 60000
        return self.pid

    def queue_id(self) -> str:
        self.qseq += 1
        return "".join(self.rng.choice(HEX) for _ in range(5)) + f"{self.qseq:X}"

    def client(self) -> tuple[str, str]:
        r = self.rng
        ip = f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        name = "unknown" if r.random() < 0.5 else f"host{r.randint(1, 99999)}.isp.example"
        return name, ip

    def tls(self, prog: str, pid: int, namaddr: str) -> str:
        return (f"{prog}[{pid}]: Anonymous TLS connection established from {namaddr}: TLSv1.3 with "
                f"cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
                f"server-signature RSA-PSS (2048 bits) server-digest SHA256")

    def deliveries(self, qid: str, sender: str, nrcpt: int) -> list[str]:
        r = self.rng
        out = [f"postfix/cleanup[{self.next_pid()}]: {qid}: message-id=<{qid}.{r.randint(0, 10**9)}@example.com>",
               f"postfix/qmgr[900]: {qid}: from=<{sender}>, size={r.randint(600, 90000)}, nrcpt={nrcpt} (queue active)"]
        bounced = False
        for _ in range(nrcpt):
            to = f"rcpt{r.randint(0, 5000)}@{r.choice(['example.net', 'example.org', 'gmail.com', 'example.jp'])}"
            relay = r.choice(RELAYS)
            p = r.random()
            if p < 0.85:
                tail = "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4X" + "".join(r.choice(HEX) for _ in range(8)) + ")"
            elif p < 0.95:
                tail = "dsn=4.7.1, status=deferred (host said: 450 4.7.1 Greylisted, try again later)"
            else:
                tail = "dsn=5.1.1, status=bounced (host said: 550 5.1.1 User unknown (in reply to RCPT TO command))"
                bounced = True
            out.append(f"postfix/smtp[{self.next_pid()}]: {qid}: to=<{to}>, relay={relay}, "
                       f"delay={r.uniform(0.1, 9):.1f}, delays=0.1/0.01/0.2/{r.uniform(0, 3):.2f}, {tail}")
        if bounced:
            ndr = self.queue_id()
            out += [f"postfix/cleanup[{self.next_pid()}]: {ndr}: message-id=<{ndr}.1@{HOST}.example.com>",
                    f"postfix/bounce[{self.next_pid()}]: {qid}: sender non-delivery notification: {ndr}",
                    f"postfix/qmgr[900]: {ndr}: from=<>, size=3200, nrcpt=1 (queue active)",
                    f"postfix/local[{self.next_pid()}]: {ndr}: to=<{sender}>, relay=local, delay=0.02, "
                    f"delays=0/0/0/0.02, dsn=2.0.0, status=sent (delivered to mailbox)",
                    f"postfix/qmgr[900]: {ndr}: removed"]
        out.append(f"postfix/qmgr[900]: {qid}: removed")
        return out

    def submission(self) -> list[str]:
        r = self.rng
        pid, prog = self.next_pid(), "postfix/submission/smtpd"
        name, ip = self.client()
        namaddr = f"{name}[{ip}]"
        user, method = r.choice(USERS), r.choice(METHODS)
        lines = [f"{prog}[{pid}]: connect from {namaddr}", self.tls(prog, pid, namaddr)]
        if r.random() < 0.1:  # a login that sends nothing: only auth=1 on disconnect
            return [*lines, f"{prog}[{pid}]: disconnect from {namaddr} ehlo=2 starttls=1 auth=1 quit=1 commands=5"]
        qid, nrcpt = self.queue_id(), r.choice([1, 1, 2, 3, 5])
        lines.append(f"{prog}[{pid}]: {qid}: client={namaddr}, sasl_method={method}, sasl_username={user}")
        lines += self.deliveries(qid, user, nrcpt)
        lines.insert(len(lines) - 1, f"{prog}[{pid}]: disconnect from {namaddr} ehlo=2 starttls=1 auth=1 "
                     f"mail=1 rcpt={nrcpt} data=1 quit=1 commands={6 + nrcpt}")
        return lines

    def guesser(self) -> list[str]:
        r = self.rng
        pid, prog = self.next_pid(), r.choice(["postfix/smtpd", "postfix/submission/smtpd"])
        name, ip = self.client()
        namaddr = f"{name}[{ip}]"
        lines = [f"{prog}[{pid}]: connect from {namaddr}"]
        tries = r.choice([1, 1, 1, 2, 3])
        for _ in range(tries):
            who = f"{r.choice(GUESSES)}@example.com"
            if r.random() < 0.5:
                lines.append(f"{prog}[{pid}]: warning: {namaddr}: SASL LOGIN authentication failed: "
                             f"UGFzc3dvcmQ6, sasl_username={who}")
            else:
                lines.append(f"{prog}[{pid}]: warning: {namaddr}: SASL PLAIN authentication failed: ")
        if r.random() < 0.5:
            lines.append(f"{prog}[{pid}]: lost connection after AUTH from {namaddr}")
            lines.append(f"{prog}[{pid}]: disconnect from {namaddr} ehlo=1 auth=0/{tries} commands=1/{1 + tries}")
        else:
            lines.append(f"{prog}[{pid}]: disconnect from {namaddr} ehlo=1 auth=0/{tries} quit=1 commands=2/{2 + tries}")
        return lines

    def inbound(self) -> list[str]:
        r = self.rng
        pid, prog = self.next_pid(), "postfix/smtpd"
        name, ip = self.client()
        namaddr = f"{name}[{ip}]"
        lines = [f"postfix/postscreen[800]: CONNECT from [{ip}]:{r.randint(1024, 65535)} to [192.0.2.1]:25",
                 f"postfix/postscreen[800]: PASS OLD [{ip}]:{r.randint(1024, 65535)}",
                 f"{prog}[{pid}]: connect from {namaddr}"]
        if r.random() < 0.3:
            to = f"nobody{r.randint(0, 99)}@example.com"
            return [
                *lines,
                f"{prog}[{pid}]: NOQUEUE: reject: RCPT from {namaddr}: 550 5.1.1 <{to}>: Recipient address "
                f"rejected: User unknown in virtual mailbox table; from=<spam@example.biz> to=<{to}> "
                f"proto=ESMTP helo=<{name}>",
                f"{prog}[{pid}]: disconnect from {namaddr} ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4"]
        qid = self.queue_id()
        lines.append(f"{prog}[{pid}]: {qid}: client={namaddr}")
        sender = f"news@{name if name != 'unknown' else 'example.biz'}"
        body = [f"postfix/cleanup[{self.next_pid()}]: {qid}: message-id=<{qid}@sender.example>",
                f"postfix/qmgr[900]: {qid}: from=<{sender}>, size={r.randint(600, 90000)}, nrcpt=1 (queue active)",
                f"postfix/virtual[{self.next_pid()}]: {qid}: to=<user{r.randint(0, 399)}@example.com>, relay=virtual, "
                f"delay=0.05, delays=0.02/0.01/0/0.02, dsn=2.0.0, status=sent (delivered to maildir)",
                f"postfix/qmgr[900]: {qid}: removed"]
        return lines + body[:2] + [f"{prog}[{pid}]: disconnect from {namaddr} ehlo=1 mail=1 rcpt=1 data=1 "
                                   f"quit=1 commands=5"] + body[2:]

    def noise(self) -> list[str]:
        r = self.rng
        return [r.choice([
            f"CRON[{self.next_pid()}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
            f"dovecot: imap-login: Login: user=<{r.choice(USERS)}>, method=PLAIN, rip=198.51.100.{r.randint(1, 254)}, "
            f"lip=192.0.2.1, mpid={self.next_pid()}, TLS, session=<abcDEF{r.randint(0, 99999)}>",
            f"dovecot: imap({r.choice(USERS)})<{self.next_pid()}><abcDEF>: Disconnected: Logged out in=120 out=1020",
            "postfix/anvil[700]: statistics: max connection rate 3/60s for (smtp:203.0.113.9) at Sep  1 10:00:00",
        ])]

    def sessions(self) -> Iterator[list[str]]:
        kinds = [(self.submission, 0.35), (self.guesser, 0.30), (self.inbound, 0.30), (self.noise, 0.05)]
        funcs, weights = zip(*kinds)
        while True:
            yield self.rng.choices(funcs, weights)[0]()


def generate(lines: int, seed: int, out) -> None:
    """Write exactly ``lines`` lines, interleaving up to 30 concurrent sessions."""
    gen = Generator(seed)
    clock = Clock()
    rng = gen.rng
    active: list[list[str]] = []
    source = gen.sessions()
    written = 0
    buf: list[str] = []
    while written < lines:
        while len(active) < 30:
            active.append(next(source)[::-1])
        i = rng.randrange(len(active))
        text = active[i].pop()
        if not active[i]:
            active[i] = active[-1]
            active.pop()
        clock.seconds += rng.random() * 0.2
        buf.append(f"{clock.stamp()} {HOST} {text}\n")
        written += 1
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.lines, args.seed, sys.stdout)


if __name__ == "__main__":
    main()

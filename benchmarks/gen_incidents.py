"""A month of mail log of a small organisation, with incidents planted on request.

50 accounts of ``example.org`` behind one office address on weekdays 08-18, from home in the
evening, from phones on three carrier networks each; a few travellers working from hotels in the
third week; ten users of a webmail on localhost; normal bounces and greylisting deferrals; a
phone with a stale password; internet scanners trying a few common names. With ``incidents=True``
five incidents are planted in the fourth week (see :data:`INCIDENTS`), and :class:`Month` says
which log lines belong to each. The output is deterministic for a seed. Usage::

    python benchmarks/gen_incidents.py --seed 1 [--clean] > /tmp/month.log
    saslscope logs alerts --year 2026 /tmp/month.log
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta

YEAR, MONTH, DAYS = 2026, 11, 30
DOMAIN = "example.org"
OFFICE_IP = "198.51.100.10"
HOST = "mail"
SUBMISSION = "postfix/submission/smtpd"
USERS = [f"user{n:02d}@{DOMAIN}" for n in range(1, 51)]
PC = ("PLAIN", "TLSv1.3", "TLS_AES_256_GCM_SHA384")
PHONE = ("LOGIN", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
WEBMAIL_USERS = USERS[40:50]
TRAVELLERS = USERS[2:5]
STALE_PHONE = USERS[41]
EXTERNAL = ["example.net", "example.com", "partner.example", "customer.example"]

#: what each planted incident is, by name: (kind, subject)
INCIDENTS = {
    "spray": ("password_spray", "45.155.205.99"),
    "bruteforce": ("bruteforce", USERS[6]),
    "guessed": ("guessed_password", USERS[6]),
    "many_ips": ("many_ips", USERS[12]),
    "spike": ("volume_spike", USERS[20]),
    "foreign_sender": ("sender_mismatch", USERS[32]),
}


@dataclass
class Month:
    lines: list[str]
    #: incident name -> 1-based numbers of the lines that show it
    incident_lines: dict[str, list[int]] = field(default_factory=dict)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _stamp(t: datetime) -> str:
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S}"


class Writer:
    """Sessions and queue files as Postfix 3.7 logs them; lines collected with their time."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.entries: list[tuple[datetime, int, str, str | None]] = []   # time, order, line, incident
        self.pid = 2000
        self.qseq = 0

    def emit(self, t: datetime, program: str, pid: int, text: str, tag: str | None = None) -> None:
        self.entries.append((t, len(self.entries), f"{_stamp(t)} {HOST} {program}[{pid}]: {text}", tag))

    def queue_id(self) -> str:
        self.qseq += 1
        return "".join(self.rng.choice("0123456789ABCDEF") for _ in range(5)) + f"{self.qseq:05X}"

    def next_pid(self) -> int:
        self.pid += 1
        return self.pid

    def login_session(self, t: datetime, user: str, ip: str, client: tuple[str, str, str], messages: int,
                      *, sender: str | None = None, tag: str | None = None, local: bool = False,
                      bounce_share: float = 0.03) -> datetime:
        """A session that logs in and sends ``messages`` (0: AUTH only); returns its end."""
        method, proto, cipher = client
        pid = self.next_pid()
        name = "localhost" if local else "unknown"
        who = f"{name}[{ip}]"
        service = "postfix/smtpd" if local else SUBMISSION
        self.emit(t, service, pid, f"connect from {who}")
        if not local:
            self.emit(t, service, pid, f"Anonymous TLS connection established from {who}: {proto} with cipher "
                                       f"{cipher} (256/256 bits)")
        rcpts_total = 0
        for _ in range(messages):
            t += timedelta(seconds=self.rng.uniform(1, 4))
            qid = self.queue_id()
            self.emit(t, service, pid, f"{qid}: client={who}, sasl_method={method}, sasl_username={user}", tag)
            self.emit(t, "postfix/cleanup", 3000, f"{qid}: message-id=<{qid}.{self.qseq}@{DOMAIN}>")
            rcpts = [f"r{self.rng.randint(1, 400)}@{self.rng.choice(EXTERNAL)}"
                     for _ in range(self.rng.choice((1, 1, 1, 2, 3)))]
            rcpts = list(dict.fromkeys(rcpts))
            rcpts_total += len(rcpts)
            t += timedelta(seconds=1)
            self.emit(t, "postfix/qmgr", 900, f"{qid}: from=<{sender or user}>, size={self.rng.randint(900, 90000)}, "
                                             f"nrcpt={len(rcpts)} (queue active)", tag if sender else None)
            for rcpt in rcpts:
                t += timedelta(seconds=self.rng.uniform(0.2, 2))
                self._deliver(t, qid, rcpt, bounce_share)
            self.emit(t, "postfix/qmgr", 900, f"{qid}: removed")
        t += timedelta(seconds=self.rng.uniform(0.5, 3))
        auth = "auth=1 "
        if messages:
            counters = f"ehlo=2 starttls=1 {auth}mail={messages} rcpt={rcpts_total} data={messages} quit=1"
            commands = 5 + messages * 2 + rcpts_total
        else:
            counters, commands = f"ehlo=2 starttls=1 {auth}quit=1", 5
        if local:
            counters = counters.replace("ehlo=2 starttls=1 ", "ehlo=1 ")
            commands -= 2
        self.emit(t, service, pid, f"disconnect from {who} {counters} commands={commands}",
                  tag if not messages else None)
        return t

    def _deliver(self, t: datetime, qid: str, rcpt: str, bounce_share: float) -> None:
        relay = "mx.example.net[192.0.2.25]:25"
        roll = self.rng.random()
        if roll < bounce_share:
            self.emit(t, "postfix/smtp", 3100, f"{qid}: to=<{rcpt}>, relay={relay}, delay=1.2, "
                                               f"delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host {relay[:-3]} "
                                               f"said: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown "
                                               f"(in reply to RCPT TO command))")
        elif roll < bounce_share + 0.02:
            self.emit(t, "postfix/smtp", 3100, f"{qid}: to=<{rcpt}>, relay={relay}, delay=1.0, "
                                               f"delays=0.1/0/0.5/0.4, dsn=4.7.1, status=deferred (host {relay[:-3]} "
                                               f"said: 450 4.7.1 Greylisted, try again later (in reply to RCPT TO "
                                               f"command))")
            self.emit(t + timedelta(minutes=5), "postfix/smtp", 3100,
                      f"{qid}: to=<{rcpt}>, relay={relay}, delay=301, delays=300/0/0.5/0.5, dsn=2.0.0, "
                      f"status=sent (250 2.0.0 Ok: queued)")
        else:
            self.emit(t, "postfix/smtp", 3100, f"{qid}: to=<{rcpt}>, relay={relay}, delay=0.8, "
                                               f"delays=0.1/0/0.3/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)")

    def failed_session(self, t: datetime, ip: str, tries: list[str], *, method: str = "LOGIN",
                       tag: str | None = None, gap: float = 2.0) -> datetime:
        pid = self.next_pid()
        who = f"unknown[{ip}]"
        self.emit(t, SUBMISSION, pid, f"connect from {who}")
        for user in tries:
            t += timedelta(seconds=gap)
            self.emit(t, SUBMISSION, pid, f"warning: {who}: SASL {method} authentication failed: "
                                          f"authentication failure, sasl_username={user}", tag)
        t += timedelta(seconds=1)
        self.emit(t, SUBMISSION, pid, f"disconnect from {who} ehlo=1 auth=0/{len(tries)} quit=1 "
                                      f"commands=2/{len(tries) + 2}")
        return t


def _home_ip(n: int) -> str:
    return f"81.{20 + n}.{(n * 37) % 250 + 1}.{(n * 11) % 200 + 20}"


def _phone_ip(rng: random.Random, n: int) -> str:
    return f"100.{64 + n % 8}.{(n * 3 + rng.randrange(3)) % 256}.{rng.randint(1, 254)}"


def _at(day: int, hour: float) -> datetime:
    return datetime(YEAR, MONTH, day) + timedelta(hours=hour)


def _clean_month(w: Writer) -> None:
    rng = w.rng
    for day in range(1, DAYS + 1):
        weekday = _at(day, 0).weekday() < 5
        for n, user in enumerate(USERS, start=1):
            travelling = user in TRAVELLERS and 16 <= day <= 20
            if weekday:
                for _ in range(rng.randint(0, 6)):
                    where = f"203.0.{113 + TRAVELLERS.index(user)}.{day}" if travelling else OFFICE_IP
                    w.login_session(_at(day, rng.uniform(8, 18)), user, where, PC, 1)
            if rng.random() < 0.3:
                w.login_session(_at(day, rng.uniform(19, 23)), user, _home_ip(n), PC, rng.randint(1, 2))
            if rng.random() < 0.5 and user != STALE_PHONE:
                w.login_session(_at(day, rng.uniform(7, 22)), user, _phone_ip(rng, n), PHONE, rng.randint(0, 2))
            if user in WEBMAIL_USERS and rng.random() < 0.6:
                w.login_session(_at(day, rng.uniform(8, 20)), user, "127.0.0.1", PC, rng.randint(1, 2), local=True)
            if rng.random() < 0.02:      # a typo, then the right password
                t = w.failed_session(_at(day, rng.uniform(8, 18)), OFFICE_IP, [user, user], method="PLAIN")
                w.login_session(t + timedelta(seconds=20), user, OFFICE_IP, PC, 1)
        if day in (9, 10):               # a phone with a stale password, every 20 minutes for two days
            for k in range(72):
                w.failed_session(_at(day, k / 3), _phone_ip(random.Random(k), 42), [STALE_PHONE])
        if day == 11:                    # ... until its owner types the new one in, just after midnight
            w.login_session(_at(11, 0.1), STALE_PHONE, _phone_ip(random.Random(71), 42), PHONE, 1)
        for _ in range(20):              # scanners: a few common names each
            ip = f"{rng.randint(30, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            names = rng.sample(["admin", "info", "test", "office", "sales", "webmaster"], rng.randint(1, 3))
            w.failed_session(_at(day, rng.uniform(0, 24)), ip, [f"{name}@{DOMAIN}" for name in names])


def _plant(w: Writer) -> None:
    rng = w.rng
    # a spraying address: one try on each of 30 names within 20 minutes (several connections)
    names = USERS[:24] + [f"{n}@{DOMAIN}" for n in ("admin", "info", "test", "office", "sales", "billing")]
    t = _at(22, 3.0)
    for k in range(0, len(names), 3):
        t = w.failed_session(t + timedelta(seconds=30), "45.155.205.99", names[k:k + 3], tag="spray")
    # a brute-forced, then guessed password; the guesser then sends
    victim, attacker = USERS[6], "185.220.101.5"
    t = _at(23, 2.0)
    for _ in range(8):
        t = w.failed_session(t + timedelta(seconds=15), attacker, [victim] * 5, tag="bruteforce")
    w.login_session(t + timedelta(seconds=40), victim, attacker, ("LOGIN", "TLSv1.2", "ECDHE-RSA-AES256-SHA"), 3,
                    tag="guessed")
    # an account used from 40 addresses within an hour
    t = _at(24, 14.0)
    for k in range(40):
        ip = f"{rng.randint(31, 199)}.{rng.randint(0, 255)}.{k + 1}.{rng.randint(1, 254)}"
        w.login_session(t + timedelta(seconds=80 * k), USERS[12], ip, PHONE, 1, tag="many_ips")
    # a spike: 500 messages within an hour from the user's own home address (malware on the PC)
    t = _at(25, 21.0)
    for _ in range(100):
        t = w.login_session(t + timedelta(seconds=2), USERS[20], _home_ip(21), PC, 5, tag="spike",
                            bounce_share=0.2)
    # a login whose envelope sender is a foreign domain
    w.login_session(_at(26, 10.5), USERS[32], OFFICE_IP, PC, 1, sender="ceo@bank-secure.example",
                    tag="foreign_sender")


def generate(seed: int = 1, incidents: bool = True) -> Month:
    w = Writer(seed)
    _clean_month(w)
    if incidents:
        _plant(w)
    w.entries.sort(key=lambda e: (e[0], e[1]))
    month = Month([line for _, _, line, _ in w.entries])
    for number, (_, _, _, tag) in enumerate(w.entries, start=1):
        if tag is not None:
            month.incident_lines.setdefault(tag, []).append(number)
    return month


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clean", action="store_true", help="the month without the planted incidents")
    args = parser.parse_args()
    sys.stdout.write(generate(args.seed, incidents=not args.clean).text())


if __name__ == "__main__":
    main()

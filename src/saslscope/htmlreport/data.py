"""What the HTML report shows, computed once: per-account series and the overview.

Times are bucketed by the hour (UTC) so the page's size follows hours x networks, not the
number of lines. An account's *baseline* is its own typical hour: the median of messages (and
recipients) over the hours in which it sent anything; an hour far above it stands out.
"""

from __future__ import annotations

import ipaddress
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from saslscope.detect.findings import Finding
from saslscope.detect.geolookup import GeoLookup
from saslscope.detect.signals import AuthFailed, AuthSucceeded, MessageSubmitted, Signal
from saslscope.detect.verdicts import AccountVerdict


def network_of(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to; anything else is its own network."""
    text = ip.removeprefix("IPv6:")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ip or "?"
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def hour_of(when: datetime) -> int:
    """Hours since the epoch: the bucket a time falls in."""
    return int(when.timestamp() // 3600)


@dataclass
class Account:
    username: str
    verdict: AccountVerdict | None = None
    # (hour, network) -> logins in that hour from that network
    logins: Counter[tuple[int, str]] = field(default_factory=Counter)
    networks: dict[str, int] = field(default_factory=dict)        # network -> logins, first seen first
    countries: dict[str, str] = field(default_factory=dict)       # network -> country (with GeoIP)
    messages: Counter[int] = field(default_factory=Counter)      # hour -> messages
    recipients: Counter[int] = field(default_factory=Counter)    # hour -> recipients
    failures_by_ip: Counter[str] = field(default_factory=Counter)

    @property
    def total_logins(self) -> int:
        return sum(self.networks.values())

    def baseline(self, series: Counter[int]) -> float:
        """Median over the hours with activity (0 when there were none)."""
        return float(statistics.median(series.values())) if series else 0.0


@dataclass
class ReportData:
    sources: list[str]
    generated: datetime
    first: int | None                       # first and last hour seen
    last: int | None
    accounts: list[Account]                 # flagged first (score), then by logins
    findings: list[Finding]                 # most severe first
    logins_per_hour: Counter[int]
    failures_per_hour: Counter[int]
    top_failing_ips: list[tuple[str, int, int]]    # ip, failures, distinct user names
    most_networks: list[tuple[str, int]]           # account, distinct networks
    lines: int | None                        # None: read from the history store, not from lines
    notes: list[str] = field(default_factory=list)  # what the engine could not judge (no GeoIP...)


#: user names remembered per failing address (enough to say "tried N names"; a spray of
#: millions of names must not hold them all)
NAMES_PER_ADDRESS = 1000


class Collector:
    """Folds the engine's signals, as they stream past, into the page's series.

    Fed from the same pass as the engine (``logs alerts``' adapter), so the log is read once.
    """

    def __init__(self, geo: GeoLookup | None = None) -> None:
        self.geo = geo
        self.accounts: dict[str, Account] = {}
        self.logins_per_hour: Counter[int] = Counter()
        self.failures_per_hour: Counter[int] = Counter()
        self.failing: dict[str, tuple[int, set[str]]] = {}
        self.failed_accounts: dict[str, Counter[str]] = {}
        self.first: int | None = None
        self.last: int | None = None

    def _account(self, name: str) -> Account:
        found = self.accounts.get(name)
        if found is None:
            found = self.accounts[name] = Account(name)
        return found

    def _hour(self, when: datetime) -> int:
        hour = hour_of(when)
        if self.first is None or hour < self.first:
            self.first = hour
        if self.last is None or hour > self.last:
            self.last = hour
        return hour

    def login(self, account: str, when: datetime, ip: str, local: bool = False, country: str | None = None) -> None:
        hour = self._hour(when)
        acc = self._account(account)
        net = "local" if local else network_of(ip)
        acc.logins[(hour, net)] += 1
        acc.networks[net] = acc.networks.get(net, 0) + 1
        if country is None and self.geo is not None and not local:
            country = self.geo.country(ip)
        if country:
            acc.countries.setdefault(net, country)
        self.logins_per_hour[hour] += 1

    def volume(self, account: str, hour: int, messages: int, recipients: int) -> None:
        self._hour(datetime.fromtimestamp(hour * 3600, UTC))
        acc = self._account(account)
        acc.messages[hour] += messages
        acc.recipients[hour] += recipients

    def failure(self, account: str | None, when: datetime, ip: str) -> None:
        self.failures_per_hour[self._hour(when)] += 1
        count, names = self.failing.get(ip, (0, set()))
        if account is not None:
            if len(names) < NAMES_PER_ADDRESS:
                names.add(account)
            self.failed_accounts.setdefault(account, Counter())[ip] += 1
        self.failing[ip] = (count + 1, names)

    def add(self, signal: Signal) -> None:
        if isinstance(signal, AuthSucceeded):
            self.login(signal.username, signal.time, signal.ip, signal.local)
        elif isinstance(signal, MessageSubmitted):
            self.volume(signal.username, hour_of(signal.time), 1, signal.recipients)
        elif isinstance(signal, AuthFailed):
            self.failure(signal.username, signal.time, signal.ip)

    def observe(self, signals: Iterable[Signal]) -> Iterator[Signal]:
        """Pass ``signals`` through unchanged, folding each on the way."""
        for signal in signals:
            self.add(signal)
            yield signal

    def result(self, findings: Sequence[Finding], verdicts: dict[str, AccountVerdict], sources: list[str],
               lines: int | None, notes: Sequence[str] = (), top: int = 20) -> ReportData:
        """The page's data. Failures are shown under accounts that exist (logged in) or have a
        verdict; names only ever guessed appear in the overview, not as accounts."""
        for name, verdict in verdicts.items():
            self._account(name).verdict = verdict
        for name, by_ip in self.failed_accounts.items():
            if name in self.accounts:
                self.accounts[name].failures_by_ip = by_ip
        top_failing = sorted(((ip, n, len(names)) for ip, (n, names) in self.failing.items()),
                             key=lambda row: (-row[1], row[0]))[:top]
        most_networks = sorted(((a.username, len(a.networks)) for a in self.accounts.values() if a.networks),
                               key=lambda row: (-row[1], row[0]))[:top]
        ordered = sorted(self.accounts.values(), key=lambda a: (-(a.verdict.score if a.verdict else 0),
                                                                -a.total_logins, a.username))
        ranked = sorted(findings, key=lambda f: (-int(f.severity), f.start or _EPOCH))
        return ReportData(sources, datetime.now(UTC), self.first, self.last, ordered, ranked,
                          self.logins_per_hour, self.failures_per_hour, top_failing, most_networks, lines,
                          list(notes))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

"""What the HTML report shows, computed once: per-account series and the overview.

Times are bucketed by the hour (UTC) so the page's size follows hours x networks, not the
number of lines. An account's *baseline* is its own typical hour: the median of messages (and
recipients) over the hours in which it sent anything; an hour far above it stands out.
"""

from __future__ import annotations

import ipaddress
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from saslscope.detect.findings import Finding
from saslscope.detect.verdicts import AccountVerdict
from saslscope.maillog.correlate import Failure, Login


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
    messages: Counter[int] = field(default_factory=Counter)      # hour -> messages
    recipients: Counter[int] = field(default_factory=Counter)    # hour -> recipients
    failures_by_ip: Counter[str] = field(default_factory=Counter)
    local_logins: int = 0

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
    lines: int
    notes: list[str] = field(default_factory=list)  # what the engine could not judge (no GeoIP...)


def build(logins: Iterable[Login], failures: Iterable[Failure], findings: Sequence[Finding],
          verdicts: dict[str, AccountVerdict], sources: list[str], lines: int, top: int = 20,
          notes: Sequence[str] = ()) -> ReportData:
    accounts: dict[str, Account] = {}
    logins_per_hour: Counter[int] = Counter()
    failures_per_hour: Counter[int] = Counter()
    hours: list[int] = []

    def account(name: str) -> Account:
        found = accounts.get(name)
        if found is None:
            found = accounts[name] = Account(name, verdicts.get(name))
        return found

    for login in logins:
        if login.time is None:
            continue
        hour = hour_of(login.time)
        hours.append(hour)
        acc = account(login.username)
        net = "local" if login.client_ip and _is_local(login) else network_of(login.client_ip)
        acc.logins[(hour, net)] += 1
        acc.networks[net] = acc.networks.get(net, 0) + 1
        acc.messages[hour] += 1
        acc.recipients[hour] += login.recipients
        logins_per_hour[hour] += 1
    failing: dict[str, tuple[int, set[str]]] = {}
    for failure in failures:
        if failure.time is not None:
            hour = hour_of(failure.time)
            hours.append(hour)
            failures_per_hour[hour] += 1
        count, names = failing.get(failure.client_ip, (0, set()))
        if failure.username:
            names.add(failure.username)
            if failure.username in accounts or failure.username in verdicts:
                account(failure.username).failures_by_ip[failure.client_ip] += 1
        failing[failure.client_ip] = (count + 1, names)
    for name in verdicts:
        account(name)
    top_failing = sorted(((ip, n, len(names)) for ip, (n, names) in failing.items()),
                         key=lambda row: (-row[1], row[0]))[:top]
    most_networks = sorted(((a.username, len(a.networks)) for a in accounts.values() if a.networks),
                           key=lambda row: (-row[1], row[0]))[:top]
    ordered = sorted(accounts.values(), key=lambda a: (-(a.verdict.score if a.verdict else 0),
                                                       -a.total_logins, a.username))
    ranked = sorted(findings, key=lambda f: (-int(f.severity), f.start or _EPOCH))
    return ReportData(sources, datetime.now(UTC), min(hours) if hours else None, max(hours) if hours else None,
                      ordered, ranked, logins_per_hour, failures_per_hour, top_failing, most_networks, lines,
                      list(notes))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _is_local(login: Login) -> bool:
    return login.client_ip.startswith("127.") or login.client_ip in ("::1", "IPv6:::1")

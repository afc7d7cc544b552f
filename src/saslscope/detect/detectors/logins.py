"""Successful logins: ``many_ips``, ``new_network``, ``new_country``, ``impossible_travel``,
``auth_only_sessions``, ``fingerprint_change`` and ``local_login``.

A login from the server itself (webmail, a form, a local script) says nothing about where an
account is used, so it is judged by ``local_login`` alone; a known relay's address (``[allow]
relays``) carries many users and is not counted as a place either.
"""

from __future__ import annotations

from collections.abc import Sequence

from saslscope.detect.detectors.common import Context, is_new, make, minutes, single
from saslscope.detect.findings import Finding, Kind, Severity
from saslscope.detect.geolookup import distance_km
from saslscope.detect.signals import AuthOnlySession, AuthSucceeded, Signal
from saslscope.detect.state import Answer, Baseline, Op, Seen, SeenAnswer, Swap, Window, WindowCount


def _remote_login(signal: Signal, context: Context) -> AuthSucceeded | None:
    """A login that tells where the account is used: not local, not a relay, not allow-listed."""
    if (isinstance(signal, AuthSucceeded) and not signal.local and not context.allow.ignores(signal.username, signal.ip)
            and not context.allow.is_relay(signal.ip)):
        return signal
    return None


class ManyIpsDetector:
    """``many_ips``: distinct addresses, networks (and with GeoIP countries and ASNs) of one
    account within a window. One finding per episode and level (at the threshold, and again at
    ``high_factor`` times it)."""

    signals = (AuthSucceeded,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.many_ips
        self.base = Severity.parse(self.settings.severity)

    def _places(self, login: AuthSucceeded) -> list[tuple[str, str, int]]:
        """(dimension, value, threshold) for each dimension this login has a value in."""
        s, geo = self.settings, self.context.geo
        places = [("addresses", login.ip, s.addresses), ("networks", self.context.grouping.network(login.ip), s.networks)]
        if geo is not None:
            country, asn = geo.country(login.ip), geo.asn(login.ip)
            if country:
                places.append(("countries", country, s.countries))
            if asn:
                places.append(("asns", f"AS{asn[0]}", s.asns))
        return [p for p in places if p[2] > 0]

    def plan(self, signal: Signal) -> Sequence[Op]:
        login = _remote_login(signal, self.context)
        if login is None:
            return ()
        places = self._places(login)
        # the evidence is the addresses' window, read when any dimension fires: each network,
        # country or AS counted needs an address of its own, so the lowest threshold bounds it
        lowest = min(threshold for _, _, threshold in places) if places else 0
        return tuple(Window(f"mi:{dim}:{login.username}", self.settings.window, member=value,
                            keep=login.evidence if dim == "addresses" else None, kept_at=lowest)
                     for dim, value, _ in places)

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        login = _remote_login(signal, self.context)
        if login is None or not answers:
            return ()
        counts: dict[str, int] = {}
        level = None
        addresses = None
        for (dim, _, threshold), count in zip(self._places(login), answers, strict=True):
            assert isinstance(count, WindowCount)
            counts[dim] = count.distinct
            if dim == "addresses":
                addresses = count
            if count.distinct >= threshold:
                here = Severity.HIGH if count.distinct >= threshold * self.settings.high_factor else self.base
                level = here if level is None else max(level, here)
        if level is None:
            return ()
        spread = ", ".join(f"{n} {dim}" for dim, n in counts.items())
        return (make(Kind.MANY_IPS, level, login.time,
                     f"logged in from {spread} within {minutes(self.settings.window)}",
                     metrics={**counts, "window_seconds": self.settings.window}, username=login.username,
                     ip=login.ip, count=addresses, evidence=(login.evidence,),
                     episode=(f"mi:{login.username}:{level}", self.settings.window)),)


class NewNetworkDetector:
    """``new_network`` (and ``new_country`` with GeoIP): after the account's learning period, a
    login from a network (country) it has not used within ``memory``."""

    signals = (AuthSucceeded,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.new_network

    def _members(self, login: AuthSucceeded) -> list[tuple[Kind, str]]:
        members = [(Kind.NEW_NETWORK, self.context.grouping.network(login.ip))]
        if self.context.geo is not None:
            country = self.context.geo.country(login.ip)
            if country:
                members.append((Kind.NEW_COUNTRY, country))
        return members

    def plan(self, signal: Signal) -> Sequence[Op]:
        login = _remote_login(signal, self.context)
        if login is None:
            return ()
        return tuple(Seen(f"{kind}:{login.username}", member, self.settings.memory,
                          Baseline(login.username, "network" if kind is Kind.NEW_NETWORK else "country"))
                     for kind, member in self._members(login))

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        login = _remote_login(signal, self.context)
        if login is None or not answers:
            return ()
        findings = []
        now = login.time.timestamp()
        for (kind, member), answer in zip(self._members(login), answers, strict=True):
            if not is_new(answer, now, self.settings.learning):
                continue
            assert isinstance(answer, SeenAnswer)
            what = "network" if kind is Kind.NEW_NETWORK else "country"
            severity = self.settings.severity if kind is Kind.NEW_NETWORK else self.settings.country_severity
            findings.append(make(kind, severity, login.time,
                                 f"first login from {what} {member}; within {minutes(self.settings.memory)} "
                                 f"this account used {answer.members - 1} other {what}s",
                                 metrics={what: member, f"known_{what}s": answer.members - 1},
                                 username=login.username, ip=login.ip, evidence=(login.evidence,)))
        return findings


class ImpossibleTravelDetector:
    """``impossible_travel``: two logins of one account further apart than ``speed_kmh`` allows
    (GeoIP locations; skipped without GeoIP)."""

    signals = (AuthSucceeded,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.impossible_travel

    def _place(self, signal: Signal) -> tuple[AuthSucceeded, tuple[float, float]] | None:
        login = _remote_login(signal, self.context)
        if login is None or self.context.geo is None:
            return None
        location = self.context.geo.location(login.ip)
        return (login, location) if location is not None else None

    def plan(self, signal: Signal) -> Sequence[Op]:
        place = self._place(signal)
        if place is None:
            return ()
        login, (lat, lon) = place
        return (Swap(f"it:{login.username}", f"{lat} {lon} {login.time.timestamp()} {login.ip}", 86400.0),)

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        place = self._place(signal)
        if place is None or not answers or not isinstance(answers[0], str):
            return ()
        login, here = place
        lat, lon, then, ip = answers[0].split(" ", 3)
        km = distance_km((float(lat), float(lon)), here)
        hours = max(login.time.timestamp() - float(then), 1.0) / 3600
        if km < self.settings.min_distance_km or km / hours <= self.settings.speed_kmh:
            return ()
        return (make(Kind.IMPOSSIBLE_TRAVEL, self.settings.severity, login.time,
                     f"logged in from {login.ip} {km:.0f} km from {ip} within {hours * 60:.0f} min "
                     f"({km / hours:.0f} km/h)",
                     metrics={"distance_km": round(km), "minutes": round(hours * 60), "previous_ip": ip},
                     username=login.username, ip=login.ip, evidence=(login.evidence,),
                     episode=(f"it:{login.username}", 3600.0)),)


class AuthOnlySessionsDetector:
    """``auth_only_sessions``: repeated successful AUTH that sent nothing (credential checking).
    Postfix does not log the user of such a session, so the finding is then about the address."""

    signals = (AuthOnlySession,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.auth_only_sessions

    def plan(self, signal: Signal) -> Sequence[Op]:
        if (not isinstance(signal, AuthOnlySession) or signal.local
                or self.context.allow.ignores(signal.username, signal.ip)):
            return ()
        return (Window(f"ao:{signal.username or signal.ip}", self.settings.window, keep=signal.evidence,
                       kept_at=self.settings.sessions),)

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        count = single(answers)
        if not isinstance(signal, AuthOnlySession) or count is None or count.total < self.settings.sessions:
            return ()
        subject = signal.username or signal.ip
        return (make(Kind.AUTH_ONLY_SESSIONS, self.settings.severity, signal.time,
                     f"{count.total} sessions logged in and sent nothing within {minutes(self.settings.window)}",
                     metrics={"sessions": count.total, "window_seconds": self.settings.window},
                     username=signal.username, ip=signal.ip, count=count,
                     episode=(f"ao:{subject}", self.settings.window)),)


class FingerprintDetector:
    """``fingerprint_change``: after the learning period, a method spelling (``PLAIN`` vs
    ``plain``: another program), HELO name or TLS cipher the account never used on that service."""

    signals = (AuthSucceeded,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.fingerprint_change

    @staticmethod
    def _traits(login: AuthSucceeded) -> list[tuple[str, str]]:
        traits = [("method", login.method), ("helo", login.helo), ("tls_cipher", login.tls_cipher)]
        return [(name, value) for name, value in traits if value]

    def plan(self, signal: Signal) -> Sequence[Op]:
        login = _remote_login(signal, self.context)
        if login is None:
            return ()
        return tuple(Seen(f"fp:{name}:{login.service}\0{login.username}", value, self.settings.memory,
                          Baseline(login.username, name))
                     for name, value in self._traits(login))

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        login = _remote_login(signal, self.context)
        if login is None or not answers:
            return ()
        now = login.time.timestamp()
        changed = {}
        for (name, value), answer in zip(self._traits(login), answers, strict=True):
            if is_new(answer, now, self.settings.learning):
                changed[name] = value
        if not changed:
            return ()
        return (make(Kind.FINGERPRINT_CHANGE, self.settings.severity, login.time,
                     "never used by this account before: " + ", ".join(f"{k} {v}" for k, v in changed.items()),
                     metrics=changed, username=login.username, ip=login.ip, evidence=(login.evidence,),
                     episode=(f"fp:{login.username}\0{sorted(changed.items())}", 3600.0)),)


class LocalLoginDetector:
    """``local_login`` (information): a login from the server itself; once per account and window."""

    signals = (AuthSucceeded,)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.config.local_login

    def plan(self, signal: Signal) -> Sequence[Op]:
        return ()

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        if (not isinstance(signal, AuthSucceeded) or not signal.local
                or self.context.allow.ignores(signal.username, None)):
            return ()
        return (make(Kind.LOCAL_LOGIN, self.settings.severity, signal.time,
                     f"logged in from the server itself ({signal.ip}): webmail, a form or a local program",
                     metrics={"method": signal.method or ""}, username=signal.username, ip=signal.ip,
                     evidence=(signal.evidence,), episode=(f"ll:{signal.username}", self.settings.window)),)

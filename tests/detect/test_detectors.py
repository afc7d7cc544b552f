"""Each detector on hand-made signals: thresholds, episodes, allow-lists, password hashes,
client values that are no IP, GeoIP kinds, verdict scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saslscope.detect import (AuthFailed, AuthOnlySession, AuthSucceeded, DeliveryOutcome, DetectConfig, Engine,
                              Evidence, Kind, MessageSubmitted, Severity, Verdict)
from saslscope.detect.verdicts import judge_accounts

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ALICE = "alice@example.org"


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _ev(n: int, t: datetime) -> Evidence:
    return Evidence("mail.log", n, f"line {n}", t)


def fail(s: float, ip: str = "192.0.2.7", user: str | None = ALICE, pwhash: str | None = None, n: int = 0) -> AuthFailed:
    return AuthFailed(_at(s), ip, user, "PLAIN", "smtpd", _ev(n, _at(s)), pwhash=pwhash)


def ok(s: float, ip: str = "192.0.2.7", user: str = ALICE, n: int = 0, **kw: object) -> AuthSucceeded:
    return AuthSucceeded(_at(s), ip, user, kw.pop("method", "PLAIN"), "smtpd", _ev(n, _at(s)), **kw)  # type: ignore[arg-type]


def sent(s: float, user: str = ALICE, sender: str | None = None, rcpts: int = 1, n: int = 0,
         ip: str = "192.0.2.7") -> MessageSubmitted:
    return MessageSubmitted(_at(s), user, ip, sender if sender is not None else user, rcpts, _ev(n, _at(s)))


def kinds(findings: list) -> list[str]:
    return [str(f.kind) for f in findings]


def engine(table: dict | None = None, geo: object = None) -> Engine:
    return Engine(DetectConfig.from_table(table or {}), geo=geo)  # type: ignore[arg-type]


def test_repeats_of_one_wrong_password_count_once() -> None:
    e = engine()
    assert e.feed_all(fail(n * 60, pwhash="aaaa") for n in range(40)) == []     # a stale phone password
    found = e.feed_all(fail(3000 + n, pwhash=f"h{n % 12}") for n in range(40))  # a list of passwords
    assert kinds(found) == ["bruteforce"] and found[0].metrics["failures"] == 10


def test_password_spray_once_per_address_and_episode() -> None:
    e = engine()
    found = e.feed_all(fail(n, ip="203.0.113.9", user=f"u{n}@example.org") for n in range(30))
    assert kinds(found) == ["password_spray"] and found[0].ip == "203.0.113.9" and found[0].username is None
    assert found[0].metrics["usernames"] == 10


def test_distributed_bruteforce_counts_addresses_and_values_that_are_no_ip() -> None:
    clients = [f"198.51.100.{n}" for n in range(5)] + ["unknown", "host.example", "tok-1", "tok-2", "IPv6:2001:db8::1"]
    found = engine().feed_all(fail(n, ip=ip) for n, ip in enumerate(clients))
    assert kinds(found) == ["distributed_bruteforce"] and found[0].metrics["addresses"] == 10


def test_guessed_password_needs_failures_from_the_same_network_and_reports_once() -> None:
    e = engine({"bruteforce": {"failures": 100}})
    e.feed_all(fail(n, ip="192.0.2.7") for n in range(10))
    assert e.feed_all([ok(100, ip="198.51.100.1")]) == []        # another network: the owner
    [guess] = e.feed_all([ok(110, ip="192.0.2.200", n=99)])       # same /24
    assert guess.kind is Kind.GUESSED_PASSWORD and guess.severity is Severity.CRITICAL
    assert guess.evidence[0].line == 99 and guess.evidence_total == 11 and guess.start == _at(0)
    assert e.feed_all([ok(120, ip="192.0.2.200")]) == []         # its next message: same episode
    assert engine().feed_all([*(fail(n * 400) for n in range(9)), ok(3600)]) == []   # a stale phone: below


def test_many_ips_medium_then_high_and_local_or_relay_logins_do_not_count() -> None:
    e = engine({"allow": {"relays": ["10.0.0.0/8"]}})
    assert e.feed_all(ok(n, ip=f"10.0.{n}.1") for n in range(30)) == []          # a relay
    assert kinds(e.feed_all(ok(n, ip="127.0.0.1", local=True) for n in range(30))) == ["local_login"]
    found = [f for f in e.feed_all(ok(100 + n, ip=f"198.{n}.0.1") for n in range(30)) if f.kind is Kind.MANY_IPS]
    assert [f.severity for f in found] == [Severity.MEDIUM, Severity.HIGH]
    assert found[0].metrics["networks"] == 5 and found[1].metrics["networks"] == 15


def test_new_network_only_after_the_learning_period() -> None:
    e = engine()
    assert e.feed_all([ok(0, ip="192.0.2.1"), ok(86400, ip="198.51.100.1")]) == []
    later = 15 * 86400
    [new] = e.feed_all([ok(later, ip="203.0.113.5")])
    assert new.kind is Kind.NEW_NETWORK and new.metrics["network"] == "203.0.113.0/24"
    assert new.metrics["known_networks"] == 2 and new.severity is Severity.LOW
    assert e.feed_all([ok(later + 60, ip="203.0.113.77"), ok(later + 90, ip="192.0.2.9")]) == []


def test_allow_list_users_and_networks_are_never_judged() -> None:
    e = engine({"allow": {"users": [ALICE], "networks": ["203.0.113.0/24"]}})
    assert e.feed_all(fail(n) for n in range(50)) == []
    assert e.feed_all(fail(n, ip="203.0.113.9", user=f"u{n}") for n in range(50)) == []


class FakeGeo:
    PLACES = {"192.0.2.1": ("JP", 2516, (35.68, 139.69)), "198.51.100.1": ("DE", 3320, (52.52, 13.40)),
              "203.0.113.1": ("BR", 28573, (-23.55, -46.63)), "198.18.0.1": ("US", 7018, (40.7, -74.0))}

    def country(self, ip: str) -> str | None:
        return self.PLACES.get(ip, (None,))[0]

    def asn(self, ip: str) -> tuple[int, str] | None:
        place = self.PLACES.get(ip)
        return (place[1], "AS") if place else None

    def location(self, ip: str) -> tuple[float, float] | None:
        place = self.PLACES.get(ip)
        return place[2] if place else None


def test_geo_kinds_new_country_impossible_travel_and_country_spread() -> None:
    e = engine(geo=FakeGeo())
    assert e.feed_all([ok(0, ip="192.0.2.1")]) == []
    found = e.feed_all([ok(15 * 86400, ip="192.0.2.1"), ok(15 * 86400 + 600, ip="198.51.100.1")])
    assert set(kinds(found)) == {"new_network", "new_country", "impossible_travel"}
    travel = next(f for f in found if f.kind is Kind.IMPOSSIBLE_TRAVEL)
    assert travel.metrics["previous_ip"] == "192.0.2.1" and travel.metrics["distance_km"] > 8000
    spread = e.feed_all([ok(15 * 86400 + 700, ip="203.0.113.1"), ok(15 * 86400 + 800, ip="198.18.0.1")])
    assert any(f.kind is Kind.MANY_IPS and f.metrics["countries"] == 3 for f in spread)
    # without a lookup the same logins give no geo kind
    plain = engine().feed_all([ok(0, ip="192.0.2.1"), ok(600, ip="198.51.100.1")])
    assert plain == []


def test_auth_only_sessions_about_the_address_when_postfix_names_no_user() -> None:
    e = engine()
    signals = [AuthOnlySession(_at(n * 60), "192.0.2.50", None, _ev(n, _at(n * 60))) for n in range(8)]
    [found] = e.feed_all(signals)
    assert found.kind is Kind.AUTH_ONLY_SESSIONS and found.ip == "192.0.2.50" and found.username is None
    local = [AuthOnlySession(_at(n), "127.0.0.1", None, _ev(n, _at(n)), local=True) for n in range(8)]
    assert e.feed_all(local) == []


def test_fingerprint_change_after_learning() -> None:
    e = engine()
    e.feed_all([ok(0, method="PLAIN", tls_cipher="TLS_AES_256_GCM_SHA384")])
    assert e.feed_all([ok(86400, method="plain")]) == []            # learning
    [found] = e.feed_all([ok(20 * 86400, method="login", tls_cipher="TLS_AES_256_GCM_SHA384")])
    assert found.kind is Kind.FINGERPRINT_CHANGE and found.metrics == {"method": "login"}


def test_volume_spike_against_the_accounts_own_baseline_and_the_floor() -> None:
    e = engine()
    # a newsletter account: 60 messages every working hour for two weeks
    for day in range(14):
        e.feed_all(sent(day * 86400 + h * 3600 + m * 60, user="news@example.org") for h in range(10) for m in range(60))
    busy = e.feed_all(sent(15 * 86400 + n * 10, user="news@example.org") for n in range(150))
    assert Kind.VOLUME_SPIKE not in {f.kind for f in busy}           # 150/h is its normal x2.5
    quiet = e.feed_all(sent(15 * 86400 + n * 10) for n in range(150))
    spikes = [f for f in quiet if f.kind is Kind.VOLUME_SPIKE]
    assert len(spikes) == 1 and spikes[0].metrics["messages"] == 100     # the floor, once


def test_rate_limit_crosses_once_and_the_recipient_quota_counts_recipients() -> None:
    e = engine({"rate_limit": {"messages": 5, "recipients": 12, "window": "1h"}})
    found = e.feed_all(sent(n, rcpts=3) for n in range(10))
    assert [f.reason for f in found if f.kind is Kind.RATE_LIMIT] == [
        "12 recipients (limit 12) within 60 min", "5 messages (limit 5) within 60 min"]


def test_bounce_ratio_counts_each_recipient_once() -> None:
    e = engine({"bounce_ratio": {"min_recipients": 10}})
    outcomes: list = [sent(0, rcpts=12)]
    for n in range(12):
        if n % 2:
            outcomes += [DeliveryOutcome(_at(n), ALICE, f"r{n}@x", "deferred", _ev(n, _at(n)), queue_id="Q")] * 3
        outcomes.append(DeliveryOutcome(_at(n), ALICE, f"r{n}@x", "bounced" if n % 2 else "sent", _ev(n, _at(n)),
                                        queue_id="Q"))
    [found] = e.feed_all(outcomes)
    assert found.kind is Kind.BOUNCE_RATIO and found.metrics["recipients"] == 12 and found.metrics["failed"] == 6
    assert {ev.line for ev in found.evidence} <= {1, 3, 5, 7, 9, 11} and found.evidence_total == 5 * 4 + 1   # fires at the 6th one's first line


def test_sender_mismatch_with_allowed_domains() -> None:
    e = engine({"sender_mismatch": {"allowed": {"example.org": ["example.net"], "bob@example.org": ["bob.example"]},
                                    "shared_domains": ["lists.example"]}})
    fine = [sent(1, sender="a@EXAMPLE.org"), sent(2, sender="a@example.net"), sent(3, sender="x@lists.example"),
            sent(4, sender=""), sent(5, user="bob@example.org", sender="b@bob.example"), sent(6, user="carol", sender="c@z.example")]
    assert e.feed_all(fine) == []
    [found] = e.feed_all([sent(7, sender="ceo@bank.example"), sent(8, sender="ceo@bank.example")])
    assert found.kind is Kind.SENDER_MISMATCH and found.metrics["sender_domain"] == "bank.example"


def test_local_login_is_information_once_per_day() -> None:
    found = engine().feed_all(ok(n * 3600, ip="127.0.0.1", local=True) for n in range(30))
    assert kinds(found) == ["local_login", "local_login"] and found[0].severity is Severity.INFO


def test_verdicts_scores() -> None:
    config = DetectConfig()
    e = engine()
    findings = e.feed_all([*(fail(n) for n in range(10)), ok(20)])
    [account] = judge_accounts(findings, config.verdicts)
    assert account.verdict is Verdict.COMPROMISED and account.kinds == ["bruteforce", "guessed_password"]
    attacked = judge_accounts(engine().feed_all(fail(n) for n in range(30)), config.verdicts)
    assert [(a.verdict, a.score) for a in attacked] == [(Verdict.NORMAL, 1.5)]   # under attack, not in

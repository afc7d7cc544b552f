"""The report page without a browser: escaping, the CSP's hashes, no reference to elsewhere."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.detect.signals import AuthFailed, AuthSucceeded, MessageSubmitted, Signal
from saslscope.detect.verdicts import judge_accounts
from saslscope.htmlreport import data, page

EVIL = '<script>alert("x")</script>\x1b[2J&amp;'
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ev(n: int = 1) -> Evidence:
    return Evidence("mail.log", n, "a line", WHEN)


def collect(signals: list[Signal]) -> data.Collector:
    collector = data.Collector()
    for signal in signals:
        collector.add(signal)
    return collector


def sample() -> str:
    signals: list[Signal] = [
        AuthSucceeded(WHEN, "203.0.113.9", EVIL, "PLAIN", "smtpd", ev()),
        MessageSubmitted(WHEN, EVIL, "203.0.113.9", None, 4, ev()),
        AuthSucceeded(WHEN, "127.0.0.1", "bob@example.org", "PLAIN", "smtpd", ev(), local=True),
        AuthFailed(WHEN, "203.0.113.9", EVIL, "LOGIN", "smtpd", ev()),
    ]
    finding = Finding(Kind.BRUTEFORCE, Severity.HIGH, f"10 failures for {EVIL}", WHEN, WHEN, EVIL, "203.0.113.9",
                      evidence=(Evidence("mail.log", 7, f"line with {EVIL}", WHEN),), evidence_total=10)
    verdicts = {a.username: a for a in judge_accounts([finding], DetectConfig().verdicts)}
    return page.render(collect(signals).result([finding], verdicts, [f"/var/log/{EVIL}"], 99, [f"note {EVIL}"]))


def test_every_log_string_is_escaped() -> None:
    html = sample()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\x1b[2J&amp;amp;" in html
    assert "\x1b" not in html
    assert len(re.findall(r"<script>", html)) == 1


def test_csp_allows_exactly_the_inline_style_and_script() -> None:
    html = sample()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)[1]  # type: ignore[index]
    style = re.search(r"<style>(.*?)</style>", html, re.S)[1]  # type: ignore[index]
    script = re.search(r"<script>(.*?)</script>", html, re.S)[1]  # type: ignore[index]

    def digest(code: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()

    assert f"style-src '{digest(style)}'" in csp and f"script-src '{digest(script)}'" in csp
    assert csp.startswith("default-src 'none';")
    tags = re.findall(r"<[a-zA-Z][^>]*>", re.sub(r"<script>.*?</script>", "", html, flags=re.S))
    assert not [t for t in tags if re.search(r"\s(?:style|on\w+)=", t)]   # no inline style or handler
    assert not re.search(r"(?:src|href)=\"(?!#)", html)          # nothing fetched, only in-page links


def test_account_order_and_series() -> None:
    finding = Finding(Kind.BRUTEFORCE, Severity.MEDIUM, "r", WHEN, WHEN, "a@x", "192.0.2.1")
    worse = Finding(Kind.NEW_COUNTRY, Severity.HIGH, "r", WHEN, WHEN, "b@x")
    verdicts = {a.username: a for a in judge_accounts([finding, worse], DetectConfig().verdicts)}
    assert verdicts["b@x"].score > verdicts["a@x"].score
    signals: list[Signal] = []
    for ip, n in (("192.0.2.1", 2), ("192.0.2.77", 3), ("2001:db8::1", 1)):
        signals += [AuthSucceeded(WHEN, ip, "a@x", "PLAIN", "smtpd", ev()), MessageSubmitted(WHEN, "a@x", ip, "", n, ev())]
    signals += [AuthFailed(WHEN, "198.51.100.1", f"guess{k}", None, "smtpd", ev()) for k in range(3)]
    built = collect(signals).result([finding], verdicts, ["m"], 3)
    (b, a) = built.accounts[:2]
    assert (b.username, a.username) == ("b@x", "a@x")        # the worse verdict first
    assert a.networks == {"192.0.2.0/24": 2, "2001:db8::/48": 1}
    assert a.recipients == Counter({data.hour_of(WHEN): 6}) and a.baseline(a.messages) == 3.0
    assert built.top_failing_ips == [("198.51.100.1", 3, 3)]
    assert "guess0" not in {x.username for x in built.accounts}     # guessed names are not accounts
    assert data.network_of("not-an-ip") == "not-an-ip"


def test_with_geoip_logins_are_coloured_by_country(tmp_path: Path) -> None:
    from saslscope.detect.geo import open_geoip
    from tests.history.conftest import write_mmdb

    db = write_mmdb(tmp_path / "city.mmdb", "GeoLite2-City", {
        "192.0.2.0/24": {"country": {"iso_code": "JP"}}, "203.0.113.0/24": {"country": {"iso_code": "RU"}}})
    geo = open_geoip([str(db)])
    assert geo is not None
    collector = data.Collector(geo)
    for ip in ("192.0.2.10", "192.0.2.99", "203.0.113.5", "198.51.100.1"):
        collector.login("a@x", WHEN, ip)
    html = page.render(collector.result([], {}, ["m"], 4))
    geo.close()
    assert ">JP 192.0.2.0/24<" in html and ">RU 203.0.113.0/24<" in html and ">? 198.51.100.0/24<" in html
    assert "Logins by network and country" in html
    legend = re.findall(r'<span class="legend"><svg[^>]*><rect[^>]*fill="(#\w+)"/></svg> (\S+)</span>', html)
    countries = [(c, name) for c, name in legend if name in ("JP", "RU", "?")]       # the account's legend
    assert [name for _, name in countries] == ["JP", "RU", "?"] and len({c for c, _ in countries}) == 3

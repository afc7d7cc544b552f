"""The report page without a browser: escaping, the CSP's hashes, no reference to elsewhere."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from datetime import UTC, datetime

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.detect.verdicts import judge_accounts
from saslscope.htmlreport import data, page
from saslscope.maillog.correlate import Failure, Login

EVIL = '<script>alert("x")</script>\x1b[2J&amp;'
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sample() -> str:
    logins = [Login(WHEN, EVIL, "PLAIN", "c", "203.0.113.9", "mx", "smtpd", "A1B2C3", None, None, 4, None),
              Login(WHEN, "bob@example.org", "PLAIN", "c", "127.0.0.1", "mx", "smtpd", "A1B2C4", None, None, 1, None)]
    failures = [Failure(WHEN, "c", "203.0.113.9", "mx", "smtpd", "LOGIN", "bad", EVIL)]
    finding = Finding(Kind.BRUTEFORCE, Severity.HIGH, f"10 failures for {EVIL}", WHEN, WHEN, EVIL, "203.0.113.9",
                      evidence=(Evidence("mail.log", 7, f"line with {EVIL}", WHEN),), evidence_total=10)
    verdicts = {a.username: a for a in judge_accounts([finding], DetectConfig().verdicts)}
    built = data.build(logins, failures, [finding], verdicts, [f"/var/log/{EVIL}"], 99)
    return page.render(built)


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
    logins = [Login(WHEN, "a@x", "PLAIN", "c", ip, "mx", "smtpd", "Q", None, None, n, None)
              for ip, n in (("192.0.2.1", 2), ("192.0.2.77", 3), ("2001:db8::1", 1))]
    built = data.build(logins, [], [finding], verdicts, ["m"], 3)
    (a, b) = built.accounts[:2]
    assert (a.username, b.username) == ("b@x", "a@x")        # the worse verdict first
    assert b.networks == {"192.0.2.0/24": 2, "2001:db8::/48": 1}
    assert b.recipients == Counter({data.hour_of(WHEN): 6}) and b.baseline(b.messages) == 3.0
    assert data.network_of("not-an-ip") == "not-an-ip"

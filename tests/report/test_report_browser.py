"""The HTML report in a real headless Chromium (Debian's, over the DevTools protocol, no network):
renders without console errors, shows the planted accounts, keeps hostile user names as text,
pages 1,000 accounts, and leaves a screenshot in the test's directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.report import planted
from tests.report.cdp import CHROMIUM, Browser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    log = planted.write(folder / "mail.log")
    out = folder / "report.html"
    subprocess.run([sys.executable, "-m", "saslscope", "logs", "report", str(log), "--html", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (scripts/bootstrap installs it)", pytrace=False)
    chrome = Browser(tmp_path_factory.mktemp("profile"))
    try:
        yield chrome
    finally:
        chrome.close()


def test_the_page_renders_with_no_errors_and_shows_the_planted_accounts(report: Path, browser: Browser,
                                                                         tmp_path: Path) -> None:
    browser.open(report.as_uri())
    assert browser.errors() == []
    assert all(url.startswith("file://") for url in browser.requests()), browser.requests()
    verdicts = browser.evaluate("document.getElementById('verdicts').innerText")
    assert planted.VICTIM in verdicts
    # the victim's account is on the first page, open, with its charts
    shown = browser.evaluate(json.dumps(planted.VICTIM).join((
        "(function(n){var d=[].slice.call(document.querySelectorAll('details.account'))"
        ".filter(function(e){return e.getAttribute('data-name')===n})[0];"
        "return d && !d.hidden && d.open && d.querySelectorAll('svg.chart').length})(", ")")))
    assert shown == 4          # logins by network, messages and recipients per hour, failures by address
    shot = tmp_path / "report.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_hostile_user_names_are_text_and_run_nothing(report: Path, browser: Browser) -> None:
    browser.open(report.as_uri())
    assert browser.evaluate("typeof window.pwned") == "undefined"
    assert browser.evaluate("document.scripts.length") == 1           # the page's own
    assert browser.evaluate("document.images.length") == 0
    text = browser.evaluate("document.body.innerText")
    assert planted.HOSTILE in text and planted.HOSTILE_IMG in text
    assert browser.errors() == []


def test_a_thousand_accounts_are_paged_and_filtered(report: Path, browser: Browser) -> None:
    browser.open(report.as_uri())
    visible = "document.querySelectorAll('details.account:not([hidden])').length"
    assert browser.evaluate("document.querySelectorAll('details.account').length") == planted.ACCOUNTS + 3
    assert browser.evaluate(visible) == 25
    assert "page 1 of 41" in browser.evaluate("document.getElementById('page-info').textContent")
    browser.evaluate("document.getElementById('next').click()")
    assert "page 2 of 41" in browser.evaluate("document.getElementById('page-info').textContent")
    browser.evaluate("var f=document.getElementById('filter'); f.value='user99'; "
                     "f.dispatchEvent(new Event('input'))")
    assert browser.evaluate(visible) == 11     # user99, user990..user999
    assert browser.errors() == []

"""``saslscope login --source-address``: the connection comes from the chosen loopback
address, and Postfix, the real peer, logs that address as the client of the message."""

from __future__ import annotations

import re

import pytest

from saslscope.cli.exitcodes import Exit
from tests.interop.lab import ALICE, CENTOS7, PostfixLab

from interop_tools import saslscope, saslscope_json, saslscope_login

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.3"])
def test_postfix_logs_the_chosen_source_address(postfix_lab: PostfixLab, source: str) -> None:
    result = saslscope_login(
        postfix_lab, postfix_lab.ports.submission, "--json", "--source-address", source,
        "--from", CENTOS7.address, "--to", ALICE.address, user=CENTOS7, mech="PLAIN",
    )
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    queue_id = saslscope_json(result)["queue_id"]
    log = postfix_lab.wait_for_log(f"{queue_id}: removed")
    line = re.escape(f"{queue_id}: client=unknown[{source}], sasl_method=PLAIN, sasl_username={CENTOS7.address}")
    assert re.search(rf"smtpd\[\d+\]: {line}$", log, flags=re.MULTILINE), f"no client=unknown[{source}] for {queue_id}"


def test_a_source_address_that_is_not_an_ip_is_a_usage_error() -> None:
    result = saslscope("login", "127.0.0.1", "--source-address", "mail.example", "--user", "a", "--quit-after", "tls")
    assert result.returncode == Exit.USAGE
    assert "--source-address wants an IP address" in result.stderr


def test_a_source_address_not_on_this_machine_fails_to_connect_and_names_it() -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: bind() fails before any packet leaves
    result = saslscope("login", "127.0.0.1", "-p", "9", "--source-address", "192.0.2.1", "--quit-after", "tls", "--timeout", "2")
    assert result.returncode == Exit.CONNECT, result.stdout + result.stderr
    assert "from 192.0.2.1" in result.stderr

"""SpamAssassin's own Received-parser expectations as an independent oracle.

``samples/spamassassin_rcvd_parser.txt`` holds the "headers that should be parsed" of
apache/spamassassin ``t/rcvd_parser.t`` (commit 027f547c, Apache License 2.0): each header
value on one line, SpamAssassin's expected relay string on the next. The facts both tools
state are compared: client address, receiving host, queue ID, envelope sender, HELO,
reverse name (where the header writes it as ``name [ip]``) and whether the client logged in.

Where the two differ by design, the test says why:
- SpamAssassin counts ``with HTTP`` (webmail) and GMX's port-587 hosts as authenticated from
  its own configuration; the header does not say who logged in, so saslscope does not.
- SpamAssassin infers the reverse name from MTA-specific habits (qmail's ``from rdns (ip)``);
  saslscope keeps the word after ``from`` as the HELO unless the header names both.
"""

import re
from pathlib import Path

import pytest

from saslscope.headers import parse_received

DATA = Path(__file__).parent / "samples" / "spamassassin_rcvd_parser.txt"
_EXPECTED = re.compile(r"\[ ip=(?P<ip>\S*) rdns=(?P<rdns>\S*) helo=(?P<helo>\S*) by=(?P<by>\S*) ident=\S* "
                       r"envfrom=(?P<envfrom>\S*) id=(?P<id>\S*) auth=(?P<auth>.*?) msa=0 \]")
# SpamAssassin's "auth" values that come from its configuration, not from the header text
_CONFIGURED_AUTH = {"HTTP", "HTTPU", "GMX (SMTP / mail.gmx.net)"}
# Exim 3 "from rdns (helo) [ip.port] (ident)": the HELO in a bare comment is left as a comment
# here (a bare "(name)" means different things to different servers), so HELO and rDNS differ.
_HELO_NOT_COMPARED = ("from helene8.i.pinwand.net (helene.cats.ms)",)


def _cases():
    lines = DATA.read_text().splitlines()
    return [pytest.param(lines[i], _EXPECTED.match(lines[i + 1]).groupdict(), id=f"line{i + 1}")
            for i in range(0, len(lines), 2)]


def _literal(value: str | None) -> str:
    """SpamAssassin writes an address literal as ``!ip!``."""
    if value and value.startswith("[") and value.endswith("]"):
        return "!" + value[1:-1].removeprefix("IPv6:") + "!"
    return value or ""


@pytest.mark.parametrize("header, expected", _cases())
def test_agrees_with_spamassassin(header, expected):
    hop = parse_received(header)
    if header.startswith(_HELO_NOT_COMPARED):
        expected = {**expected, "helo": "", "rdns": ""}
    assert hop.from_ip == expected["ip"]
    assert hop.by_host == expected["by"]
    if expected["id"]:
        assert hop.queue_id == expected["id"]
    if expected["envfrom"]:
        assert hop.envelope_from == expected["envfrom"]
    if expected["helo"]:
        assert _literal(hop.helo) == expected["helo"]
    if expected["rdns"] and f"{expected['rdns']} [" in header:
        assert hop.reverse_name == expected["rdns"]
    if expected["auth"] not in _CONFIGURED_AUTH:
        assert hop.authenticated == bool(expected["auth"])


def test_the_oracle_file_is_complete():
    assert len(_cases()) == 84

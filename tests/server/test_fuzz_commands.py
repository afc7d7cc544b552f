"""Fuzz target for serve's command loop (issue 10, "Done when").

Hypothesis writes whole sessions: SMTP verbs with hostile arguments (non-UTF-8 bytes, NULs,
overlong addresses and domains, ESC sequences), AUTH exchanges cut short or answered with
junk, DATA with and without its end, pipelined in one write, then a half-close. After each
session the server must have answered every line with a well-formed reply and never with an
exception's text, and must have logged no internal error; at the end it still serves a
normal login, every session has its disconnect line, and saslscope's own log reader reads
every line.

Longer runs: SASLSCOPE_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/server/test_fuzz_commands.py
"""

from __future__ import annotations

import base64
import os
import re
import socket

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.server.support import CRAM_USER, password, started_server
from tests.server.test_hostile_clients import assert_still_serving

EXAMPLES = int(os.environ.get("SASLSCOPE_FUZZ_EXAMPLES", "60"))
#: a reply line: three digits, then "-" (more to come) or " " or the end of the line
_REPLY_LINE = re.compile(rb"[2-5][0-9][0-9]([ -].*)?")

_hostile_text = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
    st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\x1b[31m", b"[/x]evil", b"a" * 300, b"%%%", b"=", b"*"]),
)
_address = st.builds(lambda local, domain: b"<" + local + b"@" + domain + b">", _hostile_text,
                     st.one_of(_hostile_text, st.just(b"x" * 300), st.just(b"example.com")))
_plain = base64.b64encode(f"\0{CRAM_USER}\0{password(CRAM_USER)}".encode())
_command = st.one_of(
    st.builds(lambda verb, arg: verb + b" " + arg,
              st.sampled_from([b"EHLO", b"HELO", b"VRFY", b"NOOP", b"AUTH", b"STARTTLS", b"HELP", b"BDAT", b"XCLIENT"]),
              _hostile_text),
    st.builds(lambda a: b"MAIL FROM:" + a, _address),
    st.builds(lambda a: b"RCPT TO:" + a, _address),
    st.sampled_from([b"EHLO client.test", b"AUTH PLAIN " + _plain, b"AUTH PLAIN", b"AUTH LOGIN", b"AUTH CRAM-MD5",
                     b"AUTH SCRAM-SHA-256", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>", b"DATA",
                     b"Subject: x", b".", b"RSET", b"QUIT", b"*", b""]),
    _hostile_text,
)
#: where a session starts: nothing, greeted, in a transaction, or logged in and in one
_setup = st.sampled_from([
    [],
    [b"EHLO client.test"],
    [b"EHLO client.test", b"MAIL FROM:<a@example.com>"],
    [b"EHLO client.test", b"AUTH PLAIN " + _plain, b"MAIL FROM:<a@example.com>"],
    [b"EHLO client.test", b"AUTH PLAIN " + _plain, b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>"],
])


def test_command_loop_fuzz(tmp_path, pki, passwd_path):
    from saslscope.maillog import analyze
    from saslscope.smtp.server import FailurePenalty

    with started_server(tmp_path, pki, passwd_path, allow_cleartext_auth=True, hard_error_limit=50,
                        penalty=FailurePenalty(base=0.001, cap=0.002)) as server:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(_setup, st.lists(_command, max_size=16))
        def session(setup: list[bytes], lines: list[bytes]) -> None:
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                sock.sendall(b"".join(line + b"\r\n" for line in setup + lines))
                sock.shutdown(socket.SHUT_WR)
                received = b""
                while chunk := sock.recv(65536):
                    received += chunk
            for line in received.split(b"\r\n")[:-1]:
                assert _REPLY_LINE.fullmatch(line), line
            assert b"Error: (" not in received and b"Traceback" not in received

        session()
        assert_still_serving(server)
    lines = server.log.lines
    assert not [line for line in lines if "internal error" in line]
    assert sum(": connect from " in x for x in lines) == sum(": disconnect from " in x for x in lines) > EXAMPLES // 2
    analysis = analyze(lines=lines)
    assert analysis.lines.unparsed == 0, analysis.unparsed

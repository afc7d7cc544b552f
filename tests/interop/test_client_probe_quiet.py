"""``probe`` against the real Postfix: by default it leaves no SASL warning in the server's
log (each start-and-cancel of a mechanism does: ``SASL ... authentication aborted``);
``--auth-check`` does it, and says so in --help."""

from __future__ import annotations

import re

import pytest

from saslscope.cli.exitcodes import Exit
from tests.interop.lab import DOVECOT_MECHANISMS, PostfixLab

from interop_tools import count_log, saslscope, wait_for_count

pytestmark = pytest.mark.interop

ABORTED = r"^.* postfix/submission/smtpd\[\d+\]: warning: unknown\[127\.0\.0\.2\]: SASL \S+ authentication aborted$"


def _probe(lab: PostfixLab, *extra: str):
    # from 127.0.0.2, so that only this test's probes match the pattern
    return saslscope("probe", lab.host, "--port", str(lab.ports.submission), "--cafile", str(lab.ca_path),
                     "--source-address", "127.0.0.2", "--no-legacy-tls-check", *extra)


def test_a_default_probe_leaves_no_sasl_warning_and_auth_check_leaves_one_per_mechanism(postfix_lab: PostfixLab) -> None:
    before = count_log(postfix_lab, ABORTED)
    quiet = _probe(postfix_lab)
    assert quiet.returncode == Exit.OK, quiet.stdout + quiet.stderr
    marker = _probe(postfix_lab, "--auth-check")  # its warnings also show that the log is written
    assert marker.returncode == Exit.OK, marker.stdout + marker.stderr
    after = wait_for_count(postfix_lab, ABORTED, before + len(DOVECOT_MECHANISMS))
    assert after == before + len(DOVECOT_MECHANISMS)  # all from --auth-check, none from the default probe
    lines = re.findall(ABORTED, postfix_lab.maillog_text(), flags=re.MULTILINE)[before:]
    assert sorted(re.search(r"SASL (\S+) authentication", line).group(1) for line in lines) == sorted(DOVECOT_MECHANISMS)

"""TLS, certificate verification, cleartext policy and probe findings against the real lab.

``openssl s_client`` is the independent witness: the protocol version, cipher and leaf
certificate fingerprint that ``saslscope probe --json`` reports must be what OpenSSL itself
negotiated and received from the same Postfix.
"""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest

from saslscope.cli.exitcodes import Exit
from tests.interop.lab import ALICE, CENTOS7, CYRUS_MECHANISMS, DOVECOT_MECHANISMS, HOST6, PostfixLab

from interop_tools import count_log, openssl_s_client, saslscope, saslscope_json, saslscope_login, swaks, wait_for_count

pytestmark = pytest.mark.interop


def openssl_witness(lab: PostfixLab, port: int, *, starttls: bool) -> dict[str, str]:
    """Protocol, cipher and SHA-256 fingerprint of the leaf, as OpenSSL sees them."""
    result = openssl_s_client(lab, port, "-showcerts", starttls=starttls)
    assert "Verify return code: 0 (ok)" in result.stdout, result.stdout + result.stderr
    protocol, cipher = re.search(r"^New, (TLSv[\d.]+), Cipher is (\S+)$", result.stdout, re.MULTILINE).groups()
    leaf_pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", result.stdout, re.DOTALL).group(0)
    fingerprint = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=leaf_pem, capture_output=True, text=True, check=True
    ).stdout
    return {"protocol": protocol, "cipher": cipher, "sha256": fingerprint.strip().split("=", 1)[1]}


@pytest.mark.parametrize(("port_name", "tls_args", "starttls"), [("submission", (), True), ("submissions", ("--tls",), False)])
def test_probe_tls_details_agree_with_openssl(postfix_lab: PostfixLab, port_name: str, tls_args: tuple[str, ...], starttls: bool) -> None:
    port = getattr(postfix_lab.ports, port_name)
    result = saslscope("probe", postfix_lab.host, "--port", str(port), "--cafile", str(postfix_lab.ca_path), "--json", *tls_args)
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    tls = saslscope_json(result)["tls"]
    witness = openssl_witness(postfix_lab, port, starttls=starttls)
    assert tls["verified"] is True
    assert tls["protocol"] == witness["protocol"]
    assert tls["cipher"] == witness["cipher"]
    assert tls["certificates"][0]["sha256"].upper() == witness["sha256"]


def test_verification_fails_without_the_lab_ca(postfix_lab: PostfixLab) -> None:
    """The lab CA is in no system trust store: without --cafile the login must stop at TLS."""
    result = saslscope(
        "login", postfix_lab.host, "--port", str(postfix_lab.ports.submission), "--user", ALICE.address,
        "--mech", "PLAIN", password=ALICE.password,
    )
    assert result.returncode == Exit.TLS, result.stdout + result.stderr
    assert "235" not in result.stdout


def test_verification_fails_for_a_name_the_certificate_does_not_carry(postfix_lab: PostfixLab) -> None:
    result = saslscope_login(postfix_lab, postfix_lab.ports.submission, "--sni", "not-mail.test", user=ALICE, mech="PLAIN")
    assert result.returncode == Exit.TLS, result.stdout + result.stderr


def test_insecure_skips_verification_loudly(postfix_lab: PostfixLab) -> None:
    result = saslscope(
        "login", postfix_lab.host, "--port", str(postfix_lab.ports.submission), "--insecure", "--json",
        "--user", ALICE.address, "--mech", "CRAM-MD5", password=ALICE.password,
    )
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    assert saslscope_json(result)["tls"]["verified"] is not True  # None: not checked at all
    assert "not verified" in result.stderr.lower(), result.stderr


def test_cleartext_plain_is_refused_and_nothing_is_sent(postfix_lab: PostfixLab) -> None:
    sessions = r"postfix/plainauth/smtpd\[\d+\]: disconnect from unknown\[127\.0\.0\.1\]"
    with_auth = sessions + r".* auth="
    sessions_before, auth_before = count_log(postfix_lab, sessions), count_log(postfix_lab, with_auth)
    result = saslscope_login(postfix_lab, postfix_lab.ports.cleartext_auth, "--no-tls", "--json", user=ALICE, mech="PLAIN")
    assert result.returncode == Exit.USAGE, result.stdout + result.stderr  # "refused by policy"
    assert "--allow-cleartext-auth" in result.stderr
    document = saslscope_json(result)
    assert not any(event["text"].upper().startswith("AUTH") for event in document["transcript"] if event["direction"] == "sent")
    # Postfix's view, with a swaks session (no AUTH) as a barrier after ours: at most that
    # many sessions more, and not one of them carried an AUTH command.
    swaks(postfix_lab, postfix_lab.ports.cleartext_auth, "--quit-after", "EHLO", tls=None)
    ours = 0 if document["peer"] is None else 1
    assert wait_for_count(postfix_lab, sessions, sessions_before + 1 + ours) == sessions_before + 1 + ours
    assert count_log(postfix_lab, with_auth) == auth_before


def test_cleartext_plain_when_explicitly_allowed(postfix_lab: PostfixLab) -> None:
    pattern = r"postfix/plainauth/smtpd\[\d+\]: disconnect from unknown\[127\.0\.0\.1\] ehlo=1 auth=1 "
    before = count_log(postfix_lab, pattern)
    result = saslscope_login(postfix_lab, postfix_lab.ports.cleartext_auth, "--no-tls", "--allow-cleartext-auth", user=ALICE, mech="PLAIN")
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    assert wait_for_count(postfix_lab, pattern, before + 1) == before + 1


def finding_codes(lab: PostfixLab, port: int) -> set[str]:
    result = saslscope("probe", lab.host, "--port", str(port), "--cafile", str(lab.ca_path), "--json")
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    return {finding["code"] for finding in saslscope_json(result)["findings"]}


def test_probe_reports_auth_offered_before_tls(postfix_lab: PostfixLab) -> None:
    assert {"auth-before-tls", "cleartext-password-auth"} <= finding_codes(postfix_lab, postfix_lab.ports.cleartext_auth)


def test_probe_finds_no_auth_before_tls_on_submission(postfix_lab: PostfixLab) -> None:
    assert not {"auth-before-tls", "cleartext-password-auth"} & finding_codes(postfix_lab, postfix_lab.ports.submission)


@pytest.mark.parametrize(("port_name", "advertised"), [("submission", DOVECOT_MECHANISMS), ("cyrus", CYRUS_MECHANISMS)])
def test_probe_finds_every_advertised_mechanism_working(postfix_lab: PostfixLab, port_name: str, advertised: tuple[str, ...]) -> None:
    """probe --auth-check starts each mechanism and cancels it ('*'); a real server can run them all."""
    result = saslscope("probe", postfix_lab.host, "--port", str(getattr(postfix_lab.ports, port_name)), "--cafile", str(postfix_lab.ca_path), "--json", "--auth-check")
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    document = saslscope_json(result)
    assert {check["mechanism"]: check["works"] for check in document["mechanism_checks"]} == dict.fromkeys(advertised, True)
    assert "mechanism-fails" not in {finding["code"] for finding in document["findings"]}


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_login_over_ipv6_loopback(postfix_lab: PostfixLab, host: str) -> None:
    if HOST6 not in postfix_lab.addresses:
        pytest.skip("this machine has no IPv6 loopback, so the lab listens on 127.0.0.1 only")
    subject = f"IPv6 {host} {uuid.uuid4().hex[:8]}"
    result = saslscope(
        "login", host, "--port", str(postfix_lab.ports.submission), "--cafile", str(postfix_lab.ca_path),
        "--user", CENTOS7.address, "--mech", "CRAM-MD5", "--to", ALICE.address, "--subject", subject, "--json",
        password=CENTOS7.password,
    )
    assert result.returncode == Exit.OK, result.stdout + result.stderr
    document = saslscope_json(result)
    assert document["peer"][0] == HOST6 and document["tls"]["verified"] is True  # IP SAN ::1
    log = postfix_lab.wait_for_log(f"{document['queue_id']}: removed")
    assert f"{document['queue_id']}: client=unknown[::1], sasl_method=CRAM-MD5, sasl_username={CENTOS7.address}" in log

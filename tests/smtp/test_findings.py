"""Findings read off session results, with certificates made here for the dates at stake."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saslscope.smtp.capabilities import Capabilities
from saslscope.smtp.codec import ReplyParser
from saslscope.smtp.findings import findings
from saslscope.smtp.probe import ProbeResult
from saslscope.smtp.tlsinfo import TlsDetails
from saslscope.smtp.transport import TlsMode

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)


def _certificate(not_before: datetime.datetime, not_after: datetime.datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _result(der: bytes | None = None, protocol: str = "TLSv1.3", **fields) -> ProbeResult:
    result = ProbeResult("mail.test", 465, TlsMode.IMPLICIT, **fields)
    result.tls = TlsDetails(protocol, "TLS_AES_256_GCM_SHA384", 256, "mail.test", None, chain_der=(der,) if der else ())
    return result


def _codes(result) -> list[str]:
    return [f.code for f in findings(result, now=NOW)]


def test_certificate_dates():
    day = datetime.timedelta(days=1)
    assert _codes(_result(_certificate(NOW - 90 * day, NOW - day))) == ["certificate-expired"]
    assert _codes(_result(_certificate(NOW + day, NOW + 90 * day))) == ["certificate-not-yet-valid"]
    assert _codes(_result(_certificate(NOW - 80 * day, NOW + 3 * day))) == ["certificate-expires-soon"]
    assert _codes(_result(_certificate(NOW - 10 * day, NOW + 80 * day))) == []
    soon = _result(_certificate(NOW - 80 * day, NOW + 3 * day))
    assert [f.code for f in findings(soon, now=NOW, expiry_warning_days=2)] == []


def test_an_expired_certificate_is_one_finding_even_when_verification_also_said_so():
    day = datetime.timedelta(days=1)
    result = _result(_certificate(NOW - 90 * day, NOW - day), verification_error="certificate has expired", verification_code=10)
    assert _codes(result) == ["certificate-expired"]


def test_old_protocol_negotiated():
    assert _codes(_result(protocol="TLSv1.1")) == ["old-tls"]


def test_critical_findings_come_first():
    [reply] = ReplyParser().feed(b"250-mx.test\r\n250 AUTH PLAIN CRAM-MD5\r\n")
    result = _result(protocol="TLSv1.2")
    result.capabilities_before_tls = Capabilities.from_reply(reply)
    severities = [f.severity.value for f in findings(result, now=NOW)]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
    assert [f.code for f in findings(result, now=NOW)] == ["cleartext-password-auth", "no-starttls", "auth-before-tls"]

"""What an admin must act on, read off a session result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from saslscope.smtp.session import SessionResult

#: a certificate that expires sooner than this is a warning (Let's Encrypt renews at 30 days)
EXPIRY_WARNING_DAYS = 14
_WEAK_PROTOCOLS = frozenset({"SSLv3", "TLSv1", "TLSv1.1"})


#: OpenSSL X509_V_ERR_* codes (x509_vfy.h) -> finding code; anything else is
#: "certificate-not-verified"
_VERIFY_FINDINGS = {
    62: "certificate-name-mismatch",        # X509_V_ERR_HOSTNAME_MISMATCH
    64: "certificate-name-mismatch",        # X509_V_ERR_IP_ADDRESS_MISMATCH
    10: "certificate-expired",              # X509_V_ERR_CERT_HAS_EXPIRED
    9: "certificate-not-yet-valid",         # X509_V_ERR_CERT_NOT_YET_VALID
    18: "certificate-untrusted",            # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19: "certificate-untrusted",            # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    20: "certificate-untrusted",            # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "certificate-untrusted",            # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
}


def _reveals_password(name: str) -> bool:
    """The mechanism puts the password itself on the wire (PLAIN, LOGIN): read off the
    client class's ``reveals_secret`` and ``needs_password``, their one home."""
    from saslscope.sasl.registry import CLIENT_MECHANISMS

    mechanism_class = CLIENT_MECHANISMS.get(name.upper())
    return mechanism_class is not None and mechanism_class.reveals_secret and mechanism_class.needs_password


class Severity(str, Enum):
    CRITICAL = "critical"   # credentials or mail are exposed, or clients cannot connect safely
    WARNING = "warning"     # fix soon
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str               # stable identifier, for JSON consumers and monitoring
    message: str

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity.value, "code": self.code, "message": self.message}


def findings(
    result: SessionResult, *, now: datetime | None = None, expiry_warning_days: float = EXPIRY_WARNING_DAYS
) -> list[Finding]:
    """Every finding for ``result`` (a probe or a login), most severe first."""
    found: list[Finding] = []
    found += _cleartext_auth(result)
    found += _tls(result, now or datetime.now(UTC), expiry_warning_days)
    found += _mechanisms(result)
    # one finding per code: an expired certificate fails verification (code 10) and shows
    # in its dates, but is one thing to fix
    unique = list({f.code: f for f in reversed(found)}.values())[::-1]
    order = list(Severity)
    return sorted(unique, key=lambda f: order.index(f.severity))


def _cleartext_auth(result: SessionResult) -> list[Finding]:
    """From the EHLO reply seen before TLS (none with implicit TLS)."""
    before_tls = result.capabilities_before_tls
    if before_tls is None:
        return []
    found = []
    if "STARTTLS" not in before_tls:
        found.append(Finding(Severity.WARNING, "no-starttls", "the server does not offer STARTTLS (RFC 3207)"))
    mechanisms = before_tls.auth_mechanisms
    if mechanisms:
        found.append(
            Finding(
                Severity.WARNING,
                "auth-before-tls",
                f"AUTH is offered before TLS ({' '.join(mechanisms)}): clients can be tricked into "
                "authenticating in the clear (Postfix: smtpd_tls_auth_only = yes)",
            )
        )
    exposed = sorted(name for name in mechanisms if _reveals_password(name))
    if exposed:
        found.append(
            Finding(
                Severity.CRITICAL,
                "cleartext-password-auth",
                f"{' and '.join(exposed)} offered without TLS: passwords cross the network readable",
            )
        )
    return found


def _tls(result: SessionResult, now: datetime, expiry_warning_days: float) -> list[Finding]:
    found: list[Finding] = []
    verification_error = getattr(result, "verification_error", None)
    if verification_error:
        verify_code = getattr(result, "verification_code", None)
        code = _VERIFY_FINDINGS.get(verify_code, "certificate-not-verified") if verify_code is not None else (
            "certificate-not-verified"
        )
        found.append(Finding(Severity.CRITICAL, code, f"certificate verification failed: {verification_error}"))
    legacy = getattr(result, "legacy_tls_accepted", None)
    if legacy:
        found.append(Finding(Severity.CRITICAL, "old-tls-accepted", f"the server still accepts {legacy} (RFC 8996: TLS 1.0 and 1.1 must not be used)"))
    tls = result.tls
    if tls is None:
        return found
    if tls.protocol in _WEAK_PROTOCOLS:
        found.append(Finding(Severity.CRITICAL, "old-tls", f"{tls.protocol} negotiated: below TLS 1.2 (RFC 8996)"))
    certificates = tls.certificates() if tls.chain_der else []
    if certificates:
        leaf = certificates[0]
        if leaf.expired(now):
            found.append(Finding(Severity.CRITICAL, "certificate-expired", f"the certificate expired on {leaf.not_after:%Y-%m-%d}"))
        elif leaf.not_yet_valid(now):
            found.append(Finding(Severity.CRITICAL, "certificate-not-yet-valid", f"the certificate is valid only from {leaf.not_before:%Y-%m-%d}"))
        elif leaf.days_left(now) < expiry_warning_days:
            found.append(
                Finding(Severity.WARNING, "certificate-expires-soon", f"the certificate expires in {leaf.days_left(now):.1f} days ({leaf.not_after:%Y-%m-%d})")
            )
    return found


def _mechanisms(result: SessionResult) -> list[Finding]:
    checks = getattr(result, "mechanism_checks", [])
    return [
        Finding(Severity.WARNING, "mechanism-fails", f"{check.mechanism} is advertised but fails at once: {check.reply}")
        for check in checks
        if not check.works
    ]


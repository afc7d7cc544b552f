"""One certificate in the terms an admin checks: subject, issuer, SANs, validity, fingerprint.

Imports ``cryptography``; only ``probe``, ``--json`` and findings need this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate of the chain, in the terms an admin checks."""

    subject: str
    issuer: str
    subject_alt_names: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    serial: str
    sha256: str                       # colon-separated upper-case hex, like openssl -fingerprint
    public_key: str                   # "RSA 2048", "EC secp256r1", "Ed25519"
    signature_algorithm: str

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) > self.not_after

    def not_yet_valid(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) < self.not_before

    def days_left(self, now: datetime | None = None) -> float:
        return ((self.not_after - (now or datetime.now(UTC))).total_seconds()) / 86400

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "subject_alt_names": list(self.subject_alt_names),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "serial": self.serial,
            "sha256": self.sha256,
            "public_key": self.public_key,
            "signature_algorithm": self.signature_algorithm,
        }


def describe_certificate(der: bytes) -> CertificateInfo:
    cert = x509.load_der_x509_certificate(der)
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(
            [f"DNS:{n}" for n in san_ext.get_values_for_type(x509.DNSName)]
            + [f"IP:{ip}" for ip in san_ext.get_values_for_type(x509.IPAddress)]
            + [f"email:{e}" for e in san_ext.get_values_for_type(x509.RFC822Name)]
        )
    except x509.ExtensionNotFound:
        sans = ()
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_text = f"RSA {key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_text = f"EC {key.curve.name}"
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_text = "Ed25519"
    elif isinstance(key, ed448.Ed448PublicKey):
        key_text = "Ed448"
    elif isinstance(key, dsa.DSAPublicKey):
        key_text = f"DSA {key.key_size}"
    else:
        key_text = type(key).__name__
    digest = hashlib.sha256(der).hexdigest().upper()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        subject_alt_names=sans,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial=f"{cert.serial_number:X}",
        sha256=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        public_key=key_text,
        signature_algorithm=cert.signature_algorithm_oid._name,
    )

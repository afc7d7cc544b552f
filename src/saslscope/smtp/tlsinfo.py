"""What a TLS session is: protocol, cipher, the server's certificate chain, verification.

Capturing the chain needs only ``ssl``; describing it (:mod:`saslscope.smtp.certinfo`)
imports ``cryptography``, lazily, because ``login`` usually does not need it.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from saslscope.sasl.base import ChannelBinding

if TYPE_CHECKING:
    from saslscope.smtp.certinfo import CertificateInfo


@dataclass(frozen=True)
class TlsDetails:
    """The TLS session of an SMTP connection.

    ``verified`` is True when chain and host name verified, False when verification failed
    (``verify_error`` says why; only ``probe`` gets this far, on a second, unverified
    connection), None when verification was switched off (``--insecure``).
    ``chain_der`` is the chain as the server sent it, leaf first.
    """

    protocol: str
    cipher: str
    cipher_bits: int | None
    server_name: str
    verified: bool | None
    verify_error: str | None = None
    chain_der: tuple[bytes, ...] = field(default=(), repr=False)

    def certificates(self) -> list[CertificateInfo]:
        """The chain, described; a certificate ``cryptography`` refuses to parse (it is
        stricter than OpenSSL, e.g. about negative serial numbers) is left out."""
        from saslscope.smtp.certinfo import describe_certificate

        described = []
        for der in self.chain_der:
            try:
                described.append(describe_certificate(der))
            except ValueError:
                continue
        return described

    def channel_binding(self) -> ChannelBinding | None:
        """``tls-server-end-point`` data (RFC 5929 §4.1) for SCRAM-*-PLUS, if there is a leaf."""
        if not self.chain_der:
            return None
        return ChannelBinding("tls-server-end-point", server_end_point_hash(self.chain_der[0]))

    def summary(self) -> str:
        """``TLSv1.3, TLS_AES_256_GCM_SHA384 (256 bits), certificate verified for mail.test``."""
        bits = f" ({self.cipher_bits} bits)" if self.cipher_bits else ""
        if self.verified is None:
            check = "certificate NOT verified (--insecure)"
        elif self.verified:
            check = f"certificate verified for {self.server_name}"
        else:
            check = f"certificate verification FAILED: {self.verify_error}"
        return f"{self.protocol}, {self.cipher}{bits}, {check}"

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "cipher": self.cipher,
            "cipher_bits": self.cipher_bits,
            "server_name": self.server_name,
            "verified": self.verified,
            "verify_error": self.verify_error,
            "certificates": [cert.to_json() for cert in self.certificates()],
        }


def capture(sock: ssl.SSLSocket, server_name: str, *, verified: bool | None) -> TlsDetails:
    """Read the session details from a socket whose handshake is complete."""
    name, _version, bits = sock.cipher() or ("unknown", "", None)
    return TlsDetails(
        protocol=sock.version() or "unknown",
        cipher=name,
        cipher_bits=bits,
        server_name=server_name,
        verified=verified,
        chain_der=_peer_chain(sock),
    )


def _peer_chain(sock: ssl.SSLSocket) -> tuple[bytes, ...]:
    # Python 3.13 has SSLSocket.get_unverified_chain(); 3.10-3.12 have it on the C object
    # only. Without either, the leaf alone is still available.
    ssl_object = getattr(sock, "_sslobj", None)
    chain_getter = getattr(sock, "get_unverified_chain", None) or getattr(ssl_object, "get_unverified_chain", None)
    if chain_getter is not None:
        chain = chain_getter() or []
        ders = [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]  # type: ignore[attr-defined]  # DER's constant is only in _ssl
        if ders:
            return tuple(ders)
    leaf = sock.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def server_end_point_hash(leaf_der: bytes) -> bytes:
    """RFC 5929 §4.1: the leaf hashed with its signature's hash, MD5 and SHA-1 -> SHA-256."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        algorithm = x509.load_der_x509_certificate(leaf_der).signature_hash_algorithm
    except (ValueError, UnsupportedAlgorithm):
        algorithm = None  # RFC 5929 leaves this undefined; SHA-256, as other implementations do
    name = algorithm.name if algorithm is not None else "sha256"  # also Ed25519: no separate hash
    if name in ("md5", "sha1"):
        name = "sha256"
    return hashlib.new(name, leaf_der).digest()

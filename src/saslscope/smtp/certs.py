"""A throw-away certificate authority and server certificate, for tests and ``demo``.

``serve`` without ``--cert/--key`` and every test that needs a TLS peer call
:func:`make_test_pki`: it writes a fresh CA and one server certificate signed by it into a
directory, so a client can verify the server with ``--cafile DIR/ca.pem`` (verification stays
on; nothing is ever "insecure"). Keys are ECDSA P-256: fast to make (milliseconds, unlike
RSA-2048), accepted by OpenSSL, Perl's IO::Socket::SSL (swaks) and Python's ``ssl``.

The server certificate follows what a verifying client checks (RFC 6125, RFC 5280):
hostnames and IP addresses go into subjectAltName (a CN alone is ignored by modern clients),
``extendedKeyUsage=serverAuth``, and the CA has ``basicConstraints CA:TRUE`` with
``keyCertSign`` so that OpenSSL 3 accepts it as an issuer.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from saslscope.smtp.findings import EXPIRY_WARNING_DAYS
from saslscope.smtp.private_files import PUBLIC_FILE, ExistingFileError, create_new, private_directory

#: names every test server answers to: the loopback addresses and the usual loopback names
DEFAULT_HOSTNAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")

#: long enough for any test run and well clear of ``probe``'s "expires soon" warning (so that
#: saslscope does not warn about its own throw-away certificate), short enough that a leaked
#: test CA is soon worthless
VALIDITY = datetime.timedelta(days=EXPIRY_WARNING_DAYS + 16)
#: clock-skew allowance: certificates are valid from a little before "now"
BACKDATE = datetime.timedelta(hours=1)

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"
CERT_FILE = "server.pem"
KEY_FILE = "server.key"
CHAIN_FILE = "server-chain.pem"


@dataclass(frozen=True)
class TestPki:
    """Where :func:`make_test_pki` wrote its files.

    ``cert_path`` is the server certificate alone, ``chain_path`` the server certificate
    followed by the CA (what a server should send), ``key_path`` its unencrypted private key.
    Give ``ca_cert_path`` to clients (``--cafile``, ``swaks --tls-ca-path``,
    ``ssl.create_default_context(cafile=...)``).
    """

    __test__ = False  # not a pytest test class despite the name

    directory: Path
    ca_cert_path: Path
    ca_key_path: Path
    cert_path: Path
    key_path: Path
    chain_path: Path
    hostnames: tuple[str, ...]


def make_test_pki(
    directory: str | os.PathLike[str],
    hostnames: Iterable[str] = DEFAULT_HOSTNAMES,
    *,
    organization: str = "saslscope throw-away test CA",
) -> TestPki:
    """Create a CA and a server certificate for ``hostnames`` in ``directory``.

    ``hostnames`` may mix DNS names and IP address literals (``127.0.0.1``, ``::1``); the
    first one becomes the subject CN. The directory is created (0700) if needed. Existing
    files are never replaced, nor symlinks followed: :class:`~saslscope.smtp.private_files.
    ExistingFileError` (a FileExistsError) names the first one found. Private keys are 0600.
    """
    names = tuple(dict.fromkeys(hostnames))
    if not names:
        raise ValueError("make_test_pki needs at least one hostname")
    target = private_directory(directory)
    for name in (CA_CERT_FILE, CA_KEY_FILE, CERT_FILE, KEY_FILE, CHAIN_FILE):
        if os.path.lexists(target / name):
            raise ExistingFileError(target / name)

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} {now:%Y-%m-%dT%H:%M:%SZ}"),
        ]
    )
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
        ]
    )
    server_cert = (
        _builder(server_name, ca_name, server_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pki = TestPki(
        directory=target,
        ca_cert_path=target / CA_CERT_FILE,
        ca_key_path=target / CA_KEY_FILE,
        cert_path=target / CERT_FILE,
        key_path=target / KEY_FILE,
        chain_path=target / CHAIN_FILE,
        hostnames=names,
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    server_pem = server_cert.public_bytes(serialization.Encoding.PEM)
    create_new(pki.ca_cert_path, ca_pem, PUBLIC_FILE)
    create_new(pki.ca_key_path, _private_pem(ca_key))
    create_new(pki.cert_path, server_pem, PUBLIC_FILE)
    create_new(pki.chain_path, server_pem + ca_pem, PUBLIC_FILE)
    create_new(pki.key_path, _private_pem(server_key))
    return pki


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

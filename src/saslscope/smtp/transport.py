"""The one place that touches sockets and ``ssl``: connect, implicit TLS, STARTTLS upgrade.

Blocking sockets with a per-operation timeout: a CLI that runs one session does not need an
event loop, and skipping asyncio keeps start-up cheap (see benchmarks/).
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from collections import deque
from dataclasses import dataclass
from enum import Enum

from saslscope.smtp.codec import Reply, ReplyParser
from saslscope.smtp.errors import ConnectFailed, ProtocolViolation, TlsFailed

RECV_SIZE = 65536


class TlsMode(str, Enum):
    """How the session gets TLS."""

    STARTTLS = "starttls"   # cleartext greeting, then STARTTLS (RFC 3207); ports 587 and 25
    IMPLICIT = "implicit"   # TLS from the first byte (RFC 8314 §3.3); port 465
    NONE = "none"           # cleartext throughout: only when explicitly asked for


#: what a port means when the user does not say (RFC 8314 §3.3 for 465, RFC 6409 for 587)
DEFAULT_TLS_FOR_PORT = {465: TlsMode.IMPLICIT, 587: TlsMode.STARTTLS, 25: TlsMode.STARTTLS}

_TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
TLS_VERSION_NAMES = tuple(_TLS_VERSIONS)


@dataclass(frozen=True)
class TlsSettings:
    """How to do TLS. Verification of the chain and of the host name is on by default.

    ``server_name`` is sent as SNI and is the name the certificate must match; ``None``
    means the host connected to. ``minimum_version`` and ``maximum_version`` are among
    :data:`TLS_VERSION_NAMES`; ``None`` keeps OpenSSL's defaults (at least TLS 1.2 on
    current Debian). ``legacy_protocols`` lowers OpenSSL's security level to 0 so that
    TLS 1.0/1.1 can be negotiated at all: only ``probe`` uses it, to find out whether a
    server still accepts them, never to send credentials.
    """

    verify: bool = True
    cafile: str | None = None
    capath: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    minimum_version: str | None = None
    maximum_version: str | None = None
    server_name: str | None = None
    legacy_protocols: bool = False


def make_context(settings: TlsSettings) -> ssl.SSLContext:
    """An ``SSLContext`` for ``settings``; raises :class:`TlsFailed` for unreadable files."""
    try:
        if settings.verify:
            context = ssl.create_default_context(cafile=settings.cafile, capath=settings.capath)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if settings.client_cert:
            context.load_cert_chain(settings.client_cert, settings.client_key)
    except (OSError, ssl.SSLError) as exc:
        raise TlsFailed(f"cannot load TLS files: {_reason(exc)}") from None
    with warnings.catch_warnings():
        # Python deprecates TLS 1.0/1.1; asking for them here is deliberate
        warnings.simplefilter("ignore", DeprecationWarning)
        if settings.legacy_protocols:
            context.set_ciphers("DEFAULT@SECLEVEL=0")
            context.minimum_version = ssl.TLSVersion.TLSv1
        if settings.minimum_version is not None:
            context.minimum_version = _TLS_VERSIONS[settings.minimum_version]
        if settings.maximum_version is not None:
            context.maximum_version = _TLS_VERSIONS[settings.maximum_version]
    return context


class Transport:
    """An SMTP client connection: send command bytes, read replies, upgrade to TLS."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock: socket.socket = sock
        self._timeout = timeout
        self._parser = ReplyParser()
        self._ready: deque[Reply] = deque()
        self.peer: tuple[str, int] = sock.getpeername()[:2]

    @classmethod
    def connect(cls, host: str, port: int, timeout: float, source_address: str | None = None) -> Transport:
        """TCP connection to ``host`` (name, IPv4 or IPv6 literal) trying every address.

        ``source_address`` binds our end to that local address first (like swaks'
        ``--local-interface``), so that one machine can play clients from several
        addresses, for instance across 127.0.0.0/8.
        """
        source = (source_address, 0) if source_address is not None else None
        try:
            sock = socket.create_connection((host, port), timeout=timeout, source_address=source)
        except socket.gaierror as exc:
            raise ConnectFailed(f"cannot resolve {host}: {exc.strerror}") from None
        except TimeoutError:
            raise ConnectFailed(f"no answer from {_hostport(host, port)} within {timeout:g} s") from None
        except OSError as exc:
            source_note = f" from {source_address}" if source_address is not None else ""
            raise ConnectFailed(f"cannot connect to {_hostport(host, port)}{source_note}: {_reason(exc)}") from None
        sock.settimeout(timeout)
        return cls(sock, timeout)

    @property
    def local_address(self) -> str:
        return str(self._sock.getsockname()[0])

    @property
    def tls_active(self) -> bool:
        return isinstance(self._sock, ssl.SSLSocket)

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise ConnectFailed(f"could not send within {self._timeout:g} s") from None
        except OSError as exc:
            raise ConnectFailed(f"connection lost while sending: {_reason(exc)}") from None

    def read_reply(self, deadline: float | None = None) -> Reply:
        """The next complete reply. Raises :class:`ConnectFailed` on timeout or when the
        server closes the connection, :class:`ProtocolViolation` on malformed replies.

        The timeout covers the whole reply, not each read: a server dripping one byte at
        a time cannot hold the client for longer than that. ``deadline`` (a
        ``time.monotonic()`` value) can end it sooner: AUTH bounds its whole exchange so.
        """
        own_deadline = time.monotonic() + self._timeout
        deadline = own_deadline if deadline is None else min(deadline, own_deadline)
        while not self._ready:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                self._sock.settimeout(remaining)
                data = self._sock.recv(RECV_SIZE)
                self._sock.settimeout(self._timeout)  # sends and handshakes get the full time
            except TimeoutError:
                raise ConnectFailed(f"no reply from the server within {self._timeout:g} s") from None
            except ssl.SSLError as exc:
                raise TlsFailed(f"TLS error while reading: {_reason(exc)}") from None
            except OSError as exc:
                raise ConnectFailed(f"connection lost while reading: {_reason(exc)}") from None
            if not data:
                partial = self._parser.buffered
                detail = f" in the middle of a reply ({len(partial)} octets)" if partial else ""
                raise ConnectFailed(f"the server closed the connection{detail}")
            self._ready.extend(self._parser.feed(data))
        return self._ready.popleft()

    def handshake(self, context: ssl.SSLContext, server_name: str, *, after_starttls: bool) -> ssl.SSLSocket:
        """Wrap the connection in TLS: at once for implicit TLS, or after ``220`` to STARTTLS.

        RFC 3207 §4.2 and CVE-2011-0411: anything the server sent after its ``220`` and
        before the handshake arrived unprotected; a client that kept it would read it later
        as if it came through TLS (STARTTLS response injection). So any such byte, already
        buffered or waiting in the socket, ends the session before the handshake. For
        implicit TLS the server must not speak first at all; if it did, it is a cleartext
        port.
        """
        leftover = b"".join(r.raw for r in self._ready) + self._parser.buffered + self._peek()
        if leftover and after_starttls:
            raise ProtocolViolation(
                f"the server sent {len(leftover)} octets after its STARTTLS 220 and before the TLS "
                f"handshake (\"{_excerpt(leftover)}\"): STARTTLS injection, session ended, nothing sent"
            )
        if leftover:
            raise TlsFailed(
                f"the server spoke first in cleartext (\"{_excerpt(leftover)}\") instead of waiting for "
                "the TLS handshake: not an implicit-TLS port (try --starttls)"
            )
        try:
            wrapped = context.wrap_socket(self._sock, server_hostname=server_name or None)
        except ssl.SSLCertVerificationError as exc:
            raise CertificateRejected(exc.verify_message or _reason(exc), exc.verify_code) from None
        except TimeoutError:
            raise TlsFailed(f"TLS handshake not finished within {self._timeout:g} s") from None
        except ssl.SSLError as exc:
            # a cleartext greeting read as a TLS record is "wrong version number"
            hint = "" if after_starttls else " (a STARTTLS or cleartext port? try --starttls)"
            raise TlsFailed(f"TLS handshake failed: {_reason(exc)}{hint}") from None
        except OSError as exc:
            raise ConnectFailed(f"connection lost during the TLS handshake: {_reason(exc)}") from None
        self._sock = wrapped
        self._parser = ReplyParser()
        return wrapped

    def _peek(self) -> bytes:
        try:
            self._sock.setblocking(False)
            return self._sock.recv(RECV_SIZE, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            raise ConnectFailed(f"connection lost before the TLS handshake: {_reason(exc)}") from None
        finally:
            self._sock.settimeout(self._timeout)

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass


class CertificateRejected(TlsFailed):
    """The server's certificate did not verify (chain, host name, validity)."""

    def __init__(self, verify_message: str, verify_code: int | None = None) -> None:
        super().__init__(
            f"certificate verification failed: {verify_message} (a private or test CA: --cafile FILE; "
            "another name on the certificate: --sni NAME; to look without verifying: --insecure)"
        )
        self.verify_message = verify_message
        #: OpenSSL's X509_V_ERR_* number (62 host name mismatch, 10 expired...)
        self.verify_code = verify_code


def _excerpt(data: bytes, limit: int = 40) -> str:
    """The first ``limit`` octets as text, line ends shown as ``\\r\\n``: not a Python repr."""
    text = data[:limit].decode("utf-8", "backslashreplace").replace("\r", "\\r").replace("\n", "\\n")
    return text + ("..." if len(data) > limit else "")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.filename is None else f"{exc.filename}: {exc.strerror.lower()}"
    return str(exc) or type(exc).__name__

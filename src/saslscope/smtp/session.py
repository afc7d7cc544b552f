"""One SMTP client connection as a sequence of phases, recorded into a result.

banner -> EHLO -> STARTTLS -> EHLO, then whatever the caller does (AUTH and mail in
:mod:`saslscope.smtp.client`, mechanism checks in :mod:`saslscope.smtp.probe`), then QUIT.
Every :class:`~saslscope.smtp.errors.SessionError` becomes the result's ``outcome`` and
one-line ``error``: nothing the network or the peer does raises out of :func:`run_session`.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from saslscope.smtp import tlsinfo
from saslscope.smtp.capabilities import Capabilities
from saslscope.smtp.codec import Reply, format_command
from saslscope.smtp.errors import ConnectFailed, Outcome, SessionError, SmtpRefused, TlsFailed
from saslscope.smtp.findings import EXPIRY_WARNING_DAYS, Finding, findings as collect_findings
from saslscope.smtp.transcript import MASK, Direction, Event, Transcript
from saslscope.smtp.transport import (
    DEFAULT_TLS_FOR_PORT,
    TlsMode,
    TlsSettings,
    Transport,
    make_context,
)

DEFAULT_PORT = 587
DEFAULT_TIMEOUT = 30.0
#: seconds to wait for a cleartext greeting on port 465, which RFC 8314 assigns to implicit TLS
IMPLICIT_PORT_GREETING_WAIT = 5.0


class QuitAfter(str, Enum):
    """Where a session stops (then sends QUIT)."""

    BANNER = "banner"
    EHLO = "ehlo"      # the first EHLO
    TLS = "tls"        # the EHLO after STARTTLS (same as EHLO without STARTTLS)
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"      # the whole message

    def before(self, other: QuitAfter) -> bool:
        """True if a session told to stop here stops before ``other`` is reached."""
        return _PHASE_INDEX[self] < _PHASE_INDEX[other]


_PHASE_INDEX = {phase: index for index, phase in enumerate(QuitAfter)}


@dataclass(frozen=True)
class SessionOptions:
    """Where and how to connect. ``port`` None means 587; ``tls_mode`` None means what
    the port implies (465 implicit TLS, 587 and 25 STARTTLS, anything else STARTTLS);
    ``helo`` None means this host's name, or our address literal if it has no dot."""

    host: str
    port: int | None = None
    tls_mode: TlsMode | None = None
    tls: TlsSettings = TlsSettings()
    helo: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    #: a certificate expiring sooner than this many days is a warning finding
    expiry_warning_days: float = EXPIRY_WARNING_DAYS
    #: the local address our end of the connection is bound to (None: the system picks)
    source_address: str | None = None

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORT

    @property
    def effective_tls_mode(self) -> TlsMode:
        if self.tls_mode is not None:
            return self.tls_mode
        return DEFAULT_TLS_FOR_PORT.get(self.effective_port, TlsMode.STARTTLS)

    @property
    def server_name(self) -> str:
        return self.tls.server_name or self.host


@dataclass
class SessionResult:
    """What one session did. ``error`` is a one-line message when ``outcome`` is not OK."""

    host: str
    port: int
    tls_mode: TlsMode
    outcome: Outcome = Outcome.OK
    error: str | None = None
    transcript: Transcript = field(default_factory=Transcript)
    peer: tuple[str, int] | None = None
    banner: Reply | None = None
    #: the EHLO reply in cleartext (None with implicit TLS); ``capabilities`` is the last one
    capabilities_before_tls: Capabilities | None = None
    capabilities: Capabilities | None = None
    tls: tlsinfo.TlsDetails | None = None
    #: seconds from the start: connected, TLS up, AUTH answered, end
    timings: dict[str, float] = field(default_factory=dict)
    #: certificates expiring sooner than this many days give a warning finding
    expiry_warning_days: float = EXPIRY_WARNING_DAYS
    #: secret byte strings sent in this session (the base64 of a PLAIN answer, the password):
    #: masked wherever a reply echoes them (``mask``), kept out of every output
    secrets: list[bytes] = field(default_factory=list, repr=False)

    def mask(self, text: str) -> str:
        """``text`` with every known secret replaced by the mask."""
        for secret in self.secrets:
            text = text.replace(secret.decode("utf-8", "backslashreplace"), MASK)
        return text

    @cached_property
    def findings(self) -> list[Finding]:
        """What an admin must act on, most severe first. Computed on first use: it parses
        certificates with ``cryptography``, which a plain ``login`` does not pay for."""
        return collect_findings(self, expiry_warning_days=self.expiry_warning_days)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def events(self) -> list[Event]:
        return self.transcript.events


class Session:
    """One connection's worth of protocol, recording into ``result``."""

    def __init__(self, options: SessionOptions, result: SessionResult) -> None:
        self.options = options
        self.result = result
        self.transport: Transport | None = None
        self.helo = options.helo

    # -- low level ------------------------------------------------------------------

    @property
    def under_tls(self) -> bool:
        return self.transport is not None and self.transport.tls_active

    def send(self, data: bytes, **details: Any) -> None:
        assert self.transport is not None
        self.result.transcript.record(Direction.SENT, data, self.under_tls, **details)
        self.transport.send(data)

    def command(self, verb: str, argument: str | None = None) -> Reply:
        self.send(format_command(verb, argument))
        return self.receive()

    def receive(self, **details: Any) -> Reply:
        reply = self.read_reply()
        self.record_reply(reply, **details)
        return reply

    def read_reply(self, deadline: float | None = None) -> Reply:
        """The next reply, not yet recorded (the caller records it with :meth:`record_reply`);
        ``deadline`` (``time.monotonic()``) bounds it further than the per-reply timeout."""
        assert self.transport is not None
        return self.transport.read_reply(deadline)

    def record_reply(self, reply: Reply, **details: Any) -> None:
        """Record a received reply; known secrets it echoes are masked when rendered."""
        masks = tuple(secret for secret in self.result.secrets if secret in reply.raw)
        self.result.transcript.record(Direction.RECEIVED, reply.raw, self.under_tls, masks=masks, **details)

    def add_secret(self, secret: bytes) -> None:
        if secret and secret not in self.result.secrets:
            self.result.secrets.append(secret)

    def mask(self, text: str) -> str:
        return self.result.mask(text)

    def note(self, text: str) -> None:
        self.result.transcript.note(text, self.under_tls)

    # -- phases ---------------------------------------------------------------------

    def connect(self) -> None:
        options = self.options
        self.transport = Transport.connect(
            options.host, options.effective_port, options.timeout, options.source_address
        )
        self.result.peer = self.transport.peer
        self.result.timings["connect"] = self.result.transcript.elapsed()
        self.note(f"connected to {_hostport(*self.transport.peer)}")
        if self.helo is None:
            self.helo = default_helo(self.transport)
        if options.effective_tls_mode is TlsMode.IMPLICIT:
            self.start_tls(after_starttls=False)

    def start_tls(self, *, after_starttls: bool) -> None:
        assert self.transport is not None
        settings = self.options.tls
        context = make_context(settings)
        sock = self.transport.handshake(context, self.options.server_name, after_starttls=after_starttls)
        details = tlsinfo.capture(sock, self.options.server_name, verified=True if settings.verify else None)
        self.result.tls = details
        self.result.timings["tls"] = self.result.transcript.elapsed()
        self.note(f"TLS: {details.summary()}")

    def banner(self) -> Reply:
        """The greeting. An implicit-TLS server waits silently for our ClientHello and
        then hangs up, so a missing greeting on a cleartext start gets a hint. On the port
        RFC 8314 assigns to implicit TLS (465) that wait is cut to
        :data:`IMPLICIT_PORT_GREETING_WAIT` seconds: a cleartext greeting there is the
        exception, and the user should not wait the whole timeout to learn it."""
        deadline = None
        if not self.under_tls and DEFAULT_TLS_FOR_PORT.get(self.options.effective_port) is TlsMode.IMPLICIT:
            deadline = time.monotonic() + min(self.options.timeout, IMPLICIT_PORT_GREETING_WAIT)
        try:
            banner = self.read_reply(deadline)
        except ConnectFailed as exc:
            if self.under_tls:
                raise
            message = exc.message if deadline is None else f"nothing within {IMPLICIT_PORT_GREETING_WAIT:g} s"
            raise ConnectFailed(f"{message} before the greeting (an implicit-TLS port? try --tls)") from None
        self.record_reply(banner)
        self.result.banner = banner
        return banner

    def greet(self) -> Capabilities:
        """Banner (RFC 5321 §4.3.1: 220, or 554 = no service) and the first EHLO."""
        banner = self.banner()
        if banner.code != 220:
            raise SmtpRefused(f"the server refused the session: {banner.summary()}")
        return self.ehlo()

    def ehlo(self) -> Capabilities:
        reply = self.command("EHLO", self.helo)
        if reply.code != 250:
            raise SmtpRefused(f"the server refused EHLO {self.helo}: {reply.summary()}")
        capabilities = Capabilities.from_reply(reply)
        self.result.capabilities = capabilities
        if not self.under_tls:
            self.result.capabilities_before_tls = capabilities
        return capabilities

    def starttls(self, capabilities: Capabilities) -> Capabilities:
        """RFC 3207: STARTTLS, 220, handshake, and EHLO again (§4.2: forget what came before)."""
        if "STARTTLS" not in capabilities:
            raise TlsFailed(
                "the server does not offer STARTTLS (use --tls for implicit TLS, or --no-tls "
                "to test without TLS)"
            )
        reply = self.command("STARTTLS")
        if reply.code != 220:
            raise TlsFailed(f"the server refused STARTTLS: {reply.summary()}")
        self.start_tls(after_starttls=True)
        return self.ehlo()

    def open(self, quit_after: QuitAfter = QuitAfter.TLS) -> Capabilities | None:
        """Connect, greet, and STARTTLS if the mode says so (for any ``quit_after`` from
        TLS on); None when told to stop after the banner."""
        self.connect()
        if quit_after is QuitAfter.BANNER:
            self.banner()
            return None
        capabilities = self.greet()
        if quit_after is QuitAfter.EHLO or self.options.effective_tls_mode is not TlsMode.STARTTLS:
            return capabilities
        return self.starttls(capabilities)

    def quit(self) -> None:
        """QUIT politely; the peer closing first is fine (RFC 5321 §4.1.1.10)."""
        try:
            self.command("QUIT")
        except SessionError:
            pass

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.result.timings["end"] = self.result.transcript.elapsed()


@contextmanager
def run_session(options: SessionOptions, result: SessionResult) -> Iterator[Session]:
    """Run a session; any :class:`SessionError` becomes the result's outcome. QUIT is sent
    unless the peer broke the protocol (then nothing more is sent) or the link is gone."""
    result.expiry_warning_days = options.expiry_warning_days
    session = Session(options, result)
    try:
        yield session
        session.quit()
    except SessionError as exc:
        result.outcome = exc.outcome
        result.error = exc.message
        if exc.outcome in (Outcome.AUTH_FAILED, Outcome.SMTP_REFUSED, Outcome.REFUSED_BY_POLICY) and session.transport:
            session.quit()
    finally:
        session.close()


# -- helpers ----------------------------------------------------------------------------


def default_helo(transport: Transport) -> str:
    """This host's name if it looks like a domain, else our address as an address
    literal (RFC 5321 §4.1.3): ``[192.0.2.1]`` or ``[IPv6:::1]``."""
    name = socket.gethostname()
    if "." in name:
        return name
    address = transport.local_address
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

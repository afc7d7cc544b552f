"""The SMTP AUTH test client: one session driver for ``probe``, ``login`` and ``demo``.

banner -> EHLO -> STARTTLS -> EHLO -> AUTH (one :mod:`saslscope.sasl` client) ->
MAIL/RCPT/DATA -> QUIT, recording every step in a :class:`~saslscope.smtp.transcript.Transcript`.
Nothing the network or the peer does raises out of :func:`login` or :func:`probe`: the
result says what happened (:class:`~saslscope.smtp.errors.Outcome`) in one line.

What it deliberately never does (the swaks gaps of issue 3): send a password over
cleartext unless allowed, fall back to another mechanism after a failure, keep bytes that
arrived between STARTTLS's ``220`` and the handshake, skip certificate verification unasked.
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from saslscope.sasl.base import ClientCredentials, ClientMechanism
from saslscope.sasl.errors import AuthenticationFailed, SaslError
from saslscope.smtp import tlsinfo
from saslscope.smtp.capabilities import Capabilities
from saslscope.smtp.codec import AUTH_LINE_LIMIT, Reply, dot_stuff, format_address, format_command
from saslscope.smtp.findings import EXPIRY_WARNING_DAYS, Finding
from saslscope.smtp.findings import findings as collect_findings
from saslscope.smtp.errors import (
    AuthRejected,
    ConnectFailed,
    Outcome,
    PolicyRefusal,
    ProtocolViolation,
    SessionError,
    SmtpRefused,
    TlsFailed,
)
from saslscope.smtp.transcript import Direction, Secrecy, Transcript
from saslscope.smtp.transport import (
    DEFAULT_TLS_FOR_PORT,
    CertificateRejected,
    TlsMode,
    TlsSettings,
    Transport,
    make_context,
)

if TYPE_CHECKING:
    from saslscope.smtp.message import MessageSpec

DEFAULT_PORT = 587
DEFAULT_TIMEOUT = 30.0

#: what ``--mech`` picks when not given: strongest first. SCRAM-*-PLUS binds the exchange
#: to this TLS session (RFC 5802 §6); CRAM-MD5 and DIGEST-MD5 (RFC 6331: historic) at least
#: keep the password off the wire; PLAIN/LOGIN send it, protected only by TLS.
PASSWORD_PREFERENCE = (
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "CRAM-MD5",
    "DIGEST-MD5",
    "PLAIN",
    "LOGIN",
)
TOKEN_PREFERENCE = ("OAUTHBEARER", "XOAUTH2")

_QUEUE_ID = re.compile(r"queued as ([0-9A-Za-z]+)")


class QuitAfter(str, Enum):
    """Where a session stops (then sends QUIT)."""

    BANNER = "banner"
    EHLO = "ehlo"      # the first EHLO
    TLS = "tls"        # the EHLO after STARTTLS (same as EHLO without STARTTLS)
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"      # the whole message


_QUIT_ORDER = list(QuitAfter)


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


@dataclass(frozen=True)
class LoginOptions(SessionOptions):
    """A login (and optionally a test message).

    ``mechanism`` None picks the strongest advertised one we support
    (:data:`PASSWORD_PREFERENCE`, or :data:`TOKEN_PREFERENCE` when only a token is given).
    ``quit_after`` None means AUTH, or DATA when ``message`` is given.
    """

    mechanism: str | None = None
    credentials: ClientCredentials = ClientCredentials()
    allow_cleartext_auth: bool = False
    quit_after: QuitAfter | None = None
    message: MessageSpec | None = None

    @property
    def effective_quit_after(self) -> QuitAfter:
        if self.quit_after is not None:
            return self.quit_after
        return QuitAfter.DATA if self.message is not None else QuitAfter.AUTH


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
    capabilities_before_tls: Capabilities | None = None
    capabilities: Capabilities | None = None
    tls: tlsinfo.TlsDetails | None = None
    #: seconds from the start: connected, TLS up, AUTH answered, end
    timings: dict[str, float] = field(default_factory=dict)
    #: certificates expiring sooner than this many days give a warning finding
    expiry_warning_days: float = EXPIRY_WARNING_DAYS

    @cached_property
    def findings(self) -> list[Finding]:
        """What an admin must act on, most severe first. Computed on first use: it parses
        certificates with ``cryptography``, which a plain ``login`` does not pay for."""
        return collect_findings(self, expiry_warning_days=self.expiry_warning_days)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def events(self):  # noqa: ANN201 - list[Event]
        return self.transcript.events


@dataclass
class LoginResult(SessionResult):
    mechanism: str | None = None
    username: str | None = None
    authenticated: bool = False
    auth_reply: Reply | None = None
    #: SCRAM/DIGEST-MD5: did the server prove it knows the password (None: mechanism can't)
    server_verified: bool | None = None
    mail_replies: list[Reply] = field(default_factory=list)
    queue_id: str | None = None


@dataclass(frozen=True)
class MechanismCheck:
    """``probe``: does an advertised mechanism answer (334) or fail at once (504/454...)?"""

    mechanism: str
    works: bool
    reply: str


@dataclass
class ProbeResult(SessionResult):
    mechanism_checks: list[MechanismCheck] = field(default_factory=list)
    #: set when the first, verifying connection failed on the certificate; the details
    #: shown then come from a second connection made without verification
    verification_error: str | None = None


class _Session:
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
        assert self.transport is not None
        tls = self.under_tls
        reply = self.transport.read_reply()
        self.result.transcript.record(Direction.RECEIVED, reply.raw, tls, **details)
        return reply

    def note(self, text: str) -> None:
        self.result.transcript.note(text, self.under_tls)

    # -- phases ---------------------------------------------------------------------

    def connect(self) -> None:
        options = self.options
        self.transport = Transport.connect(options.host, options.effective_port, options.timeout)
        self.result.peer = self.transport.peer
        self.result.timings["connect"] = self.result.transcript.elapsed()
        self.note(f"connected to {_hostport(*self.transport.peer)}")
        if self.helo is None:
            self.helo = default_helo(self.transport)
        if options.effective_tls_mode is TlsMode.IMPLICIT:
            self.start_tls()

    def start_tls(self) -> None:
        assert self.transport is not None
        settings = self.options.tls
        context = make_context(settings)
        sock = self.transport.handshake(context, self.options.server_name)
        details = tlsinfo.capture(sock, self.options.server_name, verified=True if settings.verify else None)
        self.result.tls = details
        self.result.timings["tls"] = self.result.transcript.elapsed()
        self.note(f"TLS: {details.summary()}")

    def greet(self) -> Capabilities:
        """Banner (RFC 5321 §4.3.1: 220, or 554 = no service) and the first EHLO."""
        banner = self.receive()
        self.result.banner = banner
        if banner.code != 220:
            raise SmtpRefused(f"the server refused the session: {banner.summary()}")
        return self.ehlo()

    def ehlo(self) -> Capabilities:
        reply = self.command("EHLO", self.helo)
        if reply.code != 250:
            raise SmtpRefused(f"the server refused EHLO {self.helo}: {reply.summary()}")
        capabilities = Capabilities.from_reply(reply)
        self.result.capabilities = capabilities
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
        self.result.capabilities_before_tls = capabilities
        self.start_tls()
        return self.ehlo()

    def open(self, quit_after: QuitAfter = QuitAfter.TLS) -> Capabilities | None:
        """Connect, greet, and STARTTLS if the mode says so; None if told to stop earlier."""
        self.connect()
        if quit_after is QuitAfter.BANNER:
            self.result.banner = self.receive()
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
def _session(options: SessionOptions, result: SessionResult) -> Iterator[_Session]:
    """Run a session; any :class:`SessionError` becomes the result's outcome. QUIT is sent
    unless the peer broke the protocol (then nothing more is sent) or the link is gone."""
    result.expiry_warning_days = options.expiry_warning_days
    session = _Session(options, result)
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


# -- login ------------------------------------------------------------------------------


def login(options: LoginOptions) -> LoginResult:
    """One login session (plus the test message if ``options.message``). Never raises for
    network, TLS or protocol trouble: see ``result.outcome`` and ``result.error``."""
    result = LoginResult(options.host, options.effective_port, options.effective_tls_mode)
    result.username = options.credentials.username or None
    try:
        _check_cleartext_policy(options, options.mechanism)
    except PolicyRefusal as exc:
        result.outcome, result.error = exc.outcome, exc.message
        return result
    quit_after = options.effective_quit_after
    with _session(options, result) as session:
        capabilities = session.open(quit_after if quit_after in (QuitAfter.BANNER, QuitAfter.EHLO) else QuitAfter.TLS)
        if capabilities is None or _QUIT_ORDER.index(quit_after) < _QUIT_ORDER.index(QuitAfter.AUTH):
            return result
        _authenticate(session, options, result, capabilities)
        if options.message is not None and quit_after is not QuitAfter.AUTH:
            _send_message(session, options, result, capabilities, quit_after)
    return result


def login_each_mechanism(options: LoginOptions) -> tuple[SessionResult, list[LoginResult]]:
    """``--mech all``: learn the advertised mechanisms, then log in with each supported
    one on its own fresh connection (never a cascade inside one session)."""
    discovery = LoginResult(options.host, options.effective_port, options.effective_tls_mode)
    with _session(options, discovery) as session:
        session.open()
    if not discovery.ok or discovery.capabilities is None:
        return discovery, []
    from saslscope.sasl.registry import CLIENT_MECHANISMS

    results = []
    for name in discovery.capabilities.auth_mechanisms:
        if name in CLIENT_MECHANISMS:
            results.append(login(replace(options, mechanism=name, quit_after=QuitAfter.AUTH, message=None)))
    return discovery, results


def choose_mechanism(advertised: tuple[str, ...], credentials: ClientCredentials, *, tls: bool) -> str | None:
    """The strongest advertised mechanism we have a client for and credentials to use."""
    from saslscope.sasl.registry import CLIENT_MECHANISMS

    preference = PASSWORD_PREFERENCE if credentials.password is not None else TOKEN_PREFERENCE
    for name in preference:
        if name.endswith("-PLUS") and not tls:
            continue
        if name in advertised and name in CLIENT_MECHANISMS:
            return name
    return None


def _mechanism_class(name: str) -> type[ClientMechanism] | None:
    from saslscope.sasl.registry import CLIENT_MECHANISMS

    factory = CLIENT_MECHANISMS.get(name.upper())
    return factory if isinstance(factory, type) else None


def _check_cleartext_policy(options: LoginOptions, mechanism: str | None, *, tls: bool | None = None) -> None:
    """Refuse any mechanism that uses a password or token over a cleartext connection,
    unless the user allowed it: PLAIN and LOGIN give the password to every listener, and
    CRAM-MD5/DIGEST-MD5/SCRAM give them an offline dictionary attack (RFC 4954 §4 and §15)."""
    if mechanism is None or options.allow_cleartext_auth:
        return
    under_tls = tls if tls is not None else options.effective_tls_mode is not TlsMode.NONE
    mechanism_class = _mechanism_class(mechanism)
    if under_tls or mechanism_class is None:
        return
    if mechanism_class.needs_password or mechanism_class.reveals_secret:
        what = "the password" if mechanism_class.needs_password else "the token"
        how = "in the clear" if mechanism_class.reveals_secret else "in a form open to offline cracking"
        raise PolicyRefusal(
            f"refusing {mechanism_class.name} over a connection without TLS: it would send {what} "
            f"{how}; use TLS, or --allow-cleartext-auth if you really mean it"
        )


def _authenticate(session: _Session, options: LoginOptions, result: LoginResult, capabilities: Capabilities) -> None:
    """AUTH with one mechanism (RFC 4954 §4). Failure is final: no other mechanism is tried."""
    advertised = capabilities.auth_mechanisms
    if not advertised:
        where = "after STARTTLS" if session.under_tls else "on this connection"
        raise AuthRejected(f"the server does not offer AUTH {where}")
    name = (options.mechanism or "").upper() or choose_mechanism(
        advertised, options.credentials, tls=session.under_tls
    )
    if name is None:
        raise PolicyRefusal(f"no mechanism in common: the server offers {' '.join(advertised)}")
    if name not in advertised:
        raise PolicyRefusal(f"the server does not offer {name} (it offers {' '.join(advertised)})")
    result.mechanism = name
    _check_cleartext_policy(options, name, tls=session.under_tls)
    mechanism = _make_mechanism(name, options.credentials, result)
    secrecy = (
        Secrecy.REVEALS_SECRET
        if mechanism.reveals_secret
        else Secrecy.OFFLINE_CRACKABLE
        if mechanism.offline_crackable
        else None
    )
    first = mechanism.initial_response()
    verb = f"AUTH {name}"
    if first is None:
        session.send(format_command("AUTH", name))
    else:
        # RFC 4954 §4: an empty initial response is sent as "=".
        encoded = base64.b64encode(first).decode("ascii") or "="
        session.send(
            format_command("AUTH", f"{name} {encoded}", limit=AUTH_LINE_LIMIT),
            secrecy=secrecy,
            secret_from=len(verb) + 1,
            explanation=_explain(first),
        )
    while True:
        reply = _receive_sasl(session, secrecy)
        if reply.code != 334:
            break
        challenge = _decode_challenge(reply)
        try:
            answer = mechanism.respond(challenge)
        except SaslError as exc:
            # RFC 4954 §4: "*" cancels the exchange; the server answers 501.
            session.send(b"*\r\n")
            session.receive()
            if isinstance(exc, AuthenticationFailed):
                raise AuthRejected(f"{name}: the server failed to prove itself: {exc}") from None
            raise ProtocolViolation(f"{name}: unusable challenge from the server: {exc}") from None
        session.send(
            base64.b64encode(answer) + b"\r\n",
            secrecy=secrecy,
            explanation=_explain(answer),
        )
    result.auth_reply = reply
    result.timings["auth"] = result.transcript.elapsed()
    result.server_verified = mechanism.server_verified
    if reply.code != 235:
        raise AuthRejected(f"{name} authentication rejected: {reply.summary()}")
    if mechanism.server_verified is False:
        raise AuthRejected(f"{name}: the server said 235 but never proved it knows the password")
    result.authenticated = True


def _make_mechanism(name: str, credentials: ClientCredentials, result: LoginResult) -> ClientMechanism:
    from saslscope.sasl.registry import client_mechanism

    options: dict[str, Any] = {"host": result.host, "service": "smtp"}
    if name.endswith("-PLUS"):
        binding = result.tls.channel_binding() if result.tls is not None else None
        if binding is None:
            raise PolicyRefusal(f"{name} needs TLS channel binding, and this session has none")
        options["channel_binding"] = binding
    try:
        return client_mechanism(name, credentials, **options)
    except SaslError as exc:
        raise PolicyRefusal(f"cannot use {name}: {exc}") from None


def _receive_sasl(session: _Session, secrecy: Secrecy | None) -> Reply:
    """A reply during AUTH; 334 challenges carry the mechanism's secrecy (SCRAM's salt and
    nonces are part of what an offline attack needs) and their decoded text."""
    assert session.transport is not None
    tls = session.under_tls
    try:
        reply = session.transport.read_reply()
    except ConnectFailed as exc:
        raise ConnectFailed(f"during AUTH: {exc.message}") from None
    details: dict[str, Any] = {}
    if reply.code == 334:
        details["explanation"] = _explain(_decode_challenge(reply))
        if secrecy is Secrecy.OFFLINE_CRACKABLE:
            details["secrecy"] = secrecy
    session.result.transcript.record(Direction.RECEIVED, reply.raw, tls, **details)
    return reply


def _decode_challenge(reply: Reply) -> bytes:
    text = reply.lines[0].strip() if reply.lines else ""
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ProtocolViolation(f"334 challenge is not valid base64: {text[:60]!r}") from None


def _explain(payload: bytes) -> str:
    """Decoded SASL payload for ``--explain``: text with NULs and control bytes made visible."""
    text = payload.decode("utf-8", errors="backslashreplace")
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text) if text else "(empty)"


# -- the test message -------------------------------------------------------------------


def _send_message(
    session: _Session, options: LoginOptions, result: LoginResult, capabilities: Capabilities, quit_after: QuitAfter
) -> None:
    from saslscope.smtp.message import body_type, build_message

    spec = options.message
    assert spec is not None and session.helo is not None
    content = build_message(spec, session.helo)
    mail_parameters = []
    if spec.needs_smtputf8:
        if "SMTPUTF8" not in capabilities:
            raise SmtpRefused("the addresses need SMTPUTF8 (RFC 6531), which the server does not offer")
        mail_parameters.append("SMTPUTF8")
    body = body_type(content)
    if body is not None and body in capabilities:
        mail_parameters.append(f"BODY={body}")
    if capabilities.size_limit is not None:
        mail_parameters.append(f"SIZE={len(content)}")
    wants_dsn = spec.dsn_notify or spec.dsn_ret or spec.dsn_envid
    if wants_dsn and "DSN" not in capabilities:
        raise SmtpRefused("--dsn options given, but the server does not offer DSN (RFC 3461)")
    if spec.dsn_ret:
        mail_parameters.append(f"RET={spec.dsn_ret}")
    if spec.dsn_envid:
        mail_parameters.append(f"ENVID={_xtext(spec.dsn_envid)}")
    _expect(session, result, "MAIL", " ".join([f"FROM:{format_address(spec.mail_from)}", *mail_parameters]), 250)
    if quit_after is QuitAfter.MAIL:
        return
    for recipient in spec.recipients:
        argument = f"TO:{format_address(recipient)}"
        if spec.dsn_notify:
            argument += f" NOTIFY={','.join(spec.dsn_notify)}"
        _expect(session, result, "RCPT", argument, 250, 251)
    if quit_after is QuitAfter.RCPT:
        return
    _expect(session, result, "DATA", None, 354)
    session.send(dot_stuff(content))
    reply = session.receive()
    result.mail_replies.append(reply)
    if not reply.is_positive:
        raise SmtpRefused(f"the server refused the message: {reply.summary()}")
    match = _QUEUE_ID.search(reply.text)
    result.queue_id = match.group(1) if match else None


def _expect(session: _Session, result: LoginResult, verb: str, argument: str | None, *codes: int) -> Reply:
    reply = session.command(verb, argument)
    result.mail_replies.append(reply)
    if reply.code not in codes:
        shown = f"{verb} {argument}" if argument else verb
        raise SmtpRefused(f"the server refused {shown}: {reply.summary()}")
    return reply


def _xtext(value: str) -> str:
    """RFC 3461 §4: xtext, '+' and '=' and anything outside 33..126 as +HH."""
    return "".join(ch if 33 <= ord(ch) <= 126 and ch not in "+=" else f"+{ord(ch):02X}" for ch in value)


# -- probe ------------------------------------------------------------------------------


def probe(options: SessionOptions, *, check_mechanisms: bool = True) -> ProbeResult:
    """Banner, EHLO before/after TLS, TLS details, and (``check_mechanisms``) whether each
    advertised mechanism starts: ``AUTH MECH``, expect 334, cancel with ``*``. No
    credentials are sent. Mechanisms are only started under TLS.

    When the certificate does not verify, a second connection without verification
    collects what the server presents, and ``verification_error`` says why it failed.
    """
    result = _probe_once(options, check_mechanisms)
    if result.outcome is Outcome.TLS and result.verification_error is not None:
        unverified = replace(options, tls=replace(options.tls, verify=False))
        second = _probe_once(unverified, check_mechanisms, result.transcript)
        second.verification_error = result.verification_error
        second.outcome, second.error = result.outcome, result.error
        if second.tls is not None:
            second.tls = replace(second.tls, verified=False, verify_error=result.verification_error)
        return second
    return result


def _probe_once(options: SessionOptions, check_mechanisms: bool, transcript: Transcript | None = None) -> ProbeResult:
    result = ProbeResult(options.host, options.effective_port, options.effective_tls_mode)
    if transcript is not None:
        result.transcript = transcript
        transcript.note("connecting again without verification, to show what the server presents", False)
    with _session(options, result) as session:
        try:
            capabilities = session.open()
        except CertificateRejected as exc:
            result.verification_error = exc.verify_message
            raise
        if check_mechanisms and capabilities is not None and session.under_tls:
            for name in capabilities.auth_mechanisms:
                result.mechanism_checks.append(_check_mechanism(session, name))
    return result


def _check_mechanism(session: _Session, name: str) -> MechanismCheck:
    reply = session.command("AUTH", name)
    if reply.code == 334:
        session.send(b"*\r\n")
        session.receive()
        return MechanismCheck(name, True, reply.summary())
    return MechanismCheck(name, False, reply.summary())


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

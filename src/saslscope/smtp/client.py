"""The SMTP AUTH test client: ``login`` (and ``--mech all``), used by the CLI and ``demo``.

A :class:`~saslscope.smtp.session.Session` (banner, EHLO, STARTTLS, EHLO), then AUTH with one
:mod:`saslscope.sasl` client, then MAIL/RCPT/DATA, then QUIT, each step recorded in the
transcript. Nothing the network or the peer does raises out of :func:`login`: the result
says what happened (:class:`~saslscope.smtp.errors.Outcome`) in one line.

What it deliberately never does (the swaks gaps of issue 3): send a password over
cleartext unless allowed, fall back to another mechanism after a failure, keep bytes that
arrived between STARTTLS's ``220`` and the handshake, skip certificate verification unasked.
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from saslscope.sasl.base import ClientCredentials, ClientMechanism
from saslscope.sasl.errors import AuthenticationFailed, SaslError, UnsupportedMechanism
from saslscope.smtp.capabilities import Capabilities
from saslscope.smtp.codec import AUTH_LINE_LIMIT, Reply, dot_stuff, format_address, format_command
from saslscope.smtp.errors import (
    AuthRejected,
    ConnectFailed,
    InvalidCommand,
    Outcome,
    PolicyRefusal,
    ProtocolViolation,
    SmtpRefused,
)
from saslscope.smtp.session import (
    QUIT_ORDER,
    QuitAfter,
    Session,
    SessionOptions,
    SessionResult,
    run_session,
)
from saslscope.smtp.transcript import Direction, SaslPayload, Secrecy
from saslscope.smtp.transport import TlsMode

if TYPE_CHECKING:
    from saslscope.smtp.message import MessageSpec

#: what ``--mech`` picks when not given: strongest first. SCRAM-*-PLUS binds the exchange
#: to this TLS session (RFC 5802 §6); CRAM-MD5 and DIGEST-MD5 (RFC 6331: historic) at least
#: keep the password off the wire; PLAIN/LOGIN send it, protected only by TLS.
PASSWORD_PREFERENCE = (
    "SCRAM-SHA-512-PLUS",
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-512",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "CRAM-MD5",
    "DIGEST-MD5",
    "PLAIN",
    "LOGIN",
)
TOKEN_PREFERENCE = ("OAUTHBEARER", "XOAUTH2")

#: Postfix "250 2.0.0 Ok: queued as A4FCE204384E"; Exim, Sendmail and others differ
_QUEUE_ID = re.compile(r"queued as ([0-9A-Za-z]+)")


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
class LoginResult(SessionResult):
    mechanism: str | None = None
    username: str | None = None
    authenticated: bool = False
    auth_reply: Reply | None = None
    #: SCRAM/DIGEST-MD5: did the server prove it knows the password (None: mechanism can't)
    server_verified: bool | None = None
    mail_replies: list[Reply] = field(default_factory=list)
    queue_id: str | None = None


# -- login ------------------------------------------------------------------------------


def login(options: LoginOptions) -> LoginResult:
    """One login session (plus the test message if ``options.message``). Never raises for
    network, TLS or protocol trouble: see ``result.outcome`` and ``result.error``."""
    result = LoginResult(options.host, options.effective_port, options.effective_tls_mode)
    result.username = options.credentials.username or None
    result.mechanism = options.mechanism
    try:
        _check_commands(options)
        _check_credentials(options, options.mechanism)
        _check_cleartext_policy(options, options.mechanism)
    except (PolicyRefusal, InvalidCommand) as exc:
        result.outcome, result.error = exc.outcome, exc.message
        return result
    quit_after = options.effective_quit_after
    # built before connecting: the email package's import time stays out of the session
    content = _build_message(options) if options.message is not None else None
    with run_session(options, result) as session:
        capabilities = session.open(quit_after)
        if capabilities is None or QUIT_ORDER.index(quit_after) < QUIT_ORDER.index(QuitAfter.AUTH):
            return result
        _authenticate(session, options, result, capabilities)
        if content is not None and quit_after is not QuitAfter.AUTH:
            _send_message(session, options, content, result, capabilities, quit_after)
    return result


def login_each_mechanism(options: LoginOptions) -> tuple[SessionResult, list[LoginResult]]:
    """``--mech all``: learn the advertised mechanisms, then log in with each supported
    one on its own fresh connection (never a cascade inside one session)."""
    discovery = LoginResult(options.host, options.effective_port, options.effective_tls_mode)
    with run_session(options, discovery) as session:
        session.open()
    if not discovery.ok or discovery.capabilities is None:
        return discovery, []
    from saslscope.sasl.registry import CLIENT_MECHANISMS

    results = []
    for name in discovery.capabilities.auth_mechanisms:
        if name in CLIENT_MECHANISMS:
            results.append(login(replace(options, mechanism=name, quit_after=QuitAfter.AUTH, message=None)))
    return discovery, results


def sweep_failures(results: list[LoginResult]) -> list[LoginResult]:
    """The ``--mech all`` results that failed, leaving out those not tried (no fitting
    credentials, or refused by policy before connecting)."""
    return [r for r in results if not r.ok and r.outcome is not Outcome.REFUSED_BY_POLICY]


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
    from saslscope.sasl.registry import client_mechanism_class

    try:
        return client_mechanism_class(name)
    except UnsupportedMechanism:
        return None


def _check_commands(options: LoginOptions) -> None:
    """Whatever the user typed that ends up in a command (EHLO name, addresses) is checked
    before connecting, so that a bad address cannot fail a session half-way."""
    if options.helo is not None:
        format_command("EHLO", options.helo)
    if options.message is not None:
        for address in (options.message.mail_from, *options.message.recipients):
            format_command("RCPT", f"TO:{format_address(address)}")


def _check_credentials(options: LoginOptions, mechanism: str | None) -> None:
    """Refuse before connecting when the credentials cannot serve the mechanism (a token
    mechanism without a token, a password mechanism without a password)."""
    mechanism_class = _mechanism_class(mechanism) if mechanism else None
    if mechanism_class is None:
        return
    credentials = options.credentials
    if mechanism_class.needs_token and credentials.token is None:
        raise PolicyRefusal(f"{mechanism_class.name} needs an OAuth token (--token-env or --token-file)")
    if mechanism_class.needs_password and credentials.password is None:
        raise PolicyRefusal(f"{mechanism_class.name} needs a password")


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


def _authenticate(session: Session, options: LoginOptions, result: LoginResult, capabilities: Capabilities) -> None:
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
    if not options.mechanism:
        session.note(f"mechanism {name}: the strongest one offered that saslscope has (--mech to choose)")
    _check_cleartext_policy(options, name, tls=session.under_tls)
    mechanism = _make_mechanism(name, options, result)
    secrecy = (
        Secrecy.REVEALS_SECRET
        if mechanism.reveals_secret
        else Secrecy.OFFLINE_CRACKABLE
        if mechanism.offline_crackable
        else None
    )
    first = mechanism.initial_response()
    # RFC 4954 §4: an empty initial response is sent as "="; one that would make the AUTH
    # line longer than 12288 octets is sent instead as the answer to an empty 334.
    encoded = None if first is None else base64.b64encode(first).decode("ascii") or "="
    withheld: bytes | None = None  # an initial response too long for the AUTH line
    if first is not None and len(f"AUTH {name} {encoded}\r\n") <= AUTH_LINE_LIMIT:
        session.send(
            format_command("AUTH", f"{name} {encoded}", limit=AUTH_LINE_LIMIT),
            secrecy=secrecy,
            secret_from=len(f"AUTH {name} "),
            sasl=SaslPayload(name, "client", first),
        )
    else:
        withheld = first
        session.send(format_command("AUTH", name))
    while True:
        reply, challenge = _receive_sasl(session, name, secrecy)
        if challenge is None:
            break
        try:
            if withheld is not None:
                answer, withheld = withheld, None
            else:
                answer = mechanism.respond(challenge)
        except SaslError as exc:
            # RFC 4954 §4: "*" cancels the exchange; the server answers 501.
            session.send(b"*\r\n")
            session.receive()
            if isinstance(exc, AuthenticationFailed):
                raise AuthRejected(f"{name}: the server failed to prove itself: {exc}") from None
            raise ProtocolViolation(f"{name}: unusable challenge from the server: {exc}") from None
        # an empty answer (acknowledging SCRAM's or DIGEST-MD5's final message) holds nothing secret
        session.send(
            base64.b64encode(answer) + b"\r\n",
            secrecy=secrecy if answer else None,
            sasl=SaslPayload(name, "client", answer),
        )
    result.auth_reply = reply
    result.timings["auth"] = result.transcript.elapsed()
    result.server_verified = mechanism.server_verified
    if reply.code != 235:
        raise AuthRejected(f"{name} authentication rejected: {reply.summary()}")
    if mechanism.server_verified is False:
        raise AuthRejected(f"{name}: the server said 235 but never proved it knows the password")
    result.authenticated = True


def _make_mechanism(name: str, options: LoginOptions, result: LoginResult) -> ClientMechanism:
    from saslscope.sasl.registry import client_mechanism

    # the registry passes each mechanism only the options it takes: DIGEST-MD5 builds its
    # digest-uri from service and host, OAUTHBEARER sends host and port (RFC 7628 §3.1)
    extra: dict[str, Any] = {"host": options.server_name, "port": result.port, "service": "smtp"}
    if name.endswith("-PLUS"):
        binding = result.tls.channel_binding() if result.tls is not None else None
        if binding is None:
            raise PolicyRefusal(f"{name} needs TLS channel binding, and this session has none")
        extra["channel_binding"] = binding
    try:
        return client_mechanism(name, options.credentials, **extra)
    except SaslError as exc:
        raise PolicyRefusal(f"cannot use {name}: {exc}") from None


def _receive_sasl(session: Session, mechanism: str, secrecy: Secrecy | None) -> tuple[Reply, bytes | None]:
    """A reply during AUTH, and the decoded challenge if it is a 334. Challenges carry the
    mechanism's secrecy when it is offline-crackable (SCRAM's salt and nonces are part of
    what an offline attack needs)."""
    assert session.transport is not None
    tls = session.under_tls
    try:
        reply = session.transport.read_reply()
    except ConnectFailed as exc:
        raise ConnectFailed(f"during AUTH: {exc.message}") from None
    challenge: bytes | None = None
    details: dict[str, Any] = {}
    if reply.code == 334:
        text = reply.lines[0].strip() if reply.lines else ""
        try:
            challenge = base64.b64decode(text, validate=True)
        except binascii.Error:
            session.result.transcript.record(Direction.RECEIVED, reply.raw, tls)
            raise ProtocolViolation(f"334 challenge is not valid base64: {text[:60]!r}") from None
        details["sasl"] = SaslPayload(mechanism, "server", challenge)
        if secrecy is Secrecy.OFFLINE_CRACKABLE:
            details["secrecy"] = secrecy
    session.result.transcript.record(Direction.RECEIVED, reply.raw, tls, **details)
    return reply, challenge


# -- the test message -------------------------------------------------------------------


def _build_message(options: LoginOptions) -> bytes:
    """The message; its Message-ID domain is the EHLO name, or this host's name."""
    from saslscope.smtp.message import build_message

    assert options.message is not None
    return build_message(options.message, options.helo or socket.gethostname())


def _send_message(
    session: Session,
    options: LoginOptions,
    content: bytes,
    result: LoginResult,
    capabilities: Capabilities,
    quit_after: QuitAfter,
) -> None:
    from saslscope.smtp.message import body_type, build_message

    spec = options.message
    assert spec is not None
    if body_type(content) == "8BITMIME" and "8BITMIME" not in capabilities and not spec.needs_smtputf8:
        session.note("the server does not offer 8BITMIME: the body goes quoted-printable")
        content = build_message(spec, options.helo or socket.gethostname(), eight_bit=False)
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


def _expect(session: Session, result: LoginResult, verb: str, argument: str | None, *codes: int) -> Reply:
    reply = session.command(verb, argument)
    result.mail_replies.append(reply)
    if reply.code not in codes:
        shown = f"{verb} {argument}" if argument else verb
        raise SmtpRefused(f"the server refused {shown}: {reply.summary()}")
    return reply


def _xtext(value: str) -> str:
    """RFC 3461 §4: xtext, '+' and '=' and anything outside 33..126 as +HH."""
    return "".join(ch if 33 <= ord(ch) <= 126 and ch not in "+=" else f"+{ord(ch):02X}" for ch in value)

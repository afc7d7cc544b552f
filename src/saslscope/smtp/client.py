"""The SMTP AUTH test client: ``login`` (and ``--mech all``), used by the CLI and ``demo``.

A :class:`~saslscope.smtp.session.Session` (banner, EHLO, STARTTLS, EHLO), then AUTH with one
:mod:`saslscope.sasl` client, then MAIL/RCPT/DATA, then QUIT, each step recorded in the
transcript. Nothing the network or the peer does raises out of :func:`login`: the result
says what happened (:class:`~saslscope.smtp.errors.Outcome`) in one line.

What it deliberately never does, unlike swaks: send a password over
cleartext unless allowed, fall back to another mechanism after a failure, keep bytes that
arrived between STARTTLS's ``220`` and the handshake, skip certificate verification unasked.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from saslscope.sasl.base import ChannelBinding, ClientCredentials, ClientMechanism
from saslscope.sasl.errors import SaslError, UnsupportedMechanism
from saslscope.smtp.auth import ClientDone, ClientExchange, ClientLine, ClientVerdict
from saslscope.smtp.capabilities import Capabilities
from saslscope.smtp.codec import Reply, dot_stuff, format_address, format_command
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
    QuitAfter,
    Session,
    SessionOptions,
    SessionResult,
    run_session,
)
from saslscope.smtp.transcript import SaslPayload, Secrecy
from saslscope.smtp.transport import TlsMode

if TYPE_CHECKING:
    from saslscope.smtp.message import MessageSpec

#: a password or token this long or longer is masked wherever a server reply repeats it;
#: a shorter one would mask ordinary words (its base64 in an AUTH line is masked anyway)
MIN_MASKED_SECRET = 6

#: Postfix "250 2.0.0 Ok: queued as A4FCE204384E"; Exim, Sendmail and others differ
_QUEUE_ID = re.compile(r"queued as ([0-9A-Za-z]+)")


@dataclass(frozen=True)
class LoginOptions(SessionOptions):
    """A login (and optionally a test message).

    ``mechanism`` None picks the strongest advertised one we support for the credentials
    given (:func:`choose_mechanism`).
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
    #: SCRAM/DIGEST-MD5: did the server prove it knows the password (None: the mechanism
    #: can't, or the server did not accept the login, so the question does not arise)
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
        if capabilities is None or quit_after.before(QuitAfter.AUTH):
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
    """The strongest advertised mechanism we have a client for and credentials to use:
    the registry's order (each class's ``strength``), password mechanisms when a password is
    given, token mechanisms when a token is; -PLUS only under TLS."""
    from saslscope.sasl.registry import CLIENT_MECHANISMS

    for name, mechanism_class in CLIENT_MECHANISMS.items():
        if name.endswith("-PLUS") and not tls:
            continue
        usable = (mechanism_class.needs_password and credentials.password is not None) or (
            mechanism_class.needs_token and credentials.token is not None
        )
        if usable and name in advertised:
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
    """AUTH with one mechanism (RFC 4954 §4): an IO loop around :class:`ClientExchange`.
    Failure is final: no other mechanism is tried. The whole exchange is bounded by
    ``options.timeout``, whatever the number of rounds."""
    advertised = capabilities.auth_mechanisms
    if not advertised:
        where = "after STARTTLS" if session.under_tls else "on this connection"
        hint = _starttls_hint(options, result)
        raise PolicyRefusal(f"the server does not offer AUTH {where}{hint}")
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
    mechanism = _make_mechanism(name, options, result, advertised)
    secrecy = (
        Secrecy.REVEALS_SECRET
        if mechanism.reveals_secret
        else Secrecy.OFFLINE_CRACKABLE
        if mechanism.offline_crackable
        else None
    )
    for secret in (options.credentials.password, options.credentials.token):
        if secret is not None and len(secret) >= MIN_MASKED_SECRET:
            session.add_secret(secret.encode("utf-8"))
    exchange = ClientExchange(mechanism)
    deadline = time.monotonic() + options.timeout
    step: ClientLine | ClientDone = exchange.start()
    while isinstance(step, ClientLine):
        _send_auth_line(session, name, step, secrecy)
        try:
            reply = session.read_reply(deadline)
        except ConnectFailed as exc:
            raise ConnectFailed(f"during AUTH (at most {options.timeout:g} s in all): {exc.message}") from None
        step = exchange.receive(reply.code, reply.lines[0] if reply.lines else "")
        _record_reply(session, name, reply, exchange.last_challenge, secrecy)
    result.auth_reply = reply
    result.timings["auth"] = result.transcript.elapsed()
    # whether the server proved itself is a question only once it accepted (235)
    result.server_verified = mechanism.server_verified if reply.code == 235 else None
    if step.verdict is ClientVerdict.SUCCEEDED:
        result.authenticated = True
        return
    reason = session.mask(step.reason)
    if step.verdict is ClientVerdict.BROKEN:
        raise ProtocolViolation(f"{name}: {reason}")
    raise AuthRejected(f"{name} {reason}" if step.verdict is ClientVerdict.REJECTED else f"{name}: {reason}")


def _send_auth_line(session: Session, name: str, line: ClientLine, secrecy: Secrecy | None) -> None:
    """Send one AUTH line; a line that reveals the secret teaches the session what to mask
    wherever it turns up later (a server echoing it in a 535, for instance)."""
    if line.payload is None:
        session.send(line.line + b"\r\n")
        return
    # an empty answer (acknowledging SCRAM's or DIGEST-MD5's final message) holds nothing secret
    line_secrecy = secrecy if line.payload else None
    if line_secrecy is Secrecy.REVEALS_SECRET:
        session.add_secret(line.line[line.payload_from :])
    session.send(
        line.line + b"\r\n",
        secrecy=line_secrecy,
        secret_from=line.payload_from,
        sasl=SaslPayload(name, "client", line.payload),
    )


def _record_reply(session: Session, name: str, reply: Reply, challenge: bytes | None, secrecy: Secrecy | None) -> None:
    """Record a reply read during AUTH. Challenges carry the mechanism's secrecy when it is
    offline-crackable (SCRAM's salt and nonces are part of what an offline attack needs)."""
    details: dict[str, Any] = {}
    if challenge is not None:
        details["sasl"] = SaslPayload(name, "server", challenge)
        if secrecy is Secrecy.OFFLINE_CRACKABLE:
            details["secrecy"] = secrecy
    session.record_reply(reply, **details)


def _starttls_hint(options: LoginOptions, result: LoginResult) -> str:
    """``--no-tls`` against a server that offers STARTTLS: AUTH is probably there after it."""
    before = result.capabilities_before_tls
    if options.effective_tls_mode is TlsMode.NONE and before is not None and "STARTTLS" in before:
        return " (it offers STARTTLS: AUTH is probably offered after it; drop --no-tls)"
    return ""


def _make_mechanism(name: str, options: LoginOptions, result: LoginResult, advertised: tuple[str, ...]) -> ClientMechanism:
    from saslscope.sasl.registry import client_mechanism, client_mechanism_class

    # the registry passes each mechanism only the options it takes: DIGEST-MD5 builds its
    # digest-uri from service and host, OAUTHBEARER sends host and port (RFC 7628 §3.1)
    extra: dict[str, Any] = {"host": options.server_name, "port": result.port, "service": "smtp"}
    tls = result.tls
    if name.endswith("-PLUS"):
        binding = tls.channel_binding() if tls is not None else None
        if binding is None:
            raise PolicyRefusal(f"{name} needs TLS channel binding, and this session has none")
        extra["channel_binding"] = binding
    elif (
        client_mechanism_class(name).can_bind
        and tls is not None
        and tls.chain_der
        and not any(m.endswith("-PLUS") for m in advertised)
    ):
        # RFC 5802 §6: a client that could bind, offered no -PLUS, says so with gs2 flag "y",
        # so that a server which does offer -PLUS (stripped by a man in the middle) sees it.
        # "y" carries no binding data, so none is computed (that would import cryptography).
        extra["channel_binding"] = ChannelBinding("tls-server-end-point", b"")
    try:
        return client_mechanism(name, options.credentials, **extra)
    except SaslError as exc:
        raise PolicyRefusal(f"cannot use {name}: {exc}") from None


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

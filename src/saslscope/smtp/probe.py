"""``probe``: what a server offers, without credentials."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from saslscope.smtp.errors import Outcome
from saslscope.smtp.session import Session, SessionOptions, SessionResult, run_session
from saslscope.smtp.transcript import Transcript
from saslscope.smtp.transport import CertificateRejected


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
    #: OpenSSL's X509_V_ERR_* number for ``verification_error``
    verification_code: int | None = None
    #: the protocol below TLS 1.2 the server accepted ("TLSv1.1"), None if it refused
    #: them, or if they were not checked (``legacy_tls_checked``)
    legacy_tls_accepted: str | None = None
    legacy_tls_checked: bool = False
    #: whether each advertised mechanism was started (``check_mechanisms``)
    mechanisms_checked: bool = False


def probe(options: SessionOptions, *, check_mechanisms: bool = False, check_legacy_tls: bool = True) -> ProbeResult:
    """Banner, EHLO before/after TLS, TLS details, and (``check_mechanisms``) whether each
    advertised mechanism starts: ``AUTH MECH``, expect 334, cancel with ``*``. No
    credentials are sent. Mechanisms are only started under TLS, and only when asked: each
    start leaves a warning in the server's log (docs/client.md, "probe and the server's log").

    When the certificate does not verify, a second connection without verification
    collects what the server presents, and ``verification_error`` says why it failed.
    With ``check_legacy_tls``, one more connection offering only TLS 1.0/1.1 finds out
    whether the server still accepts them (RFC 8996 forbids both).
    """
    result = _probe_once(options, check_mechanisms)
    if result.outcome is Outcome.TLS and result.verification_error is not None:
        unverified = replace(options, tls=replace(options.tls, verify=False))
        second = _probe_once(unverified, check_mechanisms, result.transcript)
        second.verification_error = result.verification_error
        second.verification_code = result.verification_code
        second.outcome, second.error = result.outcome, result.error
        if second.tls is not None:
            second.tls = replace(second.tls, verified=False, verify_error=result.verification_error)
        result = second
    if check_legacy_tls and result.tls is not None:
        result.legacy_tls_accepted = _legacy_tls(options)
        result.legacy_tls_checked = True
        answer = f"accepted ({result.legacy_tls_accepted})" if result.legacy_tls_accepted else "refused"
        result.transcript.note(f"another connection offering only TLS 1.0/1.1: {answer}", False)
    return result


def _legacy_tls(options: SessionOptions) -> str | None:
    """The protocol the server negotiates when offered nothing newer than TLS 1.1."""
    legacy = replace(
        options,
        tls=replace(options.tls, verify=False, minimum_version=None, maximum_version="1.1", legacy_protocols=True),
    )
    check = SessionResult(legacy.host, legacy.effective_port, legacy.effective_tls_mode)
    with run_session(legacy, check) as session:
        session.open()
    return check.tls.protocol if check.tls is not None else None


def _probe_once(options: SessionOptions, check_mechanisms: bool, transcript: Transcript | None = None) -> ProbeResult:
    result = ProbeResult(options.host, options.effective_port, options.effective_tls_mode)
    if transcript is not None:
        result.transcript = transcript
        transcript.note("connecting again without verification, to show what the server presents", False)
    with run_session(options, result) as session:
        try:
            capabilities = session.open()
        except CertificateRejected as exc:
            result.verification_error = exc.verify_message
            result.verification_code = exc.verify_code
            raise
        if check_mechanisms and capabilities is not None and session.under_tls:
            result.mechanisms_checked = True
            for name in capabilities.auth_mechanisms:
                result.mechanism_checks.append(_check_mechanism(session, name))
    return result


def _check_mechanism(session: Session, name: str) -> MechanismCheck:
    reply = session.command("AUTH", name)
    if reply.code == 334:
        session.send(b"*\r\n")
        session.receive()
        return MechanismCheck(name, True, reply.summary())
    return MechanismCheck(name, False, reply.summary())

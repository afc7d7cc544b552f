"""Failures of an SMTP client session, each tied to the outcome it reports.

The session driver catches these and records them in its result; callers get an outcome
and a one-line message, never an exception, for anything the network or the peer does.
"""

from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):
    """How a session ended. The CLI maps these to :class:`saslscope.cli.exitcodes.Exit`."""

    OK = "ok"
    AUTH_FAILED = "auth-failed"      # the server rejected the credentials (535, 534...)
    CONNECT = "connect"              # no connection, connection lost, or timed out
    TLS = "tls"                      # handshake or verification failed, STARTTLS missing/refused
    SMTP_REFUSED = "smtp-refused"    # the server refused EHLO, MAIL, RCPT or DATA
    PROTOCOL = "protocol"            # the peer broke the protocol (malformed reply, injection)
    REFUSED_BY_POLICY = "policy"     # we refused: password over cleartext, mechanism not offered


class SmtpError(Exception):
    """The root of every error :mod:`saslscope.smtp` raises."""


class SessionError(SmtpError):
    """A client session failed; ``outcome`` says what kind of failure it is."""

    outcome: Outcome = Outcome.PROTOCOL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectFailed(SessionError):
    outcome = Outcome.CONNECT


class TlsFailed(SessionError):
    outcome = Outcome.TLS


class ProtocolViolation(SessionError):
    outcome = Outcome.PROTOCOL


class SmtpRefused(SessionError):
    outcome = Outcome.SMTP_REFUSED


class AuthRejected(SessionError):
    outcome = Outcome.AUTH_FAILED


class PolicyRefusal(SessionError):
    outcome = Outcome.REFUSED_BY_POLICY


class InvalidCommand(SessionError):
    """A command we were asked to send is not valid SMTP (CR/LF inside, too long, an
    address with spaces or brackets): refused before anything is sent."""

    outcome = Outcome.REFUSED_BY_POLICY

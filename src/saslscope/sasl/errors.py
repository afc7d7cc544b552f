"""The one error family of :mod:`saslscope.sasl`. Nothing else escapes on bad input."""

from __future__ import annotations


class SaslError(Exception):
    """Base class: every failure of a mechanism, on either side, is one of these."""


class UnsupportedMechanism(SaslError):
    """No mechanism of that name (or not on that side: client/server)."""


class MalformedMessage(SaslError):
    """The peer sent bytes that are not a valid message for this mechanism and step."""


class AuthenticationFailed(SaslError):
    """The credentials did not verify.

    On the server side: wrong password, unknown user, replayed nonce. On the client side:
    the *server* failed to prove itself (SCRAM ``v=`` or DIGEST-MD5 ``rspauth`` mismatch,
    an ``e=`` error from the server).

    ``username`` is the identity the client claimed, when known, so that a server can log
    ``sasl_username=`` on failure as Postfix >= 3.8.3 does.
    """

    def __init__(self, reason: str, username: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.username = username


class StateError(SaslError):
    """The mechanism was driven out of order (a step after completion, for example)."""


class InvalidCredentials(SaslError):
    """Our own credentials cannot be used: a password or token is missing, or a string
    contains characters SASLprep (RFC 4013 §2.3) prohibits."""

"""EXTERNAL (RFC 4422 Appendix A) and ANONYMOUS (RFC 4505): no password at all.

EXTERNAL authenticates with what the transport already established (a TLS client
certificate); the message is only the requested authorization identity, often empty.
ANONYMOUS sends an optional trace string (an e-mail address or an opaque token).
"""

from __future__ import annotations

from typing import ClassVar

from saslscope.sasl.base import ClientCredentials, ClientMechanism
from saslscope.sasl.errors import InvalidCredentials, MalformedMessage, StateError

_MAX_TRACE = 255  # RFC 4505 §2: the trace is at most 255 characters


class _SingleMessageClient(ClientMechanism):
    """Sends one message, either with the AUTH command or after an empty challenge."""

    needs_password: ClassVar[bool] = False
    message: bytes

    def initial_response(self) -> bytes:
        self._complete = True
        return self.message

    def respond(self, challenge: bytes) -> bytes:
        if self._complete:
            raise StateError(f"{self.name} has nothing more to send")
        if challenge:
            raise MalformedMessage(f"{self.name} expects an empty challenge")
        return self.initial_response()


class ExternalClient(_SingleMessageClient):
    name: ClassVar[str] = "EXTERNAL"
    strength: ClassVar[int] = 50

    def __init__(self, credentials: ClientCredentials) -> None:
        self.message = credentials.authzid.encode("utf-8")


class AnonymousClient(_SingleMessageClient):
    name: ClassVar[str] = "ANONYMOUS"
    strength: ClassVar[int] = 51

    def __init__(self, credentials: ClientCredentials, *, trace: str = "") -> None:
        trace = trace or credentials.username
        if len(trace) > _MAX_TRACE:
            raise InvalidCredentials(f"ANONYMOUS trace is longer than {_MAX_TRACE} characters (RFC 4505 §2)")
        self.message = trace.encode("utf-8")

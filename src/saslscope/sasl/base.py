"""The shape every mechanism has: sans-IO client and server state machines.

Bytes in, bytes out. No sockets, no base64 (that is the SMTP layer's job, RFC 4954 §4),
no clocks except where a mechanism needs randomness (nonces), which is injectable.

Client side::

    mech = client_mechanism("CRAM-MD5", ClientCredentials("tim", "tanstaaftanstaaf"))
    first = mech.initial_response()        # None: send "AUTH CRAM-MD5" with no argument
    answer = mech.respond(challenge)        # for each 334 challenge
    mech.complete, mech.server_verified

Server side::

    mech = server_mechanism("CRAM-MD5", store, hostname="mail.test")
    outcome = mech.step(initial_response)   # None when the client sent no initial response
    while isinstance(outcome, Challenge):
        outcome = mech.step(client_bytes)
    # outcome is Success; failures raise AuthenticationFailed / MalformedMessage
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class ClientCredentials:
    """What a client authenticates with.

    ``username`` is the authentication identity (authcid); ``authzid`` the optional
    authorization identity (act-as); ``password`` for password mechanisms; ``token`` the
    OAuth 2.0 access token for XOAUTH2/OAUTHBEARER. Strings are Unicode; mechanisms encode
    them as UTF-8 (after SASLprep where the RFC asks for it).
    """

    username: str = ""
    password: str | None = field(default=None, repr=False)
    authzid: str = ""
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ChannelBinding:
    """TLS channel-binding data for the ``-PLUS`` SCRAM variants (RFC 5929, RFC 9266).

    ``kind`` is ``"tls-server-end-point"`` or ``"tls-exporter"`` (or ``"tls-unique"``);
    ``data`` is the binding octets the transport extracted from the TLS session.
    """

    kind: str
    data: bytes = field(repr=False)


class ClientMechanism(ABC):
    """One client-side exchange. Create a new object for every authentication attempt."""

    #: the wire name, upper case ("SCRAM-SHA-256-PLUS")
    name: ClassVar[str]
    #: the exchange carries the password or token in a form anyone who sees it can reuse
    #: (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER): mask it in transcripts, refuse it over cleartext
    reveals_secret: ClassVar[bool] = False
    #: the exchange allows an offline dictionary attack on the password by whoever
    #: records it (CRAM-MD5, DIGEST-MD5, SCRAM): say so in transcripts
    offline_crackable: ClassVar[bool] = False
    #: the mechanism uses a password (as opposed to a token, a certificate or nothing)
    needs_password: ClassVar[bool] = True
    #: the mechanism uses an OAuth 2.0 access token (``ClientCredentials.token``)
    needs_token: ClassVar[bool] = False
    #: the server sends the first challenge; no initial response (CRAM-MD5, DIGEST-MD5,
    #: LOGIN unless built with ``initial_response=True``)
    server_speaks_first: ClassVar[bool] = False
    #: rank when a client picks a mechanism itself, lower is stronger: the exchange binds
    #: to TLS (SCRAM-*-PLUS) < keeps the password off the wire (SCRAM < CRAM-MD5 <
    #: DIGEST-MD5, historic since RFC 6331) < sends the secret (PLAIN < LOGIN) < tokens
    #: (OAUTHBEARER < XOAUTH2) < no secret at all. The registry lists clients in this order.
    strength: ClassVar[int] = 100
    #: the mechanism takes TLS channel binding (``channel_binding=``): SCRAM, whose plain
    #: variants send gs2 flag "y" when given one (RFC 5802 §6)
    can_bind: ClassVar[bool] = False

    def initial_response(self) -> bytes | None:
        """Bytes to send with the AUTH command, ``b""`` for an empty one, ``None`` for none."""
        return None

    @abstractmethod
    def respond(self, challenge: bytes) -> bytes:
        """Answer one server challenge. Raises :class:`~saslscope.sasl.errors.SaslError`."""

    @property
    def complete(self) -> bool:
        """True once the client has nothing more to send."""
        return self._complete

    @property
    def server_verified(self) -> bool | None:
        """True if the server proved knowledge of the password (SCRAM ``v=``,
        DIGEST-MD5 ``rspauth``); False if it had the chance and has not (yet);
        None for mechanisms without server authentication."""
        return None

    _complete: bool = False


@dataclass(frozen=True)
class Challenge:
    """The server wants another round: send ``data`` (in SMTP: ``334 base64(data)``)."""

    data: bytes


@dataclass(frozen=True)
class Success:
    """Authentication succeeded.

    ``username`` is the authenticated identity (authcid) as the client spelled it;
    ``authzid`` the requested authorization identity if any. ``final_data`` is
    additional server data (SCRAM ``v=...``) that SMTP must send as one more ``334``
    challenge, answered by an empty line, before ``235`` (RFC 4954 §4).
    """

    username: str
    authzid: str | None = None
    final_data: bytes | None = None


class ServerMechanism(ABC):
    """One server-side exchange. Create a new object for every AUTH command."""

    name: ClassVar[str]

    @abstractmethod
    def step(self, response: bytes | None) -> Challenge | Success:
        """Consume the client's bytes and decide.

        ``response`` is ``None`` on the first call when the client gave no initial
        response (``AUTH CRAM-MD5`` alone), ``b""`` for an empty one (``AUTH PLAIN =``).
        Raises :class:`AuthenticationFailed` for credentials that do not verify and
        :class:`MalformedMessage` for bytes that are not a valid message.
        """

    #: the identity claimed so far, for logging a failure (None until known)
    claimed_username: str | None = None

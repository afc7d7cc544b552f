"""The RFC 4954 AUTH exchange, sans-IO: one object per role, fed lines, returning events.

The shape is h11's: no sockets, no clocks, an explicit state table, and an ``ERROR`` state
that ends the exchange for good. The SMTP framing of SASL lives here and nowhere else:

* base64 both ways (strict, :func:`saslscope.sasl.b64.decode_b64`), ``=`` for an empty
  initial response, an empty line for an empty answer;
* ``*`` cancels; a ``334`` after success carries the server's final data (SCRAM ``v=``),
  answered by an empty line;
* one limit, :data:`AUTH_LINE_LIMIT` (12,288 octets, RFC 4954 §4) on every AUTH line;
* at most :data:`MAX_CHALLENGES` challenges, so a server repeating ``334 Username:`` cannot
  hold a client.

Client::

    exchange = ClientExchange(client_mechanism("CRAM-MD5", credentials))
    send(exchange.start().line)                       # "AUTH CRAM-MD5"
    while True:
        event = exchange.receive(code, text)          # each reply from the server
        if isinstance(event, ClientDone):
            break
        send(event.line)

Server::

    exchange = ServerExchange(server_mechanism(name, store), name)
    event = exchange.start(initial_response_text)     # the AUTH argument after the name, or None
    while isinstance(event, ServerChallenge):
        reply(event.line); event = exchange.receive(read_line())
    # event is ServerSucceeded or ServerFailed

The blocking client (:mod:`saslscope.smtp.client`) and the aiosmtpd server
(:mod:`saslscope.smtp.server.session`) are IO loops around these; docs/api.md shows the
same objects driving smtplib and aiosmtplib.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import Enum

from saslscope.sasl import MAX_MESSAGE
from saslscope.sasl.b64 import decode_b64
from saslscope.sasl.base import Challenge, ClientMechanism, ServerMechanism, Success
from saslscope.sasl.errors import AuthenticationFailed, SaslError
from saslscope.smtp.errors import SmtpError

#: RFC 4954 §4: an AUTH command line, and any SASL line that follows, may be 12,288 octets
#: including CRLF. The SASL layer bounds every decoded message by the same number.
AUTH_LINE_LIMIT = MAX_MESSAGE
#: no mechanism saslscope knows needs more than three challenges (DIGEST-MD5 and SCRAM with
#: its final 334); a server sending more is looping, on purpose or not
MAX_CHALLENGES = 8
CANCEL = b"*"


class AuthProtocolError(SmtpError):
    """An exchange object was driven out of order (a caller bug, not the peer's fault)."""


# -- client ---------------------------------------------------------------------------------


class ClientState(Enum):
    IDLE = "idle"                # start() not called yet
    WAITING = "waiting"          # a line went out; the next server reply is awaited
    CANCELLING = "cancelling"    # we sent "*"; the server's reply to it ends the exchange
    DONE = "done"                # ClientDone returned
    ERROR = "error"              # driven out of order; nothing more is accepted


class ClientVerdict(str, Enum):
    """How a client exchange ended."""

    SUCCEEDED = "succeeded"      # 235, and the server proved itself where the mechanism can
    REJECTED = "rejected"        # the server refused (535, 534, 504, a 501 to our "*"...)
    SERVER_UNPROVEN = "server-unproven"  # the server failed to prove it knows the password
    BROKEN = "broken"            # the server's challenge was unusable (base64, syntax, loop)


@dataclass(frozen=True)
class ClientLine:
    """A line for the client to send, ``line`` without CRLF.

    ``payload`` is the decoded SASL message it carries (None: no payload, as in ``AUTH
    CRAM-MD5``); ``payload_from`` is where the base64 starts inside ``line``, so that a
    transcript can mask the secret part and keep ``AUTH PLAIN`` readable.
    """

    line: bytes
    payload: bytes | None = None
    payload_from: int = 0

    @property
    def cancels(self) -> bool:
        return self.line == CANCEL


@dataclass(frozen=True)
class ClientDone:
    """The exchange is over. ``code``/``text`` are the server's last reply."""

    verdict: ClientVerdict
    code: int
    text: str
    reason: str

    @property
    def succeeded(self) -> bool:
        return self.verdict is ClientVerdict.SUCCEEDED


class ClientExchange:
    """The client side of one AUTH command, around one :class:`ClientMechanism`.

    ``mechanism.name`` is the name sent. Every reply goes to :meth:`receive`, which returns
    the next line to send or the end. Transitions::

        IDLE --start--> WAITING --334--> WAITING (answer) | CANCELLING (sent "*")
        WAITING --other reply--> DONE;  CANCELLING --any reply--> DONE
    """

    def __init__(self, mechanism: ClientMechanism) -> None:
        self.mechanism = mechanism
        self.name = mechanism.name
        self.state = ClientState.IDLE
        self.challenges = 0
        #: the challenge decoded from the reply just received (for transcripts), else None
        self.last_challenge: bytes | None = None
        self._withheld: bytes | None = None
        self._cancel_verdict = ClientVerdict.BROKEN
        self._cancel_reason = ""

    def start(self) -> ClientLine:
        """The AUTH command. An initial response that would make it longer than
        :data:`AUTH_LINE_LIMIT` is withheld and sent as the answer to the first (empty)
        challenge instead (RFC 4954 §4)."""
        self._expect(ClientState.IDLE)
        self.state = ClientState.WAITING
        first = self.mechanism.initial_response()
        if first is None:
            return ClientLine(b"AUTH " + self.name.encode("ascii"))
        prefix = b"AUTH " + self.name.encode("ascii") + b" "
        line = prefix + (encode_b64(first) or b"=")
        if len(line) + 2 > AUTH_LINE_LIMIT:
            self._withheld = first
            return ClientLine(b"AUTH " + self.name.encode("ascii"))
        return ClientLine(line, first, len(prefix))

    def receive(self, code: int, text: str) -> ClientLine | ClientDone:
        """Take one server reply (its code, and its first line's text)."""
        self.last_challenge = None
        if self.state is ClientState.CANCELLING:
            return self._done(self._cancel_verdict, code, text, self._cancel_reason)
        self._expect(ClientState.WAITING)
        if code != 334:
            return self._final(code, text)
        self.challenges += 1
        if self.challenges > MAX_CHALLENGES:
            return self._cancel(ClientVerdict.BROKEN, f"the server sent more than {MAX_CHALLENGES} challenges")
        try:
            challenge = decode_b64(text)
        except SaslError:
            return self._cancel(ClientVerdict.BROKEN, f"334 challenge is not valid base64: {text[:60]!r}")
        self.last_challenge = challenge
        try:
            if self._withheld is not None:
                answer, self._withheld = self._withheld, None
            else:
                answer = self.mechanism.respond(challenge)
        except AuthenticationFailed as exc:
            return self._cancel(ClientVerdict.SERVER_UNPROVEN, f"the server failed to prove itself: {exc}")
        except SaslError as exc:
            return self._cancel(ClientVerdict.BROKEN, f"unusable challenge from the server: {exc}")
        return ClientLine(encode_b64(answer), answer)

    def _final(self, code: int, text: str) -> ClientDone:
        summary = f"{code} {text}".rstrip()
        if code != 235:
            return self._done(ClientVerdict.REJECTED, code, text, f"authentication rejected: {summary}")
        if self.mechanism.server_verified is False:
            return self._done(
                ClientVerdict.SERVER_UNPROVEN, code, text, "the server said 235 but never proved it knows the password"
            )
        return self._done(ClientVerdict.SUCCEEDED, code, text, summary)

    def _cancel(self, verdict: ClientVerdict, reason: str) -> ClientLine:
        self.state = ClientState.CANCELLING
        self._cancel_verdict, self._cancel_reason = verdict, reason
        return ClientLine(CANCEL)

    def _done(self, verdict: ClientVerdict, code: int, text: str, reason: str) -> ClientDone:
        self.state = ClientState.DONE
        return ClientDone(verdict, code, text, reason)

    def _expect(self, state: ClientState) -> None:
        if self.state is not state:
            current, self.state = self.state, ClientState.ERROR
            raise AuthProtocolError(f"{self.name} client exchange is {current.value}, not {state.value}")


# -- server ---------------------------------------------------------------------------------


class ServerState(Enum):
    IDLE = "idle"                # start() not called yet
    CHALLENGED = "challenged"    # a 334 went out; the client's line is awaited
    DONE = "done"                # ServerSucceeded or ServerFailed returned
    ERROR = "error"              # driven out of order; nothing more is accepted


class FailureKind(str, Enum):
    """Why a server exchange failed; the server chooses its reply and log line from it."""

    CREDENTIALS = "credentials"  # the mechanism said the credentials do not verify
    MALFORMED = "malformed"      # a SASL message the mechanism could not accept
    BAD_BASE64 = "bad-base64"    # the line is not base64 (RFC 4954 §4)
    TOO_LONG = "too-long"        # the line is over AUTH_LINE_LIMIT
    ABORTED = "aborted"          # the client sent "*"


@dataclass(frozen=True)
class ServerChallenge:
    """Send ``line`` (a ``334`` reply, without CRLF), then feed the client's next line."""

    line: str
    data: bytes


@dataclass(frozen=True)
class ServerSucceeded:
    success: Success


@dataclass(frozen=True)
class ServerFailed:
    kind: FailureKind
    reason: str
    #: the identity the client claimed, when known (Postfix >= 3.8.3 logs it)
    username: str | None = None


ServerEvent = ServerChallenge | ServerSucceeded | ServerFailed


class ServerExchange:
    """The server side of one AUTH command, around one :class:`ServerMechanism`.

    Transitions::

        IDLE --start--> CHALLENGED (334) | DONE
        CHALLENGED --client line--> CHALLENGED (334) | DONE

    After :class:`~saslscope.sasl.base.Success` with final data (SCRAM ``v=``), that data
    goes out as one more ``334``, and the client's (empty) line then ends in success.
    """

    def __init__(self, mechanism: ServerMechanism) -> None:
        self.mechanism = mechanism
        self.state = ServerState.IDLE
        self._success: Success | None = None

    def start(self, initial: str | None) -> ServerEvent:
        """``initial`` is the AUTH argument after the mechanism name (None if absent)."""
        self._expect(ServerState.IDLE)
        if initial is None:
            return self._step(None)
        try:
            response = decode_b64(initial)
        except SaslError:
            return self._fail(FailureKind.BAD_BASE64, "Invalid base64 data in initial response")
        return self._step(response)

    def receive(self, line: bytes) -> ServerEvent:
        """One client line, without its CRLF (surrounding blanks are ignored)."""
        self._expect(ServerState.CHALLENGED)
        if len(line) + 2 > AUTH_LINE_LIMIT:
            return self._fail(FailureKind.TOO_LONG, "Response line too long")
        line = line.strip()
        if line == CANCEL:
            return self._fail(FailureKind.ABORTED, "authentication aborted")
        # "=" stands for an empty *initial* response only (RFC 4954 §4)
        try:
            response = decode_b64(line) if line != b"=" else None
        except SaslError:
            response = None
        if response is None:
            return self._fail(FailureKind.BAD_BASE64, "Invalid base64 data in continued response")
        if self._success is not None:
            # the answer to the final 334 carries nothing: success stands
            self.state = ServerState.DONE
            return ServerSucceeded(self._success)
        return self._step(response)

    def _step(self, response: bytes | None) -> ServerEvent:
        mechanism = self.mechanism
        try:
            outcome = mechanism.step(response)
        except AuthenticationFailed as exc:
            return self._fail(FailureKind.CREDENTIALS, exc.reason, exc.username or mechanism.claimed_username)
        except SaslError as exc:
            return self._fail(FailureKind.MALFORMED, str(exc), mechanism.claimed_username)
        if isinstance(outcome, Challenge):
            return self._challenge(outcome.data)
        if outcome.final_data is not None:
            self._success = outcome
            return self._challenge(outcome.final_data)
        self.state = ServerState.DONE
        return ServerSucceeded(outcome)

    def _challenge(self, data: bytes) -> ServerChallenge:
        self.state = ServerState.CHALLENGED
        return ServerChallenge("334 " + encode_b64(data).decode("ascii"), data)

    def _fail(self, kind: FailureKind, reason: str, username: str | None = None) -> ServerFailed:
        self.state = ServerState.DONE
        return ServerFailed(kind, reason, username)

    def _expect(self, state: ServerState) -> None:
        if self.state is not state:
            current, self.state = self.state, ServerState.ERROR
            raise AuthProtocolError(f"{self.mechanism.name} server exchange is {current.value}, not {state.value}")


def encode_b64(data: bytes) -> bytes:
    """Plain RFC 4648 base64, no line breaks (the one encoder of the AUTH exchange)."""
    return base64.b64encode(data)

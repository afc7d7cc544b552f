"""Shared plumbing for server mechanisms: round counting, the finished state, size limits."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from saslscope.sasl.base import Challenge, ServerMechanism, Success
from saslscope.sasl.credentials import CredentialStore, StoredCredential
from saslscope.sasl.decoys import Decoys
from saslscope.sasl.errors import MalformedMessage, SaslError, StateError

#: Largest client message we look at. RFC 4954 §4 lets an AUTH line be 12288 octets
#: including the base64, so no honest decoded response is longer.
MAX_MESSAGE = 12288

#: decides whether ``authcid`` may act as ``authzid`` (a non-empty, different identity)
Authorizer = Callable[[str, str], bool]


def same_identity(authcid: str, authzid: str) -> bool:
    """The default :data:`Authorizer`: a user may only act as themselves."""
    return authzid == authcid


class ExchangeServer(ServerMechanism):
    """A server mechanism driven round by round; any error or success ends it for good."""

    def __init__(self, store: CredentialStore, decoys: Decoys | None = None) -> None:
        self.store = store
        self._decoys = decoys
        self._round = 0
        self._finished = False

    @property
    def decoys(self) -> Decoys:
        """How to answer unknown users like known ones. A server builds one per store and
        passes it to every mechanism; without one it is built here, from the whole store."""
        if self._decoys is None:
            self._decoys = Decoys.for_store(self.store)
        return self._decoys

    def step(self, response: bytes | None) -> Challenge | Success:
        if self._finished:
            raise StateError(f"{self.name} exchange already finished")
        if response is not None and len(response) > MAX_MESSAGE:
            self._finished = True
            raise MalformedMessage(f"{self.name} response of {len(response)} octets exceeds {MAX_MESSAGE}")
        round_number, self._round = self._round, self._round + 1
        try:
            outcome = self._step(round_number, response)
        except SaslError:
            self._finished = True
            raise
        if isinstance(outcome, Success):
            self._finished = True
        return outcome

    @abstractmethod
    def _step(self, round_number: int, response: bytes | None) -> Challenge | Success:
        """Handle round ``round_number`` (0 = the AUTH command's initial response or None)."""

    def _lookup(self, username: str) -> StoredCredential | None:
        self.claimed_username = username
        return self.store.lookup(username)


def decode_utf8(data: bytes, what: str) -> str:
    """UTF-8 text of a protocol field, or :class:`MalformedMessage` naming the field."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage(f"{what} is not valid UTF-8") from None

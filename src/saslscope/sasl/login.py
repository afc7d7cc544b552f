"""LOGIN (draft-murchison-sasl-login-00): username and password in answer to two prompts.

Never standardised, universally deployed. The server prompts ``Username:`` then
``Password:``; RFC 4954 §4 lets the client send the user name with the AUTH command
(the initial-response form), which skips the first prompt.
"""

from __future__ import annotations

from typing import ClassVar

from saslscope.sasl._exchange import ExchangeServer, decode_utf8
from saslscope.sasl.base import Challenge, ClientCredentials, ClientMechanism, Success
from saslscope.sasl.credentials import CredentialStore
from saslscope.sasl.decoys import Decoys
from saslscope.sasl.errors import InvalidCredentials, MalformedMessage, StateError
from saslscope.sasl.plain import check_password

USERNAME_PROMPT = b"Username:"
PASSWORD_PROMPT = b"Password:"


def prompt_asks_password(prompt: bytes) -> bool | None:
    """True for a password prompt, False for a user-name prompt, None if unrecognised.

    Servers vary (``Username:``, ``User Name``, ``Password:``, ``Password``), so match loosely.
    """
    text = prompt.strip().lower()
    if text.startswith(b"pass"):
        return True
    if text.startswith(b"user"):
        return False
    return None


class LoginClient(ClientMechanism):
    """Answers the user-name prompt, then the password prompt.

    ``initial_response=True`` sends the user name with the AUTH command (RFC 4954 §4).
    Recognised prompts are answered by their text; unrecognised ones by their order.
    """

    name: ClassVar[str] = "LOGIN"
    reveals_secret: ClassVar[bool] = True
    server_speaks_first: ClassVar[bool] = True  # unless initial_response=True
    strength: ClassVar[int] = 31

    def __init__(self, credentials: ClientCredentials, *, initial_response: bool = False) -> None:
        if credentials.password is None:
            raise InvalidCredentials("LOGIN needs a password")
        self.credentials = credentials
        self.send_initial_response = initial_response
        self._username_sent = False

    def initial_response(self) -> bytes | None:
        if not self.send_initial_response:
            return None
        self._username_sent = True
        return self.credentials.username.encode("utf-8")

    def respond(self, challenge: bytes) -> bytes:
        if self._complete:
            raise StateError("LOGIN has sent both user name and password")
        asks_password = prompt_asks_password(challenge)
        if asks_password is None:
            asks_password = self._username_sent
        if not asks_password:
            self._username_sent = True
            return self.credentials.username.encode("utf-8")
        self._complete = True
        assert self.credentials.password is not None
        return self.credentials.password.encode("utf-8")


class LoginServer(ExchangeServer):
    """Prompts for user name and password and checks them."""

    name: ClassVar[str] = "LOGIN"

    def __init__(self, store: CredentialStore, *, decoys: Decoys | None = None) -> None:
        super().__init__(store, decoys)
        self._username: str | None = None

    def _step(self, round_number: int, response: bytes | None) -> Challenge | Success:
        if round_number == 0 and response is None:
            return Challenge(USERNAME_PROMPT)
        if response is None:
            raise MalformedMessage("LOGIN needs a response to its prompt")
        if self._username is None:
            if not response:
                raise MalformedMessage("LOGIN user name is empty")
            self._username = decode_utf8(response, "LOGIN user name")
            self.claimed_username = self._username
            return Challenge(PASSWORD_PROMPT)
        check_password(self.store, self._username, decode_utf8(response, "LOGIN password"), self.decoys)
        return Success(self._username)

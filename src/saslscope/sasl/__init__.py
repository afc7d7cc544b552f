"""SASL mechanisms as sans-IO client and server state machines.

See :mod:`saslscope.sasl.base` for the shape of a mechanism and
:mod:`saslscope.sasl.registry` for looking one up by its wire name (its functions are
exported here too);
:mod:`saslscope.sasl.explain` describes any SASL message field by field,
:mod:`saslscope.sasl.b64` decodes base64 strictly (RFC 4954 §4), and
:mod:`saslscope.sasl.pasted` / :mod:`saslscope.sasl.transcript` read what a user pasted
(one blob, a ``334`` line, or a whole session as swaks, msmtp or a log printed it).
"""

from typing import TYPE_CHECKING, Any

from saslscope.sasl._exchange import MAX_MESSAGE
from saslscope.sasl.base import (
    Challenge,
    ChannelBinding,
    ClientCredentials,
    ClientMechanism,
    ServerMechanism,
    Success,
)
from saslscope.sasl.credentials import CredentialStore, MemoryStore, ScramKeys, StoredCredential
from saslscope.sasl.errors import (
    AuthenticationFailed,
    InvalidCredentials,
    MalformedMessage,
    SaslError,
    StateError,
    UnsupportedMechanism,
)

if TYPE_CHECKING:
    from saslscope.sasl.registry import (
        CLIENT_MECHANISMS as CLIENT_MECHANISMS,
        SERVER_MECHANISMS as SERVER_MECHANISMS,
        client_mechanism as client_mechanism,
        client_mechanism_class as client_mechanism_class,
        server_mechanism as server_mechanism,
    )

#: the registry's names, imported on first use: the registry imports every mechanism, which a
#: caller of ``saslscope.sasl.b64`` alone should not pay for
_REGISTRY_NAMES = frozenset(
    {"CLIENT_MECHANISMS", "SERVER_MECHANISMS", "client_mechanism", "client_mechanism_class", "server_mechanism"}
)


def __getattr__(name: str) -> Any:
    if name in _REGISTRY_NAMES:
        from saslscope.sasl import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'saslscope.sasl' has no attribute {name!r}")

__all__ = [
    "CLIENT_MECHANISMS",
    "MAX_MESSAGE",
    "SERVER_MECHANISMS",
    "AuthenticationFailed",
    "Challenge",
    "ChannelBinding",
    "ClientCredentials",
    "ClientMechanism",
    "CredentialStore",
    "InvalidCredentials",
    "MalformedMessage",
    "MemoryStore",
    "SaslError",
    "ScramKeys",
    "ServerMechanism",
    "StateError",
    "StoredCredential",
    "Success",
    "UnsupportedMechanism",
    "client_mechanism",
    "client_mechanism_class",
    "server_mechanism",
]

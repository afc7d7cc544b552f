"""Look mechanisms up by their wire name (case-insensitive), on either side."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from saslscope.sasl.base import ClientCredentials, ClientMechanism, ServerMechanism
from saslscope.sasl.cram import CramMD5Client, CramMD5Server
from saslscope.sasl.credentials import CredentialStore
from saslscope.sasl.digest import DigestMD5Client
from saslscope.sasl.errors import UnsupportedMechanism
from saslscope.sasl.external import AnonymousClient, ExternalClient
from saslscope.sasl.login import LoginClient, LoginServer
from saslscope.sasl.oauth import OAuthBearerClient, XOAuth2Client
from saslscope.sasl.plain import PlainClient, PlainServer
from saslscope.sasl.scram import SCRAM_CLIENTS, SCRAM_SERVERS

#: wire name -> client class (called with ``(credentials, **options)``), strongest first
CLIENT_MECHANISMS: dict[str, type[ClientMechanism]] = {
    cls.name: cls
    for cls in (
        *SCRAM_CLIENTS,
        DigestMD5Client,
        CramMD5Client,
        OAuthBearerClient,
        XOAuth2Client,
        PlainClient,
        LoginClient,
        ExternalClient,
        AnonymousClient,
    )
}
#: wire name -> server class (called with ``(store, **options)``)
SERVER_MECHANISMS: dict[str, type[ServerMechanism]] = {
    cls.name: cls for cls in (*SCRAM_SERVERS, CramMD5Server, PlainServer, LoginServer)
}


def _find(table: dict[str, Any], name: str, side: str) -> Callable[..., Any]:
    try:
        return table[name.upper()]
    except KeyError:
        known = ", ".join(table)
        raise UnsupportedMechanism(f"no {side} side for SASL mechanism {name!r} (known: {known})") from None


def _accepted(factory: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """The options ``factory`` takes: callers pass one option bag (``hostname``,
    ``channel_binding``, ``lenient``...) whatever mechanism the peer chose."""
    parameters = inspect.signature(factory).parameters
    return {key: value for key, value in options.items() if key in parameters}


def client_mechanism_class(name: str) -> type[ClientMechanism]:
    """The client class for ``name`` (case-insensitive), for its ClassVars (``needs_password``,
    ``reveals_secret``...) before any credentials exist; :class:`UnsupportedMechanism` otherwise."""
    return _find(CLIENT_MECHANISMS, name, "client")


def client_mechanism(name: str, credentials: ClientCredentials, **options: Any) -> ClientMechanism:
    """A fresh client for mechanism ``name``.

    ``options`` the mechanism's constructor does not take are ignored (see each class for
    its own: ``nonce``, ``channel_binding``, ``host``, ``initial_response``...).
    """
    factory = client_mechanism_class(name)
    return factory(credentials, **_accepted(factory, options))


def server_mechanism(name: str, store: CredentialStore, **options: Any) -> ServerMechanism:
    """A fresh server for mechanism ``name``; options it does not take are ignored."""
    factory = _find(SERVER_MECHANISMS, name, "server")
    return factory(store, **_accepted(factory, options))

"""Look mechanisms up by their wire name (case-insensitive), on either side.

Callers pass one bag of options whatever mechanism the peer chose (a server passes
``hostname``, ``lenient`` and ``channel_binding`` to every mechanism); each mechanism gets
the ones its constructor takes. An option that *no* mechanism of that side takes is a typo
and raises :class:`TypeError`: silently dropping ``channel_bindng=`` would switch off SCRAM's
downgrade detection (RFC 5802 §6).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, TypeVar

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

_CLIENT_CLASSES: tuple[type[ClientMechanism], ...] = (
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
_SERVER_CLASSES: tuple[type[ServerMechanism], ...] = (*SCRAM_SERVERS, CramMD5Server, PlainServer, LoginServer)

#: wire name -> client class (called with ``(credentials, **options)``), strongest first
#: (the ``strength`` class attribute)
CLIENT_MECHANISMS: dict[str, type[ClientMechanism]] = {
    cls.name: cls for cls in sorted(_CLIENT_CLASSES, key=lambda cls: cls.strength)
}
#: wire name -> server class (called with ``(store, **options)``)
SERVER_MECHANISMS: dict[str, type[ServerMechanism]] = {cls.name: cls for cls in _SERVER_CLASSES}

M = TypeVar("M")


def _find(table: dict[str, M], name: str, side: str) -> M:
    try:
        return table[name.upper()]
    except KeyError:
        known = ", ".join(table)
        raise UnsupportedMechanism(f"no {side} side for SASL mechanism {name!r} (known: {known})") from None


def _options_of(factory: Callable[..., Any]) -> frozenset[str]:
    """The keyword options a mechanism's constructor takes (after credentials or store)."""
    parameters = list(inspect.signature(factory).parameters.values())[1:]
    return frozenset(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


@cache
def _known_options(classes: tuple[type, ...]) -> frozenset[str]:
    return frozenset().union(*(_options_of(cls) for cls in classes))


def _accepted(factory: Callable[..., Any], options: dict[str, Any], side: Iterable[type]) -> dict[str, Any]:
    """The options ``factory`` takes; raises TypeError for one no mechanism of ``side`` takes."""
    unknown = sorted(set(options) - _known_options(tuple(side)))
    if unknown:
        raise TypeError(f"unknown SASL mechanism option(s): {', '.join(unknown)}")
    taken = _options_of(factory)
    return {key: value for key, value in options.items() if key in taken}


def client_mechanism_class(name: str) -> type[ClientMechanism]:
    """The client class for ``name`` (case-insensitive), for its ClassVars (``needs_password``,
    ``reveals_secret``...) before any credentials exist; :class:`UnsupportedMechanism` otherwise."""
    return _find(CLIENT_MECHANISMS, name, "client")


def client_mechanism(name: str, credentials: ClientCredentials, **options: Any) -> ClientMechanism:
    """A fresh client for mechanism ``name``.

    ``options`` the mechanism's constructor does not take are ignored if another client
    mechanism takes them (see each class: ``nonce``, ``channel_binding``, ``host``,
    ``initial_response``...); an option no client mechanism takes raises :class:`TypeError`.
    """
    factory: Callable[..., ClientMechanism] = client_mechanism_class(name)
    return factory(credentials, **_accepted(factory, options, CLIENT_MECHANISMS.values()))


def server_mechanism(name: str, store: CredentialStore, **options: Any) -> ServerMechanism:
    """A fresh server for mechanism ``name``; options it does not take are ignored if
    another server mechanism takes them, and raise :class:`TypeError` if none does."""
    factory: Callable[..., ServerMechanism] = _find(SERVER_MECHANISMS, name, "server")
    return factory(store, **_accepted(factory, options, SERVER_MECHANISMS.values()))

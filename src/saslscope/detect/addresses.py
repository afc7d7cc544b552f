"""Client addresses as detectors group them: networks, allow-lists, and values that are no IP.

Logs carry what the server wrote: ``unknown``, host names, tokens of anonymised logs. Such a
value is its own "network" (counted as a distinct value, never an error).
"""

from __future__ import annotations

import functools
import ipaddress

from saslscope.detect.config import Allow, Networks
from saslscope.maillog.correlate import _octet  # one definition of an IPv4 octet

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=65536)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in ``text`` (Postfix writes ``IPv6:`` before some), or None when it is none."""
    try:
        address = ipaddress.ip_address(text.removeprefix("IPv6:"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=65536)
def network_of(text: str, ipv4_prefix: int = 24, ipv6_prefix: int = 48) -> str:
    """``192.0.2.7`` -> ``192.0.2.0/24``; a value that is no address stays itself."""
    parts = text.split(".")
    if ipv4_prefix == 24 and len(parts) == 4 and all(_octet(p) for p in parts):
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"   # the common case, without ipaddress' cost
    address = parse_ip(text)
    if address is None:
        return text
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class Grouping:
    """``network(ip)`` with the configured prefixes."""

    def __init__(self, networks: Networks) -> None:
        self.v4, self.v6 = networks.ipv4_prefix, networks.ipv6_prefix

    def network(self, ip: str) -> str:
        return network_of(ip, self.v4, self.v6)


class AllowList:
    """The ``[allow]`` section, compiled: who is never judged, and which addresses are relays."""

    def __init__(self, allow: Allow) -> None:
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow.networks)
        self.relays = tuple(ipaddress.ip_network(n, strict=False) for n in allow.relays)
        self.users = frozenset(allow.users)
        self._ignored = functools.lru_cache(maxsize=16384)(self._in(self.networks))
        self._relay = functools.lru_cache(maxsize=16384)(self._in(self.relays))

    @staticmethod
    def _in(networks: tuple[IPNetwork, ...]) -> functools.partial[bool]:
        return functools.partial(_contained, networks)

    def ignores(self, username: str | None, ip: str | None) -> bool:
        """True for an allowed account or an address in an allowed network."""
        if username is not None and username in self.users:
            return True
        return bool(self.networks) and ip is not None and self._ignored(ip)

    def is_relay(self, ip: str) -> bool:
        """A known relay: its logins carry many users' addresses, so they say nothing about spread."""
        return bool(self.relays) and self._relay(ip)


def _contained(networks: tuple[IPNetwork, ...], ip: str) -> bool:
    address = parse_ip(ip)
    return address is not None and any(address in net for net in networks)


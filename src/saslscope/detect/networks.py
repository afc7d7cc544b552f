"""Addresses as the detectors count them: the network an address belongs to, and allow-lists.

Client addresses in logs are not always IPs (anonymised logs carry tokens, broken ones names):
such a value is its own "network", so it is still counted distinctly and never raises.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

#: prefix lengths that stand for "one network": a /24 is one site or customer line, an IPv6 /48
#: one site (RFC 6177); Dovecot's auth penalty also groups IPv6 by prefix
IPV4_PREFIX = 24
IPV6_PREFIX = 48


@functools.lru_cache(maxsize=65536)
def network_of(address: str) -> str:
    """``192.0.2.7`` -> ``192.0.2.0/24``; ``2001:db8:1:2::5`` -> ``2001:db8:1::/48``; else the text."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class NetworkList:
    """Membership in a list of CIDR networks (allow-lists); a non-IP address is never a member."""

    def __init__(self, networks: Iterable[str]) -> None:
        self._networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __contains__(self, address: object) -> bool:
        if not self._networks or not isinstance(address, str):
            return False
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

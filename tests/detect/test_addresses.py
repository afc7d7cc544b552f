"""Client values as detectors group them: any text is a value, never an error; the /24 fast
path agrees with ipaddress."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from saslscope.detect.addresses import AllowList, network_of
from saslscope.detect.config import Allow


@given(st.ip_addresses(v=4))
def test_ipv4_network_fast_path_agrees_with_ipaddress(address: ipaddress.IPv4Address) -> None:
    assert network_of(str(address)) == str(ipaddress.ip_network(f"{address}/24", strict=False))
    assert network_of(str(address), 16) == str(ipaddress.ip_network(f"{address}/16", strict=False))


@given(st.text(max_size=60) | st.from_regex(r"[0-9.:a-fA-F%]{1,45}", fullmatch=True))
def test_any_client_value_is_a_value(text: str) -> None:
    assert isinstance(network_of(text), str)
    allow = AllowList(Allow(networks=["10.0.0.0/8"], relays=["2001:db8::/32"]))
    assert allow.ignores(None, text) in (True, False) and allow.is_relay(text) in (True, False)

"""The IANA "Mail Transmission Types" registry as typed from
https://www.iana.org/assignments/mail-parameters (RFC 3848, RFC 6531, RFC 4356, RFC 5321)."""

import pytest

from saslscope.headers.protocols import REGISTRY, lookup

# name -> (client authenticated, TLS), from each RFC's definition of the name
IANA = {
    "SMTP": (False, False), "ESMTP": (False, False), "ESMTPA": (True, False), "ESMTPS": (False, True),
    "ESMTPSA": (True, True), "LMTP": (False, False), "LMTPA": (True, False), "LMTPS": (False, True),
    "LMTPSA": (True, True), "MMS": (False, False), "UTF8SMTP": (False, False), "UTF8SMTPA": (True, False),
    "UTF8SMTPS": (False, True), "UTF8SMTPSA": (True, True), "UTF8LMTP": (False, False),
    "UTF8LMTPA": (True, False), "UTF8LMTPS": (False, True), "UTF8LMTPSA": (True, True),
}
IANA_NAMES = list(IANA)


@pytest.mark.parametrize("name", IANA_NAMES)
def test_every_registered_name_and_its_flags(name):
    kind = lookup(name)
    assert kind is not None and kind.registered
    assert (kind.authenticated, kind.tls) == IANA[name]


def test_registry_holds_exactly_the_iana_names_as_registered():
    assert sorted(n for n, t in REGISTRY.items() if t.registered) == sorted(IANA_NAMES)


def test_lookup_is_case_and_space_insensitive():
    assert lookup("esmtpsa") is REGISTRY["ESMTPSA"]
    assert lookup("Microsoft  SMTP\\tServer".replace("\\t", " ")) is REGISTRY["MICROSOFT SMTP SERVER"]
    assert lookup("nonsense") is None and lookup(None) is None and lookup("") is None

"""The public API: the names a library user may import, pinned (as httpx pins its own), and
the registry refusing a misspelled option instead of dropping it."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys

import pytest

import saslscope.sasl
import saslscope.smtp
from saslscope.sasl import ChannelBinding, ClientCredentials, MemoryStore, client_mechanism, server_mechanism

SMTP_API = [
    "AUTH_LINE_LIMIT", "ClientExchange", "LoginOptions", "LoginResult", "MechanismCheck", "MessageSpec",
    "Outcome", "ProbeResult", "QuitAfter", "ServerExchange", "SessionOptions", "SessionResult", "SmtpError",
    "TlsMode", "TlsSettings", "login", "login_each_mechanism", "probe",
]
SASL_API = [
    "AuthenticationFailed", "CLIENT_MECHANISMS", "Challenge", "ChannelBinding", "ClientCredentials",
    "ClientMechanism", "CredentialStore", "InvalidCredentials", "MAX_MESSAGE", "MalformedMessage", "MemoryStore",
    "SERVER_MECHANISMS", "SaslError", "ScramKeys", "ServerMechanism", "StateError", "StoredCredential", "Success",
    "UnsupportedMechanism", "client_mechanism", "client_mechanism_class", "server_mechanism",
]


@pytest.mark.parametrize(("module", "names"), [(saslscope.smtp, SMTP_API), (saslscope.sasl, SASL_API)])
def test_the_exported_names_are_pinned_and_all_resolve(module, names):
    assert sorted(module.__all__, key=str.lower) == sorted(names, key=str.lower)
    for name in names:
        assert getattr(module, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        saslscope.smtp.logn  # noqa: B018


def test_importing_the_smtp_package_does_not_load_the_client():
    code = "import sys, saslscope.smtp.auth; print('saslscope.smtp.client' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_the_package_ships_py_typed():
    assert importlib.resources.files("saslscope").joinpath("py.typed").is_file()


def test_a_misspelled_mechanism_option_raises_instead_of_switching_off_downgrade_detection():
    binding = (ChannelBinding("tls-server-end-point", b"e" * 32),)
    with pytest.raises(TypeError, match="channel_bindng"):
        server_mechanism("SCRAM-SHA-256", MemoryStore(), channel_bindng=binding)
    with pytest.raises(TypeError, match="channel_bindng"):
        client_mechanism("SCRAM-SHA-256-PLUS", ClientCredentials("u", "p"), channel_bindng=binding[0])


def test_an_option_another_mechanism_takes_is_still_passed_over():
    # one option bag for whatever mechanism the peer picks: PLAIN ignores hostname
    assert server_mechanism("PLAIN", MemoryStore(), hostname="mx.test", channel_binding=()).name == "PLAIN"

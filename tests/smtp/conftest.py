from __future__ import annotations

import pytest

from saslscope.smtp.certs import TestPki, make_test_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A CA and a server certificate for the loopback names."""
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def wrong_host_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A certificate valid only for a name the tests never connect to."""
    return make_test_pki(tmp_path_factory.mktemp("pki-wrong"), hostnames=("wrong.example",))

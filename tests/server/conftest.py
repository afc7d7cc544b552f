"""Fixtures: a throw-away PKI, a passwd-file written by the real `doveadm pw`, a running server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from saslscope.smtp.certs import make_test_pki
from tests.server.support import USERS, ServerUnderTest, doveadm_pw, started_server


@pytest.fixture(scope="session")
def passwd_path(tmp_path_factory) -> Path:
    if shutil.which("doveadm") is None:
        pytest.fail("doveadm (dovecot-core) is required: run scripts/bootstrap as root")
    path = tmp_path_factory.mktemp("passwd") / "users"
    lines = ["# written by doveadm pw, one scheme per user"]
    lines += [f"{user}:{doveadm_pw(scheme, password)}::::::" for user, (scheme, password) in USERS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_test_pki(tmp_path_factory.mktemp("pki"), ["mail.test", "localhost", "127.0.0.1", "::1"])


@pytest.fixture
def server(tmp_path, pki, passwd_path) -> Iterator[ServerUnderTest]:
    with started_server(tmp_path, pki, passwd_path) as running:
        yield running

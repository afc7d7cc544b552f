"""The smtplib and aiosmtplib adapters of docs/api.md, run as printed there, log in to the
server of ``saslscope serve`` with SCRAM-SHA-256 (which smtplib cannot do itself) and CRAM-MD5."""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
from pathlib import Path

import pytest

from saslscope.sasl import ClientCredentials
from saslscope.smtp.auth import ClientVerdict
from saslscope.smtp.certs import make_test_pki
from tests.server.support import USERS, doveadm_pw, started_server, tls_client

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
CASES = [("SCRAM-SHA-256", "scram256@example.test"), ("CRAM-MD5", "cram@example.test")]


def _adapter(name: str) -> dict[str, object]:
    """The code block under ``<!-- adapter: name -->`` in docs/api.md, executed."""
    match = re.search(rf"<!-- adapter: {name} -->\n```python\n(.*?)```", API_DOC.read_text(encoding="utf-8"), re.S)
    assert match, f"docs/api.md has no {name} adapter"
    namespace: dict[str, object] = {}
    exec(compile(match.group(1), f"docs/api.md ({name})", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    if shutil.which("doveadm") is None:
        pytest.fail("doveadm (dovecot-core) is required: run scripts/bootstrap as root")
    root = tmp_path_factory.mktemp("adapters")
    passwd = root / "users"
    passwd.write_text("".join(f"{u}:{doveadm_pw(s, p)}::::::\n" for u, (s, p) in USERS.items()), encoding="utf-8")
    pki = make_test_pki(root / "pki", ["mail.test", "localhost", "127.0.0.1", "::1"])
    with started_server(root, pki, passwd) as running:
        yield running


@pytest.mark.parametrize(("mechanism", "user"), CASES)
@pytest.mark.parametrize("password_ok", [True, False])
def test_smtplib_adapter(serve, mechanism, user, password_ok):
    smtplib_auth = _adapter("smtplib")["smtplib_auth"]
    password = USERS[user][1] if password_ok else "wrong"
    with tls_client(serve) as client:
        done = smtplib_auth(client, mechanism, ClientCredentials(user, password))
        assert done.succeeded is password_ok, done
        if password_ok:
            assert client.mail(user)[0] == 250  # the session really is authenticated
        else:
            assert done.verdict is ClientVerdict.REJECTED and done.code == 535


@pytest.mark.parametrize(("mechanism", "user"), CASES)
def test_aiosmtplib_adapter(serve, mechanism, user):
    import aiosmtplib

    aiosmtplib_auth = _adapter("aiosmtplib")["aiosmtplib_auth"]
    context = ssl.create_default_context(cafile=str(serve.ca_path))

    async def session() -> tuple[bool, int]:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=serve.port, tls_context=context, start_tls=True,
                               local_hostname="client.test", timeout=30)
        async with smtp:
            await smtp.ehlo()
            done = await aiosmtplib_auth(smtp, mechanism, ClientCredentials(user, USERS[user][1]))
            response = await smtp.mail(user)
            assert done.succeeded, done
            return done.succeeded, response.code

    assert asyncio.run(session()) == (True, 250)

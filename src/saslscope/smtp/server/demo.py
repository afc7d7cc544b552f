"""``saslscope demo``: the write-up's whole session, end to end, on loopback.

An embedded server with a throw-away CA and one user; the project's own client logging in
with CRAM-MD5 over STARTTLS (verifying the server against that CA) and sending the write-up's
test message; then the server's Postfix-format log lines for that session and the path of
the delivered message. Nothing leaves 127.0.0.1 and nothing needs root.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from saslscope.sasl.base import ClientCredentials
from saslscope.sasl.credentials import MemoryStore, StoredCredential
from saslscope.smtp.certs import make_test_pki
from saslscope.smtp.client import LoginOptions, LoginResult, login
from saslscope.smtp.message import MessageSpec
from saslscope.smtp.private_files import private_directory
from saslscope.smtp.server.maildir import Delivery, MaildirStore
from saslscope.smtp.server.penalty import FailurePenalty
from saslscope.smtp.server.postfix_log import PostfixLog
from saslscope.smtp.server.server import ServerConfig, run_in_thread, server_tls_context
from saslscope.smtp.transport import TlsMode, TlsSettings

#: the write-up's illustrative account ("説明用で実際には存在していません": made up for the
#: explanation, it exists nowhere), its recipient and its test message
DEMO_USER = "centos7@phoenixknight.jp"
DEMO_PASSWORD = "zaq12345"
DEMO_RECIPIENT = "test@example.com"
DEMO_SUBJECT = "CRAM-MD5 test"
DEMO_BODY = "CRAM-MD5 テストに成功しました\n"
DEMO_HOSTNAME = "mail.test"
#: how long to wait for the server to log the end of the session after the client's QUIT
LOG_SETTLE_TIMEOUT = 5.0


class DemoWorkdirError(Exception):
    """The work directory cannot hold the demo's files; the message names the path."""


class _LogBuffer(io.StringIO):
    """An in-memory log that a reader can wait on (the server writes from its own thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            written = super().write(text)
            self.changed.notify_all()
        return written

    def wait_for(self, fragment: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while fragment not in self.getvalue():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(remaining)
        return True


@dataclass(frozen=True)
class DemoResult:
    """What the demo saw: the client's result, the server's log, where the mail landed."""

    workdir: Path
    ca_cert_path: Path
    host: str
    port: int
    login: LoginResult
    log_lines: list[str]
    deliveries: list[Delivery]

    @property
    def succeeded(self) -> bool:
        return self.login.authenticated and bool(self.deliveries) and self.login.error is None


def run_demo(workdir: str | Path | None = None, *, timeout: float = 30.0) -> DemoResult:
    """Run the demo; files (CA, Maildir) go to ``workdir`` or a new temporary directory.

    Raises :class:`DemoWorkdirError` if ``workdir`` cannot hold them (not writable, not a
    directory, or holding an earlier demo's files, which are never replaced).
    """
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="saslscope-demo-"))
    try:
        private_directory(root)
        pki = make_test_pki(root / "pki", (DEMO_HOSTNAME, "localhost", "127.0.0.1", "::1"))
        maildir = MaildirStore(root / "maildir")
    except FileExistsError as exc:
        raise DemoWorkdirError(f"{exc.filename} already exists (an earlier demo?): choose another --workdir "
                               f"or remove {root}") from None
    except OSError as exc:
        where = exc.filename or root
        raise DemoWorkdirError(f"cannot use {where} for the demo's files: {exc.strerror or exc}") from None
    tls_context, certificate_der = server_tls_context(pki.chain_path, pki.key_path)
    store = MemoryStore()
    store.add(StoredCredential(DEMO_USER, password=DEMO_PASSWORD))
    log_buffer = _LogBuffer()
    config = ServerConfig(
        store=store,
        maildir=maildir,
        log=PostfixLog(log_buffer, hostname=DEMO_HOSTNAME),
        hostname=DEMO_HOSTNAME,
        tls_context=tls_context,
        certificate_der=certificate_der,
        penalty=FailurePenalty(base=0),
    )
    with run_in_thread(config, listen=[("127.0.0.1", 0)]) as server:
        options = LoginOptions(
            host="127.0.0.1",
            port=server.port,
            tls_mode=TlsMode.STARTTLS,
            tls=TlsSettings(cafile=str(pki.ca_cert_path)),
            helo="localhost",  # the write-up typed "ehlo localhost"
            timeout=timeout,
            mechanism="CRAM-MD5",
            credentials=ClientCredentials(username=DEMO_USER, password=DEMO_PASSWORD),
            message=MessageSpec(
                mail_from=DEMO_USER,
                recipients=(DEMO_RECIPIENT,),
                subject=DEMO_SUBJECT,
                body=DEMO_BODY,
            ),
        )
        result = login(options)
        log_buffer.wait_for("disconnect from", LOG_SETTLE_TIMEOUT)
        deliveries = [d for found in server.deliveries.values() for d in found]
        port = server.port
    return DemoResult(
        workdir=root,
        ca_cert_path=pki.ca_cert_path,
        host="127.0.0.1",
        port=port,
        login=result,
        log_lines=log_buffer.getvalue().splitlines(),
        deliveries=deliveries,
    )

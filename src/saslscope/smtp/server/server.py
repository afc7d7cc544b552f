"""The running server: listening sockets, shared state, start and stop.

:class:`SubmissionServer` is asyncio-native (``serve`` runs it under ``asyncio.run``);
:func:`run_in_thread` runs one on a background event loop for synchronous callers (``demo``,
tests driving it with smtplib or swaks).
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from saslscope.sasl.credentials import CredentialStore
from saslscope.sasl.decoys import Decoys
from saslscope.sasl.registry import SERVER_MECHANISMS
from saslscope.sasl.scram import HASHES
from saslscope.smtp.server.maildir import Delivery, MaildirStore
from saslscope.smtp.server.penalty import FailurePenalty
from saslscope.smtp.server.postfix_log import PostfixLog
from saslscope.smtp.tlsinfo import server_end_point_hash

#: offered by default, in this order (Dovecot's order, then the channel-binding variants,
#: which are offered only on TLS 1.2 because their binding data comes from the TLS session)
DEFAULT_MECHANISMS = (
    "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS",
)


#: one DNS label (RFC 1123 §2.1), plus "_" which Postfix's valid_hostname() also accepts
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def check_hostname(name: str) -> str:
    """``name`` if it is an ASCII host name (it goes into the banner, every reply that names
    the server, the CRAM-MD5 challenge, the certificate and the log); ValueError otherwise.

    A non-ASCII name used to break the idle timeout and the error-limit ``421`` (replies are
    ASCII) and the throw-away certificate; an IDN must be given in its A-label form.
    """
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    if not name or len(name) > 253 or not name.isascii() or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"--hostname {name!r} is not a host name: ASCII letters, digits, '-' and '_' in dot-separated "
            "labels of at most 63 characters (an internationalised name in its xn-- form)"
        )
    return name


def available_mechanisms() -> tuple[str, ...]:
    """Every mechanism :mod:`saslscope.sasl` has a server side for: the defaults first."""
    defaults = [name for name in DEFAULT_MECHANISMS if name in SERVER_MECHANISMS]
    return tuple(defaults + sorted(set(SERVER_MECHANISMS) - set(defaults)))


def scram_hashes(mechanisms: tuple[str, ...]) -> list[str]:
    """The SCRAM hash names (``sha256``...) among ``mechanisms``."""
    stems = {stem: hash_name for hash_name, stem in HASHES.items()}
    return sorted({stems[name.removesuffix("-PLUS")] for name in mechanisms if name.removesuffix("-PLUS") in stems})


def default_mechanisms() -> tuple[str, ...]:
    return tuple(name for name in DEFAULT_MECHANISMS if name in SERVER_MECHANISMS)


def server_tls_context(
    cert_path: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    *,
    max_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
) -> tuple[ssl.SSLContext, bytes]:
    """A server TLS context for ``cert_path`` (PEM, leaf first, chain after) and ``key_path``.

    TLS 1.2 at least; ``max_version=TLSVersion.TLSv1_2`` caps it, for testing clients'
    SCRAM-*-PLUS (offered on TLS 1.2 only, see the session's channel bindings).

    Returns the context and the leaf certificate in DER, from which the
    ``tls-server-end-point`` channel binding (RFC 5929 §4.1) of SCRAM-*-PLUS is computed.
    Raises :class:`ValueError` with a one-line explanation for unusable files.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = max_version
    for path in (cert_path, key_path):
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ValueError(f"cannot read {os.fspath(path)}: not a readable file")
    try:
        context.load_cert_chain(cert_path, key_path)
        with open(cert_path, encoding="ascii", errors="replace") as handle:
            pem = handle.read()
    except ssl.SSLError as exc:
        reason = exc.reason or exc.strerror or str(exc)
        if "PEM lib" in reason:
            reason = "not a PEM certificate and key (or the key is encrypted)"
        elif reason == "KEY_VALUES_MISMATCH":
            reason = "the key does not belong to the certificate"
        raise ValueError(f"cannot use certificate {cert_path} with key {key_path}: {reason}") from None
    except OSError as exc:
        raise ValueError(f"cannot read {cert_path} or {key_path}: {exc.strerror}") from None
    start = pem.find("-----BEGIN CERTIFICATE-----")
    end = pem.find("-----END CERTIFICATE-----", start)
    if start < 0 or end < 0:
        raise ValueError(f"{cert_path} has no PEM certificate")
    return context, ssl.PEM_cert_to_DER_cert(pem[start : end + len("-----END CERTIFICATE-----")])


@dataclass
class ServerConfig:
    """Everything a session needs to know; shared by all connections."""

    store: CredentialStore
    maildir: MaildirStore
    log: PostfixLog
    hostname: str = "localhost"
    tls_context: ssl.SSLContext | None = None
    #: the server certificate (DER), for SCRAM-*-PLUS's tls-server-end-point binding
    certificate_der: bytes | None = None
    mechanisms: tuple[str, ...] = field(default_factory=default_mechanisms)
    allow_cleartext_auth: bool = False
    lenient_cram: bool = False
    #: SIZE advertised and enforced (Postfix's message_size_limit default)
    max_message_size: int = 10_240_000
    #: seconds without a command before "421 ... timeout exceeded" (Postfix smtpd_timeout)
    idle_timeout: float = 300.0
    #: errors before "421 ... too many errors" (Postfix smtpd_hard_error_limit)
    hard_error_limit: int = 20
    #: simultaneous sessions per client address, 0 = no limit
    #: (Postfix smtpd_client_connection_count_limit)
    max_connections_per_ip: int = 50
    #: simultaneous sessions in all, 0 = no limit (Postfix's default_process_limit for smtpd)
    max_connections: int = 100
    #: recipients per message (Postfix smtpd_recipient_limit is 1000; a test server needs fewer,
    #: and each recipient gets its own copy of the message)
    max_recipients: int = 100
    #: message size x recipients: a message whose copies would exceed this is refused at the
    #: end of DATA (552), before any copy is written
    max_fanout_bytes: int = 100_000_000
    penalty: FailurePenalty = field(default_factory=FailurePenalty)

    def __post_init__(self) -> None:
        check_hostname(self.hostname)
        self.mechanisms = tuple(name.upper() for name in self.mechanisms)
        unknown = [name for name in self.mechanisms if name not in SERVER_MECHANISMS]
        if unknown:
            raise ValueError(
                f"no server side for {', '.join(unknown)} (available: {', '.join(available_mechanisms())})"
            )


@dataclass(frozen=True)
class Endpoint:
    """One listening socket."""

    host: str
    port: int
    implicit_tls: bool

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" + (" (implicit TLS)" if self.implicit_tls else "")


class ServerContext:
    """State shared by the sessions of one server: config, log, penalty, process ids."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.log = config.log
        #: the master.cf service name, for warnings that name it ("postfix/submission" -> submission)
        self.service = config.log.syslog_name.rsplit("/", 1)[-1] if "/" in config.log.syslog_name else "smtp"
        self.penalty = config.penalty
        #: RFC 5929 §4.1 tls-server-end-point data, the same for every session
        self.server_end_point = (
            server_end_point_hash(config.certificate_der) if config.certificate_der is not None else None
        )
        #: answers for unknown users shaped and timed like real ones; plaintext users' SCRAM
        #: keys derived now, so no PBKDF2 runs on the event loop during SCRAM exchanges
        self.decoys = Decoys.for_store(config.store)
        self.decoys.warm(config.store, scram_hashes(config.mechanisms))
        self.deliveries: dict[str, list[Delivery]] = {}
        #: sessions with an open connection (to end them on shutdown)
        self.sessions: set[asyncio.BaseProtocol] = set()
        self._per_address: collections.Counter[str] = collections.Counter()
        self._busy_pids: set[int] = set()

    def acquire_pid(self) -> int:
        """A "process id" for a new session's log lines.

        Postfix runs one smtpd process per concurrent session and log readers pair
        ``connect`` and ``disconnect`` by program and pid, so concurrent sessions here get
        distinct ids (the server's pid, then pid+1...), reused once free, like a process pool.
        """
        pid = self.log.pid
        while pid in self._busy_pids:
            pid += 1
        self._busy_pids.add(pid)
        return pid

    def session_started(self, session: asyncio.BaseProtocol) -> None:
        self.sessions.add(session)
        self._per_address[getattr(session, "client_addr", "")] += 1

    def session_ended(self, session: asyncio.BaseProtocol) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            address = getattr(session, "client_addr", "")
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    def connections_from(self, address: str) -> int:
        """Open sessions from ``address`` (O(1): the limit is checked on every connection)."""
        return self._per_address[address]

    def release_pid(self, pid: int) -> None:
        self._busy_pids.discard(pid)

    def delivered(self, queue_id: str, delivery: Delivery) -> None:
        self.deliveries.setdefault(queue_id, []).append(delivery)


class SubmissionServer:
    """Listens on ``listen`` (STARTTLS) and ``implicit_tls`` (TLS from the first byte) addresses.

    Port 0 picks a free port; :attr:`endpoints` has the real ones after :meth:`start`.
    """

    def __init__(
        self,
        config: ServerConfig,
        listen: list[tuple[str, int]],
        implicit_tls: list[tuple[str, int]] | None = None,
    ) -> None:
        if implicit_tls and config.tls_context is None:
            raise ValueError("implicit TLS needs a certificate (tls_context)")
        self.config = config
        self.context = ServerContext(config)
        self._wanted = [(host, port, False) for host, port in listen] + [
            (host, port, True) for host, port in (implicit_tls or [])
        ]
        self._servers: list[asyncio.base_events.Server] = []
        self.endpoints: list[Endpoint] = []

    async def start(self) -> list[Endpoint]:
        """Bind every address; on any failure, close what was opened and raise OSError."""
        from saslscope.smtp.server.session import SubmissionSession

        loop = asyncio.get_running_loop()
        try:
            for host, port, implicit in self._wanted:

                def factory(implicit: bool = implicit) -> SubmissionSession:
                    return SubmissionSession(self.context, implicit_tls=implicit)

                server = await loop.create_server(factory, host, port, reuse_address=True)
                self._servers.append(server)
                for sock in server.sockets:
                    bound = sock.getsockname()
                    self.endpoints.append(Endpoint(bound[0], bound[1], implicit))
        except OSError:
            await self.stop()
            raise
        return self.endpoints

    async def stop(self) -> None:
        """Stop listening and end every open session (each logs its disconnect)."""
        for server in self._servers:
            server.close()
        sessions = list(self.context.sessions)
        for session in sessions:
            transport = getattr(session, "transport", None)
            if transport is not None and not transport.is_closing():
                transport.close()
        for server in self._servers:
            await server.wait_closed()
        # Let the sessions' tasks run their end-of-session logging.
        tasks = [
            task for session in sessions
            if (task := getattr(session, "_handler_coroutine", None)) is not None and not task.done()
        ]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._servers.clear()


@dataclass
class RunningServer:
    """A server running on a background thread (see :func:`run_in_thread`)."""

    server: SubmissionServer
    loop: asyncio.AbstractEventLoop

    @property
    def endpoints(self) -> list[Endpoint]:
        return self.server.endpoints

    @property
    def port(self) -> int:
        """The first STARTTLS (or plain) endpoint's port."""
        return next(e.port for e in self.endpoints if not e.implicit_tls)

    @property
    def tls_port(self) -> int:
        return next(e.port for e in self.endpoints if e.implicit_tls)

    @property
    def deliveries(self) -> dict[str, list[Delivery]]:
        return self.server.context.deliveries


@contextmanager
def run_in_thread(
    config: ServerConfig,
    listen: list[tuple[str, int]] | None = None,
    implicit_tls: list[tuple[str, int]] | None = None,
) -> Iterator[RunningServer]:
    """Run a server on its own event loop thread for the duration of a ``with`` block."""
    server = SubmissionServer(config, listen if listen is not None else [("127.0.0.1", 0)], implicit_tls)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        try:
            await server.start()
        except BaseException as exc:  # noqa: BLE001  (reported to the caller's thread below)
            failure.append(exc)
            return
        finally:
            started.set()
        await stop_requested.wait()
        await server.stop()

    # An asyncio.Event binds to the loop that first waits on it, so it may be made here.
    stop_requested = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, name="saslscope-server", daemon=True)
    thread.start()
    started.wait()
    if failure:
        thread.join()
        raise failure[0]
    try:
        yield RunningServer(server, loop)
    finally:
        loop.call_soon_threadsafe(stop_requested.set)
        thread.join(timeout=30)


def parse_address(text: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``PORT`` -> ``(host, port)``; ValueError if malformed."""
    host, port_text = default_host, text
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected [IPv6]:PORT")
        port_text = rest[1:]
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"{text!r}: write IPv6 addresses as [ADDRESS]:PORT")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 0 to 65535")
    return host or default_host, int(port_text)


async def serve_until_signalled(
    server: SubmissionServer, signals: tuple[int, ...], *, reopen_on: int | None = None
) -> int:
    """Serve until one of ``signals`` arrives, then stop cleanly (every session logs its end);
    return the signal that stopped it.

    ``reopen_on`` (SIGHUP) reopens a log file, as daemons do for logrotate.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[int] = []

    def stop_on(signum: int) -> None:
        received.append(signum)
        stop.set()

    for signum in signals:
        loop.add_signal_handler(signum, stop_on, signum)
    if reopen_on is not None:
        loop.add_signal_handler(reopen_on, _reopen_log, server.config.log)
    try:
        await stop.wait()
    finally:
        for signum in (*signals, *([reopen_on] if reopen_on is not None else [])):
            loop.remove_signal_handler(signum)
        await server.stop()
    return received[0]


def _reopen_log(log: PostfixLog) -> None:
    try:
        log.reopen()
    except OSError as exc:
        log.write("master", log.pid, f"cannot reopen {log.path}: {exc.strerror}; still logging to the old file",
                  severity="warning")


def default_hostname() -> str:
    """The name the server gives itself (banner, CRAM-MD5 challenge, Received, log host)."""
    return os.uname().nodename or "localhost"

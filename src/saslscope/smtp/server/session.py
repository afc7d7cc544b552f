"""One SMTP connection: aiosmtpd's protocol, made to check SASL for real and log like Postfix.

aiosmtpd parses commands, envelopes and DATA; this subclass adds what a submission server
needs and aiosmtpd leaves to the application:

* AUTH driven by the server side of :mod:`saslscope.sasl` for every mechanism (RFC 4954):
  mechanism names are case-insensitive and logged as the client spelled them (Postfix logs
  ``sasl_method=cram-md5`` when the client typed ``auth cram-md5``); ``*`` aborts; the SCRAM
  server-final message goes out as one more ``334``; after a failure the client's next AUTH
  waits before it is checked (:mod:`saslscope.smtp.server.penalty`).
* With a certificate and without cleartext AUTH allowed, the session behaves like Postfix's
  submission service (``smtpd_tls_security_level=encrypt``): AUTH is offered only under TLS
  and every command but HELO/EHLO/NOOP/QUIT/STARTTLS waits for STARTTLS (``530 5.7.0``).
* Implicit TLS (port 465 style) and STARTTLS share one upgrade path, so a client that
  vanishes in the handshake is logged (``SSL_accept error``) and the server carries on.
* Every command is counted for the ``disconnect from ... commands=`` line; too many errors
  end the session (Postfix's ``smtpd_hard_error_limit``); unknown verbs get ``500``, and HTTP
  probes or header lines sent as commands Postfix's ``221`` goodbye.
* Replies and log lines were checked against Postfix 3.7 with Dovecot SASL, conversation by
  conversation (``tests/server/test_log_matches_postfix.py``).
* Accepted mail goes to a Maildir, never anywhere else; without AUTH, RCPT is refused with
  ``554 5.7.1 ... Access denied`` (the submission service's ``smtpd_relay_restrictions``).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto as sslproto
import collections
import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from saslscope.sasl.base import ChannelBinding
from saslscope.sasl.registry import server_mechanism
from saslscope.smtp.auth import AUTH_LINE_LIMIT, FailureKind, ServerChallenge, ServerExchange, ServerFailed
from saslscope.smtp.server.postfix_log import SMTPD_COMMANDS, CommandCounters, new_queue_id
from saslscope.smtp.server.queue import ClientInfo, TlsSummary, Transaction, queue_and_deliver

if TYPE_CHECKING:
    from saslscope.smtp.server.server import ServerContext

#: how long reverse DNS may take before the client is logged as ``unknown`` (Postfix waits for
#: the resolver; a test server should not)
NAME_LOOKUP_TIMEOUT = 2.0
#: the TLS handshake must finish within this many seconds (Postfix: smtpd_starttls_timeout)
TLS_HANDSHAKE_TIMEOUT = 30

CommandMethod = Callable[[str | None], Awaitable[None]]

#: the commands smtpd.c flags SMTPD_CMD_FLAG_PRE_TLS: allowed before STARTTLS when TLS is required
PRE_TLS_COMMANDS = frozenset({"HELO", "EHLO", "XCLIENT", "STARTTLS", "NOOP", "QUIT"})
#: Postfix's smtpd_forbidden_commands default: verbs that mean "not an SMTP client at all"
FORBIDDEN_COMMANDS = frozenset({"CONNECT", "GET", "POST"})
#: a message header line ("Subject:") arriving as a command (smtpd.c is_header())
_HEADER_LABEL = re.compile(r"[!-9;-~]+:")


class _Envelope(Envelope):
    """aiosmtpd's envelope plus the queue transaction it started (at the first RCPT)."""

    def __init__(self) -> None:
        super().__init__()
        self.transaction: Transaction | None = None


class _CountingCommands(dict[str, CommandMethod]):
    """aiosmtpd looks command methods up with ``.get(verb)``; this table answers every verb,
    counting each one and its outcome for the ``disconnect`` line."""

    def __init__(self, session: SubmissionSession, methods: dict[str, CommandMethod]) -> None:
        super().__init__(methods)
        self.session = session

    def get(self, command: str, default: Any = None) -> CommandMethod:
        method = super().get(command)
        if method is None or command not in SMTPD_COMMANDS:
            method = functools.partial(self.session.smtp_unrecognized, command)
        return self.session.counted(command, method)


class _Hooks:
    """aiosmtpd's handler: each hook hands over to the session it is called for.

    A separate, small object rather than the session itself, because aiosmtpd inspects
    every member of its handler for each new connection.
    """

    async def handle_NOOP(self, server: SubmissionSession, session: Session, envelope: Envelope, arg: str) -> str:
        return "250 2.0.0 Ok"

    async def handle_RSET(self, server: SubmissionSession, session: Session, envelope: Envelope) -> str:
        return "250 2.0.0 Ok"

    async def handle_VRFY(self, server: SubmissionSession, session: Session, envelope: Envelope, address: str) -> str:
        return "502 5.5.1 VRFY command is disabled"

    async def handle_QUIT(self, server: SubmissionSession, session: Session, envelope: Envelope) -> str:
        server.end_reason = None  # a session that ends with QUIT is not "lost"
        return "221 2.0.0 Bye"

    async def handle_MAIL(self, server: SubmissionSession, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        return await server.accept_sender(envelope, address, options)

    async def handle_RCPT(self, server: SubmissionSession, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        return await server.accept_recipient(envelope, address, options)

    async def handle_DATA(self, server: SubmissionSession, session: Session, envelope: Envelope) -> str:
        return await server.accept_message(envelope)


_HOOKS = _Hooks()


class SubmissionSession(SMTP):
    """The protocol object for one client connection (created by :class:`SubmissionServer`)."""

    def __init__(self, context: ServerContext, *, implicit_tls: bool) -> None:
        # Set before SMTP.__init__, which inspects this object's members.
        self.context = context
        config = context.config
        self.implicit_tls = implicit_tls
        self.counters = CommandCounters()
        self.client_name = "unknown"
        self.client_addr = ""
        self.namaddr = "unknown[unknown]"
        self.pid = 0
        self.where = "CONNECT"
        self.end_reason: str | None = "lost connection"
        self.error_count = 0
        self.last_reply_code = 0
        #: set by a command whose positive reply still counts as a failure (a 220 to STARTTLS
        #: followed by a failed handshake, a 221 to a non-SMTP command)
        self.command_failed = False
        #: bytes received since the last DATA command was accepted (for "lost connection after DATA")
        self.data_bytes = 0
        self.tls: TlsSummary | None = None
        self.channel_bindings: tuple[ChannelBinding, ...] = ()
        self.sasl_method: str | None = None
        self.sasl_username: str | None = None
        self._tls_connection_made = False
        self._helo_name = ""
        super().__init__(
            _HOOKS,
            hostname=config.hostname,
            ident="ESMTP saslscope",
            tls_context=config.tls_context,
            data_size_limit=config.max_message_size,
            enable_SMTPUTF8=True,
            timeout=config.idle_timeout,
            auth_require_tls=not config.allow_cleartext_auth,
            loop=asyncio.get_running_loop(),
        )
        self._smtp_methods = _CountingCommands(self, self._smtp_methods)
        # aiosmtpd keeps these limits in a class-level dict that every EHLO grows; give each
        # session its own. AUTH carries an initial response, so it may use the whole line.
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, {"MAIL": 600, "RCPT": 600, "AUTH": SMTP.line_length_limit}
        )

    # ----------------------------------------------------------------- connection life

    def _create_envelope(self) -> _Envelope:
        return _Envelope()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tls_upgrade = self._original_transport is not None
        super().connection_made(transport)
        if tls_upgrade:
            self._tls_connection_made = True

    def data_received(self, data: bytes) -> None:
        if self.where == "DATA":
            self.data_bytes += len(data)
        super().data_received(data)

    async def _handle_client(self) -> None:
        peer = self.session.peer if self.session else None
        self.client_addr = str(peer[0]) if isinstance(peer, tuple) else "unknown"
        self.pid = self.context.acquire_pid()
        self.context.session_started(self)
        try:
            self.client_name = await self._client_name(self.client_addr)
            self.namaddr = f"{self.client_name}[{self.client_addr}]"
            self.context.log.smtpd(self.pid, f"connect from {self.namaddr}")
            if not self._within_connection_limit():
                return
            if self.implicit_tls and not await self._start_tls():
                return
            await super()._handle_client()
        finally:
            self._log_end_of_session()
            self.context.release_pid(self.pid)
            self.context.session_ended(self)

    def _within_connection_limit(self) -> bool:
        """Refuse a session beyond the global cap (Postfix: the smtpd process limit) or beyond
        its address's share (Postfix's smtpd_client_connection_count_limit)."""
        config = self.context.config
        total = len(self.context.sessions)
        count = self.context.connections_from(self.client_addr)
        if config.max_connections and total > config.max_connections:
            warning = (f"service {self.context.service}: all {config.max_connections} connections in use; "
                       f"refusing {self.namaddr}")
            reply = "421 4.3.2 Service currently unavailable"
        elif config.max_connections_per_ip and count > config.max_connections_per_ip:
            warning = (f"Connection concurrency limit exceeded: {count} from {self.namaddr} "
                       f"for service {self.context.service}")
            reply = f"421 4.7.0 {self.hostname} Error: too many connections from {self.client_addr}"
        else:
            return True
        self.context.log.smtpd(self.pid, warning, severity="warning")
        self.end_reason = None  # Postfix logs no "lost connection" for a refused client
        assert self.transport is not None
        self._write_now(reply)
        return False

    def _write_now(self, reply: str) -> None:
        """Write a reply straight to the transport, not through the awaited ``push``: the
        connection ends right after it. aiosmtpd types ``transport`` as a BaseTransport; on a
        stream connection it is always a WriteTransport (plain socket or TLS)."""
        if isinstance(self.transport, asyncio.WriteTransport):
            self.transport.write(f"{reply}\r\n".encode("ascii"))

    def _log_end_of_session(self) -> None:
        if self._timeout_handle is not None:
            self._timeout_handle.cancel()
        log = self.context.log
        if self.end_reason:
            if self.where == "DATA":
                # smtpd.c: "%s after %s (%lu bytes) from %s" with the message bytes received so far
                log.smtpd(self.pid, f"{self.end_reason} after DATA ({self.data_bytes} bytes) from {self.namaddr}")
            elif self.where != "END-OF-MESSAGE" or self.end_reason != "lost connection":
                log.smtpd(self.pid, f"{self.end_reason} after {self.where} from {self.namaddr}")
        log.smtpd(self.pid, f"disconnect from {self.namaddr}{self.counters.format()}")
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _timeout_cb(self) -> None:
        self.end_reason = "timeout"
        if self.transport is not None and not self.transport.is_closing():
            self._write_now(f"421 4.4.2 {self.hostname} Error: timeout exceeded")
        super()._timeout_cb()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated

    async def _client_name(self, addr: str) -> str:
        """Postfix's client name: verified reverse DNS, else ``unknown``; loopback is ``localhost``."""
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return "unknown"
        if ip.is_loopback:
            return "localhost"
        try:
            name, _ = await asyncio.wait_for(
                self.loop.getnameinfo((addr, 0), socket.NI_NAMEREQD), NAME_LOOKUP_TIMEOUT
            )
            infos = await asyncio.wait_for(self.loop.getaddrinfo(name, None), NAME_LOOKUP_TIMEOUT)
        except (TimeoutError, OSError, UnicodeError):
            return "unknown"
        # Forward-confirmed: the name must resolve back to the address (Postfix smtpd_peer.c).
        return name if any(info[4][0] == addr for info in infos) else "unknown"

    async def handle_exception(self, error: Exception) -> str:
        """A bug reached aiosmtpd's command loop. aiosmtpd would reply with the exception's
        text and print a traceback per command; the client gets a plain 451, the log one line."""
        self.context.log.smtpd(self.pid, f"internal error after {self.where} from {self.namaddr}: "
                                         f"{type(error).__name__}", severity="warning")
        return "451 4.3.0 Error: internal error"

    # ----------------------------------------------------------------- replies, counting

    async def push(self, status: AnyStr) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if text[:3].isdigit():
            self.last_reply_code = int(text[:3])
        await super().push(status)

    def counted(self, command: str, method: CommandMethod) -> CommandMethod:
        """Wrap a command so that it is counted, and its failure counts as an error."""

        async def run(arg: str | None) -> None:
            self.where = command if command in SMTPD_COMMANDS else "UNKNOWN"
            self.data_bytes = 0
            self.counters.started(command)
            self.last_reply_code = 0
            self.command_failed = False
            if self._tls_required_first(command):
                await self.push("530 5.7.0 Must issue a STARTTLS command first")
            elif arg is not None and not _is_utf8(arg):
                await self.push(_INVALID_UTF8_REPLIES.get(command, "501 5.5.4 Syntax error: invalid UTF-8"))
            else:
                await method(arg)
            # No await between here and the end: QUIT cancels this task, and the count must
            # still be recorded before the cancellation lands.
            if 0 < self.last_reply_code < 400 and not self.command_failed:
                self.counters.succeeded(command)
            elif self.last_reply_code >= 400:
                self._count_error()

        return run

    def _tls_required_first(self, command: str) -> bool:
        """Postfix's ``smtpd_tls_security_level=encrypt`` (a submission service): before
        STARTTLS only the commands its table flags as pre-TLS are allowed. In force when a
        certificate is configured and cleartext AUTH is not allowed."""
        return (
            self.tls_context is not None
            and not self.context.config.allow_cleartext_auth
            and not self._tls_connection_made
            and command in SMTPD_COMMANDS
            and command not in PRE_TLS_COMMANDS
        )

    def _count_error(self) -> None:
        self.error_count += 1
        if self.error_count >= self.context.config.hard_error_limit and self.transport is not None:
            self.end_reason = "too many errors"
            self._write_now(f"421 4.7.0 {self.hostname} Error: too many errors")
            self.transport.close()
            self.transport = None  # ends aiosmtpd's command loop

    async def smtp_unrecognized(self, verb: str, arg: str | None) -> None:
        if verb in FORBIDDEN_COMMANDS or _HEADER_LABEL.fullmatch(verb):
            # smtpd.c: an HTTP proxy probe or a message header sent as a command is not a
            # confused SMTP client; Postfix warns and hangs up (smtpd_forbidden_commands).
            line = verb if arg is None else f"{verb} {arg}"
            self.context.log.smtpd(self.pid, f"non-SMTP command from {self.namaddr}: {line[:100]}",
                                   severity="warning")
            await self.push("221 2.7.0 Error: I can break rules, too. Goodbye.")
            self.command_failed = True
            self.end_reason = None
            assert self.transport is not None
            self.transport.close()
            self.transport = None  # ends aiosmtpd's command loop
            return
        await self.push("500 5.5.2 Error: command not recognized")

    # ----------------------------------------------------------------- simple commands

    async def smtp_EHLO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 5.5.4 Syntax: EHLO hostname")
            return
        assert self.session is not None
        self._set_rset_state()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated
        self.session.extended_smtp = True
        self.session.host_name = self._helo_name = hostname
        config = self.context.config
        lines = [self.hostname, "PIPELINING", f"SIZE {config.max_message_size}"]
        if self.tls_context and not self._tls_connection_made:
            lines.append("STARTTLS")
        if self._auth_allowed():
            lines.append("AUTH " + " ".join(self._offered_mechanisms()))
        lines += ["ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]
        # One write for the whole reply, as Postfix sends it (and one TLS record, not seven).
        await self.push("\r\n".join([*(f"250-{line}" for line in lines[:-1]), f"250 {lines[-1]}"]))

    async def smtp_HELO(self, hostname: str | None) -> None:
        if hostname:
            self._helo_name = hostname
        await super().smtp_HELO(hostname)

    # ----------------------------------------------------------------- TLS

    async def smtp_STARTTLS(self, arg: str | None) -> None:
        if arg:
            await self.push("501 5.5.4 Syntax: STARTTLS")
        elif not self.tls_context:
            await self.push("502 5.5.1 Error: command not implemented")
        elif self._tls_connection_made:
            await self.push("554 5.5.1 Error: TLS already active")
        else:
            await self.push("220 2.0.0 Ready to start TLS")
            if not await self._start_tls():
                self.command_failed = True
                self.transport = None  # ends aiosmtpd's command loop

    async def _start_tls(self) -> bool:
        """Run the server side of a TLS handshake on this connection (RFC 3207 §4 or implicit).

        On failure the connection is closed, the failure logged as Postfix does
        (``SSL_accept error from ...``), and False returned.
        """
        assert self.transport is not None and self.tls_context is not None
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(
            self.loop, self, self.tls_context, waiter, server_side=True,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
        )
        self._original_transport = self.transport
        self._original_transport.set_protocol(self._tls_protocol)
        # As a BaseTransport: typeshed declares the TLS transport's get_extra_info as returning a dict.
        app_transport: asyncio.BaseTransport = self._tls_protocol._app_transport
        self.transport = app_transport
        self._tls_protocol.connection_made(self._original_transport)
        error: BaseException | None = None
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  (ssl.SSLError, ConnectionResetError, TimeoutError...: reported below)
            error = exc
        if error is None and self._tls_connection_made:
            ssl_object = self.transport.get_extra_info("ssl_object")
            cipher, version, bits = ssl_object.cipher()
            self.tls = TlsSummary(version=version, cipher=cipher, bits=bits or 0)
            self._collect_channel_bindings()
            self.context.log.smtpd(self.pid, f"Anonymous TLS connection established from {self.namaddr}: "
                                             f"{self.tls.describe()}")
            return True
        log = self.context.log
        if error is None or isinstance(error, (ConnectionError, EOFError)):
            log.smtpd(self.pid, f"SSL_accept error from {self.namaddr}: lost connection")
        else:
            log.smtpd(self.pid, f"SSL_accept error from {self.namaddr}: -1")
            log.smtpd(self.pid, f"TLS library problem: {error}", severity="warning")
        self._original_transport.close()
        return False

    def _auth_allowed(self) -> bool:
        return self._tls_connection_made or self.context.config.allow_cleartext_auth

    def _offered_mechanisms(self) -> tuple[str, ...]:
        """The configured mechanisms, minus the -PLUS ones when there is no binding data."""
        return tuple(
            name for name in self.context.config.mechanisms
            if not name.endswith("-PLUS") or self.channel_bindings
        )

    def _collect_channel_bindings(self) -> None:
        """Channel-binding data of this TLS session, for SCRAM-*-PLUS (RFC 5802 §6).

        Only on TLS 1.2: there clients bind with tls-unique by default (gsasl, and so msmtp)
        or tls-server-end-point (saslscope login), RFC 5929. TLS 1.3's binding is tls-exporter
        (RFC 9266, the default of gsasl 2.x), which needs exported keying material that
        Python's ssl module cannot give (cpython issue 82133); Python even reports a
        tls-unique for TLS 1.3, where it is undefined (cpython issue 95341). Offering -PLUS
        there made gsasl fail with 535, so on TLS 1.3 no -PLUS is offered and a client that
        could bind sends the gs2 flag "y", which is then no downgrade.
        """
        assert self.transport is not None
        ssl_object = self.transport.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.version() != "TLSv1.2":
            self.channel_bindings = ()
            return
        bindings: list[ChannelBinding] = []
        unique = ssl_object.get_channel_binding("tls-unique")
        if unique:
            bindings.append(ChannelBinding("tls-unique", unique))
        if self.context.server_end_point is not None:
            bindings.append(ChannelBinding("tls-server-end-point", self.context.server_end_point))
        self.channel_bindings = tuple(bindings)

    # ----------------------------------------------------------------- AUTH (RFC 4954)

    async def smtp_AUTH(self, arg: str | None) -> None:
        assert self.session is not None
        if not self.session.host_name:
            # Postfix takes AUTH after HELO too (not only after EHLO), so do we
            await self.push("503 5.5.1 Error: send HELO/EHLO first")
            return
        if not self._auth_allowed():
            await self.push("530 5.7.0 Must issue a STARTTLS command first")
            return
        if self.session.authenticated:
            await self.push("503 5.5.1 Error: already authenticated")
            return
        assert isinstance(self.envelope, _Envelope)
        if self.envelope.mail_from:
            await self.push("503 5.5.1 Error: MAIL transaction in progress")
            return
        words = (arg or "").split()
        if not 1 <= len(words) <= 2:
            await self.push("501 5.5.4 Syntax: AUTH mechanism")
            return
        typed_name = words[0]
        if not await self._penalty_gate(typed_name):
            return
        if typed_name.upper() not in self._offered_mechanisms():
            # RFC 4954 §4 wants 504; the log line is the one Postfix writes for it
            await self._auth_failed(typed_name, "Invalid authentication mechanism", None,
                                    reply="504 5.5.4 Unsupported authentication mechanism", penalize=False)
            return
        mechanism = server_mechanism(
            typed_name, self.context.config.store,
            hostname=self.hostname, lenient=self.context.config.lenient_cram,
            channel_binding=self.channel_bindings, decoys=self.context.decoys,
        )
        await self._run_auth_exchange(typed_name, ServerExchange(mechanism), words[1] if len(words) == 2 else None)

    async def _run_auth_exchange(self, typed_name: str, exchange: ServerExchange, initial: str | None) -> None:
        """The IO loop around :class:`ServerExchange`: push each 334, read each answer.

        (Not named ``_authenticate``: that is aiosmtpd's own private method, which its
        ``auth_PLAIN``/``auth_LOGIN`` call.)
        """
        assert self.session is not None
        # each step may verify a password (PBKDF2 for SCRAM keys, equal work for unknown users):
        # on a worker thread, so other clients are served meanwhile
        event = await asyncio.to_thread(exchange.start, initial)
        while isinstance(event, ServerChallenge):
            await self.push(event.line)
            event = await asyncio.to_thread(exchange.receive, await self._read_auth_line())
        if isinstance(event, ServerFailed):
            await self._auth_exchange_failed(typed_name, event)
            return
        self.session.authenticated = True
        self.session.auth_data = event.success  # type: ignore[assignment]  # aiosmtpd's stub says None
        self.sasl_method = typed_name
        self.sasl_username = event.success.username
        await self.push("235 2.7.0 Authentication successful")

    async def _auth_exchange_failed(self, typed_name: str, failure: ServerFailed) -> None:
        """Reply and log a failed exchange the way Postfix with Dovecot SASL does."""
        if failure.kind is FailureKind.ABORTED:
            # smtpd_sasl_glue.c logs the abort (RFC 4954 §4: "*" cancels the exchange)
            self.context.log.smtpd(self.pid, f"{self.namaddr}: SASL {typed_name} authentication aborted",
                                   severity="warning")
            self.context.penalty.record_failure(self.client_addr)  # an abort may hide a guess
            await self.push("501 5.7.0 Authentication aborted")
        elif failure.kind in (FailureKind.BAD_BASE64, FailureKind.TOO_LONG):
            await self._protocol_failure(typed_name, failure.reason)
        else:
            await self._auth_failed(typed_name, failure.reason, failure.username)

    async def _read_auth_line(self) -> bytes:
        """One client line without its CRLF. aiosmtpd's reader stops at 1001 octets (RFC
        5321's text line); a SASL response may be longer (RFC 4954 §4), so read on past that
        limit, keeping at most one octet more than :data:`AUTH_LINE_LIMIT`, enough for the
        exchange to see that the line is too long."""
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                chunk = await self._reader.readuntil(b"\n")
                done = True
            except asyncio.LimitOverrunError as exc:
                chunk = await self._reader.read(exc.consumed)
                done = False
            if size <= AUTH_LINE_LIMIT:
                chunks.append(chunk[: AUTH_LINE_LIMIT + 1 - size])
            size += len(chunk)
            if done:
                break
        line = b"".join(chunks)
        return line[:-1].removesuffix(b"\r") if size <= AUTH_LINE_LIMIT and line.endswith(b"\n") else line

    async def _penalty_gate(self, typed_name: str) -> bool:
        """Dovecot-style auth penalty, before anything of this AUTH is checked: wait for this
        client's next slot, or refuse unchecked (454) when it is too far away. A client that
        hangs up while waiting is cancelled here, its guess never checked. False: refused."""
        wait = self.context.penalty.admit(self.client_addr)
        if wait is None:
            self.context.log.smtpd(
                self.pid,
                f"{self.namaddr}: SASL {typed_name} authentication failed: "
                "too many recent failures from this client, sasl_username=(unavailable)",
                severity="warning",
            )
            await self.push("454 4.7.0 Temporary authentication failure")
            return False
        if wait:
            await asyncio.sleep(wait)
        return True

    async def _auth_failed(
        self, typed_name: str, reason: str, username: str | None, *,
        reply: str = "535 5.7.8 Error: authentication failed", penalize: bool = True,
    ) -> None:
        """Log a failed AUTH as Postfix does and reply; failures make the client's next AUTH
        wait (see :meth:`_penalty_gate`).

        The reason of a credential failure stays in the log: the client learns nothing about
        whether the user exists (Postfix+Dovecot reply ``(reason unavailable)`` too).
        """
        # Postfix >= 3.8.3 (and backports): "SASL %s authentication failed: %s, sasl_username=%s"
        self.context.log.smtpd(
            self.pid,
            f"{self.namaddr}: SASL {typed_name} authentication failed: {reason or '(reason unavailable)'}, "
            f"sasl_username={username or '(unavailable)'}",
            severity="warning",
        )
        if penalize:
            self.context.penalty.record_failure(self.client_addr)
        await self.push(reply)

    async def _protocol_failure(self, typed_name: str, reason: str) -> None:
        """A malformed exchange (not a password guess): Postfix+Dovecot's reason goes to the
        client as well, which helps whoever is debugging a client."""
        await self._auth_failed(typed_name, reason, None, reply=f"535 5.7.8 Error: authentication failed: {reason}")

    # ----------------------------------------------------------------- mail transaction

    async def accept_sender(self, envelope: Envelope, address: str, options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def accept_recipient(self, envelope: Envelope, address: str, options: list[str]) -> str:
        assert isinstance(envelope, _Envelope)
        session = self.session
        assert session is not None
        if not session.authenticated:
            # what Postfix's submission service (smtpd_relay_restrictions =
            # permit_sasl_authenticated, reject) answers an unauthenticated client
            reply = f"554 5.7.1 <{address}>: Recipient address rejected: Access denied"
            # smtpd_check.c log_whatsup(): "%s: %s: %s from %s: %s;" + from= to= proto= helo=
            proto = "ESMTP" if session.extended_smtp else "SMTP"
            self.context.log.smtpd(
                self.pid,
                f"NOQUEUE: reject: RCPT from {self.namaddr}: {reply}; from=<{envelope.mail_from}> "
                f"to=<{address}> proto={proto} helo=<{self._helo_name}>",
            )
            return reply
        too_long = recipient_problem(address)
        if too_long:
            return too_long
        if envelope.transaction is None:
            envelope.transaction = Transaction(queue_id=new_queue_id(), mail_from=envelope.mail_from or "")
            # smtpd.c: "%s: client=%s" + ", sasl_method=%s" + ", sasl_username=%s"
            self.context.log.smtpd(
                self.pid,
                f"{envelope.transaction.queue_id}: client={self.namaddr}, "
                f"sasl_method={self.sasl_method}, sasl_username={self.sasl_username}",
            )
        if len(envelope.transaction.recipients) >= self.context.config.max_recipients:
            return "452 4.5.3 Error: too many recipients"
        envelope.transaction.recipients.append(address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def accept_message(self, envelope: Envelope) -> str:
        assert isinstance(envelope, _Envelope) and envelope.transaction is not None
        session = self.session
        assert session is not None
        self.where = "END-OF-MESSAGE"
        client = ClientInfo(helo=self._helo_name, name=self.client_name, addr=self.client_addr,
                            tls=self.tls, authenticated=bool(session.authenticated),
                            extended=bool(session.extended_smtp))
        config = self.context.config
        content = envelope.original_content or b""
        fanout = len(content) * len(envelope.transaction.recipients)
        if fanout > config.max_fanout_bytes:
            # refused before any copy is written: a retry cannot duplicate anything
            self.context.log.smtpd(
                self.pid,
                f"{envelope.transaction.queue_id}: reject: END-OF-MESSAGE from {self.namaddr}: {len(content)} bytes "
                f"x {len(envelope.transaction.recipients)} recipients exceed the fan-out limit of "
                f"{config.max_fanout_bytes} bytes",
                severity="warning",
            )
            return "552 5.3.4 Error: message too big for this many recipients; send it to fewer at a time"
        result = await asyncio.to_thread(
            queue_and_deliver, envelope.transaction, content,
            client=client, hostname=self.hostname, store=config.maildir, log=self.context.log,
        )
        for delivery in result.deliveries:
            self.context.delivered(envelope.transaction.queue_id, delivery)
        if result.failures:
            return "451 4.3.0 Error: queue file write error"
        return f"250 2.0.0 Ok: queued as {envelope.transaction.queue_id}"


#: replies for an argument that is not UTF-8 (aiosmtpd hands it over with surrogate escapes):
#: the address replies Postfix gives for a malformed address, a syntax error for the rest
_INVALID_UTF8_REPLIES = {
    "MAIL": "501 5.1.7 Bad sender address syntax",
    "RCPT": "501 5.1.3 Bad recipient address syntax",
}
#: RFC 5321 §4.5.3.1.2: a domain is at most 255 octets (and one path component of the
#: per-domain Maildir, whose file system allows 255)
MAX_DOMAIN_LENGTH = 255


def _is_utf8(text: str) -> bool:
    """False if ``text`` carries bytes that were not UTF-8 (surrogate escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def recipient_problem(address: str) -> str | None:
    """The reply refusing a recipient this server cannot deliver to, or None."""
    domain = address.rpartition("@")[2]
    if len(domain.encode("utf-8")) > MAX_DOMAIN_LENGTH:
        return f"501 5.1.3 Bad recipient address syntax: domain longer than {MAX_DOMAIN_LENGTH} octets"
    return None

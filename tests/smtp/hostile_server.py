"""A small scripted SMTP server for the client's tests: honest or hostile on demand.

Each connection runs a *script*, a function of one :class:`Peer`, in its own thread, on
127.0.0.1 (or ::1) and an ephemeral port. The peer records every line the client sent, so
tests can assert what the client did NOT send (no AUTH after a refusal, nothing after an
injected STARTTLS reply).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

READ_TIMEOUT = 5.0
ACCEPT_POLL = 0.05


class PeerGone(Exception):
    """The client closed the connection."""


@dataclass
class Peer:
    sock: socket.socket
    received: list[bytes] = field(default_factory=list)
    buffer: bytes = b""
    tls: bool = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        """The next line from the client, CRLF stripped."""
        while b"\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise PeerGone()
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        self.received.append(line)
        return line

    def expect(self, verb: str) -> bytes:
        line = self.line()
        assert line.upper().startswith(verb.encode()), f"expected {verb}, got {line!r}"
        return line

    def starttls(self, context: ssl.SSLContext) -> None:
        assert not self.buffer, "client pipelined after STARTTLS"
        self.sock = context.wrap_socket(self.sock, server_side=True)
        self.tls = True

    def read_data(self) -> bytes:
        """The DATA payload up to the lone dot, as received (dot-stuffing intact)."""
        lines = []
        while (line := self.line()) != b".":
            lines.append(line)
        return b"\r\n".join(lines) + b"\r\n"


Script = Callable[[Peer], None]


class ScriptedServer:
    def __init__(self, script: Script, *, host: str = "127.0.0.1", implicit_tls: ssl.SSLContext | None = None) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(8)
        self.host = host
        self.port: int = self.listener.getsockname()[1]
        self.script = script
        self.implicit_tls = implicit_tls
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.listener.settimeout(ACCEPT_POLL)
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(READ_TIMEOUT)
        peer = Peer(conn)
        self.peers.append(peer)
        try:
            if self.implicit_tls is not None:
                peer.sock = self.implicit_tls.wrap_socket(conn, server_side=True)
                peer.tls = True
            self.script(peer)
        except (PeerGone, ssl.SSLError, ConnectionError):
            pass
        except BaseException as exc:  # noqa: BLE001  (recorded; the test asserts there were none)
            self.errors.append(exc)
        finally:
            try:
                peer.sock.close()
            except OSError:
                pass

    def __enter__(self) -> ScriptedServer:
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._accepter.join(READ_TIMEOUT)
        self.listener.close()
        for thread in self._threads:
            thread.join(READ_TIMEOUT)

    def lines_after(self, marker: bytes, peer_index: int = 0) -> list[bytes]:
        """What the client sent after the line starting with ``marker``."""
        received = self.peers[peer_index].received
        for index, line in enumerate(received):
            if line.upper().startswith(marker):
                return received[index + 1 :]
        raise AssertionError(f"client never sent {marker!r}: {received!r}")


@contextmanager
def serving(script: Script, **kwargs: object) -> Iterator[ScriptedServer]:
    with ScriptedServer(script, **kwargs) as server:  # type: ignore[arg-type]
        yield server
    assert not server.errors, server.errors


def server_context(chain_path: str, key_path: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_path, key_path)
    return context


# -- an honest server, with knobs for hostility -----------------------------------------

USERS = {"centos7@phoenixknight.jp": "zaq12345"}
TOKENS = {"centos7@phoenixknight.jp": "ya29.test-token"}


@dataclass
class Behaviour:
    """What the honest script does; tests switch single things to hostile."""

    tls_context: ssl.SSLContext | None = None
    ehlo_before_tls: tuple[str, ...] = ("PIPELINING", "SIZE 10240000", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME")
    ehlo_after_tls: tuple[str, ...] = ("PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 XOAUTH2 OAUTHBEARER", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8")
    starttls_reply: bytes = b"220 2.0.0 Ready to start TLS\r\n"
    close_mid_auth: bool = False
    #: tls-server-end-point data of the server certificate, for SCRAM-*-PLUS (RFC 5929 §4.1)
    server_end_point: bytes | None = None
    messages: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[bytes, ...]] = field(default_factory=list)


def honest_script(behaviour: Behaviour) -> Script:
    def script(peer: Peer) -> None:
        peer.send(b"220 hostile.test ESMTP ready\r\n")
        envelope: list[bytes] = []
        while True:
            line = peer.line()
            verb = line.split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                keywords = behaviour.ehlo_after_tls if peer.tls else behaviour.ehlo_before_tls
                peer.send(_ehlo(keywords))
            elif verb == b"STARTTLS":
                assert behaviour.tls_context is not None
                peer.send(behaviour.starttls_reply)
                peer.starttls(behaviour.tls_context)
            elif verb == b"AUTH":
                keywords = behaviour.ehlo_after_tls if peer.tls else behaviour.ehlo_before_tls
                _auth(peer, line, behaviour, keywords)
            elif verb == b"MAIL":
                envelope = [line]
                peer.send(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                envelope.append(line)
                peer.send(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                peer.send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                behaviour.messages.append(peer.read_data())
                behaviour.envelopes.append(tuple(envelope))
                peer.send(b"250 2.0.0 Ok: queued as A4FCE204384E\r\n")
            elif verb == b"QUIT":
                peer.send(b"221 2.0.0 Bye\r\n")
                return
            else:
                peer.send(b"502 5.5.2 Error: command not recognized\r\n")

    return script


def _ehlo(keywords: tuple[str, ...]) -> bytes:
    lines = ["hostile.test", *keywords]
    return b"".join(f"250{'-' if i < len(lines) - 1 else ' '}{text}\r\n".encode() for i, text in enumerate(lines))


def _auth(peer: Peer, line: bytes, behaviour: Behaviour, keywords: tuple[str, ...]) -> None:
    """PLAIN, LOGIN and CRAM-MD5 checked here with hmac/base64 directly, independently of
    saslscope.sasl, so the client is tested against a second implementation."""
    words = line.decode().split()
    mechanism = words[1].upper()
    advertised = next((k.split()[1:] for k in keywords if k.startswith("AUTH")), [])
    if mechanism not in advertised:
        peer.send(b"503 5.5.1 Error: authentication not enabled\r\n" if not advertised else b"504 5.5.4 Unsupported\r\n")
        return
    if mechanism == "PLAIN":
        if len(words) > 2:
            blob = words[2]
        else:
            peer.send(b"334 \r\n")
            blob = peer.line().decode()
            if blob == "*":  # RFC 4954 §4: the client cancelled
                peer.send(b"501 5.7.0 Authentication aborted\r\n")
                return
        _, user, password = base64.b64decode(blob).decode().split("\0")
        ok = USERS.get(user) == password
    elif mechanism == "LOGIN":
        peer.send(b"334 VXNlcm5hbWU6\r\n")
        first = peer.line()
        if first == b"*":
            peer.send(b"501 5.7.0 Authentication aborted\r\n")
            return
        user = base64.b64decode(first).decode()
        peer.send(b"334 UGFzc3dvcmQ6\r\n")
        password = base64.b64decode(peer.line()).decode()
        ok = USERS.get(user) == password
    elif mechanism in ("XOAUTH2", "OAUTHBEARER"):
        ok = _bearer(peer, mechanism, words[2] if len(words) > 2 else None)
        if ok is None:
            return
    elif mechanism.startswith("SCRAM-"):
        ok = _scram(peer, mechanism, words[2] if len(words) > 2 else None, behaviour.server_end_point)
        if ok is None:
            return
    else:  # CRAM-MD5, RFC 2195
        challenge = b"<0778753208133000.1537151364@hostile.test>"
        peer.send(b"334 " + base64.b64encode(challenge) + b"\r\n")
        if behaviour.close_mid_auth:
            peer.line()
            peer.sock.close()
            raise PeerGone()
        answer_line = peer.line()
        if answer_line == b"*":
            peer.send(b"501 5.7.0 Authentication aborted\r\n")
            return
        answer = base64.b64decode(answer_line).decode()
        user, digest = answer.rsplit(" ", 1)
        expected = hmac.new(USERS.get(user, "\0").encode(), challenge, hashlib.md5).hexdigest()
        ok = user in USERS and hmac.compare_digest(digest, expected)
    peer.send(b"235 2.7.0 Authentication successful\r\n" if ok else b"535 5.7.8 Error: authentication failed\r\n")


def _scram(peer: Peer, mechanism: str, initial: str | None, server_end_point: bytes | None) -> bool | None:
    """SCRAM (RFC 5802) by scramp, an independent implementation; the server-final
    message goes out as one more 334, answered by an empty line (RFC 4954 §4)."""
    import scramp

    scram = scramp.ScramMechanism(mechanism)
    auth_info = {user: scram.make_auth_info(password, iteration_count=4096) for user, password in USERS.items()}
    binding = ("tls-server-end-point", server_end_point) if mechanism.endswith("-PLUS") else None
    server = scram.make_server(lambda username: auth_info[username], channel_binding=binding)
    if initial is None:
        peer.send(b"334 \r\n")
        initial = peer.line().decode()
        if initial == "*":
            peer.send(b"501 5.7.0 Authentication aborted\r\n")
            return None
    try:
        server.set_client_first(base64.b64decode(initial).decode())
        peer.send(b"334 " + base64.b64encode(server.get_server_first().encode()) + b"\r\n")
        server.set_client_final(base64.b64decode(peer.line()).decode())
    except scramp.ScramException:
        return False
    peer.send(b"334 " + base64.b64encode(server.get_server_final().encode()) + b"\r\n")
    if peer.line() != b"":
        peer.send(b"501 5.5.2 expected an empty line after the server's final message\r\n")
        return None
    return True


def _bearer(peer: Peer, mechanism: str, initial: str | None) -> bool | None:
    """XOAUTH2 (Google's spelling) and OAUTHBEARER (RFC 7628 §3.1), parsed by hand: a
    wrong token gets the JSON error challenge, acknowledged by the client, then 535."""
    if initial is None:
        peer.send(b"334 \r\n")
        initial = peer.line().decode()
        if initial == "*":  # RFC 4954 §4: cancelled
            peer.send(b"501 5.7.0 Authentication aborted\r\n")
            return None
    message = base64.b64decode(initial).decode()
    pairs = dict(part.split("=", 1) for part in message.split("\x01") if "=" in part and not part.startswith("n,"))
    user = message.split(",")[1].removeprefix("a=") if mechanism == "OAUTHBEARER" else pairs.get("user", "")
    if pairs.get("auth") == f"Bearer {TOKENS.get(user)}":
        return True
    peer.send(b"334 " + base64.b64encode(b'{"status":"invalid_token","schemes":"bearer"}') + b"\r\n")
    peer.line()  # the client's acknowledgement (RFC 7628 §3.2.3)
    return False

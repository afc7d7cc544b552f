"""``saslscope policy serve`` as a real process on a free loopback port, for tests and the lab."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.redis_server import free_port, stop_process

SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
START_TIMEOUT = 15.0


class PolicyProcess:
    def __init__(self, *args: str, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = log
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [SASLSCOPE, "policy", "serve", "--listen", self.endpoint, *self.args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, close_fds=True, env=dict(os.environ),
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"policy serve exited {self.process.returncode}: {self.log_text()[-800:]}")
            if "listening on" in self.log_text():
                return
            time.sleep(0.05)
        raise RuntimeError(f"policy serve did not start within {START_TIMEOUT:.0f} s: {self.log_text()[-800:]}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def client(self) -> PolicyClient:
        return PolicyClient(self.port)


class PolicyClient:
    """A blocking policy client (one persistent connection, like one smtpd process)."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def ask(self, **attrs: str) -> str:
        attrs = {"request": "smtpd_access_policy", **attrs}
        self.sock.sendall("".join(f"{k}={v}\n" for k, v in attrs.items()).encode() + b"\n")
        while b"\n\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("policy service closed the connection")
            self.buffer += chunk
        reply, _, self.buffer = self.buffer.partition(b"\n\n")
        return reply.decode().removeprefix("action=")

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def policy_process(*args: str, log: Path, port: int | None = None) -> Iterator[PolicyProcess]:
    process = PolicyProcess(*args, log=log, port=port)
    process.start()
    try:
        yield process
    finally:
        process.stop()

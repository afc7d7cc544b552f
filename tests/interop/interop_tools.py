"""Run the real peers and the real CLI against the lab: swaks, openssl s_client, saslscope.

Every helper returns the finished :class:`subprocess.CompletedProcess` (text mode) and
never raises on a non-zero exit status: the tests assert on the status themselves.
Passwords for ``saslscope`` travel in the environment (``--password-env``), never in argv.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lab import PostfixLab

#: the installed console script of the venv running the tests (``.venv/bin/saslscope``)
SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
PASSWORD_ENV = "SASLSCOPE_LAB_PASSWORD"
TIMEOUT = 30.0


def swaks(
    lab: PostfixLab,
    port: int,
    *args: str,
    tls: str | None = "starttls",
    mech: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """swaks against the lab; tls is "starttls", "implicit" or None; verification always on.

    swaks can only take the password as an argument: acceptable for the lab's test accounts.
    """
    argv = ["swaks", "--server", lab.host, "--port", str(port), "--helo", "client.test"]
    if tls == "starttls":
        argv += ["--tls", "--tls-verify", "--tls-ca-path", str(lab.ca_path)]
    elif tls == "implicit":
        argv += ["--tls-on-connect", "--tls-verify", "--tls-ca-path", str(lab.ca_path)]
    if mech:
        argv += ["--auth", mech, "--auth-user", user or "", "--auth-password", password or ""]
    return _run([*argv, *args])


def saslscope(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``saslscope`` command; ``password`` goes to env and ``--password-env``."""
    env = dict(os.environ)
    argv = [SASLSCOPE, *args]
    if password is not None:
        env[PASSWORD_ENV] = password
        argv += ["--password-env", PASSWORD_ENV]
    return _run(argv, env=env)


def openssl_starttls(lab: PostfixLab, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``openssl s_client -starttls smtp`` with verification against the lab CA, then QUIT."""
    argv = [
        "openssl", "s_client", "-connect", f"{lab.host}:{port}", "-starttls", "smtp",
        "-CAfile", str(lab.ca_path), "-verify_return_error", "-verify_hostname", lab.tls_hostname,
        "-servername", lab.tls_hostname, "-brief", *args,
    ]
    return _run(argv, stdin="QUIT\r\n")


def _run(argv: list[str], *, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=TIMEOUT)

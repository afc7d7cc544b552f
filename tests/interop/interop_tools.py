"""Run the real peers and the real CLI against the lab: swaks, openssl s_client, saslscope.

Every helper returns the finished :class:`subprocess.CompletedProcess` (text mode) and
never raises on a non-zero exit status: the tests assert on the status themselves.
Passwords for ``saslscope`` travel in the environment (``--password-env``), never in argv.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.interop.lab import LabUser, PostfixLab

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


def openssl_s_client(lab: PostfixLab, port: int, *args: str, starttls: bool = True) -> subprocess.CompletedProcess[str]:
    """``openssl s_client`` (``-starttls smtp`` unless implicit TLS), verifying the lab
    certificate and host name against the lab CA, then QUIT."""
    argv = [
        "openssl", "s_client", "-connect", f"{lab.host}:{port}", *(["-starttls", "smtp"] if starttls else []),
        "-CAfile", str(lab.ca_path), "-verify_return_error", "-verify_hostname", lab.tls_hostname,
        "-servername", lab.tls_hostname, *args,
    ]
    return _run(argv, stdin="QUIT\r\n")


def _run(argv: list[str], *, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False)


def saslscope_login(
    lab: PostfixLab, port: int, *args: str, user: LabUser, mech: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``saslscope login`` against a lab port, verifying with the lab CA; implicit TLS on
    the submissions port, the CLI's default (STARTTLS) elsewhere unless args say otherwise."""
    argv = ["login", lab.host, "--port", str(port), "--cafile", str(lab.ca_path), "--user", user.address, "--mech", mech]
    if port == lab.ports.submissions:
        argv.append("--tls")
    return saslscope(*argv, *args, password=user.password if password is None else password)


def saslscope_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON document a ``--json`` run prints on stdout (with a readable failure)."""
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"no JSON on stdout (exit {result.returncode}): {result.stdout!r} {result.stderr!r}") from exc


def find_message(lab: PostfixLab, user: LabUser | str, subject: str, timeout: float = 10.0) -> EmailMessage:
    """The delivered message with this Subject in ``user``'s Maildir (delivery is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        for path in lab.delivered_messages(user):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["Subject"] == subject:
                return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no message {subject!r} for {user} after {timeout:.0f} s")
        time.sleep(0.05)


def count_log(lab: PostfixLab, pattern: str) -> int:
    """How many Postfix log lines match the regular expression ``pattern``."""
    return len(re.findall(pattern, lab.maillog_text(), flags=re.MULTILINE))


def wait_for_count(lab: PostfixLab, pattern: str, at_least: int, timeout: float = 10.0) -> int:
    """Poll the log until ``pattern`` matches ``at_least`` lines (postlogd is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        count = count_log(lab, pattern)
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.05)

"""SMTP: the AUTH test client (``login``, ``probe``), the sans-IO AUTH exchange, the server.

The public API is the names in ``__all__``, importable from here::

    from saslscope.smtp import LoginOptions, login
    result = login(LoginOptions(host="mail.example.org", mechanism="CRAM-MD5", credentials=...))

They are imported on first use, so that ``saslscope.smtp.server`` or ``saslscope.smtp.auth``
alone does not load the client. docs/api.md describes them; anything not listed here may
change without notice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saslscope.smtp.auth import (
        AUTH_LINE_LIMIT as AUTH_LINE_LIMIT,
        ClientExchange as ClientExchange,
        ServerExchange as ServerExchange,
    )
    from saslscope.smtp.client import (
        LoginOptions as LoginOptions,
        LoginResult as LoginResult,
        login as login,
        login_each_mechanism as login_each_mechanism,
    )
    from saslscope.smtp.errors import Outcome as Outcome, SmtpError as SmtpError
    from saslscope.smtp.message import MessageSpec as MessageSpec
    from saslscope.smtp.probe import MechanismCheck as MechanismCheck, ProbeResult as ProbeResult, probe as probe
    from saslscope.smtp.session import (
        QuitAfter as QuitAfter,
        SessionOptions as SessionOptions,
        SessionResult as SessionResult,
    )
    from saslscope.smtp.transport import TlsMode as TlsMode, TlsSettings as TlsSettings

#: public name -> the module that defines it
_HOMES = {
    "AUTH_LINE_LIMIT": "auth",
    "ClientExchange": "auth",
    "ServerExchange": "auth",
    "LoginOptions": "client",
    "LoginResult": "client",
    "login": "client",
    "login_each_mechanism": "client",
    "Outcome": "errors",
    "SmtpError": "errors",
    "MessageSpec": "message",
    "MechanismCheck": "probe",
    "ProbeResult": "probe",
    "probe": "probe",
    "QuitAfter": "session",
    "SessionOptions": "session",
    "SessionResult": "session",
    "TlsMode": "transport",
    "TlsSettings": "transport",
}

#: a literal list, so that type checkers and IDEs see it (tests/smtp/test_public_api.py pins it)
__all__ = [
    "AUTH_LINE_LIMIT",
    "ClientExchange",
    "LoginOptions",
    "LoginResult",
    "MechanismCheck",
    "MessageSpec",
    "Outcome",
    "ProbeResult",
    "QuitAfter",
    "ServerExchange",
    "SessionOptions",
    "SessionResult",
    "SmtpError",
    "TlsMode",
    "TlsSettings",
    "login",
    "login_each_mechanism",
    "probe",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'saslscope.smtp' has no attribute {name!r}")
    return getattr(importlib.import_module(f"saslscope.smtp.{home}"), name)


def __dir__() -> list[str]:
    return __all__

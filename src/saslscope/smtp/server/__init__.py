"""The embedded SMTP submission server behind ``saslscope serve`` and ``saslscope demo``.

aiosmtpd sessions that check SASL with :mod:`saslscope.sasl`, store mail in Maildirs, and
log in Postfix's format. Start one with :class:`SubmissionServer` (asyncio) or
:func:`run_in_thread` (synchronous callers).
"""

from saslscope.smtp.server.maildir import Delivery, MaildirStore
from saslscope.smtp.server.passwd_file import PasswdFile, PasswdFileError, load_passwd_file, parse_passwd_file
from saslscope.smtp.server.penalty import FailurePenalty
from saslscope.smtp.server.postfix_log import PostfixLog, TimestampStyle
from saslscope.smtp.server.server import (
    Endpoint,
    RunningServer,
    ServerConfig,
    SubmissionServer,
    available_mechanisms,
    default_hostname,
    default_mechanisms,
    parse_address,
    run_in_thread,
    serve_until_signalled,
    server_tls_context,
)

__all__ = [
    "Delivery",
    "Endpoint",
    "FailurePenalty",
    "MaildirStore",
    "PasswdFile",
    "PasswdFileError",
    "PostfixLog",
    "RunningServer",
    "ServerConfig",
    "SubmissionServer",
    "TimestampStyle",
    "available_mechanisms",
    "default_hostname",
    "default_mechanisms",
    "load_passwd_file",
    "parse_address",
    "parse_passwd_file",
    "run_in_thread",
    "serve_until_signalled",
    "server_tls_context",
]

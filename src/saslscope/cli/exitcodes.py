"""Exit statuses shared by every command. Documented in README.md; keep them stable.

Scripts and monitoring depend on these numbers, so a number never changes meaning.
``--nagios`` output uses the monitoring-plugin statuses instead (0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN), see :mod:`saslscope.cli.nagios` users.
"""

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    AUTH_FAILED = 1        # the server (or the SASL exchange) rejected the credentials
    USAGE = 2              # bad options or arguments (click's own usage errors use 2 too)
    CONNECT = 3            # could not connect, connection lost, or timed out
    TLS = 4                # TLS handshake or certificate verification failed
    SMTP_REFUSED = 5       # the server refused MAIL, RCPT or DATA
    PROTOCOL = 6           # the peer broke the protocol (malformed reply, STARTTLS injection...)
    BAD_INPUT = 7          # data given by the user is malformed (base64, challenge, header, file)
    NO_SECRET = 8          # a password or token was needed and none could be read
    FINDINGS = 9           # logs alerts --fail-on: a finding at or above the given severity
    INTERRUPTED = 130      # Ctrl-C (SIGINT), the shell convention 128 + 2

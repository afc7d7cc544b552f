"""Crafted log lines for the linear-time checks: each kind is a line head and a unit repeated to
any length, the shape that made the old per-line patterns super-linear. Shared by
tests/maillog/test_hostile_input.py and benchmarks/bench_logs_hostile.py (plain data: no pytest)."""

HEAD = "Sep 17 12:49:26 mail postfix/smtpd[1]: "

# A line cut by syslog's size limit: a delivery whose detail repeats ">, status=a (" unclosed.
CRAFTED = {
    "delivery": ("Sep 17 12:49:26 mail postfix/smtp[9]: C3CD21F3E90: to=<a@b>, relay=x, delay=1, "
                 "dsn=4.0.0, status=deferred (", ">, status=a ("),
    "dovecot-login": ("Sep 17 12:49:26 mail dovecot: imap-login: ", "Login"),
    "dovecot-auth": ("Sep 17 12:49:26 mail dovecot: auth: passwd-file(", ")<"),
    "auth-failure": (f"{HEAD}warning: ", "["),
    "disconnect": (f"{HEAD}disconnect from a[192.0.2.1] ", "a"),
    "client": (f"{HEAD}C3CD21F3E90: client=a[192.0.2.1], sasl_sender=", ", sasl_username=x"),
    "reject": (f"{HEAD}NOQUEUE: reject: RCPT from a[192.0.2.1]: 554 x; from=<a> to=<b> proto=ESMTP helo=<",
               " sasl_method=a>"),
}

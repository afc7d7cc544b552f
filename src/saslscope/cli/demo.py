"""``saslscope demo``: the write-up's CRAM-MD5 session, end to end, on loopback."""

from __future__ import annotations

import click

from saslscope.cli.exitcodes import Exit
from saslscope.cli.serve import CannotListen, UnusableFile


@click.command()
@click.option("--workdir", metavar="DIR", type=click.Path(file_okay=False),
              help="Put the throw-away CA and the Maildir here (default: a new temporary directory).")
@click.option("--show-secrets", is_flag=True, help="Do not mask AUTH payloads in the transcript.")
def demo(workdir: str | None, show_secrets: bool) -> None:
    """Start an embedded server with a throw-away CA and one user, log in with CRAM-MD5
    over STARTTLS, send the write-up's test message, and show the transcript, the
    server's Postfix-format log lines, what the detection engine of `logs alerts` makes of
    them, and where the message landed.

    Needs no network beyond 127.0.0.1, no configuration and no root. The files are kept
    (the path is printed) so that the delivered message can be read afterwards.

    Exit statuses: 0 the message was delivered; 7 --workdir cannot hold the files (the
    message names the path); 3 the server could not listen on 127.0.0.1; otherwise those of
    `saslscope login`.
    """
    from saslscope.cli.connection_options import OUTCOME_EXIT
    from saslscope.smtp.report import login_text
    from saslscope.smtp.server.demo import DEMO_USER, DemoWorkdirError, run_demo

    try:
        result = run_demo(workdir)
    except DemoWorkdirError as exc:
        raise UnusableFile(str(exc)) from None
    except OSError as exc:
        raise CannotListen(f"demo could not start its server: {exc.strerror or exc}") from None
    echo = click.echo
    echo(f"== saslscope demo: server on {result.host}:{result.port} (STARTTLS), user {DEMO_USER}")
    echo(f"   throw-away CA: {result.ca_cert_path} (the client verifies the server against it)")
    echo("")
    echo("== Client transcript (saslscope login --mech CRAM-MD5)")
    echo(login_text(result.login, show_secrets=show_secrets))
    echo("")
    echo("== Server log for this session (Postfix format)")
    for line in result.log_lines:
        echo(line)
    echo("")
    echo("== What the log says (saslscope logs alerts on these lines)")
    for line in _verdicts(result.log_lines):
        echo(line)
    echo("")
    echo("== Delivered message")
    for delivery in result.deliveries:
        echo(f"{delivery.recipient}: {delivery.path}")
    if not result.deliveries:
        echo("(none)")
    echo("")
    echo(f"Files kept in {result.workdir} (remove with: rm -r {result.workdir})")
    if not result.succeeded:
        status = OUTCOME_EXIT.get(result.login.outcome, Exit.PROTOCOL)
        # logged in but nothing delivered: the server refused the message
        raise SystemExit(Exit.SMTP_REFUSED if status == Exit.OK else status)


def _verdicts(log_lines: list[str]) -> list[str]:
    """Each account's verdict and findings from the demo's own log, as ``logs alerts`` judges
    them: the login from the server itself is ``local_login``, information, and nothing louder
    (the write-up's own test)."""
    from saslscope.detect import DetectConfig
    from saslscope.detect.alerts import run
    from saslscope.detect.from_maillog import MaillogSignals
    from saslscope.untrusted import printable

    report = run(MaillogSignals().read_lines(log_lines), DetectConfig())
    lines = []
    for account in report.accounts:
        lines.append(f"{printable(account.username)}: {account.verdict} (score {account.score:g})")
        lines += [f"  {finding.severity} {finding.kind}: {printable(finding.reason)}" for finding in account.findings]
    return lines or ["no account has a finding"]

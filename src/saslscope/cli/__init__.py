"""The ``saslscope`` command: a thin layer that parses options, calls the library and renders.

Subcommands live in their own modules and are imported only when invoked, so that
``saslscope login`` does not pay for the log parser or rich at start-up.
"""

from __future__ import annotations

import importlib

import click

from saslscope import __version__
from saslscope.cli.exitcodes import Exit, fail_line, status_help

# command name -> "module:attribute" (a click.Command)
_COMMANDS: dict[str, tuple[str, str]] = {
    "respond": ("saslscope.cli.respond:respond", "Compute a SASL answer to a server challenge."),
    "decode": ("saslscope.cli.decode:decode", "Explain a base64 SASL blob (challenge or response)."),
    "probe": ("saslscope.cli.probe:probe", "Show what an SMTP server offers: TLS, certificate, AUTH."),
    "login": ("saslscope.cli.login:login", "Log in to an SMTP server (and optionally send a test mail)."),
    "serve": ("saslscope.cli.serve:serve", "Run an SMTP AUTH test server that really checks passwords."),
    "demo": ("saslscope.cli.demo:demo", "Show the whole story end to end on loopback."),
    "logs": ("saslscope.cli.logs:logs", "Postfix/Dovecot logs: who logged in, compromised accounts, live watch, report."),
    "headers": ("saslscope.cli.headers:headers", "Read a message's Received chain: who sent it, and how."),
    "policy": ("saslscope.cli.policy:policy", "Policy services for Postfix and Dovecot: limit, hold, tarpit, refuse."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in _COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=status_help(*Exit))
@click.version_option(__version__, prog_name="saslscope")
def cli() -> None:
    """Know, with certainty, who is authenticating to your SMTP servers."""


def main() -> None:
    try:
        # standalone_mode=False: click would map Ctrl-C to exit 1, the status of a
        # rejected login; scripts must be able to tell the two apart.
        status = cli.main(prog_name="saslscope", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        raise SystemExit(Exit.INTERRUPTED) from None
    except click.UsageError as exc:
        # click's usage hint, then the message with the one prefix every error line has
        if exc.ctx is not None:
            click.echo(f"{exc.ctx.get_usage()}\nTry '{exc.ctx.command_path} --help' for help.\n", err=True)
        fail_line(exc.format_message())
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        if type(exc).show is click.ClickException.show:
            fail_line(exc.format_message())
        else:
            exc.show()  # a command's own rendering (the --nagios status line)
        raise SystemExit(exc.exit_code) from None
    # commands return nothing; an int here is the status a command gave to ctx.exit()
    raise SystemExit(status if isinstance(status, int) else Exit.OK)

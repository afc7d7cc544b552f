"""``saslscope policy serve``: the policy services around the detection engine."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from saslscope.cli.exitcodes import Exit


class _CannotListen(click.ClickException):
    exit_code = Exit.CONNECT


class _BadConfig(click.ClickException):
    exit_code = Exit.BAD_INPUT


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"{text!r}: write HOST:PORT, e.g. 127.0.0.1:10041")
    return host.strip("[]") or "127.0.0.1", int(port)


def _credentials(path: str | None) -> tuple[str, str] | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            line = handle.readline().rstrip("\r\n")
    except OSError as exc:
        raise _BadConfig(f"cannot read {path}: {exc.strerror}") from None
    user, sep, password = line.partition(":")
    if not sep or not user:
        raise _BadConfig(f"{path}: the first line must be USER:PASSWORD, as in auth_policy_server_url's user-info")
    return user, password


@click.group()
def policy() -> None:
    """Policy services that answer Postfix and Dovecot while mail and logins happen."""


@policy.command()
@click.option("--dovecot-auth-policy", "dovecot_listen", metavar="HOST:PORT",
              help="Serve Dovecot's auth policy (auth_policy_server_url = http://HOST:PORT/).")
@click.option("--dovecot-auth-policy-credentials-file", "credentials_file", type=click.Path(dir_okay=False),
              help="A file whose first line is USER:PASSWORD: the HTTP basic auth Dovecot must send "
                   "(the user-info of auth_policy_server_url). Never given on the command line.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Detection configuration (TOML).")
@click.option("--dry-run", is_flag=True, help="Decide and log, but always answer 'go on' (learning mode).")
@click.option("--exec", "hook_command", metavar="CMD", help="Run CMD for each finding, the finding as JSON on stdin.")
@click.option("--min-severity", default="medium", show_default=True, help="Least severity that runs --exec.")
@click.option("--backend-timeout", type=click.FloatRange(min=0.001), default=0.1, show_default=True, metavar="SECONDS",
              help="Bound on each state backend call; when hit, the answer is 'go on' (Dovecot's own fail-open).")
def serve(dovecot_listen: str | None, credentials_file: str | None, config_path: str | None, dry_run: bool,
          hook_command: str | None, min_severity: str, backend_timeout: float) -> None:
    """Answer Dovecot's auth-policy requests from the detection engine's findings."""
    from saslscope.detect import ConfigError, DetectConfig, Severity
    from saslscope.detect.hook import Hook
    from saslscope.policy.dovecot import DovecotPolicy
    from saslscope.policy.dovecot_http import DovecotEndpoint, MemoryBackend, start

    if dovecot_listen is None:
        raise click.UsageError("nothing to serve: give --dovecot-auth-policy HOST:PORT")
    host, port = _host_port(dovecot_listen)
    try:
        config = DetectConfig.load(config_path)
        severity = Severity.parse(min_severity)
    except (ConfigError, ValueError) as exc:
        raise _BadConfig(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="saslscope policy: %(message)s")
    hook = Hook(hook_command, min_severity=severity) if hook_command else None
    endpoint = DovecotEndpoint(DovecotPolicy(config), MemoryBackend(), credentials=_credentials(credentials_file),
                               dry_run=dry_run, backend_timeout=backend_timeout,
                               on_finding=hook.submit if hook else None)

    async def run() -> int:
        stop = asyncio.Event()
        interrupted = False

        def on_signal(number: int) -> None:
            nonlocal interrupted
            interrupted = number == signal.SIGINT
            stop.set()

        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, on_signal, number)
        try:
            runner = await start(endpoint, host, port)
        except OSError as exc:
            raise _CannotListen(f"cannot listen on {dovecot_listen}: {exc.strerror}") from None
        for address in runner.addresses:
            host_, port_ = address[0], address[1]
            shown = f"[{host_}]" if ":" in host_ else host_
            click.echo(f"saslscope policy: Dovecot auth policy on http://{shown}:{port_}/", err=True)
        await stop.wait()
        await runner.cleanup()
        return Exit.INTERRUPTED if interrupted else Exit.OK

    status = asyncio.run(run())
    if hook is not None:
        hook.close()
    raise SystemExit(status)

"""``saslscope policy serve``: the Postfix policy service (options -> :mod:`saslscope.policy.service`)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import sys
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

import click

from saslscope.cli.exitcodes import Exit
from saslscope.cli.secrets import read_secret


@click.group()
def policy() -> None:
    """Network services around the detection engine: the Postfix policy service and Dovecot's
    auth policy.

    \b
    main.cf (one request per message, recipients known):
      smtpd_data_restrictions = check_policy_service { inet:127.0.0.1:10040, timeout=10s, default_action=DUNNO }
    dovecot.conf (with --dovecot-auth-policy 127.0.0.1:10041):
      auth_policy_server_url = http://USER:PASSWORD@127.0.0.1:10041/
      auth_policy_hash_nonce = A-LONG-RANDOM-SECRET
    """


def _credentials(path: str | None) -> tuple[str, str] | None:
    """USER:PASSWORD from the first line of ``path`` (the URL user-info Dovecot sends)."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            line = handle.readline().rstrip("\r\n")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--dovecot-auth-policy-credentials-file") from None
    user, sep, password = line.partition(":")
    if not sep or not user:
        raise click.BadParameter(f"{path}: the first line must be USER:PASSWORD",
                                 param_hint="--dovecot-auth-policy-credentials-file")
    return user, password


def _quota(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from saslscope.detect.config import parse_quota

    try:
        parse_quota(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    return value


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where installed (about 30% less CPU per decision than asyncio's own loop,
    benchmarks/bench_policy.py), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


@policy.command()
@click.option("--listen", "listen", multiple=True, metavar="HOST:PORT|unix:/PATH",
              help="Where to listen (repeatable). Default 127.0.0.1:10040.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="The detection config (TOML).")
@click.option("--print-config", is_flag=True, help="Print the configuration in force (with --config and the flags) and exit.")
@click.option("--user-messages", callback=_quota, metavar="N/WINDOW", help="Messages per account, e.g. 50/1h.")
@click.option("--user-recipients", callback=_quota, metavar="N/WINDOW", help="Recipients per account, e.g. 500/1h.")
@click.option("--user-ips", callback=_quota, metavar="N/WINDOW", help="Client addresses per account, e.g. 5/1h.")
@click.option("--action", type=click.Choice(["hold", "defer", "reject"]),
              help="What a message past a quota gets (default: the config's, hold).")
@click.option("--db", "history_db", type=click.Path(dir_okay=False, exists=True), metavar="PATH",
              help="Read the accounts' baselines from the history store of `logs alerts --db` (memory state only).")
@click.option("--redis", "redis_url", metavar="URL",
              help="Share state through Redis (redis://host:6379/0, rediss:// for TLS). Default: memory.")
@click.option("--redis-password-env", metavar="VAR", help="Read the Redis password from environment variable VAR.")
@click.option("--redis-password-file", metavar="FILE", help="Read the Redis password from FILE.")
@click.option("--on-backend-error", type=click.Choice(["dunno", "defer"]),
              help="Answer when the backend fails or is slower than --backend-timeout (default dunno).")
@click.option("--backend-timeout", type=click.FloatRange(0.001, 10), metavar="SECONDS",
              help="Bound on each backend call (default 0.1).")
@click.option("--dry-run", is_flag=True, help="Learning mode: log what would be done, answer DUNNO.")
@click.option("--exec", "exec_command", metavar="CMD", help="Run CMD for each finding (JSON on stdin, no shell).")
@click.option("--metrics", "metrics_at", metavar="HOST:PORT", help="Serve Prometheus metrics on HOST:PORT.")
@click.option("--dovecot-auth-policy", "dovecot_at", metavar="HOST:PORT",
              help="Also answer Dovecot's auth policy over HTTP here (auth_policy_server_url); "
                   "alone, without --listen, it is the only front.")
@click.option("--dovecot-auth-policy-credentials-file", "dovecot_credentials", type=click.Path(dir_okay=False),
              metavar="FILE", help="First line USER:PASSWORD: the HTTP basic auth Dovecot must send (never on the command line).")
@click.option("-v", "--verbose", is_flag=True, help="Also log each idle or cut-short connection.")
def serve(listen: tuple[str, ...], config_path: str | None, print_config: bool, user_messages: str | None,
          user_recipients: str | None, user_ips: str | None, action: str | None, redis_url: str | None,
          redis_password_env: str | None, redis_password_file: str | None, on_backend_error: str | None,
          backend_timeout: float | None, dry_run: bool, exec_command: str | None, metrics_at: str | None,
          dovecot_at: str | None, dovecot_credentials: str | None, history_db: str | None, verbose: bool) -> None:
    """Answer Postfix's policy requests: count, detect, and DUNNO, PREPEND, HOLD, DEFER or REJECT.

    \b
    saslscope policy serve --user-messages 50/1h --action hold
    main.cf:
      smtpd_data_restrictions = check_policy_service { inet:127.0.0.1:10040, timeout=10s, default_action=DUNNO }
    """
    from saslscope.detect.config import ConfigError, DetectConfig, render_defaults
    from saslscope.policy.server import Endpoint
    from saslscope.policy.service import DovecotFront, build_parts, serve as run

    try:
        config = DetectConfig.load(config_path)
        quotas = {k: v for k, v in (("user_messages", user_messages), ("user_recipients", user_recipients),
                                    ("user_ips", user_ips)) if v is not None}
        if quotas:
            config.quota = dataclasses.replace(config.quota, **quotas)  # type: ignore[arg-type]
        overrides: dict[str, object] = {}
        if action is not None:
            kinds = [k for k in config.policy.kinds if not k.startswith("rate_limit=")]
            overrides["kinds"] = [*kinds, f"rate_limit={action}"]
        if on_backend_error is not None:
            overrides["on_backend_error"] = on_backend_error
        if backend_timeout is not None:
            overrides["backend_timeout"] = backend_timeout
        if dry_run:
            overrides["dry_run"] = True
        if overrides:
            config.policy = dataclasses.replace(config.policy, **overrides)  # type: ignore[arg-type]
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    if print_config:
        click.echo(render_defaults(config), nl=False)
        return
    try:
        endpoints = [Endpoint.parse(text) for text in (listen or (() if dovecot_at else ("127.0.0.1:10040",)))]
        metrics_endpoint = Endpoint.parse(metrics_at) if metrics_at else None
        dovecot_endpoint = Endpoint.parse(dovecot_at) if dovecot_at else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    dovecot = None
    if dovecot_endpoint is not None:
        if dovecot_endpoint.host is None or dovecot_endpoint.port is None:
            raise click.UsageError("--dovecot-auth-policy needs HOST:PORT")
        dovecot = DovecotFront(dovecot_endpoint.host, dovecot_endpoint.port, _credentials(dovecot_credentials))
    elif dovecot_credentials:
        raise click.UsageError("--dovecot-auth-policy-credentials-file goes with --dovecot-auth-policy")
    if metrics_endpoint is not None and metrics_endpoint.path is not None:
        raise click.UsageError("--metrics needs HOST:PORT")
    password = None
    if redis_url:
        if urlsplit(redis_url).password:
            raise click.UsageError("put no password in --redis URL (the process list shows it): "
                                   "use --redis-password-env or --redis-password-file")
        if redis_password_env or redis_password_file:
            password = read_secret(env=redis_password_env, file=redis_password_file, what="redis-password")
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s saslscope-policy %(levelname)s %(message)s")
    # start-up and shutdown lines always; each connection's closing only with -v
    logging.getLogger("saslscope.policy").setLevel(logging.INFO)
    logging.getLogger("saslscope.policy.conn").setLevel(logging.INFO if verbose else logging.WARNING)
    if history_db and redis_url:
        raise click.UsageError("--db reads baselines into this service's memory state; with --redis the fleet's "
                               "state is Redis's own (leave out one of them)")
    parts = build_parts(config, redis_url=redis_url, redis_password=password, exec_command=exec_command,
                        history_db=history_db)
    # Each decision allocates a few dozen short-lived objects; with the default threshold (700)
    # young collections ran every ~20 decisions. 10,000 and start-up objects frozen out of every
    # collection: 72 -> 63 us CPU per decision under the C load client (gc disabled: 62).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    try:
        _run_loop(run(parts, endpoints, metrics_at=metrics_endpoint, dovecot=dovecot))
    except OSError as exc:
        click.echo(f"saslscope policy serve: cannot listen: {exc.strerror or exc}", err=True)
        sys.exit(Exit.CONNECT)
    except KeyboardInterrupt:
        sys.exit(Exit.INTERRUPTED)

"""Where a password or token comes from: never the command line.

A password given as an argument is visible to every local user in the process list and
lands in shell history, so the only sources are an interactive prompt (when standard input
is a terminal), an environment variable named by ``--password-env``, or a file named by
``--password-file`` (``-`` is standard input; one line, its trailing newline stripped).
With no source and no terminal we fail at once instead of hanging on a read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from saslscope.cli.exitcodes import Exit

F = TypeVar("F", bound=Callable[..., Any])


class SecretUnavailable(click.ClickException):
    """No password/token could be read; exits with :attr:`Exit.NO_SECRET`."""

    exit_code = Exit.NO_SECRET


def secret_options(what: str = "password") -> Callable[[F], F]:
    """Add ``--{what}-env VAR`` and ``--{what}-file FILE`` to a command."""

    sources = (
        ("file", "FILE", f"Read the {what} from FILE (first line; '-' = standard input)."),
        ("env", "VAR", f"Read the {what} from environment variable VAR."),
    )

    def decorate(func: F) -> F:
        for source, metavar, help_text in sources:
            func = click.option(f"--{what}-{source}", f"{what}_{source}", metavar=metavar, help=help_text)(func)
        return func

    return decorate


def read_secret(
    *,
    env: str | None,
    file: str | None,
    what: str = "password",
    prompt: str | None = None,
) -> str:
    """Return the secret from exactly one source, or raise :class:`SecretUnavailable`."""
    if env and file:
        raise click.UsageError(f"give either --{what}-env or --{what}-file, not both")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SecretUnavailable(f"environment variable {env} is not set (from --{what}-env)")
        return value
    if file:
        return _read_first_line(file, what)
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt(prompt or what.capitalize(), hide_input=True, err=True)
    raise SecretUnavailable(
        f"no {what}: standard input is not a terminal, so give --{what}-env VAR or --{what}-file FILE"
    )


def _read_first_line(path: str, what: str) -> str:
    try:
        if path == "-":
            line = sys.stdin.readline()
        else:
            with open(path, encoding="utf-8") as handle:
                line = handle.readline()
    except OSError as exc:
        raise SecretUnavailable(f"cannot read the {what} file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SecretUnavailable(f"the {what} file {path} is not UTF-8 text") from None
    line = line.removesuffix("\n").removesuffix("\r")
    if not line:
        raise SecretUnavailable(f"the {what} file {path} is empty")
    return line

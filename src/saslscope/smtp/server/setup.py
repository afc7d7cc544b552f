"""From ``serve``'s options to a ready :class:`SubmissionServer`: users, TLS, storage, log.

Kept out of the CLI so that the choices (which certificate, which users, where mail goes)
are made and tested in one place; the CLI only maps :class:`SetupError` to exit statuses.
"""

from __future__ import annotations

import shutil
import ssl
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from saslscope.sasl.credentials import MemoryStore, StoredCredential
from saslscope.smtp.certs import CHAIN_FILE, KEY_FILE, make_test_pki
from saslscope.smtp.server.maildir import MaildirStore
from saslscope.smtp.server.passwd_file import PasswdFileError, load_passwd_file
from saslscope.smtp.server.penalty import FailurePenalty
from saslscope.smtp.server.postfix_log import PostfixLog, TimestampStyle
from saslscope.smtp.server.server import (
    ServerConfig,
    SubmissionServer,
    check_hostname,
    default_hostname,
    default_mechanisms,
    server_tls_context,
)


class SetupError(Exception):
    """The options cannot work. ``bad_input`` is True for unusable files (passwd-file,
    certificate, log, Maildir), False for contradictory or missing options."""

    def __init__(self, message: str, *, bad_input: bool = False) -> None:
        super().__init__(message)
        self.bad_input = bad_input


@dataclass
class ServeOptions:
    """What ``saslscope serve`` was asked for (addresses already parsed)."""

    listen: list[tuple[str, int]]
    implicit_tls: list[tuple[str, int]] = field(default_factory=list)
    cert: str | None = None
    key: str | None = None
    pki_dir: str | None = None
    no_tls: bool = False
    hostname: str | None = None
    passwd_file: str | None = None
    #: extra users, name -> password (``--user``)
    users: dict[str, str] = field(default_factory=dict)
    maildir: str | None = None
    per_domain: bool = True
    #: a file to append the log to; None or "-" for standard output
    log_path: str | None = None
    timestamps: TimestampStyle = TimestampStyle.BSD
    syslog_name: str = "postfix/submission"
    mechanisms: tuple[str, ...] = ()
    allow_cleartext_auth: bool = False
    lenient_cram: bool = False
    # the defaults are the library's own, so a limit is set in one place
    failure_delay: float = FailurePenalty.base
    failure_delay_max: float = FailurePenalty.cap
    max_message_size: int = ServerConfig.max_message_size
    idle_timeout: float = ServerConfig.idle_timeout
    max_connections: int = ServerConfig.max_connections
    #: cap TLS at 1.2 (where SCRAM-*-PLUS is offered)
    tls12_only: bool = False


@dataclass
class TemporaryDirectories:
    """The directories ``serve`` made because no path was given, and what happens to them.

    The throw-away PKI is removed at exit (its CA is worthless once the server is gone, and it
    holds private keys); the Maildir is kept if mail arrived (and its path printed), else
    removed. Also when start-up fails half-way (a busy port, a bad certificate).
    """

    pki: Path | None = None
    maildir: Path | None = None

    def clean_up(self, notify: Callable[[str], None]) -> None:
        if self.pki is not None:
            shutil.rmtree(self.pki, ignore_errors=True)
            self.pki = None
        if self.maildir is not None:
            if any(path.is_file() for path in self.maildir.rglob("*")):
                notify(f"mail kept in {self.maildir} (remove with: rm -r {self.maildir})")
            else:
                shutil.rmtree(self.maildir, ignore_errors=True)
            self.maildir = None


def build_server(
    options: ServeOptions, notify: Callable[[str], None], temporary: TemporaryDirectories | None = None
) -> SubmissionServer:
    """Check ``options``, load users, make or load the certificate; ``notify`` gets one line
    per decision the user should know about (where the CA went, skipped passwd-file lines).

    Directories made because no path was given are recorded in ``temporary``; the caller
    cleans them up (:meth:`TemporaryDirectories.clean_up`), also when this raises.
    """
    temporary = temporary if temporary is not None else TemporaryDirectories()
    if bool(options.cert) != bool(options.key):
        raise SetupError("give --cert and --key together")
    if options.no_tls and (options.cert or options.implicit_tls or options.pki_dir or options.tls12_only):
        raise SetupError("--no-tls cannot be combined with --cert, --pki-dir, --tls-port or --tls12-only")
    if options.no_tls and not options.allow_cleartext_auth:
        notify("note: --no-tls without --allow-cleartext-auth: AUTH will never be offered")
    hostname = _hostname(options, notify)
    store = _load_users(options, notify)
    tls_context, certificate_der = None, None
    if not options.no_tls:
        cert, key = options.cert, options.key
        if not cert:
            cert, key = _throw_away_pki(options, hostname, temporary, notify)
        assert key is not None
        try:
            tls_context, certificate_der = server_tls_context(
                cert, key, max_version=ssl.TLSVersion.TLSv1_2 if options.tls12_only else ssl.TLSVersion.MAXIMUM_SUPPORTED
            )
        except ValueError as exc:
            raise SetupError(str(exc), bad_input=True) from None
    if options.maildir:
        maildir_root = Path(options.maildir)
    else:
        maildir_root = temporary.maildir = Path(tempfile.mkdtemp(prefix="saslscope-maildir-"))
    try:
        mail_store = MaildirStore(maildir_root, per_domain=options.per_domain)
    except OSError as exc:
        raise SetupError(f"cannot use {maildir_root} as Maildir: {exc.strerror}", bad_input=True) from None
    notify(f"maildir: {maildir_root} ({'one per recipient domain' if options.per_domain else 'single'})")
    if options.log_path in (None, "-"):
        log = PostfixLog(sys.stdout, hostname=hostname, syslog_name=options.syslog_name, timestamps=options.timestamps)
        notify("log: standard output")
    else:
        try:
            log = PostfixLog.to_file(options.log_path, hostname=hostname, syslog_name=options.syslog_name,
                                     timestamps=options.timestamps)
        except OSError as exc:
            raise SetupError(f"cannot open the log {options.log_path}: {exc.strerror}", bad_input=True) from None
        notify(f"log: {options.log_path} (SIGHUP reopens it after rotation)")
    try:
        config = ServerConfig(
            store=store,
            maildir=mail_store,
            log=log,
            hostname=hostname,
            tls_context=tls_context,
            certificate_der=certificate_der,
            mechanisms=options.mechanisms or default_mechanisms(),
            allow_cleartext_auth=options.allow_cleartext_auth,
            lenient_cram=options.lenient_cram,
            max_message_size=options.max_message_size,
            idle_timeout=options.idle_timeout,
            max_connections=options.max_connections,
            penalty=FailurePenalty(base=options.failure_delay, cap=options.failure_delay_max),
        )
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    return SubmissionServer(config, options.listen, options.implicit_tls)


def _hostname(options: ServeOptions, notify: Callable[[str], None]) -> str:
    """--hostname, checked before anything uses it; else this host's name if it is a valid
    one, else ``localhost``."""
    if options.hostname:
        try:
            return check_hostname(options.hostname)
        except ValueError as exc:
            raise SetupError(str(exc)) from None
    name = default_hostname()
    try:
        return check_hostname(name)
    except ValueError:
        notify(f"note: this host's name {name!r} is not a valid host name; using localhost (set --hostname)")
        return "localhost"


def _throw_away_pki(
    options: ServeOptions, hostname: str, temporary: TemporaryDirectories, notify: Callable[[str], None]
) -> tuple[str, str]:
    """Make the CA and server certificate in --pki-dir or a temporary directory."""
    if options.pki_dir:
        directory = Path(options.pki_dir)
    else:
        directory = temporary.pki = Path(tempfile.mkdtemp(prefix="saslscope-pki-"))
    names = [hostname, "localhost", "127.0.0.1", "::1", *(h for h, _ in options.listen + options.implicit_tls)]
    try:
        pki = make_test_pki(directory, [name for name in dict.fromkeys(names) if name])
    except FileExistsError as exc:
        raise SetupError(
            f"{exc.filename} already exists and is never replaced: reuse that certificate with "
            f"--cert {directory / CHAIN_FILE} --key {directory / KEY_FILE}, or give --pki-dir an empty directory",
            bad_input=True,
        ) from None
    except OSError as exc:
        raise SetupError(f"cannot write the throw-away CA to {exc.filename or directory}: {exc.strerror}",
                         bad_input=True) from None
    where = "removed at exit" if temporary.pki is not None else "kept"
    notify(f"throw-away CA: {pki.ca_cert_path} (clients: --cafile {pki.ca_cert_path}; {where})")
    return str(pki.chain_path), str(pki.key_path)


def _load_users(options: ServeOptions, notify: Callable[[str], None]) -> MemoryStore:
    store = MemoryStore()
    if options.passwd_file:
        try:
            users = load_passwd_file(options.passwd_file)
        except PasswdFileError as exc:
            raise SetupError(str(exc), bad_input=True) from None
        for problem in users.problems:
            notify(f"warning: {options.passwd_file}: {problem} (skipped)")
        store.users.update(users.store.users)
        notify(f"users: {len(users.store.users)} from {options.passwd_file}")
    for name, password in options.users.items():
        store.add(StoredCredential(name, password=password))
        notify(f"user: {name}")
    if not store.users:
        raise SetupError("no users: give --passwd-file FILE and/or --user NAME (with --password-env or --password-file)")
    return store

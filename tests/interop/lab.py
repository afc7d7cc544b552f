"""A private, throw-away Postfix + Dovecot SASL + Cyrus SASL mail server on 127.0.0.1.

:class:`PostfixLab` turns the verified recipe in ``shared/notes/postfix-lab.md`` into a test
fixture that never touches the machine's own mail setup:

* a **private Postfix instance** (``postfix -c LAB/postfix``) with its own ``main.cf`` and
  ``master.cf`` (chroot ``n`` everywhere, recipe gotchas 6/7; the ``postlog`` service that
  ``maillog_file`` needs, gotcha 5), its own ``queue_directory``, ``data_directory`` and log
  file inside the lab directory. ``/etc/postfix`` is never read or written (a Debian
  "No configuration" install has no ``main.cf`` there at all, gotcha 1);
* a **private Dovecot** (``dovecot -c LAB/dovecot/dovecot.conf``) for SASL only, with its own
  ``base_dir``, ``state_dir``, ``instance_name`` and log, its auth socket in the lab queue's
  ``private/``; the per-IP auth penalty is off and ``auth_failure_delay = 0`` so that a wrong
  password is rejected at once and never turns later logins into ``454`` (gotcha 10);
* **Cyrus SASL** with a lab ``sasldb2`` on one port. Debian's Postfix looks for Cyrus's
  ``smtpd.conf`` in ``$config_directory/sasl/`` (gotcha 18; ``cyrus_sasl_config_path`` is
  ignored, verified with strace), which for this instance is ``LAB/postfix/sasl/``: the
  machine's ``/etc/postfix/sasl/smtpd.conf`` and ``/etc/sasldb2`` are left alone;
* virtual Maildirs in the lab directory, and every recipient outside the two lab domains is
  rewritten to ``outbound-sink@example.test``: nothing ever leaves the machine (gotchas 8/9).

The daemons are started and stopped by PID file only, never by process name (gotcha 20),
and a lab left running by a killed test run is recognised by its PID files and stopped
before a new one starts. A lock file serialises concurrent test runs on one machine.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from saslscope.smtp.certs import make_test_pki

POSTFIX = "/usr/sbin/postfix"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
DOVECOT = "/usr/sbin/dovecot"
SASLPASSWD2 = "/usr/sbin/saslpasswd2"
CYRUS_PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu/sasl2", "/usr/lib/aarch64-linux-gnu/sasl2", "/usr/lib/sasl2")

#: the host name in the lab's banner and certificate (the certificate also covers the IPs)
MAIL_HOSTNAME = "mail.test"
HOST = "127.0.0.1"
HOST6 = "::1"
SINK_ADDRESS = "outbound-sink@example.test"
MAILDIR_UID = MAILDIR_GID = 65534  # nobody:nogroup, as in the recipe
#: a file in the lab directory saying that the lab may delete that directory
LAB_MARKER = ".saslscope-lab"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
LOCK_TIMEOUT = 300.0


class LabError(RuntimeError):
    """The lab could not be set up, started or stopped; the message says why."""


@dataclass(frozen=True)
class LabUser:
    """A mailbox that exists in Dovecot's passwd-file, in sasldb2 and as a virtual Maildir."""

    address: str
    password: str

    @property
    def local_part(self) -> str:
        return self.address.partition("@")[0]

    @property
    def domain(self) -> str:
        return self.address.partition("@")[2]


CENTOS7 = LabUser("centos7@phoenixknight.jp", "zaq12345")  # the write-up's account
ALICE = LabUser("alice@example.test", "s3cret!")
USERS: tuple[LabUser, ...] = (CENTOS7, ALICE)
DOMAINS: tuple[str, ...] = ("phoenixknight.jp", "example.test")


@dataclass(frozen=True)
class LabPorts:
    """Unusual ports, so that a real mail server on the machine is never disturbed."""

    #: plain SMTP like port 25: no STARTTLS, no AUTH, mail for the lab domains only
    smtp: int = 10025
    #: like 587: STARTTLS required, AUTH (Dovecot) only after STARTTLS
    submission: int = 10587
    #: like 465: implicit TLS, AUTH via Dovecot
    submissions: int = 10465
    #: AUTH (Dovecot) offered on the cleartext connection, STARTTLS optional
    cleartext_auth: int = 12525
    #: STARTTLS required, AUTH via Cyrus SASL and sasldb2
    cyrus: int = 12587

    def all(self) -> tuple[int, ...]:
        return (self.smtp, self.submission, self.submissions, self.cleartext_auth, self.cyrus)


#: what Postfix advertises after EHLO on each SASL port (recipe §1)
DOVECOT_MECHANISMS: tuple[str, ...] = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256")
CYRUS_MECHANISMS: tuple[str, ...] = ("CRAM-MD5", "DIGEST-MD5", "PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256")


def default_lab_root() -> Path:
    """A fixed place (so a stale lab of a killed run is found again), overridable by env."""
    configured = os.environ.get("SASLSCOPE_LAB_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "saslscope-postfix-lab"


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "the Postfix lab needs root (Postfix and Dovecot start as root, then drop privileges)"
    missing = [path for path in (POSTFIX, POSTFIX_MASTER, DOVECOT, SASLPASSWD2) if not os.access(path, os.X_OK)]
    if missing:
        return f"missing {', '.join(missing)}: install postfix dovecot-core sasl2-bin (scripts/bootstrap does)"
    if not any(Path(d, "libsasldb.so.2").exists() for d in CYRUS_PLUGIN_DIRS):
        return "missing the Cyrus sasldb plug-in: install libsasl2-modules-db"
    for account in ("postfix", "dovecot", "dovenull"):
        try:
            pwd.getpwnam(account)
        except KeyError:
            return f"missing system user {account!r}: the postfix/dovecot-core packages create it"
    return None


class PostfixLab:
    """One private Postfix instance with Dovecot and Cyrus SASL behind it.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Everything lives under
    ``root``; its contents are recreated on every start and left in place after stop, so the
    logs of the last run can be read afterwards.
    """

    def __init__(self, root: Path | None = None, ports: LabPorts | None = None) -> None:
        self.root = (root or default_lab_root()).resolve()
        self.ports = ports or LabPorts()
        self.host = HOST
        #: every address the lab listens on: 127.0.0.1, and ::1 when the machine has IPv6 loopback
        self.addresses: tuple[str, ...] = (HOST, HOST6) if _ipv6_loopback_available() else (HOST,)
        self.tls_hostname = MAIL_HOSTNAME
        self.users = USERS
        self.config_dir = self.root / "postfix"
        self.queue_dir = self.root / "queue"
        self.data_dir = self.root / "data"
        self.tls_dir = self.root / "tls"
        # Debian's Postfix reads Cyrus's smtpd.conf from $config_directory/sasl/ and ignores
        # cyrus_sasl_config_path (seen with strace); for this private instance that is in the lab.
        self.cyrus_dir = self.config_dir / "sasl"
        self.dovecot_dir = self.root / "dovecot"
        self.mail_dir = self.root / "mail"
        self.log_dir = self.root / "log"
        self.ca_path = self.tls_dir / "ca.pem"
        self.maillog_path = self.log_dir / "postfix.log"
        self.dovecot_log_path = self.log_dir / "dovecot.log"
        self._lock_path = self.root.with_name(self.root.name + ".lock")
        self._lock_fd: int | None = None

    # -- public API ------------------------------------------------------------------------

    def maildir(self, user: LabUser | str) -> Path:
        """The Maildir of a lab mailbox (``alice@example.test`` or ``outbound-sink@...``)."""
        address = user.address if isinstance(user, LabUser) else user
        local, _, domain = address.partition("@")
        return self.mail_dir / domain / local

    def delivered_messages(self, user: LabUser | str) -> list[Path]:
        """Files in the Maildir's ``new/``, oldest first (virtual(8) delivers there)."""
        new = self.maildir(user) / "new"
        if not new.is_dir():
            return []
        return sorted(new.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))

    def maillog_text(self) -> str:
        return self.maillog_path.read_text(encoding="utf-8", errors="replace") if self.maillog_path.exists() else ""

    def wait_for_delivery(self, user: LabUser | str, known: Iterable[Path], timeout: float = 10.0) -> Path:
        """The first message in ``user``'s Maildir that is not in ``known`` (delivery is asynchronous)."""
        seen = set(known)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [path for path in self.delivered_messages(user) if path not in seen]
            if fresh:
                return fresh[0]
            time.sleep(0.05)
        raise LabError(f"no new message for {user} within {timeout:.0f} s: {_tail(self.maillog_path)}")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The Postfix log once it contains ``text`` (postlogd writes asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.maillog_text()
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def start(self) -> None:
        """Start a fresh lab; on any failure, stop whatever was started and raise LabError."""
        reason = lab_unavailable_reason()
        if reason:
            raise LabError(reason)
        self._check_reachable()
        self._acquire_lock()
        try:
            self._stop_daemons()  # a lab left behind by a killed run
            self._check_ports_free()
            self._write_tree()
            self._start_postfix()
            self._start_dovecot()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop both daemons (by PID file) and release the lock. Safe to call twice."""
        try:
            self._stop_daemons()
        finally:
            self._release_lock()

    @contextlib.contextmanager
    def postconf(self, settings: dict[str, str]) -> Iterator[None]:
        """Run with ``main.cf`` parameters changed (``postconf -e``, ``postfix reload``).

        The original ``main.cf`` is put back and Postfix reloaded afterwards, also on failure,
        so the session-wide lab is what the next test expects. A reload keeps the daemons (and
        Dovecot's auth connections) running: only new smtpd processes read the new settings.
        """
        main_cf = self.config_dir / "main.cf"
        original = main_cf.read_text(encoding="utf-8")
        try:
            _run([POSTCONF, "-c", str(self.config_dir), "-e", *(f"{k}={v}" for k, v in settings.items())])
            self._reload_postfix()
            yield
        finally:
            _write(main_cf, original)
            self._reload_postfix()

    @contextlib.contextmanager
    def dovecot_settings(self, text: str) -> Iterator[None]:
        """Run with ``text`` added to Dovecot's configuration (for example ``auth_policy_*``).

        Dovecot is restarted, never sent SIGHUP (a reload segfaulted 2.3.19 and left Postfix
        throttled, recipe gotcha 11), and Postfix is restarted after it so that no smtpd keeps
        a connection to the old auth process (gotcha 12). Restored the same way afterwards.
        """
        extra = self.dovecot_dir / "extra.conf"
        try:
            _write(extra, text)
            self._restart_daemons()
            yield
        finally:
            _write(extra, "")
            self._restart_daemons()

    def queue(self) -> list[dict[str, object]]:
        """Every message in the lab's queue, as ``postqueue -j`` describes it (``queue_name``
        is ``hold``, ``deferred``, ``active`` or ``incoming``)."""
        result = _run([POSTQUEUE, "-c", str(self.config_dir), "-j"])
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def hold_queue(self) -> list[dict[str, object]]:
        """The messages Postfix holds (a policy ``HOLD``, a ``check_sasl_access`` ``HOLD``)."""
        return [m for m in self.queue() if m.get("queue_name") == "hold"]

    def _reload_postfix(self) -> None:
        _run([POSTFIX, "-c", str(self.config_dir), "reload"])

    def _restart_daemons(self) -> None:
        _run([POSTFIX, "-c", str(self.config_dir), "stop"], check=False)
        self._stop_daemons()
        self._start_postfix()
        self._start_dovecot()
        self._wait_until_ready()

    def __enter__(self) -> PostfixLab:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- locking and PID files ---------------------------------------------------------------

    def _acquire_lock(self) -> None:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LabError(f"another test run holds {self._lock_path} for more than {LOCK_TIMEOUT:.0f} s") from None
                time.sleep(0.2)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    @property
    def _postfix_pid_file(self) -> Path:
        return self.queue_dir / "pid" / "master.pid"

    @property
    def _dovecot_pid_file(self) -> Path:
        return self.dovecot_dir / "run" / "master.pid"

    @property
    def _dovecot_config(self) -> Path:
        return self.dovecot_dir / "dovecot.conf"

    def running_pids(self) -> list[int]:
        """PIDs of this lab's Postfix master and Dovecot master that are still alive.

        A PID file alone proves nothing (the PID may have been reused), so each PID must
        also run the expected executable with this lab's configuration.
        """
        candidates = (
            (self._postfix_pid_file, POSTFIX_MASTER, f"MAIL_CONFIG={self.config_dir}", "environ"),
            (self._dovecot_pid_file, DOVECOT, str(self._dovecot_config), "cmdline"),
        )
        pids = []
        for pid_file, executable, marker, proc_file in candidates:
            pid = _read_pid(pid_file)
            if pid is not None and _process_matches(pid, executable, marker, proc_file):
                pids.append(pid)
        return pids

    def _stop_daemons(self) -> None:
        pids = self.running_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for pid in pids:
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if process_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _check_ports_free(self) -> None:
        busy = [f"{_postfix_endpoint(a, port)}" for a in self.addresses for port in self.ports.all() if _listening(a, port)]
        if busy:
            raise LabError(f"{', '.join(busy)} in use by another program; the lab needs them")

    def _check_reachable(self) -> None:
        """postfix and nobody (virtual(8)) must traverse every directory above the lab."""
        for parent in self.root.parents:
            if parent.exists() and not parent.stat().st_mode & 0o001:
                raise LabError(
                    f"{parent} is not searchable by other users (mode {parent.stat().st_mode & 0o777:o}), so Postfix "
                    f"cannot reach {self.root}: set SASLSCOPE_LAB_DIR to a directory under a world-searchable path"
                )

    # -- configuration -----------------------------------------------------------------------

    def _write_tree(self) -> None:
        marker = self.root / LAB_MARKER
        if self.root.exists():
            # SASLSCOPE_LAB_DIR could name any directory: wipe only one the lab created
            if any(self.root.iterdir()) and not marker.exists():
                raise LabError(f"{self.root} exists, is not empty and is not a saslscope lab: refusing to replace it")
            shutil.rmtree(self.root)
        for directory in (self.root, self.config_dir, self.queue_dir, self.cyrus_dir, self.dovecot_dir, self.mail_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o755)  # postfix, dovecot and nobody must traverse it
        _write(marker, "a saslscope Postfix lab (tests/interop/lab.py); recreated at every start\n")
        make_test_pki(self.tls_dir, (MAIL_HOSTNAME, "localhost", "127.0.0.1", "::1"), organization="saslscope Postfix lab")
        self.tls_dir.chmod(0o755)
        _write(self.config_dir / "main.cf", self._main_cf())
        _write(self.config_dir / "master.cf", self._master_cf())
        _write(self.config_dir / "vmailbox", "".join(f"{a} {a.partition('@')[2]}/{a.partition('@')[0]}/\n" for a in self._mailboxes()))
        # regexp(5) "!/pattern/": every recipient outside the lab domains goes to the sink.
        domains = "|".join(d.replace(".", r"\.") for d in DOMAINS)
        _write(self.config_dir / "outbound-sink.regexp", f"!/@({domains})$/ {SINK_ADDRESS}\n")
        for domain in DOMAINS:
            domain_dir = self.mail_dir / domain
            domain_dir.mkdir()
            os.chown(domain_dir, MAILDIR_UID, MAILDIR_GID)
        self._write_cyrus()
        self._write_dovecot()

    def _mailboxes(self) -> list[str]:
        return [u.address for u in self.users] + [SINK_ADDRESS]

    def _main_cf(self) -> str:
        domains = ", ".join(DOMAINS)
        return f"""\
# saslscope Postfix lab: a private instance (postfix -c {self.config_dir}), loopback only.
compatibility_level = 3.6
config_directory = {self.config_dir}
queue_directory = {self.queue_dir}
data_directory = {self.data_dir}
meta_directory = /etc/postfix
maillog_file = {self.maillog_path}
maillog_file_prefixes = {self.log_dir}
myhostname = {MAIL_HOSTNAME}
myorigin = {MAIL_HOSTNAME}
mydestination =
inet_interfaces = {", ".join(_postfix_endpoint(a) for a in self.addresses)}
inet_protocols = {"all" if HOST6 in self.addresses else "ipv4"}
smtpd_banner = $myhostname ESMTP Postfix (saslscope lab)
# no reverse lookup of clients: the log says unknown[127.0.0.1] / unknown[::1] on every
# machine, whatever its /etc/hosts and DNS (a PTR query for ::1 could even time out)
smtpd_peername_lookup = no
biff = no
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.7.1 saslscope lab: local delivery disabled
default_transport = error:5.7.1 saslscope lab: outbound mail disabled
relay_transport = error:5.7.1 saslscope lab: relay disabled
smtp_dns_support_level = disabled
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {self.mail_dir}
virtual_mailbox_maps = texthash:{self.config_dir}/vmailbox
virtual_alias_maps = regexp:{self.config_dir}/outbound-sink.regexp
virtual_alias_domains =
virtual_uid_maps = static:{MAILDIR_UID}
virtual_gid_maps = static:{MAILDIR_GID}
smtpd_tls_chain_files = {self.tls_dir}/server.key, {self.tls_dir}/server-chain.pem
smtpd_tls_security_level = none
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
# "(Authenticated sender: ...)" in Received:, as on the write-up's server
smtpd_sasl_authenticated_header = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
"""

    def _master_cf(self) -> str:
        p = self.ports
        dovecot_auth = "-o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
        # (port, options): the same five services on every lab address
        services = (
            (p.smtp, ""),
            (p.submission, f"-o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes {dovecot_auth}"),
            (p.submissions, f"-o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt {dovecot_auth}"),
            (p.cleartext_auth, f"-o syslog_name=postfix/plainauth -o smtpd_tls_security_level=may -o smtpd_tls_auth_only=no {dovecot_auth}"),
            (p.cyrus, "-o syslog_name=postfix/cyrus -o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes "
                      f"-o smtpd_sasl_type=cyrus -o smtpd_sasl_path=smtpd {dovecot_auth}"),
        )
        listeners = "".join(
            f"{_postfix_endpoint(address, port)} inet n - n - - smtpd\n" + (f"  {options}\n" if options else "")
            for address in self.addresses
            for port, options in services
        )
        return f"""\
# saslscope Postfix lab: chroot n everywhere (no configure-instance.sh copies into a chroot).
{listeners}cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

    def _write_cyrus(self) -> None:
        sasldb = self.cyrus_dir / "sasldb2"
        # smtpd_sasl_path=smtpd -> Cyrus reads "smtpd.conf" from cyrus_sasl_config_path.
        _write(
            self.cyrus_dir / "smtpd.conf",
            f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {sasldb}\n"
            "mech_list: cram-md5 digest-md5 plain login scram-sha-1 scram-sha-256\n",
        )
        for user in self.users:
            # Cyrus splits user@domain into user and realm (recipe gotcha 17).
            _run([SASLPASSWD2, "-p", "-c", "-f", str(sasldb), "-u", user.domain, user.local_part], stdin=user.password)
        os.chown(sasldb, 0, grp.getgrnam("postfix").gr_gid)
        sasldb.chmod(0o640)

    def _write_dovecot(self) -> None:
        passwd = self.dovecot_dir / "users.passwd"
        # {PLAIN} so that CRAM-MD5 and SCRAM (derived per request) work from the same entry.
        _write(passwd, "".join(f"{u.address}:{{PLAIN}}{u.password}::::::\n" for u in self.users))
        os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)
        passwd.chmod(0o640)
        _write(
            self._dovecot_config,
            f"""\
# saslscope lab: Dovecot as SASL server for the lab Postfix only (dovecot -c this file).
instance_name = saslscope-lab
base_dir = {self.dovecot_dir}/run/
state_dir = {self.dovecot_dir}/state
log_path = {self.dovecot_log_path}
protocols = none
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
auth_verbose = yes
# fast, deterministic failures (recipe gotcha 10): no delay, no per-IP penalty
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
!include_try {self.dovecot_dir}/extra.conf
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={MAILDIR_UID} gid={MAILDIR_GID} home=/nonexistent
}}
service auth {{
  unix_listener {self.queue_dir}/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
""",
        )

    # -- starting --------------------------------------------------------------------------

    def _start_postfix(self) -> None:
        result = _run([POSTFIX, "-c", str(self.config_dir), "start"], check=False)
        if result.returncode != 0:
            # postfix-script reports its fatal errors only in the log (recipe gotcha 5).
            raise LabError(f"postfix start failed (exit {result.returncode}): {result.stdout.strip()} {_tail(self.maillog_path)}")

    def _start_dovecot(self) -> None:
        # Dovecot keeps inherited descriptors (gotcha 4): no pipes, only a log file.
        with open(self.log_dir / "dovecot-start.log", "ab") as out:
            result = subprocess.run(
                [DOVECOT, "-c", str(self._dovecot_config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, close_fds=True, timeout=START_TIMEOUT, check=False,
            )
        if result.returncode != 0:
            raise LabError(f"dovecot failed (exit {result.returncode}): {_tail(self.log_dir / 'dovecot-start.log')} {_tail(self.dovecot_log_path)}")

    def _wait_until_ready(self) -> None:
        auth_socket = self.queue_dir / "private" / "auth"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if auth_socket.exists() and len(self.running_pids()) == 2 and all(_listening(a, p) for a in self.addresses for p in self.ports.all()):
                return
            time.sleep(0.05)
        raise LabError(f"the lab did not come up within {START_TIMEOUT:.0f} s: {_tail(self.maillog_path)} {_tail(self.dovecot_log_path)}")


# -- small helpers ---------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _run(argv: list[str], *, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, text=True, timeout=START_TIMEOUT, close_fds=True, check=False,
    )
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()}")
    return result


def _tail(path: Path, lines: int = 5) -> str:
    if not path.exists():
        return ""
    return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _process_matches(pid: int, executable: str, marker: str, proc_file: str) -> bool:
    try:
        if os.readlink(f"/proc/{pid}/exe") != executable:
            return False
        return marker.encode() in Path(f"/proc/{pid}/{proc_file}").read_bytes().split(b"\0")
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by init) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("State:"):
                return line
    except OSError:
        pass
    return ""


def _postfix_endpoint(address: str, port: int | None = None) -> str:
    """Postfix's spelling of an address (IPv6 in brackets), with ``:port`` if given."""
    host = f"[{address}]" if ":" in address else address
    return host if port is None else f"{host}:{port}"


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind((HOST6, 0))
        return True
    except OSError:
        return False


def _listening(host: str, port: int) -> bool:
    """True when something listens on host:port; tested by bind(), so no smtpd is spawned."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


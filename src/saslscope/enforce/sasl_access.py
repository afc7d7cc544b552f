"""A Postfix ``check_sasl_access`` table for accounts judged compromised or suspicious.

``check_sasl_access type:table`` (Postfix 2.11+) looks up the SASL login name of the client in
an access table. With ``HOLD`` every message of that login waits in the hold queue (nothing
lost, nothing sent: ``postsuper -r``/``-d`` decides); with ``REJECT`` it is refused. This module
writes such a table, compiles it with ``postmap`` and says which ``main.cf`` line enables it.

The restriction goes into ``smtpd_sender_restrictions``: the login is known by MAIL FROM, and
the list is evaluated for every transaction of the session (the lab test proves it on a real
Postfix). Written atomically: the source and the compiled ``.db`` are built under temporary
names in the same directory and renamed into place, so smtpd never reads half a table.

User names come from logs and are attacker-chosen: a name that cannot be a table key (empty,
white space or control characters, a leading ``#``) is left out and reported, never written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from saslscope.detect.findings import Verdict

ACTIONS = ("HOLD", "REJECT")
#: what a rejected client is told (fixed text: nothing of the finding reaches the attacker)
REJECT_TEXT = "5.7.1 Account temporarily locked; contact your mail administrator"
POSTMAP_TIMEOUT = 30.0
_RANK = {Verdict.NORMAL: 0, Verdict.SUSPICIOUS: 1, Verdict.COMPROMISED: 2}


class SaslAccessError(RuntimeError):
    """The table could not be written or compiled; the message names the file and the fix."""


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    verdict: Verdict
    kinds: tuple[str, ...] = ()      # the finding kinds behind the verdict (for the log text)


@dataclass(slots=True)
class Written:
    path: str
    entries: list[str] = field(default_factory=list)      # user names written
    refused: list[str] = field(default_factory=list)      # names that cannot be table keys
    compiled: bool = False


def usable_key(username: str) -> bool:
    return bool(username) and username.isprintable() and not any(c.isspace() for c in username) \
        and not username.startswith("#")


def _hold_text(account: Account) -> str:
    kinds = ",".join(k for k in account.kinds if k.replace("_", "").isalnum())[:200]
    return f"saslscope {account.verdict}" + (f" ({kinds})" if kinds else "")


def render(accounts: Iterable[Account], *, at_least: Verdict, action: str) -> tuple[str, list[str], list[str]]:
    """The table's source text, the names written and the names refused."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    lines = ["# written by saslscope logs alerts --postfix-sasl-access; do not edit (it is rewritten)"]
    written: list[str] = []
    refused: list[str] = []
    for account in sorted(accounts, key=lambda a: a.username):
        if _RANK[account.verdict] < _RANK[at_least]:
            continue
        if not usable_key(account.username):
            refused.append(account.username)
            continue
        result = f"HOLD {_hold_text(account)}" if action == "HOLD" else f"REJECT {REJECT_TEXT}"
        lines.append(f"{account.username} {result}")
        written.append(account.username)
    return "\n".join(lines) + "\n", written, refused


def write_table(path: str, accounts: Iterable[Account], *, at_least: Verdict = Verdict.COMPROMISED,
                action: str = "HOLD", postmap: str = "postmap", config_dir: str | None = None,
                table_type: str = "hash") -> Written:
    """Write and compile the table at ``path`` (``path.db`` for hash); atomic on both files."""
    text, written, refused = render(accounts, at_least=at_least, action=action)
    directory = os.path.dirname(os.path.abspath(path)) or "."
    base = os.path.basename(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{base}.", dir=directory)
    except OSError as exc:
        raise SaslAccessError(f"{path}: cannot write in {directory} ({exc.strerror})") from None
    compiled_temp = f"{temp}.db"
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        _postmap(postmap, config_dir, f"{table_type}:{temp}", path)
        if table_type in ("hash", "btree") and os.path.exists(compiled_temp):
            os.replace(compiled_temp, f"{path}.db")
        elif table_type == "cdb" and os.path.exists(f"{temp}.cdb"):
            os.replace(f"{temp}.cdb", f"{path}.cdb")
        elif table_type == "lmdb" and os.path.exists(f"{temp}.lmdb"):
            os.replace(f"{temp}.lmdb", f"{path}.lmdb")
        os.replace(temp, path)
    finally:
        for leftover in (temp, compiled_temp, f"{temp}.cdb", f"{temp}.lmdb"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return Written(path, written, refused, compiled=True)


def _postmap(postmap: str, config_dir: str | None, table: str, path: str) -> None:
    binary = shutil.which(postmap)
    if binary is None:
        raise SaslAccessError(f"{path}: postmap not found ({postmap}); install Postfix or give its path")
    argv = [binary, *(["-c", config_dir] if config_dir else []), table]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=POSTMAP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise SaslAccessError(f"{path}: postmap did not finish in {POSTMAP_TIMEOUT:g} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SaslAccessError(f"{path}: postmap failed: {detail[-1] if detail else done.returncode}"
                              + ("" if config_dir else " (give the Postfix configuration directory if "
                                 "/etc/postfix/main.cf is not there)"))


def main_cf_lines(path: str, table_type: str = "hash", existing: Sequence[str] = ()) -> list[str]:
    """What to add to ``main.cf`` (then ``postfix reload``); ``existing`` is the current
    ``smtpd_sender_restrictions`` list, kept after the new check."""
    restrictions = ", ".join([f"check_sasl_access {table_type}:{os.path.abspath(path)}", *existing])
    return [f"smtpd_sender_restrictions = {restrictions}"]

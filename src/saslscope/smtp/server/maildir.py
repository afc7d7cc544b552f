"""Storing accepted messages in Maildirs; never relaying.

Either one Maildir for everything, or one per recipient domain (``ROOT/example.com/``), as a
virtual-domain mail server would keep them. Each recipient gets its own copy with its own
``Delivered-To:``, as Postfix's local delivery agent does, so the log has one delivery line
per recipient and each line names a file.

Files are written as Maildir asks (``tmp/`` then a rename into ``new/``, names
``time.MusecPpid_Rrandom.host``), created ``O_EXCL|O_NOFOLLOW`` with mode 0600 in 0700
directories, as Postfix's ``local`` writes mail: a message is for its recipient only.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from saslscope.smtp.private_files import open_new_binary, private_directory

_UNSAFE = re.compile(r"[^a-z0-9.-]")


@dataclass(frozen=True)
class Delivery:
    """Where one recipient's copy landed."""

    recipient: str
    path: Path


class MaildirStore:
    """Delivers message bytes into ``root`` (a Maildir, or a directory of per-domain Maildirs)."""

    def __init__(self, root: str | os.PathLike[str], *, per_domain: bool = True) -> None:
        self.root = private_directory(root)
        self.per_domain = per_domain

    def maildir_for(self, recipient: str) -> Path:
        """The Maildir directory that receives mail for ``recipient``."""
        if not self.per_domain:
            return self.root
        return self.root / domain_directory_name(recipient)

    def deliver(self, recipient: str, *parts: bytes | memoryview) -> Delivery:
        """Add a message made of ``parts`` (joined as they are: LF line ends, as every
        delivery agent writes Maildir files) to the recipient's Maildir.

        Parts, not one buffer, so that a big message is not copied once per recipient.
        """
        directory = self.maildir_for(recipient)
        for sub in ("tmp", "new", "cur"):
            private_directory(directory / sub)
        name = _unique_name()
        temporary = directory / "tmp" / name
        fd = open_new_binary(temporary)
        try:
            with os.fdopen(fd, "wb") as handle:
                for part in parts:
                    handle.write(part)
                handle.flush()
                os.fsync(handle.fileno())
            final = directory / "new" / name
            os.link(temporary, final)  # never replaces an existing file (Maildir's rule)
        finally:
            temporary.unlink(missing_ok=True)
        return Delivery(recipient, final)


def _unique_name() -> str:
    """A Maildir file name: ``seconds.M<microseconds>P<pid>_R<random>.<host>`` (maildir(5))."""
    now = time.time()
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"
    return f"{int(now)}.M{int(now % 1 * 1_000_000)}P{os.getpid()}_R{secrets.token_hex(8)}.{host}"


def domain_directory_name(recipient: str) -> str:
    """The directory name for the domain of ``recipient``: lower case, no path tricks.

    ``user@Example.COM`` -> ``example.com``; ``user@[127.0.0.1]`` -> ``127.0.0.1``; characters
    outside ``a-z0-9.-`` become ``_``; a name that is empty or only dots becomes ``_nodomain``.
    """
    domain = recipient.rpartition("@")[2] if "@" in recipient else ""
    name = _UNSAFE.sub("_", domain.strip("[]").lower()).strip(".")
    return name or "_nodomain"

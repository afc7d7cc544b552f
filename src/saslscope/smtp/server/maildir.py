"""Storing accepted messages in Maildirs (the standard :mod:`mailbox` module); never relaying.

Either one Maildir for everything, or one per recipient domain (``ROOT/example.com/``), as a
virtual-domain mail server would keep them. Each recipient gets its own copy with its own
``Delivered-To:``, as Postfix's local delivery agent does, so the log has one delivery line
per recipient and each line names a file.
"""

from __future__ import annotations

import mailbox
import os
import re
from dataclasses import dataclass
from pathlib import Path

_UNSAFE = re.compile(r"[^a-z0-9.-]")


@dataclass(frozen=True)
class Delivery:
    """Where one recipient's copy landed."""

    recipient: str
    path: Path


class MaildirStore:
    """Delivers message bytes into ``root`` (a Maildir, or a directory of per-domain Maildirs)."""

    def __init__(self, root: str | os.PathLike[str], *, per_domain: bool = True) -> None:
        self.root = Path(root)
        self.per_domain = per_domain
        self.root.mkdir(parents=True, exist_ok=True)

    def maildir_for(self, recipient: str) -> Path:
        """The Maildir directory that receives mail for ``recipient``."""
        if not self.per_domain:
            return self.root
        return self.root / domain_directory_name(recipient)

    def deliver(self, recipient: str, message: bytes) -> Delivery:
        """Add ``message`` (complete, CRLF or LF line ends) to the recipient's Maildir."""
        directory = self.maildir_for(recipient)
        # mailbox.Maildir(create=True) makes tmp/new/cur only for a directory that does not
        # exist yet; an existing empty directory (the usual --maildir DIR) needs them too.
        for sub in ("tmp", "new", "cur"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(directory, factory=None, create=False)
        # Raw bytes, not a parsed Message: the email generator would re-fold headers. Maildir
        # files use the local line end (LF), as every delivery agent writes them.
        key = box.add(message.replace(b"\r\n", b"\n"))
        # Maildir.add puts a message without flags in new/ under its unique name.
        return Delivery(recipient, directory / "new" / key)


def domain_directory_name(recipient: str) -> str:
    """The directory name for the domain of ``recipient``: lower case, no path tricks.

    ``user@Example.COM`` -> ``example.com``; ``user@[127.0.0.1]`` -> ``127.0.0.1``; characters
    outside ``a-z0-9.-`` become ``_``; a name that is empty or only dots becomes ``_nodomain``.
    """
    domain = recipient.rpartition("@")[2] if "@" in recipient else ""
    name = _UNSAFE.sub("_", domain.strip("[]").lower()).strip(".")
    return name or "_nodomain"

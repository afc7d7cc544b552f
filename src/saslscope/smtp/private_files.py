"""Files a server writes that others must not read or redirect: keys, mail, its log.

Every file is created with ``O_NOFOLLOW`` (a symlink planted at the path is refused, never
followed) and its final mode from the start (0600), and new directories are 0700, as Postfix
keeps mail (``local`` delivers 0600) and as SSH keeps keys. Files that must be new are
opened with ``O_EXCL``: an existing file is an error, never silently replaced.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PUBLIC_FILE = 0o644

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class ExistingFileError(FileExistsError):
    """A file that must be new already exists (or a symlink sits at its path)."""

    def __init__(self, path: Path) -> None:
        super().__init__(17, f"{path} already exists; refusing to replace it", str(path))
        self.path = path


def private_directory(path: str | os.PathLike[str]) -> Path:
    """``path`` and its missing parents as directories; the ones created here are 0700.

    An existing directory is used as it is (its owner chose its mode).
    """
    target = Path(path)
    missing = []
    for candidate in (target, *target.parents):
        if candidate.exists() or candidate.is_symlink():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass
        else:
            os.chmod(directory, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    if not target.is_dir():
        raise NotADirectoryError(20, f"{target} is not a directory", str(target))
    return target


def create_new(path: str | os.PathLike[str], data: bytes, mode: int = PRIVATE_FILE) -> None:
    """Write ``data`` to a file that must not exist yet, created with ``mode``."""
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
    except FileExistsError:
        raise ExistingFileError(target) from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # the umask cannot widen it, but may narrow it
        handle.write(data)


def open_new_binary(path: str | os.PathLike[str], mode: int = PRIVATE_FILE) -> int:
    """A file descriptor of a new file (``O_EXCL|O_NOFOLLOW``, ``mode``), for writing."""
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
    except FileExistsError:
        raise ExistingFileError(target) from None
    os.fchmod(fd, mode)
    return fd


def open_append_private(path: str | os.PathLike[str]) -> TextIO:
    """A log file opened for appending: created 0600 if missing, never through a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, PRIVATE_FILE)
    return os.fdopen(fd, "a", encoding="utf-8")

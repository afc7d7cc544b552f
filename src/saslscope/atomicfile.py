"""Replace a file so that a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path: str, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file beside ``path`` (fsync'd, ``mode``), rename it over ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=folder)     # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode != 0o600:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise

"""Where ``logs watch`` stood, kept across restarts: file positions and the engine's state.

Saved together in one file, atomically (written beside it, fsync'd, renamed over it), so a
restart resumes with windows that match the position exactly: a burst of failures cut in two
by a restart still crosses its threshold once, and no line is read twice or skipped.

The file is a pickle: it holds the engine's in-memory state as it is (windows with their
evidence), which has no other serialisation. It is created mode 0600 and must live where only
the watcher's own user can write (``StateDirectory=`` of the systemd unit): loading a pickle
from an untrusted place would run its code.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

from saslscope.atomicfile import write_atomically
from saslscope.maillog.follow import Position

#: bump when the saved shape changes; an older file is refused with a clear message
FORMAT = 1


class CheckpointError(Exception):
    """The state file exists but cannot be used; the message says what to do."""


@dataclass
class Checkpoint:
    positions: dict[str, Position] = field(default_factory=dict)
    rotated: dict[str, list[Position]] = field(default_factory=dict)   # files renamed away, still draining
    state: Any = None          # the engine's MemoryState, None before the first save
    adapter: Any = None        # the lines->signals adapter's open sessions, if it has any


class StateFile:
    """``--state FILE``: load once at start, save as often as the caller likes."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> Checkpoint:
        """The saved checkpoint; an empty one when the file does not exist yet."""
        try:
            with open(self.path, "rb") as handle:
                data = pickle.load(handle)
        except FileNotFoundError:
            return Checkpoint()
        except OSError as exc:
            raise CheckpointError(f"{self.path}: cannot read the watch state: {exc.strerror}") from None
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{self.path}: not a watch state file ({exc.__class__.__name__}); "
                                  "move it away to start reading afresh") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"{self.path}: watch state of another format; move it away to start afresh")
        positions = data.get("positions")
        if not isinstance(positions, dict) or not all(isinstance(p, Position) for p in positions.values()):
            raise CheckpointError(f"{self.path}: damaged watch state (positions); move it away to start afresh")
        rotated = data.get("rotated", {})
        if not isinstance(rotated, dict) or not all(isinstance(p, Position) for ps in rotated.values() for p in ps):
            raise CheckpointError(f"{self.path}: damaged watch state (rotated files); move it away to start afresh")
        return Checkpoint(positions, rotated, data.get("state"), data.get("adapter"))

    def save(self, checkpoint: Checkpoint) -> None:
        write_atomically(self.path, pickle.dumps(
            {"format": FORMAT, "positions": checkpoint.positions, "rotated": checkpoint.rotated,
             "state": checkpoint.state, "adapter": checkpoint.adapter}, protocol=pickle.HIGHEST_PROTOCOL), mode=0o600)

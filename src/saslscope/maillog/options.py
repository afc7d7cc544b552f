"""What a run over the logs is asked to do: one frozen dataclass instead of a dozen arguments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AnalyzeOptions:
    """Options of :func:`saslscope.maillog.analyze` and :func:`saslscope.maillog.summarize`.

    ``year``: the year of the first BSD-syslog line (they carry none); None: inferred from
    ``now`` (default: the clock), and the guess is reported (``Summary.assumed_year``).
    ``since``/``until``: only events at or after / before these times.
    ``syslog_name``: a regular expression for extra Postfix ``syslog_name`` values.
    ``own_addresses``: addresses of this server (logins from them are local).
    ``keep``: ``True`` keeps every message's raw lines for ``trace``; a set of queue ids or
    Message-IDs keeps only those; None keeps none.
    ``unparsed_limit``: how many unparsed lines are kept as examples (all are counted).
    ``jobs``: processes for :func:`~saslscope.maillog.summarize` on big files.
    """

    year: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    syslog_name: str | None = None
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    keep: bool | frozenset[str] | None = None
    unparsed_limit: int = 1000
    now: datetime | None = None
    jobs: int = 1

    def __post_init__(self) -> None:
        # accept any iterable of addresses and ids; store them normalised
        object.__setattr__(self, "own_addresses", frozenset(self.own_addresses))
        keep: bool | str | Iterable[str] | None = self.keep   # callers may pass one id as a str
        if isinstance(keep, str):
            keep = frozenset({_bare_id(keep)})
        elif keep is not None and not isinstance(keep, bool):
            keep = frozenset(_bare_id(k) for k in keep)
        object.__setattr__(self, "keep", keep)


def _bare_id(text: str) -> str:
    return text.strip().strip("<>")


def ids(values: Iterable[str]) -> frozenset[str]:
    """Queue ids / Message-IDs as the options keep them (no blanks, no ``<>``)."""
    return frozenset(_bare_id(v) for v in values)

"""What every detector shares: the compiled config (allow-list, network grouping, GeoIP) and
one way to build a finding from a window's answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from saslscope.detect.addresses import AllowList, Grouping
from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Evidence, Finding, Kind, Severity
from saslscope.detect.geolookup import GeoLookup
from saslscope.detect.state import Answer, SeenAnswer, WindowCount


@dataclass(frozen=True)
class Context:
    """Built once per engine and handed to every detector."""

    config: DetectConfig
    allow: AllowList
    grouping: Grouping
    geo: GeoLookup | None = None

    @classmethod
    def of(cls, config: DetectConfig, geo: GeoLookup | None = None) -> Context:
        return cls(config, AllowList(config.allow), Grouping(config.networks), geo)


def minutes(seconds: float) -> str:
    """A window length in words: ``60 min``, ``2 h``, ``3 d``."""
    if seconds >= 86400 and seconds % 86400 == 0:
        return f"{seconds / 86400:g} d"
    if seconds >= 7200:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


def make(kind: Kind, severity: Severity | str, time: datetime, reason: str, *,
         metrics: Mapping[str, int | float | str], username: str | None = None, ip: str | None = None,
         count: WindowCount | None = None, evidence: tuple[Evidence, ...] = (), total: int | None = None,
         start: datetime | None = None, episode: tuple[str, float] | None = None) -> Finding:
    """A finding whose evidence and start come from ``count``'s kept entries (else ``evidence``;
    ``total`` counts the lines behind it when more were seen than kept)."""
    if count is not None:
        evidence, total = count.kept, count.kept_total
        if start is None and count.first is not None:
            start = datetime.fromtimestamp(count.first, time.tzinfo)
    elif total is None:
        total = len(evidence)
    if start is None:
        start = evidence[0].time if evidence and evidence[0].time is not None else time
    return Finding(kind=kind, severity=Severity.parse(severity) if isinstance(severity, str) else severity,
                   reason=reason, start=start, end=time, username=username, ip=ip, metrics=dict(metrics),
                   evidence=evidence, evidence_total=total, episode=episode)


def single(answers: Sequence[Answer]) -> WindowCount | None:
    """The one window a detector planned, or None when it planned nothing for this signal."""
    if not answers:
        return None
    (count,) = answers
    assert isinstance(count, WindowCount)
    return count


def is_new(answer: Answer, now: float, learning: float) -> bool:
    """A ``Seen`` answer for a member not known before, once the key's learning period is over."""
    assert isinstance(answer, SeenAnswer)
    return not answer.known and answer.first is not None and now - answer.first >= learning

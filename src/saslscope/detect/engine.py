"""The detection engine: detectors planned, state applied, findings judged, in event order.

:class:`Detector` is the contract every detector keeps. It is a pure function pair over the
signals it cares about: :meth:`Detector.plan` says which state operations a signal needs (a
window to add to, a network to look up), :meth:`Detector.judge` turns the answers into findings.
Neither reads a clock, a file or a socket, so the same detector serves an old log, a live log
and a live policy request; only who answers the plan differs (:class:`~saslscope.detect.state.MemoryState`
here, Redis in the policy service).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Finding
from saslscope.detect.geolookup import GeoLookup
from saslscope.detect.signals import Signal
from saslscope.detect.state import Answer, MemoryState, Once, Op, State


class Detector(Protocol):
    """A pure state machine over signals; its state lives in the backend that answers its plan."""

    @property
    def signals(self) -> tuple[type, ...]:
        """The signal types it plans and judges; the engine hands it no other."""
        ...

    def plan(self, signal: Signal) -> Sequence[Op]:
        """The state operations this signal needs, in order; empty when it needs none."""
        ...

    def judge(self, signal: Signal, answers: Sequence[Answer]) -> Sequence[Finding]:
        """Findings from the answers to :meth:`plan`'s operations (same order); called for every
        signal of its :attr:`signals` types, also when the plan was empty (a rule that needs no
        state, like a sender check)."""
        ...


class Engine:
    """Feed signals in time order, collect findings; state in memory.

    The policy service drives the same detectors against its own backend, so both fronts share
    every rule: for each signal, ``detectors = dispatch.detectors(signal)``, ``plans =
    plan_all(detectors, signal)``, one round to the backend with the flattened plans,
    ``findings = judge_all(...)``; then, only when there are findings, one more round with
    :func:`episode_ops` and :func:`settle` to keep the first finding of each episode.
    """

    def __init__(self, config: DetectConfig, detectors: Sequence[Detector] | None = None,
                 state: State | None = None, geo: GeoLookup | None = None) -> None:
        from saslscope.detect.detectors import default_detectors

        self.config = config
        self.detectors: Sequence[Detector] = detectors if detectors is not None else default_detectors(config, geo)
        self.state: State = state if state is not None else MemoryState()
        self.dispatch = Dispatch(self.detectors)

    def feed(self, signal: Signal) -> list[Finding]:
        detectors = self.dispatch.detectors(signal)
        plans = plan_all(detectors, signal)
        now = signal.time.timestamp()
        answers = self.state.apply([op for ops in plans for op in ops], now)
        findings = judge_all(detectors, signal, plans, answers)
        if not findings:
            return findings
        episodes = episode_ops(findings)
        return settle(findings, self.state.apply(episodes, now) if episodes else [])

    def feed_all(self, signals: Iterable[Signal]) -> list[Finding]:
        findings: list[Finding] = []
        for signal in signals:
            findings.extend(self.feed(signal))
        return findings


class Dispatch:
    """Which detectors judge each signal type (a detector's :attr:`Detector.signals`)."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self._all = detectors
        self._by_type: dict[type, list[Detector]] = {}

    def detectors(self, signal: Signal) -> list[Detector]:
        kind = type(signal)
        found = self._by_type.get(kind)
        if found is None:
            found = self._by_type[kind] = [d for d in self._all if kind in d.signals]
        return found


def plan_all(detectors: Sequence[Detector], signal: Signal) -> list[Sequence[Op]]:
    """Every detector's plan for one signal, one list per detector."""
    return [detector.plan(signal) for detector in detectors]


def judge_all(detectors: Sequence[Detector], signal: Signal, plans: Sequence[Sequence[Op]],
              answers: Sequence[Answer]) -> list[Finding]:
    """Hand each detector the answers to its own plan (``answers`` is every plan's, flattened)."""
    findings: list[Finding] = []
    start = 0
    for detector, ops in zip(detectors, plans, strict=True):
        mine = answers[start:start + len(ops)]
        start += len(ops)
        findings.extend(detector.judge(signal, mine))
    return findings


def episode_ops(findings: Sequence[Finding]) -> list[Op]:
    """The ``Once`` operations that decide which findings start an episode (see Finding.episode)."""
    return [Once("ep:" + f.episode[0], f.episode[1]) for f in findings if f.episode is not None]


def settle(findings: Sequence[Finding], answers: Sequence[Answer]) -> list[Finding]:
    """The findings to report: those without an episode, and the first of each episode."""
    firsts = iter(answers)
    return [f for f in findings if f.episode is None or next(firsts) is True]

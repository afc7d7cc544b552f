"""One detection engine for old logs (``logs alerts``), live logs (``logs watch``) and live
traffic (``policy serve``): pure detectors fed signals in time order, emitting findings."""

from saslscope.detect.config import ConfigError, DetectConfig
from saslscope.detect.engine import Detector, Engine
from saslscope.detect.findings import Evidence, Finding, Kind, Severity, Verdict
from saslscope.detect.signals import (
    AuthFailed,
    AuthOnlySession,
    AuthSucceeded,
    DeliveryOutcome,
    MessageSubmitted,
    Signal,
    UnauthenticatedMessage,
)

__all__ = [
    "AuthFailed", "AuthOnlySession", "AuthSucceeded", "ConfigError", "DeliveryOutcome", "DetectConfig",
    "Detector", "Engine", "Evidence", "Finding", "Kind", "MessageSubmitted", "Severity", "Signal", "UnauthenticatedMessage",
    "Verdict",
]

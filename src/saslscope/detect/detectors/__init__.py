"""The detectors, one module per family of kinds; :func:`default_detectors` is the set every
front runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from saslscope.detect.config import DetectConfig
from saslscope.detect.detectors.failures import BruteforceDetector
from saslscope.detect.detectors.quota import QuotaDetector

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.detect.engine import Detector


def default_detectors(config: DetectConfig) -> list[Detector]:
    return [BruteforceDetector(config), QuotaDetector(config)]

"""The detectors, one module per family of kinds; :func:`default_detectors` is the set every
front runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from saslscope.detect.config import DetectConfig
from saslscope.detect.detectors.activity import (
    BounceRatioDetector,
    RateLimitDetector,
    SenderMismatchDetector,
    VolumeSpikeDetector,
)
from saslscope.detect.detectors.common import Context
from saslscope.detect.detectors.failures import (
    BruteforceDetector,
    DistributedBruteforceDetector,
    GuessedPasswordDetector,
    PasswordSprayDetector,
)
from saslscope.detect.detectors.logins import (
    AuthOnlySessionsDetector,
    FingerprintDetector,
    ImpossibleTravelDetector,
    LocalLoginDetector,
    ManyIpsDetector,
    NewNetworkDetector,
)
from saslscope.detect.geolookup import GeoLookup

if TYPE_CHECKING:  # pragma: no cover
    from saslscope.detect.engine import Detector

DETECTORS = (
    BruteforceDetector, PasswordSprayDetector, DistributedBruteforceDetector, GuessedPasswordDetector,
    ManyIpsDetector, NewNetworkDetector, ImpossibleTravelDetector, AuthOnlySessionsDetector, FingerprintDetector,
    LocalLoginDetector, VolumeSpikeDetector, RateLimitDetector, BounceRatioDetector, SenderMismatchDetector,
)


def default_detectors(config: DetectConfig, geo: GeoLookup | None = None) -> list[Detector]:
    """Every detector; the geo kinds (new_country, impossible_travel, the country/ASN spread of
    many_ips) only when ``geo`` is given."""
    context = Context.of(config, geo)
    return [detector(context) for detector in DETECTORS if geo is not None or detector is not ImpossibleTravelDetector]

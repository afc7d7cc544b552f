"""What the geo kinds need to know about an address; ``detect/geo.py`` answers it from MaxMind
databases. A lookup is a read of data already loaded (memory-mapped), never a network call, so
detectors may call it directly. Without one, ``new_country``, ``impossible_travel`` and the
country/ASN spread of ``many_ips`` are skipped (the front prints one note)."""

from __future__ import annotations

import math
from typing import Protocol


class GeoLookup(Protocol):
    def country(self, ip: str) -> str | None:
        """ISO 3166 country code (``"JP"``), None when unknown or not an address."""
        ...

    def asn(self, ip: str) -> tuple[int, str] | None:
        """(AS number, organisation), None when unknown."""
        ...

    def location(self, ip: str) -> tuple[float, float] | None:
        """(latitude, longitude) in degrees, None when unknown."""
        ...


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))

"""GeoIP: country, ASN and location of a client address, from MaxMind-format databases.

``--geoip-db FILE`` (repeatable) takes GeoLite2/GeoIP2 City or Country databases and ASN
databases, or any MMDB file of the same record shapes (DB-IP's lite databases, databases made
with a writer such as ``mmdb-writer``): the kind of each is read from its metadata
(``database_type``), so the order of the options does not matter. Without any database the geo
kinds (``new_country``, ``impossible_travel``, countries in ``many_ips``) are skipped with one
note; that is never an error.

:class:`MaxMindGeo` implements :class:`saslscope.detect.geolookup.GeoLookup`. A lookup never raises: an address that is not an IP (anonymised logs carry tokens), a private
address or one absent from the database answers ``None``.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


class GeoIPError(ValueError):
    """A --geoip-db file cannot be read as a MaxMind database; the message names it."""


@functools.lru_cache(maxsize=65536)
def _address(ip: str) -> str | None:
    """The address maxminddb can look up, or None (tokens, names, ``unknown``)."""
    text = ip.removeprefix("IPv6:")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass
class MaxMindGeo:
    """Lookups over one or more open MMDB readers; the first database that knows an address wins."""

    paths: Sequence[str]
    _location: list[Any] = field(default_factory=list, repr=False)    # City/Country readers
    _asn: list[Any] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        import maxminddb  # imported only when a database is given

        for path in self.paths:
            try:
                reader = maxminddb.open_database(os.fspath(path))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                raise GeoIPError(f"{path}: not a readable MaxMind database ({exc})") from None
            kind = str(reader.metadata().database_type).lower()
            (self._asn if "asn" in kind else self._location).append(reader)

    def close(self) -> None:
        for reader in (*self._location, *self._asn):
            reader.close()

    def _record(self, readers: Iterable[Any], ip: str) -> dict[str, Any] | None:
        address = _address(ip)  # cached: a log repeats its addresses
        if address is None:
            return None
        for reader in readers:
            try:
                record = reader.get(address)
            except (ValueError, TypeError):  # e.g. an IPv6 address in an IPv4-only database
                continue
            if isinstance(record, dict):
                return record
        return None

    def country(self, ip: str) -> str | None:
        record = self._record(self._location, ip)
        if record is None:
            return None
        for key in ("country", "registered_country"):
            entry = record.get(key)
            if isinstance(entry, dict) and isinstance(entry.get("iso_code"), str):
                return str(entry["iso_code"]).upper()
        return None

    def asn(self, ip: str) -> tuple[int, str] | None:
        record = self._record(self._asn, ip)
        if record is None or not isinstance(record.get("autonomous_system_number"), int):
            return None
        return int(record["autonomous_system_number"]), str(record.get("autonomous_system_organization", ""))

    def location(self, ip: str) -> tuple[float, float] | None:
        record = self._record(self._location, ip)
        entry = record.get("location") if record else None
        if not isinstance(entry, dict):
            return None
        lat, lon = entry.get("latitude"), entry.get("longitude")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            return float(lat), float(lon)
        return None


def open_geoip(paths: Sequence[str]) -> MaxMindGeo | None:
    """The lookups for ``--geoip-db`` files, or None when none was given."""
    return MaxMindGeo(list(paths)) if paths else None

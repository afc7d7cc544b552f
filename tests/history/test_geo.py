from __future__ import annotations

from pathlib import Path

import pytest

from saslscope.detect.geo import GeoIPError, MaxMindGeo, open_geoip
from tests.history.conftest import asn_db, city_db


def test_country_asn_and_location_from_city_and_asn_databases_in_any_order(tmp_path: Path) -> None:
    geo = MaxMindGeo([str(asn_db(tmp_path)), str(city_db(tmp_path))])
    assert geo.country("192.0.2.7") == "JP"
    assert geo.country("198.51.100.9") == "DE"                  # upper-cased
    assert geo.country("IPv6:2001:db8::1") == "US"              # Postfix's IPv6 prefix; registered country
    assert geo.asn("198.51.100.9") == (64501, "Example DE")
    assert geo.location("192.0.2.7") == pytest.approx((35.69, 139.69))
    assert geo.location("2001:db8::1") is None
    geo.close()


@pytest.mark.parametrize("ip", ["203.0.113.5", "unknown", "mailhost-token-3f2a", "", "::ffff:zz", "10.0.0.1"])
def test_unknown_addresses_and_tokens_answer_none(tmp_path: Path, ip: str) -> None:
    geo = MaxMindGeo([str(city_db(tmp_path)), str(asn_db(tmp_path))])
    assert (geo.country(ip), geo.asn(ip), geo.location(ip)) == (None, None, None)


def test_no_database_means_no_lookups_and_a_bad_file_a_clear_error(tmp_path: Path) -> None:
    assert open_geoip([]) is None
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(GeoIPError, match=r"bad\.mmdb"):
        open_geoip([str(bad)])

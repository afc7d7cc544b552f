from __future__ import annotations

import io
import json
import sqlite3
from datetime import datetime
from pathlib import Path

from benchmarks import genlog

#: genlog writes September stamps without a year: read them as of this date
NOW = datetime(2026, 10, 1, 12, 0, 0)


def make_log(lines: int, seed: int) -> bytes:
    out = io.StringIO()
    genlog.generate(lines, seed, out)
    return out.getvalue().encode()


def _without_sources(text: str) -> tuple[object, ...]:
    """What a run left open, without the file and line its evidence was read at (a rotated log
    numbers its lines anew) and the TLS cipher (smtpd sessions are not carried: a session's TLS
    line before a cut is not known after it; the store keeps no cipher for that reason)."""
    data = json.loads(text)
    for login in data["logins"].values():
        login["evidence"] = login["evidence"][2:]
        del login["tls_cipher"]
    return (json.dumps(data, sort_keys=True),)


def snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every count the store holds, in a comparable order (events without where they were read)."""
    conn = sqlite3.connect(db)
    try:
        return {
            "accounts": conn.execute("SELECT * FROM accounts ORDER BY name").fetchall(),
            "seen": conn.execute("SELECT * FROM seen ORDER BY account, dimension, value").fetchall(),
            "volume": conn.execute("SELECT * FROM volume ORDER BY account, hour").fetchall(),
            "events": conn.execute("SELECT time, kind, account, ip, network, country, asn, method, service, text "
                                   "FROM events ORDER BY time, text").fetchall(),
            "carry": [_without_sources(data) for (data,) in conn.execute("SELECT data FROM carry")],
        }
    finally:
        conn.close()


def write_mmdb(path: Path, database_type: str, networks: dict[str, dict[str, object]]) -> Path:
    """A small MaxMind-format database (IPv6 tree with IPv4 mapped, as GeoLite2 ships them)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type,
                        languages=["en"], description="saslscope test")
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def city_db(tmp: Path) -> Path:
    return write_mmdb(tmp / "city.mmdb", "GeoLite2-City", {
        "192.0.2.0/24": {"country": {"iso_code": "JP"}, "location": {"latitude": 35.69, "longitude": 139.69}},
        "198.51.100.0/24": {"country": {"iso_code": "de"}, "location": {"latitude": 52.52, "longitude": 13.40}},
        "2001:db8::/32": {"registered_country": {"iso_code": "US"}},
    })


def asn_db(tmp: Path) -> Path:
    return write_mmdb(tmp / "asn.mmdb", "GeoLite2-ASN", {
        "192.0.2.0/24": {"autonomous_system_number": 64500, "autonomous_system_organization": "Example JP"},
        "198.51.100.0/24": {"autonomous_system_number": 64501, "autonomous_system_organization": "Example DE"},
    })

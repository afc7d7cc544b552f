from __future__ import annotations

import io
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
            "pending": conn.execute("SELECT * FROM pending ORDER BY host, queue_id").fetchall(),
        }
    finally:
        conn.close()

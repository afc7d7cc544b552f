"""The history store's SQLite schema and its migrations.

The schema version is SQLite's ``PRAGMA user_version``. :data:`MIGRATIONS` is a list of SQL
scripts, the n-th taking a database from version n to n+1; a store is brought up to date when
it is opened for writing (inside one transaction, so a failed migration leaves the old schema),
and a reader refuses a store newer than it knows rather than guess at its columns.

Times are Unix seconds (REAL, UTC); ``hour`` is ``int(time // 3600)``.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1
    """
    CREATE TABLE files (
        id          INTEGER PRIMARY KEY,
        fingerprint BLOB NOT NULL,        -- sha256 of the first fp_len bytes (decompressed)
        fp_len      INTEGER NOT NULL,
        offset      INTEGER NOT NULL,     -- bytes of whole lines read (of the decompressed stream)
        lines       INTEGER NOT NULL,     -- lines up to offset: line numbers resume from here
        complete    INTEGER NOT NULL DEFAULT 0,  -- a compressed (immutable) file read to its end
        year        INTEGER,              -- BSD timestamp year inference where reading stopped
        last_month  INTEGER,
        name        TEXT NOT NULL,        -- the name it had when last read
        last_read   REAL NOT NULL,
        UNIQUE (fp_len, fingerprint)
    );
    CREATE TABLE accounts (
        name        TEXT PRIMARY KEY,
        first_seen  REAL NOT NULL,
        last_seen   REAL NOT NULL,
        logins      INTEGER NOT NULL DEFAULT 0,
        failures    INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    -- what an account used: dimension is address, network, country, asn, method or helo
    CREATE TABLE seen (
        account     TEXT NOT NULL,
        dimension   TEXT NOT NULL,
        value       TEXT NOT NULL,
        first_seen  REAL NOT NULL,
        last_seen   REAL NOT NULL,
        count       INTEGER NOT NULL,
        PRIMARY KEY (account, dimension, value)
    ) WITHOUT ROWID;
    CREATE TABLE volume (
        account     TEXT NOT NULL,
        hour        INTEGER NOT NULL,
        messages    INTEGER NOT NULL DEFAULT 0,
        recipients  INTEGER NOT NULL DEFAULT 0,
        bounced     INTEGER NOT NULL DEFAULT 0,
        deferred    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account, hour)
    ) WITHOUT ROWID;
    -- logins and failures with the line that proves them
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        time        REAL NOT NULL,
        kind        TEXT NOT NULL,        -- login | failure
        account     TEXT,                 -- NULL: a failure whose log did not name the account
        ip          TEXT NOT NULL,
        network     TEXT NOT NULL,
        country     TEXT,
        asn         INTEGER,
        method      TEXT,
        service     TEXT NOT NULL,
        source      TEXT NOT NULL,        -- file name when read
        line        INTEGER NOT NULL,
        text        TEXT NOT NULL
    );
    CREATE INDEX events_account_time ON events (account, time);
    CREATE INDEX events_time ON events (time);
    -- what a run left open (messages waiting for their qmgr line...), as one JSON document
    -- per reader: the next run takes it up, so a cut between two runs changes no count
    CREATE TABLE carry (
        name        TEXT PRIMARY KEY,
        data        TEXT NOT NULL
    );
    CREATE TABLE findings (
        id          INTEGER PRIMARY KEY,
        time        REAL NOT NULL,        -- end of the finding's window
        kind        TEXT NOT NULL,
        severity    INTEGER NOT NULL,
        username    TEXT,
        ip          TEXT,
        start       REAL,
        data        TEXT NOT NULL         -- Finding.to_dict() as JSON
    );
    CREATE UNIQUE INDEX findings_once ON findings (kind, coalesce(username, ''), coalesce(ip, ''),
                                                   coalesce(start, 0), time);
    CREATE INDEX findings_user ON findings (username, time);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The store was written by a newer saslscope, or is not a history store at all."""


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`, one migration per transaction step."""
    current = version(conn)
    if current > SCHEMA_VERSION:
        raise SchemaError(f"history store has schema version {current}; this saslscope knows up to "
                          f"{SCHEMA_VERSION}: upgrade saslscope")
    for target in range(current, SCHEMA_VERSION):
        with conn:  # one transaction: DDL is transactional in SQLite
            conn.execute("BEGIN IMMEDIATE")
            if version(conn) != target:   # another process migrated meanwhile
                continue
            for statement in _statements(MIGRATIONS[target]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target + 1}")


def check(conn: sqlite3.Connection) -> None:
    """For a read-only opener: refuse a store of another schema version."""
    current = version(conn)
    if current != SCHEMA_VERSION:
        raise SchemaError(f"history store has schema version {current}, expected {SCHEMA_VERSION}"
                          + (": upgrade saslscope" if current > SCHEMA_VERSION else ": open it with --db once to migrate"))


def _statements(script: str) -> list[str]:
    """Split a migration script on ``;`` (the scripts hold no ``;`` inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]

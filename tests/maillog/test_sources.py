"""Inputs: rotated sets in time order, compression by magic bytes, stdin, damaged files."""

from __future__ import annotations

import bz2
import gzip
import lzma

import zstandard

from saslscope.maillog import analyze
from saslscope.maillog.sources import Warnings, expand

from maillog_data import iter_lines


def line(n: int, month: str = "Sep") -> bytes:
    return (f"{month} 17 12:00:{n:02d} mail postfix/smtpd[{n}]: C3CD21F3E{n:02d}: client=a[192.0.2.{n}], "
            f"sasl_method=PLAIN, sasl_username=user{n}\n").encode()


def test_rotated_set_is_read_oldest_first_with_every_compression(tmp_path):
    (tmp_path / "maillog").write_bytes(line(5))
    (tmp_path / "maillog.1").write_bytes(line(4))
    (tmp_path / "maillog.2.gz").write_bytes(gzip.compress(line(3)))
    (tmp_path / "maillog.3.bz2").write_bytes(bz2.compress(line(2)))
    (tmp_path / "maillog.4.xz").write_bytes(lzma.compress(line(1)))
    (tmp_path / "maillog.5.zst").write_bytes(zstandard.ZstdCompressor().compress(line(0)))
    names = [p.rsplit("/", 1)[1] for p in expand([str(tmp_path)])]
    assert names == ["maillog.5.zst", "maillog.4.xz", "maillog.3.bz2", "maillog.2.gz", "maillog.1", "maillog"]
    users = [r["username"] for r in analyze([tmp_path]).logins()]
    assert users == [f"user{n}" for n in range(6)]


def test_files_given_in_any_order_are_sorted_per_rotated_set(tmp_path):
    for name in ("mail.log", "mail.log.1", "mail.log-20261101.gz", "other.log"):
        (tmp_path / name).write_bytes(b"")
    given = [str(tmp_path / n) for n in ("mail.log", "other.log", "mail.log.1", "mail.log-20261101.gz")]
    assert [p.rsplit("/", 1)[1] for p in expand(given)] == ["mail.log.1", "mail.log-20261101.gz", "mail.log",
                                                           "other.log"]


def test_damaged_input_never_crashes_and_loses_only_the_damage(tmp_path):
    blob = gzip.compress(line(1) + line(2) * 2000)
    (tmp_path / "cut.gz").write_bytes(blob[: len(blob) // 2])          # a compressed file cut short
    warnings = Warnings()
    got = list(iter_lines([str(tmp_path / "cut.gz")], warnings))
    assert got and got[0][2] == line(1).rstrip(b"\n")
    assert warnings.messages and "ends early" in warnings.messages[0]

    (tmp_path / "junk.log").write_bytes(b"\xff\xfe\x00binary\x00\n" + b"x" * (1 << 20) + b"\n" + line(3)[:30])
    a = analyze([tmp_path / "junk.log"])
    assert a.lines.total == 3 and a.lines.unparsed == 3     # junk, the 1 MB line, the line cut mid-way


def test_crlf_and_invalid_utf8_in_a_user_name(tmp_path):
    data = line(1).replace(b"user1", b"us\xe9r1").replace(b"\n", b"\r\n")
    (tmp_path / "log").write_bytes(data)
    [u] = analyze([tmp_path / "log"]).summary()["users"]
    assert u["username"] == "us\ufffdr1"

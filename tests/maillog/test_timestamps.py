from __future__ import annotations

from datetime import datetime

import pytest

from saslscope.maillog.timestamps import TimestampParser, YearTracker, parse_when


def test_year_is_inferred_from_now_and_advances_at_the_december_turn():
    years = YearTracker(now=datetime(2027, 1, 5))
    assert years.year_for(12, 30) == 2026          # December read in January: last year
    assert years.year_for(12, 31) == 2026
    assert years.year_for(1, 1) == 2027            # the turn
    assert years.year_for(1, 4) == 2027


def test_given_year_and_month_end_jitter():
    years = YearTracker(year=2018)
    assert [years.year_for(m, 1) for m in (9, 10, 9, 10, 11, 12, 1)] == [2018] * 6 + [2019]


def test_bsd_parser_caches_and_rejects_nonsense():
    p = TimestampParser(year=2018)
    assert p.bsd(b"Sep 17 12:49:26") == p.bsd(b"Sep 17 12:49:26")
    assert p.bsd(b"Foo 17 12:49:26") is None
    assert p.bsd(b"Feb 31 12:49:26") is None


@pytest.mark.parametrize("text", ["2026-11-28", "2026-11-28 12:00", "2026-11-28T12:00:00+09:00"])
def test_since_until_values(text):
    assert parse_when(text).tzinfo is not None


def test_bad_since_value():
    with pytest.raises(ValueError):
        parse_when("yesterday")

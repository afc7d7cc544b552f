"""Fixtures of the policy tests: a real redis-server (tests/redis_server.py), per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import REDIS_SERVER, RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh, empty redis-server on a free 127.0.0.1 port, stopped after the test."""
    if not os.access(REDIS_SERVER, os.X_OK) and not shutil.which("redis-server"):
        if os.environ.get("CI") == "true" or os.environ.get("SASLSCOPE_REQUIRE_LAB") == "1":
            pytest.fail("redis-server is required here (CI): scripts/bootstrap installs it", pytrace=False)
        pytest.skip("redis-server is not installed (scripts/bootstrap installs it)")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def log_lines(name: str) -> list[str]:
    """A data file's log lines (comment lines starting with '#' are documentation, not log)."""
    return [ln for ln in (DATA / name).read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]


@pytest.fixture
def data_dir() -> Path:
    return DATA

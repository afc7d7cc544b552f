from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def log_lines(name: str) -> list[str]:
    """A data file's log lines (comment lines starting with '#' are documentation, not log)."""
    return [ln for ln in (DATA / name).read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]


def without_times(data):
    """Year inference sees only the lines that are parsed; on logs out of time order (sample
    collections) the inferred years may differ, so those are compared without times."""
    if isinstance(data, dict):
        return {k: without_times(v) for k, v in data.items() if not k.endswith(("_seen", "end", "time"))}
    if isinstance(data, list):
        return [without_times(v) for v in data]
    return data


@pytest.fixture
def data_dir() -> Path:
    return DATA


def iter_lines(paths, warnings=None):
    """``(source, line_number, line)`` of every line of every input, as the pipeline reads them."""
    from saslscope.maillog.feed import numbered
    from saslscope.maillog.sources import Warnings, expand, iter_blocks

    warnings = warnings if warnings is not None else Warnings()
    for path in expand(paths, warnings):
        for number, line in numbered(iter_blocks(path, warnings), None, None):
            yield path, number, line[:-1] if line.endswith(b"\r") else line

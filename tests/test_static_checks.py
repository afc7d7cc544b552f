"""The static checks are part of the suite: ``mypy --strict src/`` and ``ruff check``.

Both run as real subprocesses of this venv's Python, with the configuration in pyproject.toml
(the rule set and why is there), so that the README's one test command covers them and a new
type error or lint finding fails the suite with the tool's own report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: a bound, not a timing: a cold mypy run of src/ takes well under a minute
TIMEOUT = 600

CHECKS = {
    "mypy": ["mypy", "--strict", "src/"],
    "ruff": ["ruff", "check", "--no-fix", "src", "tests", "benchmarks"],
}


@pytest.mark.parametrize("tool", sorted(CHECKS))
def test_static_check_passes(tool: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *CHECKS[tool]], cwd=ROOT, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=TIMEOUT, check=False,
    )
    assert result.returncode == 0, f"{' '.join(CHECKS[tool])} failed:\n{result.stdout}{result.stderr}"

"""Fixtures shared across test areas.

``postfix_lab``: one real Postfix + Dovecot + Cyrus lab (``tests/interop/lab.py``) per test
session, used by the interop tests and by the server's Postfix-twin test. It starts on first
use and is stopped when the session ends, also after failures or Ctrl-C. Without root or the
Debian packages the tests that need it are skipped with the reason, except in CI (``CI=true``)
or with ``SASLSCOPE_REQUIRE_LAB=1``, where that is a failure: a broken CI machine must not pass
by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.interop.lab import LabError, PostfixLab, lab_unavailable_reason


def _lab_required() -> bool:
    return os.environ.get("SASLSCOPE_REQUIRE_LAB") == "1" or os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def postfix_lab() -> Iterator[PostfixLab]:
    """A running private Postfix lab on 127.0.0.1 (ports in ``postfix_lab.ports``)."""
    reason = lab_unavailable_reason()
    if reason:
        if _lab_required():
            pytest.fail(f"the real-server lab is required here (CI) but {reason}", pytrace=False)
        pytest.skip(reason)
    lab = PostfixLab()
    try:
        lab.start()
    except LabError as exc:
        pytest.fail(f"the Postfix lab did not start: {exc}", pytrace=False)
    try:
        yield lab
    finally:
        lab.stop()

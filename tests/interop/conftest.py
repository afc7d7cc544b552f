"""Fixtures for the interop tests: one real Postfix + Dovecot + Cyrus lab per test session.

The lab (see ``lab.py``) starts once, on first use, and is stopped when the session ends,
also after failures or Ctrl-C. Without root or without the Debian packages the tests that
need it are skipped with the reason; set ``SASLSCOPE_REQUIRE_LAB=1`` (CI can) to turn that
skip into a failure, so that a broken CI machine cannot pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from lab import LabError, PostfixLab, lab_unavailable_reason


@pytest.fixture(scope="session")
def postfix_lab() -> Iterator[PostfixLab]:
    """A running private Postfix lab on 127.0.0.1 (ports in ``postfix_lab.ports``)."""
    reason = lab_unavailable_reason()
    if reason:
        if os.environ.get("SASLSCOPE_REQUIRE_LAB") == "1":
            pytest.fail(f"SASLSCOPE_REQUIRE_LAB=1 but {reason}", pytrace=False)
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

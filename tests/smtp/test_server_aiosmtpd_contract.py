"""``serve`` subclasses aiosmtpd's ``SMTP`` and relies on some of its private names. This
pins them: an aiosmtpd upgrade that renames one fails here, not in production, and a private
method of ours can no longer override one of aiosmtpd's by accident (``_authenticate`` once
did: aiosmtpd's ``auth_PLAIN``/``auth_LOGIN`` call it)."""

from __future__ import annotations

import asyncio
import inspect

from aiosmtpd.smtp import SMTP

from saslscope.smtp.server.session import SubmissionSession

#: aiosmtpd methods SubmissionSession overrides on purpose
INTENDED_OVERRIDES = {"_handle_client", "_timeout_cb", "_create_envelope"}
#: aiosmtpd methods it calls
CALLED_METHODS = {"_handle_client", "_timeout_cb", "_set_rset_state"}
#: aiosmtpd instance attributes it reads or sets (STARTTLS, timeouts, the command table)
INSTANCE_ATTRIBUTES = {"_original_transport", "_tls_protocol", "_timeout_handle", "_smtp_methods"}


def _private_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable) if name.startswith("_") and not name.startswith("__")}


def test_no_private_method_of_ours_overrides_one_of_aiosmtpd_by_accident():
    ours = {name for name in vars(SubmissionSession) if name.startswith("_") and not name.startswith("__")}
    assert ours & _private_methods(SMTP) == INTENDED_OVERRIDES


def test_the_aiosmtpd_methods_relied_on_still_exist():
    assert _private_methods(SMTP) >= CALLED_METHODS | INTENDED_OVERRIDES


def test_the_aiosmtpd_instance_attributes_relied_on_still_exist():
    async def make() -> SMTP:
        return SMTP(object())

    smtp = asyncio.run(make())
    assert all(hasattr(smtp, name) for name in INSTANCE_ATTRIBUTES)
    # the stream reader is created when a connection is made
    assert "self._reader" in inspect.getsource(SMTP.connection_made)

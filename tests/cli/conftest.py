"""The fixtures of tests/server (a real ``saslscope serve`` with its PKI and users), shared here."""

from tests.server.conftest import passwd_path, pki, server  # noqa: F401  (fixtures are found by name)

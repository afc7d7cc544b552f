"""Shared helpers for the SASL tests."""

from __future__ import annotations

from saslscope.sasl.base import Challenge, ClientMechanism, ServerMechanism, Success


def run_exchange(client: ClientMechanism, server: ServerMechanism) -> Success:
    """Drive a client and a server against each other until the server decides."""
    outcome = server.step(client.initial_response())
    while isinstance(outcome, Challenge):
        outcome = server.step(client.respond(outcome.data))
    if outcome.final_data is not None:
        assert client.respond(outcome.final_data) == b""
    return outcome

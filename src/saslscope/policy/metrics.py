"""``--metrics HOST:PORT``: Prometheus metrics of the policy service (prometheus-client).

Labels are bounded sets only: the protocol stage, the action, the rule (a detector kind and
its config key), the backend and the error class. Never a user name or an address: a
well-known exporter had to drop its username label after it made 35,000 series a week.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

#: decision latency buckets (seconds): the service aims at well under a millisecond in memory
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

#: protocol_state values Postfix sends; anything else is counted as "other"
STATES = ("CONNECT", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE", "VRFY", "ETRN")


class Metrics:
    """The service's counters, in a registry of their own (several services in one process,
    as in the tests, do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        requests = Counter("saslscope_policy_requests", "Policy requests answered, by protocol_state",
                           ["state"], registry=self.registry)
        self._requests = {state: requests.labels(state) for state in (*STATES, "other")}
        self._answers = Counter("saslscope_policy_answers", "Answers by action and by the rule that fired",
                                ["action", "rule"], registry=self.registry)
        self._answer_children: dict[tuple[str, str], Counter] = {}
        self.latency = Histogram("saslscope_policy_decision_seconds", "Time from a complete request to its answer",
                                 buckets=BUCKETS, registry=self.registry)
        self._backend_errors = Counter("saslscope_policy_backend_errors", "State backend calls that failed or timed out",
                                       ["backend", "error"], registry=self.registry)
        self.protocol_errors = Counter("saslscope_policy_protocol_errors",
                                       "Connections closed for breaking the protocol", registry=self.registry)
        self.connections = Gauge("saslscope_policy_connections", "Open policy connections", registry=self.registry)
        self.refused = Counter("saslscope_policy_connections_refused", "Connections closed at once: max_connections reached",
                               registry=self.registry)

    def request(self, state: str) -> None:
        (self._requests.get(state) or self._requests["other"]).inc()

    def answer(self, action: str, rule: str) -> None:
        child = self._answer_children.get((action, rule))
        if child is None:
            child = self._answer_children[(action, rule)] = self._answers.labels(action, rule)
        child.inc()

    def backend_error(self, backend: str, error: str) -> None:
        self._backend_errors.labels(backend, error).inc()

    def serve(self, host: str, port: int) -> None:
        """Expose ``/metrics`` on host:port (a daemon thread)."""
        start_http_server(port, addr=host, registry=self.registry)

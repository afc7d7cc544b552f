"""policy serve --db: the accounts' networks learnt by `logs alerts --db` from weeks of logs are
the policy service's baseline too, so a login from a network the account has used for weeks is
not new, and one from elsewhere is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from saslscope.detect import DetectConfig, Kind
from saslscope.detect.detectors import default_detectors
from saslscope.history import BaselineReader, HistoryState, HistoryStore, ingest
from saslscope.policy.decide import ConnectionState, Decider
from saslscope.policy.metrics import Metrics
from saslscope.policy.protocol import PolicyRequest
from saslscope.policy.service import build_parts

ALICE = "alice@x.test"


def _store(tmp_path: Path) -> Path:
    lines = [("2026-09-01T10:00:00Z", 1), ("2026-09-20T10:00:00Z", 2)]
    log = tmp_path / "mail.log"
    log.write_text("".join(
        f"{when} mail postfix/submission/smtpd[{100 + i}]: {i + 0x3F2A1000:X}: client=h[192.0.2.5], sasl_method=PLAIN, "
        f"sasl_username={ALICE}\n{when} mail postfix/qmgr[9]: {i + 0x3F2A1000:X}: from=<{ALICE}>, size=9, nrcpt=1 "
        f"(queue active)\n" for when, i in lines))
    db = tmp_path / "history.db"
    with HistoryStore(db) as store:
        ingest(store, [str(log)])
    return db


def _kinds(decider: Decider, state: HistoryState, ip: str, instance: str) -> set[Kind]:
    now = datetime.fromisoformat("2026-10-01T09:00:00+00:00").timestamp()
    request = PolicyRequest({"request": "smtpd_access_policy", "protocol_state": "RCPT", "client_address": ip,
                             "sasl_username": ALICE, "sasl_method": "PLAIN", "instance": instance, "sender": ALICE})
    pending = decider.begin(request, ConnectionState(), now)
    outcome = decider.finish(pending, state.apply(pending.ops, now))
    return {finding.kind for finding, _ in outcome.findings}


def test_the_history_store_is_the_policy_services_baseline(tmp_path: Path) -> None:
    db = _store(tmp_path)
    config = DetectConfig()
    decider = Decider(config, default_detectors(config), metrics=Metrics())
    state = HistoryState(BaselineReader(db))
    assert Kind.NEW_NETWORK not in _kinds(decider, state, "192.0.2.77", "i1")     # its network for weeks
    assert Kind.NEW_NETWORK in _kinds(decider, state, "203.0.113.9", "i2")        # never seen
    # memory alone knows nothing of September: the account is still in its learning period
    alone = HistoryState(None)
    assert Kind.NEW_NETWORK not in _kinds(decider, alone, "203.0.113.9", "i3")


def test_build_parts_reads_the_store_for_the_memory_backend(tmp_path: Path) -> None:
    parts = build_parts(DetectConfig(), history_db=str(_store(tmp_path)))
    assert isinstance(getattr(parts.backend, "state", None), HistoryState)

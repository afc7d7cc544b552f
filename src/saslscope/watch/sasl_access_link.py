"""``logs watch --postfix-sasl-access FILE``: the ``check_sasl_access`` table kept in step with
the live verdicts (the table itself, its format and ``postmap`` are
:mod:`saslscope.enforce.sasl_access`).

Each finding updates its account's verdict (the same scoring as ``logs alerts``, over the
account's most recent findings); when an account reaches ``at_least`` (or a worse verdict), the
table is rewritten and compiled on a worker thread, so ``postmap`` never holds up reading. Bursts
coalesce into one rewrite. Accounts already in the table when watch starts (its own earlier
writes) stay in it: a restart lifts no hold. Removing an account is the admin's decision: delete
its line, run ``postmap``; watch adds it again only on a new finding.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque

from saslscope.detect.config import DetectConfig
from saslscope.detect.findings import Finding, Verdict
from saslscope.detect.verdicts import verdict_of
from saslscope.enforce.sasl_access import Account, SaslAccessError, write_table

log = logging.getLogger("saslscope.watch")

#: findings remembered per account for its verdict, and accounts remembered (least recent dropped)
FINDINGS_PER_ACCOUNT = 50
ACCOUNTS = 10_000
_RANK = {Verdict.NORMAL: 0, Verdict.SUSPICIOUS: 1, Verdict.COMPROMISED: 2}


def listed(path: str) -> dict[str, Account]:
    """The accounts a table written before lists (its keys; the verdict from the HOLD text)."""
    found: dict[str, Account] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#") or not line.strip():
                    continue
                name, _, rest = line.rstrip("\n").partition(" ")
                verdict = Verdict.SUSPICIOUS if "saslscope suspicious" in rest else Verdict.COMPROMISED
                found[name] = Account(name, verdict)
    except FileNotFoundError:
        pass
    return found


class SaslAccessUpdater:
    def __init__(self, path: str, config: DetectConfig, *, at_least: Verdict = Verdict.COMPROMISED,
                 action: str = "HOLD", postmap: str = "postmap", config_dir: str | None = None) -> None:
        self.path = path
        self.thresholds = config.verdicts
        self.at_least = at_least
        self.action = action
        self.postmap = postmap
        self.config_dir = config_dir
        self.flagged = listed(path)
        self.writes = 0
        self.failures = 0
        self._findings: OrderedDict[str, deque[Finding]] = OrderedDict()
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._changed = False
        self._stop = False
        self._thread = threading.Thread(target=self._work, name="saslscope-sasl-access", daemon=True)
        self._thread.start()

    def submit(self, finding: Finding) -> None:
        """Fold one finding in; returns at once."""
        name = finding.username
        if name is None:
            return
        recent = self._findings.pop(name, None) or deque(maxlen=FINDINGS_PER_ACCOUNT)
        recent.append(finding)
        self._findings[name] = recent
        if len(self._findings) > ACCOUNTS:
            self._findings.popitem(last=False)
        verdict, _ = verdict_of(list(recent), self.thresholds)
        before = self.flagged.get(name)
        if _RANK[verdict] < _RANK[self.at_least] or (before is not None and _RANK[before.verdict] >= _RANK[verdict]):
            return
        with self._lock:
            self.flagged[name] = Account(name, verdict, tuple(sorted({str(f.kind) for f in recent})))
            self._changed = True
        log.warning("%s: %s is %s: adding it to the table", self.path, name.encode("unicode_escape").decode(),
                    verdict)
        self._dirty.set()

    def _work(self) -> None:
        while True:
            self._dirty.wait()
            self._dirty.clear()
            with self._lock:
                accounts, changed, stop = list(self.flagged.values()), self._changed, self._stop
                self._changed = False
            if changed:
                self._write(accounts)
            if stop:
                return

    def _write(self, accounts: list[Account]) -> None:
        try:
            written = write_table(self.path, accounts, at_least=self.at_least, action=self.action,
                                  postmap=self.postmap, config_dir=self.config_dir)
        except (SaslAccessError, OSError) as exc:
            self.failures += 1
            log.warning("%s", exc)
            return
        self.writes += 1
        for name in written.refused:
            log.warning("%s: %r cannot be a table key: not written", self.path, name)

    def close(self, wait: float = 30.0) -> None:
        """Finish a pending rewrite (up to ``wait`` seconds), then stop the worker."""
        with self._lock:
            self._stop = True
        self._dirty.set()
        self._thread.join(wait)


__all__ = ["SaslAccessUpdater", "listed"]

"""The history store: what is normal for each account, learned from every log ever read.

* :mod:`.store` — the SQLite file (WAL, versioned schema): writer and time-bounded reader.
* :mod:`.files` — which bytes of a log are new (files recognised by their first bytes).
* :mod:`.ingest` — incremental, idempotent ingest of logs into counts and events.
* :mod:`.state` — a detector state backend answering from memory and the store's baselines.
* :mod:`.dossier` — one account's baseline, recent logins and findings (``logs account``).
"""

from saslscope.history.ingest import Ingest, Recorder, ingest
from saslscope.history.state import HistoryState
from saslscope.history.store import BaselineReader, HistoryStore, StoreError

__all__ = ["BaselineReader", "HistoryState", "HistoryStore", "Ingest", "Recorder", "StoreError", "ingest"]

"""The lab's own life cycle: a lab left behind by a killed test run must not block the next.

These start a second, independent lab (own directory, own ports) next to the session's
one, so they do not disturb it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.lab import ALICE, LabError, LabPorts, PostfixLab, lab_unavailable_reason, process_alive

from interop_tools import swaks

pytestmark = pytest.mark.interop

OTHER_PORTS = LabPorts(smtp=20025, submission=20587, submissions=20465, cleartext_auth=22525, cyrus=22587)


@pytest.fixture
def lab_root() -> Iterator[Path]:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    # not pytest's tmp_path: that is mode 0700, and postfix/nobody must traverse the lab
    root = Path(tempfile.mkdtemp(prefix="saslscope-lab-test-"))
    root.chmod(0o755)
    yield root / "lab"
    PostfixLab(root / "lab", OTHER_PORTS).stop()  # whatever a failed test left running
    shutil.rmtree(root, ignore_errors=True)


def test_a_lab_left_by_a_killed_run_is_stopped_and_replaced(lab_root: Path) -> None:
    # A test run that dies hard (SIGKILL) leaves the daemons running and releases its lock.
    starter = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from lab import LabPorts, PostfixLab
        PostfixLab(Path({str(lab_root)!r}), LabPorts(*{OTHER_PORTS.all()!r})).start()
        print("started", flush=True)
        time.sleep(600)
    """)
    doomed = subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True)
    try:
        assert doomed.stdout.readline().strip() == "started"
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
    stale = PostfixLab(lab_root, OTHER_PORTS).running_pids()
    assert len(stale) == 2 and all(process_alive(pid) for pid in stale)

    lab = PostfixLab(lab_root, OTHER_PORTS)
    with lab:
        fresh = lab.running_pids()
        assert len(fresh) == 2 and not set(fresh) & set(stale)
        assert not any(process_alive(pid) for pid in stale)
        login = swaks(lab, lab.ports.submission, "--quit-after", "AUTH", mech="PLAIN", user=ALICE.address, password=ALICE.password)
        assert login.returncode == 0, login.stdout
    assert lab.running_pids() == []
    assert not any(process_alive(pid) for pid in fresh)


def test_a_busy_port_is_refused_with_its_number(lab_root: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", OTHER_PORTS.cyrus))
        squatter.listen()
        with pytest.raises(LabError, match=str(OTHER_PORTS.cyrus)):
            PostfixLab(lab_root, OTHER_PORTS).start()


def test_a_directory_the_lab_did_not_create_is_never_wiped(lab_root: Path) -> None:
    lab_root.mkdir()
    precious = lab_root / "precious.txt"
    precious.write_text("not the lab's\n")
    with pytest.raises(LabError, match="not a saslscope lab"):
        PostfixLab(lab_root, OTHER_PORTS).start()
    assert precious.read_text() == "not the lab's\n"

"""The command layer itself: lazy subcommands, version, exit statuses."""

from click.testing import CliRunner

from saslscope.cli import _COMMANDS, cli
from saslscope.cli.exitcodes import Exit


def test_every_listed_command_imports_and_has_help():
    runner = CliRunner()
    for name in _COMMANDS:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == Exit.USAGE


def test_exit_statuses_are_distinct():
    values = [member.value for member in Exit]
    assert len(values) == len(set(values))


def test_ctrl_c_exits_130_not_the_rejected_login_status(monkeypatch):
    import click
    import pytest

    from saslscope import cli as cli_module

    @click.command()
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.LazyGroup, "get_command", lambda self, ctx, name: interrupted)
    monkeypatch.setattr("sys.argv", ["saslscope", "interrupted"])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == Exit.INTERRUPTED == 130


def test_main_passes_command_exit_statuses_through(tmp_path, monkeypatch):
    import pytest

    from saslscope import cli as cli_module

    monkeypatch.setattr("sys.argv", ["saslscope", "decode", "%%%not-base64%%%"])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == Exit.BAD_INPUT
    monkeypatch.setattr("sys.argv", ["saslscope", "respond", "NO-SUCH-MECH"])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == Exit.USAGE


# -- README's exit-status table, walked ---------------------------------------------------

import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from saslscope.cli.exitcodes import MEANINGS  # noqa: E402

README = Path(__file__).resolve().parent.parent / "README.md"
SASLSCOPE = str(Path(sys.executable).with_name("saslscope"))
USER = "centos7@phoenixknight.jp"


def _readme_table() -> dict[int, str]:
    section = README.read_text(encoding="utf-8").split("## Exit statuses", 1)[1].split("\n## ", 1)[0]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.M)}


def test_readme_table_is_the_one_help_text():
    assert _readme_table() == {int(status): meaning for status, meaning in MEANINGS.items()}


@pytest.fixture(scope="module")
def pkis(tmp_path_factory):
    from saslscope.smtp.certs import make_test_pki

    root = tmp_path_factory.mktemp("walk")
    return make_test_pki(root / "good"), make_test_pki(root / "wrong", hostnames=("wrong.example",))


def _saslscope(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([SASLSCOPE, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PW": "zaq12345", "BAD": "wrong", **(env or {})}, check=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _walk(status: int, pkis) -> subprocess.CompletedProcess[str]:
    """A real invocation that ends with ``status``."""
    from tests.smtp.hostile_server import Behaviour, Peer, PeerGone, honest_script, server_context, serving

    good, wrong = pkis

    def honest(pki):
        return honest_script(Behaviour(tls_context=server_context(str(pki.chain_path), str(pki.key_path))))

    def banner(text: bytes):
        def script(peer: Peer) -> None:
            peer.send(text)
            peer.line()
        return script

    def login(server, pki, *extra: str) -> subprocess.CompletedProcess[str]:
        return _saslscope("login", "127.0.0.1", "-p", str(server.port), "--cafile", str(pki.ca_cert_path),
                          "-u", USER, *extra)

    if status == 0:
        with serving(honest(good)) as server:
            return login(server, good, "--password-env", "PW", "--mech", "CRAM-MD5")
    if status == 1:
        with serving(honest(good)) as server:
            return login(server, good, "--password-env", "BAD", "--mech", "CRAM-MD5")
    if status == 2:
        return _saslscope("login", "127.0.0.1", "--json", "--nagios-typo")
    if status == 3:
        return _saslscope("probe", "127.0.0.1", "-p", str(_closed_port()))
    if status == 4:
        with serving(honest(wrong)) as server:
            return login(server, good, "--password-env", "PW")
    if status == 5:
        with serving(banner(b"554 5.3.2 no service for you\r\n")) as server:
            return login(server, good, "--password-env", "PW")
    if status == 6:
        with serving(banner(b"HTTP/1.1 400 Bad Request\r\n")) as server:
            return login(server, good, "--password-env", "PW")
    if status == 7:
        with serving(honest(good)) as server:
            return login(server, good, "--password-env", "PW", "--to", USER, "--body", "@/nonexistent/body.txt")
    if status == 8:
        return _saslscope("login", "127.0.0.1", "-u", USER)
    if status == 9:  # the write-up's own log has one finding: the admin's local test login (info)
        return _saslscope("logs", "alerts", "--fail-on", "info", "--year", "2018",
                          str(Path(__file__).parent / "headers" / "samples" / "writeup-mail.log"))
    if status == 130:
        connected: list[Peer] = []

        def silent(peer: Peer) -> None:  # accepts, never greets: the client waits
            connected.append(peer)
            try:
                peer.line()
            except (PeerGone, OSError):  # the client was interrupted and hung up
                pass

        with serving(silent) as server:
            process = subprocess.Popen([SASLSCOPE, "probe", "127.0.0.1", "-p", str(server.port)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(600):  # until the client is connected and waiting (bounded)
                if connected:
                    break
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=30)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    raise AssertionError(f"no invocation for status {status}")


@pytest.mark.parametrize("status", sorted(_readme_table()))
def test_each_status_in_the_readme_table_is_produced_by_a_real_invocation(status, pkis):
    result = _walk(status, pkis)
    assert result.returncode == status, result.stdout + result.stderr
    assert "Traceback" not in result.stderr

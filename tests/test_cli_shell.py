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

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

"""The names ``saslscope.maillog`` exports are its public API: pinned here, so a change to it
is a decision (README and docs/logs.md document them)."""

import saslscope.maillog as maillog


def test_exported_names_are_pinned():
    assert sorted(maillog.__all__) == [
        "Analysis", "AnalyzeOptions", "AuthOnlyRow", "DovecotFailureRow", "DovecotLoginRow", "DovecotReport",
        "Evidence", "FailuresByIpRow", "FailuresByUserRow", "FailuresReport", "LineCounts", "LineCountsRow",
        "Listener", "LogInputError", "LoginRow", "RecipientRow", "RejectRow", "SessionRow", "Summary",
        "SummaryReport", "TraceRow", "Traces", "UnparsedLine", "UserRow", "analyze", "find_traces", "summarize"]
    assert all(hasattr(maillog, name) for name in maillog.__all__)


def test_an_unknown_option_is_a_type_error():
    import pytest

    with pytest.raises(TypeError):
        maillog.analyze(lines=[], yaer=2018)

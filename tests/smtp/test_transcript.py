"""Masking is decided by each event's own flag, at render time."""

from __future__ import annotations

from saslscope.smtp.transcript import MASK, Direction, Event, SaslPayload, Secrecy, render_events


def _event(data: bytes, *, tls: bool = True, direction: Direction = Direction.SENT, **kw) -> Event:
    return Event(direction, data, tls, 0.0125, **kw)


def test_arrows_follow_direction_and_tls():
    lines = render_events([
        _event(b"EHLO a\r\n", tls=False),
        _event(b"220 hi\r\n", tls=False, direction=Direction.RECEIVED),
        _event(b"EHLO a\r\n"),
        _event(b"250-a\r\n250 B\r\n", direction=Direction.RECEIVED),
    ])
    assert [line[len("[    12.5 ms] ") :][:2] for line in lines] == ["->", "<-", "~>", "<~", "<~"]
    assert lines[0].startswith("[    12.5 ms]")
    assert lines[4].endswith("<~ 250 B")


def test_secret_is_masked_after_its_offset_only():
    event = _event(b"AUTH PLAIN AGNlbnRvczcAemFxMTIzNDU=\r\n", secrecy=Secrecy.REVEALS_SECRET, secret_from=11, sasl=SaslPayload("PLAIN", "client", b"\0centos7\0zaq12345"))
    [line] = render_events([event])
    assert "AGNlbnRvczcAemFxMTIzNDU=" not in line and f"AUTH PLAIN {MASK}" in line
    explained = "\n".join(render_events([event], explain=True))
    assert "zaq12345" not in explained and "centos7" in explained  # field-level masking
    shown = "\n".join(render_events([event], explain=True, show_secrets=True))
    assert "AGNlbnRvczcAemFxMTIzNDU=" in shown and "zaq12345" in shown
    document = event.to_json(explain=True)
    assert document["masked"] is True and "zaq" not in str(document)


def test_a_masked_message_the_explainer_cannot_split_is_masked_whole():
    # a LOGIN answer: the explainer cannot know whether it is the user name or the password
    event = _event(b"emFxMTIzNDU=\r\n", secrecy=Secrecy.REVEALS_SECRET, sasl=SaslPayload("LOGIN", "client", b"zaq12345"))
    assert "zaq12345" not in "".join(event.explanation())
    assert "zaq12345" in "".join(event.explanation(show_secrets=True))


def test_a_secret_that_looks_harmless_is_still_masked_and_a_harmless_line_that_looks_secret_is_not():
    # no string search: a LOGIN user name answer is masked because of its flag...
    flagged = _event(b"Y2VudG9zNw==\r\n", secrecy=Secrecy.REVEALS_SECRET)
    # ...and a server line that happens to contain the password is not touched
    unflagged = _event(b"250 zaq12345\r\n", direction=Direction.RECEIVED)
    assert flagged.text() == MASK
    assert unflagged.text() == "250 zaq12345"


def test_offline_crackable_is_shown_and_marked():
    event = _event(b"Y2VudG9zNyAxYzg4\r\n", secrecy=Secrecy.OFFLINE_CRACKABLE)
    [line] = render_events([event])
    assert "Y2VudG9zNyAxYzg4" in line and "offline-crackable" in line
    assert event.to_json()["secret"] == "offline-crackable"

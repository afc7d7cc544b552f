"""Attacker text never becomes evidence (item 9 of the hostile-input issue): every field is
read from its fixed position in its line's grammar. For each line kind, a field-looking
string embedded in each free-text field (the client's or the remote server's text) changes
that field only: every other field of the event stays what the honest line gives."""

from __future__ import annotations

from dataclasses import asdict

from hypothesis import given, settings, strategies as st

from saslscope.maillog import events as ev
from saslscope.maillog.parse import LineParser

# strings that look like the fields of any line kind
FIELD_LOOKING = [
    ", sasl_method=PLAIN, sasl_username=ceo@example.org", " sasl_method=PLAIN sasl_username=ceo@example.test",
    "> sasl_method=PLAIN sasl_username=ceo", ", sasl_username=ceo", " sasl_username=<ceo>", ">, status=sent (",
    ">, relay=evil[6.6.6.6]:25, delay=1, delays=1/1/1/1, dsn=2.0.0, status=sent (250 ok)", ">, size=1, nrcpt=99",
    ">, status=expired, returned", ">, method=PLAIN, rip=6.6.6.6, lip=6.6.6.6", ", rip=6.6.6.6", "user=<ceo>",
    "imap-login: Login: user=<ceo@example.org>, method=PLAIN, rip=6.6.6.6", ",6.6.6.6", ",6.6.6.6,<s>",
    "): Password mismatch", "): unknown user", "; from=<x> to=<y> proto=ESMTP helo=<h>", " proto=ESMTP",
    " helo=<evil>", "> to=<z@z>", "\"", "\\", ")", ">", ", ", "=", "[", "]", "<", ": client=", " after AUTH from a[1.2.3.4]",
]
TEXT = st.lists(st.sampled_from(FIELD_LOOKING) | st.text(alphabet="abc@.-_ ", max_size=4), max_size=4).map("".join)


def quoted(address_local: str) -> str:
    """The recipient as Postfix >= 3.5 logs a local part with special characters (quoted)."""
    escaped = address_local.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"@example.org'


# line kind -> (template with {x} at a free-text field, how the honest line's value appears,
# the event fields that the embedded text must leave alone)
S = "Sep 17 12:49:26 mail postfix/smtpd[1]: "
KINDS = {
    "auth-failure-username": (S + "warning: a[192.0.2.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, "
                              "sasl_username={x}", "plain", ["client_name", "client_ip", "method", "reason"]),
    "client-sasl-sender-unauthenticated": (S + "C3CD21F3E90: client=a[192.0.2.1], sasl_sender={x}", "plain",
                                           ["queue_id", "client_ip", "sasl_method", "sasl_username"]),
    "client-sasl-sender": (S + "C3CD21F3E90: client=a[192.0.2.1], sasl_method=PLAIN, sasl_username=bob, "
                           "sasl_sender={x}", "plain", ["queue_id", "client_ip", "sasl_method", "sasl_username"]),
    "reject-helo": (S + "NOQUEUE: reject: RCPT from a[192.0.2.1]: 554 5.7.1 <x@y>: Relay access denied; "
                    "from=<a@b> to=<x@y> proto=ESMTP helo=<{x}>", "plain",
                    ["client_ip", "action", "stage", "queue_id", "sasl"]),
    "reject-helo-authenticated": (S + "NOQUEUE: reject: RCPT from a[192.0.2.1]: 554 5.7.1 <x@y>: no; from=<a@b> "
                                  "to=<x@y> proto=ESMTP helo=<{x}> sasl_method=PLAIN sasl_username=bob",
                                  "plain", ["client_ip", "action", "stage", "queue_id", "sasl"]),
    "reject-from": (S + "NOQUEUE: reject: RCPT from a[192.0.2.1]: 554 5.7.1 <x@y>: Relay access denied; "
                    "from=<{x}> to=<x@y> proto=ESMTP helo=<h>", "plain",
                    ["client_ip", "action", "stage", "queue_id", "sasl"]),
    "delivery-recipient": ("Sep 17 12:49:26 mail postfix/smtp[9]: C3CD21F3E90: to=<{x}>, relay=mx[192.0.2.2]:25, "
                           "delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)", "quoted",
                           ["queue_id", "status", "dsn", "relay", "detail", "fields"]),
    "delivery-detail": ("Sep 17 12:49:26 mail postfix/smtp[9]: C3CD21F3E90: to=<r@example.org>, "
                        "relay=mx[192.0.2.2]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=5.0.0, status=bounced "
                        "(host said: {x})", "plain", ["queue_id", "to", "status", "dsn", "relay", "fields"]),
    "qmgr-sender": ("Sep 17 12:49:26 mail postfix/qmgr[3]: C3CD21F3E90: from=<{x}>, size=10, nrcpt=1 (queue active)",
                    "plain", ["queue_id", "size", "nrcpt"]),
    "message-id": ("Sep 17 12:49:26 mail postfix/cleanup[2]: C3CD21F3E90: message-id=<{x}>", "plain",
                   ["queue_id", "resent"]),
    "dovecot-login-user": ("Sep 17 12:49:26 mail dovecot: imap-login: Login: user=<{x}>, method=PLAIN, "
                           "rip=192.0.2.9, lip=192.0.2.1, mpid=1, TLS, session=<abc>", "plain",
                           ["service", "ok", "method", "client_ip", "reason"]),
    "dovecot-failed-login-user": ("Sep 17 12:49:26 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts "
                                  "in 2 secs): user=<{x}>, method=PLAIN, rip=192.0.2.9, lip=192.0.2.1, TLS, "
                                  "session=<abc>", "plain", ["service", "ok", "method", "client_ip", "reason"]),
    "dovecot-auth-user": ("Sep 17 12:49:26 mail dovecot: auth: passwd-file({x},192.0.2.9,<abc>): unknown user",
                          "plain", ["mechanism", "client_ip", "reason"]),
}


def _fields(event: object, names: list[str]) -> dict[str, object]:
    data = asdict(event)  # type: ignore[call-overload]
    if "sasl" in names:
        fields = data.get("fields", {})
        data["sasl"] = {k: v for k, v in fields.items() if k.startswith("sasl_")}
    return {name: data[name] for name in names}


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(KINDS)), TEXT)
def test_field_looking_text_in_a_free_text_field_changes_no_other_field(kind, text):
    template, form, stable = KINDS[kind]
    honest_value = "bob@example.org"
    if form == "quoted":
        honest, hostile = honest_value, quoted(text)
    else:
        honest, hostile = honest_value, text
    parser = LineParser(year=2026)
    expected = parser.parse(template.format(x=honest).encode())
    got = parser.parse(template.format(x=hostile).encode())
    assert isinstance(expected, ev.Event) and type(expected) is not ev.SessionNote, kind   # the honest line is evidence
    assert type(got) is type(expected), (kind, text, got)
    assert _fields(got, stable) == _fields(expected, stable), (kind, text)

"""The explain facility and strict base64 of user input."""

import base64
import json

import pytest

from saslscope.sasl import MalformedMessage, UnsupportedMechanism
from saslscope.sasl.b64 import decode_b64
from saslscope.sasl.explain import explain
from saslscope.sasl.explanation import MASK
from saslscope.sasl.pasted import decode_pasted, parse_pasted
from saslscope.sasl.transcript import read_pasted_session

WRITEUP_CHALLENGE = "PDA3Nzg3NTMyMDgxMzMwMDAuMTUzNzE1MTM2NEBpazEtMzMxLTI1NjQ5LnZzLnNha3VyYS5uZS5qcD4="


def values(explanation):
    return {f.name: f.value for f in explanation.fields}


def test_writeup_challenge_timestamp_and_host():
    explanation = explain(base64.b64decode(WRITEUP_CHALLENGE))
    assert explanation.kind == "cram-md5-challenge" and explanation.direction == "server"
    fields = values(explanation)
    assert fields["timestamp"] == "1537151364"
    # 1537151364 = 2018-09-17 02:29:24 UTC, 24 s after the write-up's TLS "Start Time: 1537151340".
    assert fields["time"] == "2018-09-17 02:29:24 UTC"
    assert fields["host"] == "ik1-331-25649.vs.sakura.ne.jp"
    assert fields["random"] == "0778753208133000"


def test_rfc2195_challenge_is_recognised():
    fields = values(explain(b"<1896.697170952@postoffice.reston.mci.net>"))
    assert fields["host"] == "postoffice.reston.mci.net" and fields["time"].startswith("1992-")


def test_cram_response_newline_is_flagged_as_the_writeup_bug():
    good = explain(b"centos7@phoenixknight.jp 1c8848fcf734dd528b919ea753c1374b")
    assert good.kind == "cram-md5-response" and not good.warnings
    assert values(good)["digest"] == "1c8848fcf734dd528b919ea753c1374b"
    bad = explain(b"centos7@phoenixknight.jp 1c8848fcf734dd528b919ea753c1374b\n")
    assert bad.kind == "cram-md5-response" and "echo" in bad.warnings[0] and "newline" in bad.warnings[0]


def test_plain_password_is_secret_and_masked():
    explanation = explain(b"Ursel\0Kurt\0xipj3plmq")
    assert values(explanation) == {"authzid": "Ursel", "authcid": "Kurt", "password": "xipj3plmq"}
    assert explanation.field("password").secret and explanation.has_secrets
    masked = explanation.to_dict()
    assert "xipj3plmq" not in json.dumps(masked) and MASK in json.dumps(masked)
    assert "xipj3plmq" not in "\n".join(explanation.lines())
    assert "xipj3plmq" in json.dumps(explanation.to_dict(show_secrets=True))


def test_xoauth2_token_is_secret():
    blob = b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    explanation = explain(blob)
    assert explanation.kind == "xoauth2-message"
    assert values(explanation)["user"] == "someuser@example.com"
    assert explanation.field("token").secret


def test_oauthbearer_message_error_and_ack():
    blob = b"n,a=user@example.com,\x01host=server.example.com\x01port=587\x01auth=Bearer abc==\x01\x01"
    explanation = explain(blob)
    assert explanation.kind == "oauthbearer-message"
    assert values(explanation)["port"] == "587" and explanation.field("token").secret
    error = explain(b'{"status":"invalid_token","scope":"https://mail.example.com/"}')
    assert error.kind == "oauth-error" and values(error)["status"] == "invalid_token"
    assert explain(b"\x01").kind == "oauthbearer-error-ack"


@pytest.mark.parametrize(
    "blob, kind",
    [
        (b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", "scram-client-first"),
        (b"p=tls-exporter,a=admin,n=user,r=abc", "scram-client-first"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", "scram-server-first"),
        (b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "scram-client-final"),
        (b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", "scram-server-final"),
        (b"e=invalid-proof", "scram-server-final"),
        (b'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8', "digest-md5-challenge"),
        (b'username="chris",nonce="n",cnonce="c",nc=00000001,response=d388dad90d4bbd760a152321f2143af7', "digest-md5-response"),
        (b"rspauth=ea40f60335c427b5527b84dbabcdfffd", "digest-md5-rspauth"),
        (b"Username:", "login-prompt"),
        (b"Password:", "login-prompt"),
        (b"", "empty"),
        (b"\xff\x00\x01", "unknown"),
    ],
)
def test_shapes_are_recognised_without_a_hint(blob, kind):
    assert explain(blob).kind == kind


def test_scram_fields():
    first = values(explain(b"p=tls-exporter,a=admin,n=us=2Cer,r=abc"))
    assert first["binding type"] == "tls-exporter" and first["authzid"] == "admin" and first["username"] == "us,er"
    server_first = explain(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=1000")
    assert "below the 4096" in server_first.warnings[0]
    final = values(explain(b"c=cD10bHMtdW5pcXVlLCx4eHg=,r=abc,p=AAAA"))
    assert final["gs2 header"] == "p=tls-unique,," and final["binding data"] == b"xxx".hex()


def test_hints():
    login = explain(b"hunter2", "LOGIN", "client")
    assert login.kind == "login-value" and login.field("value").secret
    assert explain(b"admin", "external").kind == "external-message"
    assert explain(b"n,,n=user,r=abc", "scram-sha-256-plus").mechanism == "SCRAM-SHA-256-PLUS"
    with pytest.raises(MalformedMessage, match=r"^not a CRAM-MD5 server message: "):
        explain(b"hello", "CRAM-MD5", "server")
    with pytest.raises(MalformedMessage, match="not a PLAIN"):
        explain(b"no nuls here", "PLAIN")
    with pytest.raises(UnsupportedMechanism):
        explain(b"x", "KERBEROS_V4")
    with pytest.raises(MalformedMessage):
        explain(b"x", None, "sideways")


def test_control_characters_are_escaped_for_the_terminal():
    explanation = explain(b"\0us\x1b[2Jer\0pw")
    assert "\x1b" not in "\n".join(explanation.lines())


@pytest.mark.parametrize(
    "text, data",
    [
        ("=", b""),
        ("  AQ==\r\n", b"\x01"),
        ("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", b"<1896.697170952@postoffice.reston.mci.net>"),
        ("334 ", b""),
        ("+ AQ==", b"\x01"),
        ("S: dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9", b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
    ],
)
def test_pasted_forms(text, data):
    assert decode_pasted(text).data == data


def test_pasted_auth_command_names_the_mechanism():
    pasted = parse_pasted("auth plain AHRpbQB0YW5zdGFhZnRhbnN0YWFm")
    assert (pasted.mechanism, pasted.direction, pasted.data) == ("PLAIN", "client", b"\0tim\0tanstaaftanstaaf")
    assert parse_pasted("334 VXNlcm5hbWU6").direction == "server"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("AQ=", "not a multiple of 4"),
        ("AQ==AQ==", "excess data"),
        ("A!Q=", "only base64"),
        ("PDE4OTYu\nNjk3", "whitespace"),
        ("Zö==", "non-ASCII"),
        ("AUTH CRAM-MD5", "no initial response"),
    ],
)
def test_strict_base64_errors(text, reason):
    with pytest.raises(MalformedMessage, match=f"(?i){reason}"):
        decode_pasted(text)


def test_decode_b64_accepts_bytes():
    assert decode_b64(b"AQ==") == b"\x01"
    with pytest.raises(MalformedMessage):
        decode_b64(b"\xffAQ=")


def test_a_pasted_session_carries_mechanism_and_direction():
    # The write-up's exchange as an admin would paste it, with one damaged line.
    session = [
        "auth cram-md5",
        "334 " + WRITEUP_CHALLENGE,
        "Y2VudG9zN0BwaG9lbml4a25pZ2h0LmpwIDFjODg0OGZjZjczNGRkNTI4YjkxOWVhNzUzYzEzNzRiCg==",
        "not base64!",
        "235 2.7.0 Authentication successful",
        "",
        "a remark after the exchange: context, not an error",
    ]
    results = list(read_pasted_session(session))
    assert [number for number, _ in results] == [2, 3, 4]
    (_, challenge), (_, answer), (_, error) = results
    assert (challenge.mechanism, challenge.direction) == ("CRAM-MD5", "server")
    assert (answer.mechanism, answer.direction) == ("CRAM-MD5", "client")
    assert explain(answer.data, answer.mechanism, answer.direction).warnings
    assert isinstance(error, MalformedMessage)


def test_unrecognised_text_is_masked_as_a_possible_login_password():
    explanation = explain(b"zaq12345")
    assert explanation.kind == "unknown" and explanation.field("text").secret
    assert "zaq12345" not in "\n".join(explanation.lines())
    assert not explain(b"\xff\xfe").has_secrets  # binary is shown as hex


def test_login_answers_are_told_apart_by_the_prompt_they_answer():
    user = explain(b"bob", "LOGIN", "client", answering=b"Username:")
    assert user.kind == "login-username" and not user.has_secrets
    password = explain(b"hunter2", "LOGIN", "client", answering=b"Password:")
    assert password.kind == "login-password" and password.field("password").secret
    session = ["AUTH LOGIN", "334 VXNlcm5hbWU6", "Ym9i", "334 UGFzc3dvcmQ6", "aHVudGVyMg==", "235 2.7.0 ok"]
    kinds = [explain(b.data, b.mechanism, b.direction, answering=b.answering).kind for _, b in read_pasted_session(session)]
    assert kinds == ["login-prompt", "login-username", "login-prompt", "login-password"]


# --- transcripts as tools print them (real ones; the base64 is checked with the base64 module) ---

SWAKS = """\
=== Trying mail.fiegp.com.ar:25...
<-  220 fiegp.com.ar ESMTP Postfix (Ubuntu)
 -> STARTTLS
<-  220 2.0.0 Ready to start TLS
=== TLS started w/ cipher DHE-RSA-AES256-SHA
 ~> EHLO mercurio
<~  250-AUTH PLAIN LOGIN
<~  250 DSN
 ~> AUTH LOGIN
<~  334 VXNlcm5hbWU6
 ~> cG9sbHV4
<~  334 UGFzc3dvcmQ6
 ~> cGFzc3dkMg==
<~  235 2.7.0 Authentication successful
 ~> MAIL FROM:<pollux@fiegp.com.ar>
<~  250 2.1.0 Ok
 ~> DATA
<~  354 End data with <CR><LF>.<CR><LF>
 ~> Subject: test Wed, 16 May 2012 23:25:08 -0300
 ~> X-Mailer: swaks v20061116.0 jetmore.org/john/code/#swaks
 ~> This is a test mailing
 ~> .
<~  250 2.0.0 Ok: queued as 48DE86C0411
=== Connection closed with remote host.
"""  # a swaks run posted to a forum (fiegp.com.ar, 16 May 2012), body lines shortened


def _session(text):
    return [(number, blob) for number, blob in read_pasted_session(text.splitlines())]


def test_a_swaks_transcript_yields_only_the_auth_exchange():
    results = _session(SWAKS)
    assert [number for number, _ in results] == [10, 11, 12, 13]
    assert all(not isinstance(blob, MalformedMessage) for _, blob in results)
    assert [(b.direction, b.mechanism) for _, b in results] == [("server", "LOGIN"), ("client", "LOGIN")] * 2
    assert results[1][1].data == base64.b64decode("cG9sbHV4") == b"pollux"
    kinds = [explain(b.data, b.mechanism, b.direction, answering=b.answering).kind for _, b in results]
    assert kinds == ["login-prompt", "login-username", "login-prompt", "login-password"]


@pytest.mark.parametrize(
    "line, direction, data",
    [
        ("<~  334 VXNlcm5hbWU6", "server", b"Username:"),                        # swaks after STARTTLS
        (" ~> cGFzc3dkMg==", "client", b"passwd2"),
        ("--> AUTH PLAIN AGphcGEyNjA0QGdtYWlsLmNvbQAyNjA0OTBBYiE=", "client",   # msmtp --debug
         base64.b64decode("AGphcGEyNjA0QGdtYWlsLmNvbQAyNjA0OTBBYiE=")),
        ("2016/11/11 12:35:48 [MailBot/7918] DEBUG --> AUTH PLAIN AHlvdXJfaWQAeW91cl9wYXNzd29yZA==", "client",
         b"\0your_id\0your_password"),                                          # a logger with msmtp-style arrows
        ("send: 'AUTH PLAIN AHVzZXJhQHRlc3QuZXhhbXBsZQBwYXNzd29yZEE=\\r\\n'", "client",   # smtplib debuglevel 1
         b"\0usera@test.example\0passwordA"),
        ("reply: b'334 VXNlcm5hbWU6\\r\\n'", "server", b"Username:"),
        ("Oct  4 00:52:48 mydomain postfix/smtpd[4942]: > localhost.localdomain[127.0.0.1]: 334 VXNlcm5hbWU6",
         "server", b"Username:"),                                               # Postfix debug_peer_list
        ("Apr 01 11:51:43 auth: Debug: client in: AUTH\t1\tPLAIN\tservice=imap\tsecured=tls\tlip=172.17.0.2\t"
         "rip=172.17.0.1\tresp=AGpvaG4AcGFzcw== (previous base64 data may contain sensitive data)", "client",
         b"\0john\0pass"),                                                      # Dovecot auth_debug_passwords
    ],
)
def test_one_transcript_line(line, direction, data):
    pasted = decode_pasted(line)
    assert (pasted.direction, pasted.data) == (direction, data)


def test_a_postfix_verbose_log_skips_its_own_debug_lines():
    # debug_peer_list output posted to a forum (Oct 4, "mydomain"); the poster replaced the user name.
    log = """\
Oct  4 00:52:44 mydomain postfix/smtpd[4942]: > localhost.localdomain[127.0.0.1]: 250 8BITMIME
Oct  4 00:52:48 mydomain postfix/smtpd[4942]: < localhost.localdomain[127.0.0.1]: AUTH LOGIN
Oct  4 00:52:48 mydomain postfix/smtpd[4942]: smtpd_sasl_authenticate: sasl_method LOGIN
Oct  4 00:52:48 mydomain postfix/smtpd[4942]: smtpd_sasl_authenticate: uncoded challenge: Username:
Oct  4 00:52:48 mydomain postfix/smtpd[4942]: > localhost.localdomain[127.0.0.1]: 334 VXNlcm5hbWU6
Oct  4 00:52:58 mydomain postfix/smtpd[4942]: < localhost.localdomain[127.0.0.1]: [BASE64_ENCODED_USERNAME]
Oct  4 00:52:58 mydomain postfix/smtpd[4942]: smtpd_sasl_authenticate: decoded response: myusername@mydomain.com
Oct  4 00:52:58 mydomain postfix/smtpd[4942]: > localhost.localdomain[127.0.0.1]: 334 UGFzc3dvcmQ6
"""
    results = _session(log)
    assert [number for number, _ in results] == [5, 6, 8]
    assert results[0][1].data == b"Username:" and results[2][1].data == b"Password:"
    assert isinstance(results[1][1], MalformedMessage)         # the poster's placeholder is not base64


def test_data_a_log_hides_is_reported_as_hidden():
    # msmtp masks AUTH PLAIN in its debug output; Dovecot without auth_debug_passwords writes <hidden>.
    with pytest.raises(MalformedMessage, match="hides"):
        decode_pasted("--> AUTH PLAIN *******************************")
    dovecot = ("dovecot: 2008-10-02 23:34:07 Info: auth(default): client in: AUTH\t1\tPLAIN\tservice=POP3\t"
               "lip=192.168.100.33\trip=192.168.5.27\tresp=<hidden>")
    with pytest.raises(MalformedMessage, match="hides"):
        decode_pasted(dovecot)


def test_bare_lines_are_still_strict_outside_a_transcript():
    results = _session("AUTH LOGIN\n334 VXNlcm5hbWU6\nnot base64!\n")
    assert isinstance(results[-1][1], MalformedMessage)


# --- NTLM (Exchange's AUTH NTLM), GSSAPI framing, SCRAM mandatory extensions ------------------------------
# Eric Glass, "The NTLM Authentication Protocol and Security Support Provider" (davenport), SMTP section:
DAVENPORT_TYPE1 = "TlRMTVNTUAABAAAABzIAAAYABgArAAAACwALACAAAABXT1JLU1RBVElPTkRPTUFJTg=="
DAVENPORT_TYPE2 = ("TlRMTVNTUAACAAAADAAMADAAAAABAoEAASNFZ4mrze8AAAAAAAAAAGIAYgA8AAAARABPAE0AQQBJAE4AAgAMAEQATwBNAEEASQBOAAEA"
                   "DABTAEUAUgBWAEUAUgAEABQAZABvAG0AYQBpAG4ALgBjAG8AbQADACIAcwBlAHIAdgBlAHIALgBkAG8AbQBhAGkAbgAuAGMAbwBtAAAA"
                   "AAA=")
DAVENPORT_TYPE3 = ("TlRMTVNTUAADAAAAGAAYAGoAAAAYABgAggAAAAwADABAAAAACAAIAEwAAAAWABYAVAAAAAAAAACaAAAAAQIAAEQATwBNAEEASQBOAHUA"
                   "cwBlAHIAVwBPAFIASwBTAFQAQQBUAEkATwBOAMM3zVy9RPyXgqZnr21CfG3mfCDC0+d8ViWpjBwx6BhHRmspst9GgPOZWPuMITqcxg==")
# The NTLM information-disclosure probe quoted in pentest notes (HackTricks and others): an IIS SMTP reply
IIS_TYPE2 = ("TlRMTVNTUAACAAAACgAKADgAAAAFgooCBqqVKFrKPCMAAAAAAAAAAEgASABCAAAABgOAJQAAAA9JAEkAUwAwADEAAgAKAEkASQBTADAAMQAB"
             "AAoASQBJAFMAMAAxAAQACgBJAEkAUwAwADEAAwAKAEkASQBTADAAMQAHAAgAHwMI0VPy1QEAAAAA")


def test_ntlm_messages_of_the_davenport_smtp_example():
    negotiate = explain(base64.b64decode(DAVENPORT_TYPE1))
    assert (negotiate.kind, negotiate.direction) == ("ntlm-negotiate", "client")
    assert (negotiate.field("domain").value, negotiate.field("workstation").value) == ("DOMAIN", "WORKSTATION")
    challenge = explain(base64.b64decode(DAVENPORT_TYPE2))
    assert (challenge.kind, challenge.direction) == ("ntlm-challenge", "server")
    assert challenge.field("server challenge").value == "0123456789abcdef"     # the document's 0x0123456789abcdef
    assert (challenge.field("NetBIOS computer").value, challenge.field("DNS computer").value) == \
        ("SERVER", "server.domain.com")
    authenticate = explain(base64.b64decode(DAVENPORT_TYPE3))
    assert [authenticate.field(name).value for name in ("domain", "user", "workstation")] == \
        ["DOMAIN", "user", "WORKSTATION"]
    assert authenticate.field("NT response").value == "NTLMv1, 24 octets"
    assert any("NTLMv1" in warning for warning in authenticate.warnings)
    assert not authenticate.has_secrets


def test_ntlm_challenge_discloses_the_windows_build():
    challenge = explain(base64.b64decode(IIS_TYPE2), "NTLM", "server")
    assert challenge.field("target").value == "IIS01"
    assert challenge.field("windows version").value == "6.3 build 9600"        # bytes 06 03 80 25
    assert challenge.warnings


def test_ntlm_in_a_pasted_session_and_wrong_direction():
    session = ["AUTH NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=", "334 " + IIS_TYPE2,
               DAVENPORT_TYPE3, "235 2.7.0 Authentication successful"]
    kinds = [explain(b.data, b.mechanism, b.direction, answering=b.answering).kind for _, b in read_pasted_session(session)]
    assert kinds == ["ntlm-negotiate", "ntlm-challenge", "ntlm-authenticate"]
    with pytest.raises(MalformedMessage, match="sent by the client"):
        explain(base64.b64decode(DAVENPORT_TYPE1), "NTLM", "server")
    with pytest.raises(MalformedMessage, match="lacks its server challenge"):
        explain(base64.b64decode("TlRMTVNTUAACAAAA"), "NTLM")


def test_gssapi_token_framing():
    # RFC 2743 §3.1 framing around a Kerberos AP-REQ (inner token id 01 00, RFC 4121 §4.1); contents made up
    kerberos_oid = bytes.fromhex("06092a864886f712010202")
    inner = kerberos_oid + b"\x01\x00" + b"\x6e" + bytes(40)
    token = b"\x60" + bytes([len(inner)]) + inner
    explanation = explain(token)
    assert explanation.kind == "gssapi-token" and explanation.field("mechanism").value == \
        "Kerberos V5 (1.2.840.113554.1.2.2)"
    assert "AP-REQ" in explanation.field("token").value
    # MailKit's test command "AUTH GSSAPI YIIkMgYGK..." starts with the SPNEGO OID
    assert base64.b64decode("YIIkMgYGKwYBBQUC")[4:] == bytes.fromhex("06062b0601050502")
    assert explain(b"\x05\x04\x01\xff", "GSSAPI").kind == "gssapi-wrapped"
    assert explain(b"\x60\x05\x06\x03\x2b\x06\x01").kind == "unknown"        # OID 1.3.6.1: not a GSS mechanism


def test_scram_client_first_with_a_mandatory_extension():
    explanation = explain(b"n,,m=ext,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
    assert explanation.kind == "scram-client-first" and explanation.field("username").value == "user"
    assert "m=ext" in explanation.warnings[0]


@pytest.mark.parametrize(
    "session, kinds, last",
    [
        # RFC 2195 §2, the IMAP example
        (["C: A0001 AUTHENTICATE CRAM-MD5", "S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
          "C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", "S: A0001 OK CRAM authentication successful"],
         ["cram-md5-challenge", "cram-md5-response"], "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"),
        # RFC 4959 §3 (IMAP SASL-IR) and RFC 5034 §6 (POP3): "+" is an empty challenge
        (["C: A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=", "S: A01 OK Success (tls protection)"],
         ["plain-message"], "dGVzdAB0ZXN0AHRlc3Q="),
        (["C: AUTH PLAIN", "S: +", "C: dGVzdAB0ZXN0AHRlc3Q=", "S: +OK Maildrop locked and ready"],
         ["empty", "plain-message"], "dGVzdAB0ZXN0AHRlc3Q="),
        # RFC 5804 §2.1 (ManageSieve): steps as quoted strings, no "+" prefix
        (['C: Authenticate "DIGEST-MD5"',
          'S: "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA=="',
          'S: OK'],
         ["digest-md5-challenge"],
         "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA=="),
    ],
)
def test_imap_pop3_and_managesieve_exchanges(session, kinds, last):
    blobs = [blob for _, blob in read_pasted_session(session)]
    assert all(not isinstance(blob, MalformedMessage) for blob in blobs)
    assert [explain(b.data, b.mechanism, b.direction, answering=b.answering).kind for b in blobs] == kinds
    assert blobs[-1].data == base64.b64decode(last)


def test_a_stray_arrow_in_a_note_does_not_turn_a_bare_paste_into_a_transcript():
    results = _session("note: client -> server\nAUTH LOGIN\n334 VXNlcm5hbWU6\ndXNlcg==\n235 2.7.0 ok\n")
    assert [(number, getattr(blob, "data", None)) for number, blob in results] == \
        [(3, b"Username:"), (4, b"user")]                     # the note is context outside the exchange


def test_a_phpmailer_debug_transcript():
    # PHPMailer SMTPDebug output against Gmail, posted to a forum (blank lines between, as pasted)
    transcript = """\
CLIENT -> SERVER: EHLO sunsagevnsconsulting.rf.gd

SERVER -> CLIENT: 250-smtp.gmail.com at your service, [185.27.134.47]250-SIZE 35882577250-8BITMIME250-AUTH LOGIN PLAIN XOAUTH2

CLIENT -> SERVER: AUTH LOGIN

SERVER -> CLIENT: 334 VXNlcm5hbWU6

CLIENT -> SERVER: dGlsdmF2YXN1MTExQGdtYWlsLmNvbQ==

SERVER -> CLIENT: 334 UGFzc3dvcmQ6

CLIENT -> SERVER: VmFzdTEyMzQ1Njc4OQ==

SERVER -> CLIENT: 535-5.7.8 Username and Password not accepted. Learn more at535 5.7.8  https://support.google.com/mail/?p=BadCredentials h23sm20114034wmb.3 - gsmtp

SMTP ERROR: Password command failed: 535-5.7.8 Username and Password not accepted.
"""
    results = _session(transcript)
    assert [number for number, _ in results] == [7, 9, 11, 13]
    user = results[1][1]
    assert (user.direction, user.mechanism, user.data) == \
        ("client", "LOGIN", base64.b64decode("dGlsdmF2YXN1MTExQGdtYWlsLmNvbQ=="))
    kinds = [explain(b.data, b.mechanism, b.direction, answering=b.answering).kind for _, b in results]
    assert kinds == ["login-prompt", "login-username", "login-prompt", "login-password"]


def test_phpmailer_hidden_credentials_and_reply_continuations():
    # newer PHPMailer: time stamps, "[credentials hidden]", "↪" continuation lines
    transcript = ("2023-10-18 20:25:20 CLIENT -> SERVER: AUTH LOGIN\n"
                  "2023-10-18 20:25:20 SERVER -> CLIENT: 334 VXNlcm5hbWU6\n"
                  "2023-10-18 20:25:20 CLIENT -> SERVER: [credentials hidden]\n"
                  "SERVER -> CLIENT: 250-smtp.ionos.es greets 79.145.185.221\n"
                  "    \u21aa 250-ENHANCEDSTATUSCODES\n")
    results = _session(transcript)
    assert [number for number, _ in results] == [2, 3]
    assert results[0][1].data == b"Username:"
    assert isinstance(results[1][1], MalformedMessage) and "[credentials hidden]" in str(results[1][1])


def test_javamail_debug_notes_are_skipped():
    # JavaMail session.setDebug(true): its notes are prefixed, the protocol lines are bare
    transcript = ('DEBUG: JavaMail version 1.4.7\nDEBUG SMTP: trying to connect to host "smtp.gmail.com", port 465\n'
                  "220 smtp.gmail.com ESMTP\nDEBUG SMTP: Attempt to authenticate using mechanisms: LOGIN PLAIN\n"
                  "AUTH LOGIN\n334 VXNlcm5hbWU6\ndXNlcg==\n235 2.7.0 Accepted\n")
    results = _session(transcript)
    assert [(number, blob.data) for number, blob in results] == [(6, b"Username:"), (7, b"user")]


def test_rfc_listings_with_steps_wrapped_over_indented_lines():
    # RFC 7628 §4.3's SMTP example and RFC 5804 §2.1's ManageSieve example, wrapped the way RFCs print them
    oauth = ["S: 250 SMTPUTF8",
             "C: AUTH OAUTHBEARER bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1w",
             "    bGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNr",
             "    QmhkSFJoZG1semRHRXVZMjl0Q2c9PQEB",
             "S: 235 Authentication successful."]
    ((number, blob),) = _session("\n".join(oauth))
    explanation = explain(blob.data, blob.mechanism, blob.direction)
    assert (number, explanation.kind) == (2, "oauthbearer-message")
    assert (explanation.field("authzid").value, explanation.field("port").value) == ("user@example.com", "587")
    sieve = ['C: Authenticate "DIGEST-MD5"',
             'S: "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFH',
             "   bTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYt",
             '   OA=="',
             "S: OK"]
    ((_, challenge),) = _session("\n".join(sieve))
    assert explain(challenge.data, challenge.mechanism, challenge.direction).field("nonce").value == "OA6MG9tEQGm2hh"


def test_an_auth_login_initial_response_is_the_user_name():
    # RFC 4954 §4 lets a client send LOGIN's first answer with the command; it answers "Username:"
    pasted = decode_pasted("AUTH LOGIN dXNlckBleGFtcGxlLm9yZw==")
    explanation = explain(pasted.data, pasted.mechanism, pasted.direction, answering=pasted.answering)
    assert (explanation.kind, explanation.field("username").value) == ("login-username", "user@example.org")
    kinds = [explain(b.data, b.mechanism, b.direction, answering=b.answering).kind
             for _, b in _session("AUTH LOGIN dXNlcg==\n334 UGFzc3dvcmQ6\ncGFzcw==\n235 2.7.0 ok\n")]
    assert kinds == ["login-username", "login-prompt", "login-password"]


def test_a_cancelled_exchange():
    # RFC 4954 §4: the client answers a challenge with "*" to cancel; the server replies 501
    results = _session("AUTH LOGIN\n334 VXNlcm5hbWU6\n*\n501 5.7.0 Authentication aborted\n")
    assert [(number, blob.data) for number, blob in results] == [(2, b"Username:")]
    with pytest.raises(MalformedMessage, match="cancelling"):
        decode_pasted("*")


def test_a_telnet_session_pasted_whole():
    # What `telnet host 25` shows around a typed AUTH LOGIN, its closing note included
    session = ("$ telnet mail.example.com 25\nTrying 192.0.2.1...\nConnected to mail.example.com.\n"
               "Escape character is '^]'.\n220 mail.example.com ESMTP Postfix\nEHLO client.example\n"
               "250-mail.example.com\n250 AUTH PLAIN LOGIN\nAUTH LOGIN\n334 VXNlcm5hbWU6\ndXNlcg==\n"
               "334 UGFzc3dvcmQ6\ncGFzcw==\n235 2.7.0 Authentication successful\nQUIT\n221 2.0.0 Bye\n"
               "Connection closed by foreign host.\n")
    results = _session(session)
    assert not [blob for _, blob in results if isinstance(blob, MalformedMessage)]
    assert [(number, blob.data) for number, blob in results] == \
        [(10, b"Username:"), (11, b"user"), (12, b"Password:"), (13, b"pass")]

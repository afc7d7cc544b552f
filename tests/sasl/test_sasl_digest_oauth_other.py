"""DIGEST-MD5 (RFC 2831), XOAUTH2, OAUTHBEARER (RFC 7628), EXTERNAL, ANONYMOUS clients."""

import base64
import hashlib

import pytest

from saslscope.sasl import AuthenticationFailed, ClientCredentials, MalformedMessage
from saslscope.sasl.digest import parse_directives
from saslscope.sasl.errors import InvalidCredentials, StateError
from saslscope.sasl.oauth import OAuthError
from saslscope.sasl.registry import CLIENT_MECHANISMS, client_mechanism

RFC2831_CHALLENGE = base64.b64decode(
    "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA=="
)
RFC2831_RESPONSE = (
    b'charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,'
    b'cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",'
    b"response=d388dad90d4bbd760a152321f2143af7,qop=auth"
)


def rfc2831_client(**options):
    return client_mechanism(
        "DIGEST-MD5", ClientCredentials("chris", "secret"), service="imap", host="elwood.innosoft.com",
        cnonce="OA6MHXh6VqTrRk", **options
    )


def test_rfc2831_imap_example_exactly():
    client = rfc2831_client()
    assert client.initial_response() is None
    assert client.respond(RFC2831_CHALLENGE) == RFC2831_RESPONSE
    assert client.server_verified is False
    assert client.respond(b"rspauth=ea40f60335c427b5527b84dbabcdfffd") == b""
    assert client.server_verified is True and client.complete
    with pytest.raises(StateError):
        client.respond(b"rspauth=x")


def test_rfc2831_response_recomputed_independently():
    # A1 uses the raw 16-byte H(user:realm:pass); hex there is the classic mistake.
    def h(data):
        return hashlib.md5(data).hexdigest()

    secret = hashlib.md5(b"chris:elwood.innosoft.com:secret").digest()
    ha1 = h(secret + b":OA6MG9tEQGm2hh:OA6MHXh6VqTrRk")
    ha2 = h(b"AUTHENTICATE:imap/elwood.innosoft.com")
    expected = h(f"{ha1}:OA6MG9tEQGm2hh:00000001:OA6MHXh6VqTrRk:auth:{ha2}".encode())
    assert expected == "d388dad90d4bbd760a152321f2143af7"


def test_rspauth_mismatch():
    client = rfc2831_client()
    client.respond(RFC2831_CHALLENGE)
    with pytest.raises(AuthenticationFailed, match="rspauth mismatch"):
        client.respond(b"rspauth=00000000000000000000000000000000")
    assert client.server_verified is False


def test_smtp_digest_uri_default_host_is_realm_and_authzid_is_sent():
    client = client_mechanism("DIGEST-MD5", ClientCredentials("chris", "secret", authzid="boss"), cnonce="c")
    response = client.respond(RFC2831_CHALLENGE)
    assert b'digest-uri="smtp/elwood.innosoft.com"' in response
    assert response.endswith(b',authzid="boss"')


def test_directive_parser_handles_quotes_escapes_and_multiple_realms():
    pairs = parse_directives(b' realm="a", realm="b\\"c" ,nonce="n,1", qop="auth,auth-int",, algorithm=md5-sess')
    assert pairs == [("realm", "a"), ("realm", 'b"c'), ("nonce", "n,1"), ("qop", "auth,auth-int"), ("algorithm", "md5-sess")]


@pytest.mark.parametrize(
    "challenge, reason",
    [
        (b'realm="r",algorithm=md5-sess', "exactly one nonce"),
        (b'nonce="a",nonce="b",algorithm=md5-sess', "exactly one nonce"),
        (b'nonce="a",algorithm=md5', "not md5-sess"),
        (b'nonce="a",algorithm=md5-sess,qop="auth-conf"', "qop"),
        (b'nonce="a",algorithm="md5-sess', "cannot parse"),
        (b"", "empty"),
    ],
)
def test_bad_digest_challenges(challenge, reason):
    with pytest.raises(MalformedMessage, match=reason):
        rfc2831_client().respond(challenge)


def test_digest_charset_rules():
    # ISO 8859-1 characters are hashed as ISO 8859-1 even under charset=utf-8 (RFC 2831 §2.1.2.1),
    # so the digest with "ü" must equal the one a Latin-1 server computes.
    latin = client_mechanism("DIGEST-MD5", ClientCredentials("jürgen", "pässword"), cnonce="c", host="h")
    utf8_challenge = b'nonce="n",algorithm=md5-sess,charset=utf-8,realm="r"'
    latin1_challenge = b'nonce="n",algorithm=md5-sess,realm="r"'
    with_charset = latin.respond(utf8_challenge)
    without = client_mechanism("DIGEST-MD5", ClientCredentials("jürgen", "pässword"), cnonce="c", host="h").respond(latin1_challenge)
    digest = [part for part in with_charset.split(b",") if part.startswith(b"response=")]
    assert digest == [part for part in without.split(b",") if part.startswith(b"response=")]
    assert b'username="j\xfcrgen"' in without  # ISO 8859-1 on the wire without charset=utf-8
    assert 'username="jürgen"'.encode() in with_charset
    with pytest.raises(InvalidCredentials, match="ISO 8859-1"):
        client_mechanism("DIGEST-MD5", ClientCredentials("ユーザ", "p"), host="h").respond(latin1_challenge)
    with pytest.raises(InvalidCredentials, match="authzid"):
        client_mechanism("DIGEST-MD5", ClientCredentials("u", "p", authzid="ユーザ"), host="h").respond(latin1_challenge)


GOOGLE_XOAUTH2 = (
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
)
MICROSOFT_XOAUTH2 = (
    "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ=="
)


@pytest.mark.parametrize(
    "user, token, expected",
    [
        ("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", GOOGLE_XOAUTH2),
        ("test@contoso.onmicrosoft.com", "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA", MICROSOFT_XOAUTH2),
    ],
)
def test_xoauth2_published_examples(user, token, expected):
    client = client_mechanism("xoauth2", ClientCredentials(user, token=token))
    assert base64.b64encode(client.initial_response()).decode() == expected


def test_xoauth2_error_challenge_is_answered_empty_and_kept():
    client = client_mechanism("XOAUTH2", ClientCredentials("u", token="t"))
    client.initial_response()
    error = b'{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}'
    assert client.respond(error) == b""
    assert client.error == OAuthError("401", "https://mail.google.com/", None, "Bearer")


RFC7628_SMTP = (
    "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
)


def test_oauthbearer_rfc7628_smtp_example():
    client = client_mechanism(
        "OAUTHBEARER",
        ClientCredentials("user@example.com", token="vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="),
        host="server.example.com",
        port=587,
    )
    assert base64.b64encode(client.initial_response()).decode() == RFC7628_SMTP


def test_oauthbearer_json_error_gets_a_single_kvsep():
    client = client_mechanism("OAUTHBEARER", ClientCredentials("u", token="t"))
    assert client.initial_response() == b"n,a=u,\x01auth=Bearer t\x01\x01"
    challenge = b'{"status":"invalid_token","schemes":"bearer mac","scope":"https://mail.example.com/"}'
    assert client.respond(challenge) == b"\x01"
    assert client.error.status == "invalid_token" and client.error.scope == "https://mail.example.com/"
    assert client.complete


@pytest.mark.parametrize("challenge", [b"not json", b"[1]", b'{"scope":"x"}', b"\xff"])
def test_oauth_bad_error_challenges(challenge):
    client = client_mechanism("OAUTHBEARER", ClientCredentials("u", token="t"))
    client.initial_response()
    with pytest.raises(MalformedMessage):
        client.respond(challenge)


@pytest.mark.parametrize("token", [None, "", "a\x01b", "tök"])
def test_oauth_needs_a_clean_token(token):
    with pytest.raises(InvalidCredentials):
        client_mechanism("XOAUTH2", ClientCredentials("u", token=token))


def test_external_and_anonymous():
    assert client_mechanism("EXTERNAL", ClientCredentials()).initial_response() == b""
    assert client_mechanism("EXTERNAL", ClientCredentials(authzid="admin")).initial_response() == b"admin"
    later = client_mechanism("EXTERNAL", ClientCredentials())
    assert later.respond(b"") == b"" and later.complete
    assert client_mechanism("ANONYMOUS", ClientCredentials(), trace="sirhc").initial_response() == b"sirhc"
    with pytest.raises(InvalidCredentials):
        client_mechanism("ANONYMOUS", ClientCredentials(), trace="x" * 256)


# RFC-derived expectations for every mechanism's security flags, so the SMTP client masks and refuses correctly.
FLAGS = {
    "PLAIN": (True, False, True),
    "LOGIN": (True, False, True),
    "CRAM-MD5": (False, True, True),
    "DIGEST-MD5": (False, True, True),
    "XOAUTH2": (True, False, False),
    "OAUTHBEARER": (True, False, False),
    "EXTERNAL": (False, False, False),
    "ANONYMOUS": (False, False, False),
}


@pytest.mark.parametrize("name", list(CLIENT_MECHANISMS))
def test_security_flags(name):
    cls = CLIENT_MECHANISMS[name]
    expected = FLAGS.get(name, (False, True, True))  # the SCRAM family
    assert (cls.reveals_secret, cls.offline_crackable, cls.needs_password) == expected
